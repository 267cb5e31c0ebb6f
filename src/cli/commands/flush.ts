import type { Command } from 'commander';
import type { LiveState } from '../../core/live.js';
import { planFlush } from '../../core/plan.js';
import { Ipset } from '../../adapters/ipset.js';
import { cliContext } from '../context.js';

/** Destroys every moat-dns set; a host without ipset (or without sets) has nothing to remove. */
async function destroyDnsSets(ipset: Ipset): Promise<{ destroyed: string[]; failed: string[]; error: string | null }> {
  const out = { destroyed: [] as string[], failed: [] as string[], error: null as string | null };
  let names: string[];
  try {
    names = (await ipset.listSets('moat-dns')).map((s) => s.name);
  } catch (err) {
    return { ...out, error: err instanceof Error ? err.message : String(err) };
  }
  for (const name of names) {
    try {
      await ipset.destroySets([name]);
      out.destroyed.push(name);
    } catch (err) {
      out.failed.push(`${name} (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return out;
}

export function registerFlush(program: Command): void {
  program
    .command('flush')
    .description('Remove every MOAT- chain and the jumps to them, then every moat-dns ipset (stop moatd first, or it puts them back)')
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
      // After the chains: the kernel refuses to destroy a set a rule still references.
      const sets = await destroyDnsSets(new Ipset(ctx.run));
      if (opts.json) process.stdout.write(`${JSON.stringify({ removed, ipsets: sets }, null, 2)}\n`);
      else
        for (const r of removed)
          for (const t of r.tables)
            process.stdout.write(`IPv${r.family} ${t.table}: removed ${t.chains.length} chains, jumps from ${t.jumpsFrom.join(', ') || 'none'}\n`);
      if (!opts.json) {
        if (sets.error) process.stdout.write(`moat-dns ipsets not listed: ${sets.error}\n`);
        else
          process.stdout.write(
            `removed ${sets.destroyed.length} moat-dns ipsets${sets.failed.length > 0 ? `; could not remove ${sets.failed.join(', ')}` : ''}\n`,
          );
        process.stdout.write('moat chains flushed: containers are no longer isolated by moat.\n');
      }
      if (sets.failed.length > 0) process.exitCode = 1;
    });
}
