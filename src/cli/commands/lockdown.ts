import type { Command } from 'commander';
import type { LiveState } from '../../core/live.js';
import { lockdownRuleset } from '../../core/lockdown.js';
import { planRestore } from '../../core/plan.js';
import { renderRuleset } from '../../core/render.js';
import { cliContext } from '../context.js';

export function registerLockdown(program: Command): void {
  program
    .command('lockdown')
    .description('Deny all forwarding to/from Docker bridges and host input from them (boot, before docker.service)')
    .option('-c, --config <file>', 'config file (dockerBridges lists the bridge names covered)')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `
Replaces any moat chains with the deny-all set; moatd's first commit replaces it in turn.
Covers the interface patterns in the config's dockerBridges (default br-+ and docker0).
Example (systemd/moat-lockdown.service runs this before docker.service):
  moat lockdown`,
    )
    .action(async (opts: { config?: string; json?: boolean }) => {
      const ctx = await cliContext(opts.config);
      const written = [];
      for (const ipt of ctx.iptables) {
        const live: LiveState = await ipt.live();
        const plan = planRestore(renderRuleset(lockdownRuleset(ctx.config, ipt.family)), live);
        if (plan.text !== null) await ipt.restore(plan.text);
        written.push({ family: ipt.family, changed: plan.text !== null, bridges: ctx.config.dockerBridges });
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ lockdown: written }, null, 2)}\n`);
      else process.stdout.write(`lockdown in force for ${ctx.config.dockerBridges.join(', ')} (IPv${written.map((w) => w.family).join(', IPv')})\n`);
    });
}
