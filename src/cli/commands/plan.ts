import type { Command } from 'commander';
import { createPatch } from 'diff';
import type { LiveState } from '../../core/live.js';
import { isMoatChain } from '../../core/names.js';
import { planRestore } from '../../core/plan.js';
import { renderText, TABLES } from '../../core/render.js';
import { computeDesired } from '../../core/desired.js';
import { cliContext, fail } from '../context.js';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Compute the ruleset from Docker directly (no daemon needed), print it and the diff against what is live')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .option('--quiet', 'print only the diff')
    .addHelpText(
      'after',
      `
Exit codes: 0 live equals desired, 2 they differ, 1 error.
Example:
  moat plan --quiet || echo "moat's chains are not what they should be"`,
    )
    .action(async (opts: { config?: string; json?: boolean; quiet?: boolean }) => {
      const ctx = await cliContext(opts.config);
      let lists;
      try {
        lists = await ctx.docker.lists();
      } catch (err) {
        fail(`cannot list Docker: ${String(err)}`);
      }
      const desired = computeDesired(
        lists,
        ctx.config,
        ctx.iptables.map((i) => i.family),
        ctx.policyRules,
      );
      const families = [];
      let inSync = true;
      for (const [i, ipt] of ctx.iptables.entries()) {
        const rendered = desired.rendered[i]!;
        const live: LiveState = await ipt.live();
        const plan = planRestore(rendered, live);
        if (plan.text !== null) inSync = false;
        // Built-in chains show only their jumps to moat: foreign rules are not moat's to diff.
        const liveText = TABLES.flatMap((t) =>
          [...(live[t]?.chains ?? new Map<string, readonly string[]>())].flatMap(([n, rules]) =>
            rules.filter((r) => isMoatChain(n) || /^-j MOAT-/.test(r)).map((r) => `${t} -A ${n} ${r}`),
          ),
        );
        const wantText = TABLES.flatMap((t) => [
          ...Object.entries(rendered.tables[t].jumps).map(([b, target]) => `${t} -A ${b} -j ${target}`),
          ...[...rendered.tables[t].chains].flatMap(([n, rules]) => rules.map((r) => `${t} -A ${n} ${r}`)),
        ]);
        const diff =
          plan.text === null
            ? ''
            : createPatch(`ipv${ipt.family}`, `${sortKeep(liveText).join('\n')}\n`, `${sortKeep(wantText).join('\n')}\n`, 'live', 'desired');
        families.push({
          family: ipt.family,
          desired: renderText(rendered),
          inSync: plan.text === null,
          changes: plan.tables.map(({ lines: _l, ...t }) => t),
          restore: plan.text,
          diff,
        });
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ inSync, problems: desired.problems, families }, null, 2)}\n`);
      } else {
        for (const f of families) {
          if (!opts.quiet) process.stdout.write(`# IPv${f.family} desired ruleset\n${f.desired}\n`);
          process.stdout.write(f.inSync ? `# IPv${f.family}: live equals desired\n` : `# IPv${f.family}: live differs\n${f.diff}\n`);
        }
        for (const p of desired.problems) process.stdout.write(`! ${p.kind} ${p.subject}: ${p.reason}\n`);
      }
      process.exitCode = inSync ? 0 : 2;
    });
}

/** Orders lines by chain (keeping rule order inside a chain) so a diff reads per chain. */
function sortKeep(lines: readonly string[]): string[] {
  const key = (l: string) => l.split(' ').slice(0, 3).join(' ');
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => (key(a.l) === key(b.l) ? a.i - b.i : key(a.l) < key(b.l) ? -1 : 1))
    .map((x) => x.l);
}
