import type { Command } from 'commander';
import { hostPath, InstallError } from '../../adapters/install-layout.js';
import { planUninstall } from '../../adapters/install-removal.js';
import { applyStep, describeStep } from '../../adapters/install-steps.js';
import { fail } from '../context.js';

export function registerUninstall(program: Command): void {
  program
    .command('uninstall')
    .description("Remove what moat install wrote: units, PREFIX/lib/moat, the links; restore daemon.json's iptables values")
    .option('--prefix <dir>', 'the prefix moat was installed into (default: the recorded one, else /usr/local)')
    .option('--root <dir>', 'act on DIR instead of /', '/')
    .option('--purge', 'also remove /etc/moat (config and policy files)')
    .option('--dry-run', 'print what would change and change nothing')
    .addHelpText(
      'after',
      `
Containers lose isolation once moat's chains are flushed (moat flush, or a
reboot): with "iptables": false nothing else filters them.
Example:
  systemctl disable --now moatd moat-lockdown && moat flush && moat uninstall && systemctl restart docker`,
    )
    .action(async (opts: { prefix?: string; root: string; purge?: boolean; dryRun?: boolean }) => {
      try {
        const { plan, layout, installed } = await planUninstall({ root: opts.root, prefix: opts.prefix, purge: opts.purge === true });
        const out = (s: string) => process.stdout.write(`${s}\n`);
        if (!installed) {
          out(`moat is not installed under ${layout.prefix}${layout.root === '/' ? '' : ` in ${layout.root}`}: nothing to remove.`);
          return;
        }
        for (const w of plan.warnings) out(`warning: ${w}`);
        out(opts.dryRun ? 'Would do (dry run, nothing changed):' : 'Doing:');
        for (const step of plan.steps) for (const line of describeStep(step, (p) => hostPath(layout, p))) out(`  ${line}`);
        if (opts.dryRun) return;
        for (const step of plan.steps) await applyStep(step, process.pid);
        out('moat is uninstalled.');
        if (plan.next.length > 0) out(`Next, run:\n${plan.next.map((c) => `  ${c}`).join('\n')}`);
      } catch (err) {
        fail(err instanceof InstallError ? err.message : `uninstall failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
}
