import type { Command } from 'commander';
import type { LiveState } from '../../core/live.js';
import { planFlush } from '../../core/plan.js';
import { cliContext } from '../context.js';

export function registerFlush(program: Command): void {
  program
    .command('flush')
    .description('Remove every MOAT- chain and the jumps to them (stop moatd first, or it puts them back)')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print what was removed as JSON')
    .addHelpText(
      'after',
      `
Containers lose moat's isolation at once: with "iptables": false nothing else filters them.
Example:
  systemctl stop moatd && moat flush`,
    )
    .action(async (opts: { config?: string; json?: boolean }) => {
      const ctx = await cliContext(opts.config);
      const removed = [];
      for (const ipt of ctx.iptables) {
        const live: LiveState = await ipt.live();
        const plan = planFlush(live);
        if (plan.text !== null) await ipt.restore(plan.text);
        removed.push({ family: ipt.family, tables: plan.tables.map(({ table, deleted, jumpsFixed }) => ({ table, chains: deleted, jumpsFrom: jumpsFixed })) });
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ removed }, null, 2)}\n`);
      else
        for (const r of removed)
          for (const t of r.tables)
            process.stdout.write(`IPv${r.family} ${t.table}: removed ${t.chains.length} chains, jumps from ${t.jumpsFrom.join(', ') || 'none'}\n`);
      if (!opts.json) process.stdout.write('moat chains flushed: containers are no longer isolated by moat.\n');
    });
}
