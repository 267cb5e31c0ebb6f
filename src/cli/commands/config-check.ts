import type { Command } from 'commander';
import { ConfigFileError, loadConfig } from '../../adapters/config-file.js';
import { deprecations } from '../../core/config.js';

export function registerConfigCheck(program: Command): void {
  const config = program.command('config').description('Config file commands');
  config
    .command('check')
    .argument('<file>', 'YAML config file')
    .option('--json', 'print {"ok":bool,"errors":[...],"config":{...}}')
    .description("Validate a config file: exit 0 when valid, 2 with each bad key's path when not")
    .addHelpText('after', '\nExample:\n  moat config check /etc/moat/config.yaml')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const parsed = await loadConfig(file, true);
        const warnings = deprecations(parsed);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, errors: [], warnings, config: parsed }, null, 2)}\n`);
        else process.stdout.write(`${file}: ok\n${warnings.map((w) => `${file}: warning: ${w}\n`).join('')}`);
      } catch (err) {
        const errors = err instanceof ConfigFileError ? err.problems : [String(err)];
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, errors, config: null }, null, 2)}\n`);
        else process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 2;
      }
    });
}
