import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { explain, Explainer, parseTarget, type Explanation, type Target } from '../../core/explain.js';
import type { Proto } from '../../core/labels.js';
import { fail, hostAddresses, learnedAddresses, policyContext } from '../context.js';
import { printJson, style, type Style } from '../format.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .argument('[src]', 'CONTAINER, compose SERVICE, PROJECT/SERVICE, host, lan, world or an address')
    .argument('[dst]', 'the same, optionally :PORT[/PROTO] (tcp, udp, sctp; or /icmp)')
    .description('Say whether SRC may open a connection to DST, and which label, policy line, default or option decides it')
    .option('-c, --config <file>', 'config file')
    .option('-6, --ipv6', 'explain the IPv6 path (default: IPv4 unless an address says otherwise)')
    .option('--json', 'machine-readable output (shape: docs/cli.md)')
    .option('--batch <file>', 'explain every "SRC DST[:PORT[/PROTO]]" line of FILE (- for stdin) against one Docker listing')
    .addHelpText(
      'after',
      `
Computed from Docker directly, like \`moat plan\`: the daemon need not run.
Without a port, the verdict is for every port, with the exceptions listed.
Exit codes: 0 allowed, 2 denied, 3 unknown, 1 error (unknown name, Docker unreachable).
A dns: entry allows the addresses moatd learned for its name: explain reads them
from moatd's control socket; without moatd, a verdict that depends on them is
UNKNOWN (exit 3), with what it would be either way.
With --batch: 0 every line explained, 1 some line could not be (see its error).
Examples:
  moat explain proxy app:80
  moat explain shop/web world:443
  moat explain world host:8080
  moat explain 192.168.1.20 db:5432
  printf 'web db:5432\\nweb world:443\\n' | moat explain --batch - --json`,
    )
    .action(async (src: string | undefined, dst: string | undefined, opts: { config?: string; ipv6?: boolean; json?: boolean; batch?: string }) => {
      const family = opts.ipv6 ? 6 : undefined;
      if (opts.batch !== undefined) {
        if (src !== undefined) fail('give either SRC DST or --batch FILE, not both');
        let text: string;
        try {
          text = readFileSync(opts.batch === '-' ? 0 : opts.batch, 'utf8');
        } catch (err) {
          fail(`cannot read ${opts.batch}: ${String(err)}`);
        }
        const { config, desired } = await policyContext(opts.config);
        const x = new Explainer(desired.policy, config, { hostAddresses: hostAddresses(), learned: await learnedAddresses(config) });
        const lines = text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && !l.startsWith('#'));
        const results = lines.map((line) => {
          const [a = '', b = '', ...rest] = line.split(/\s+/);
          const q = query(a, b);
          if (rest.length > 0 || 'error' in q)
            return {
              src: a,
              dst: b,
              ok: false as const,
              error: rest.length > 0 ? `expected "SRC DST", got ${JSON.stringify(line)}` : (q as { error: string }).error,
            };
          const r = x.explain(q.src, q.dst.ref, q.dst.port, q.dst.proto, family);
          return r.ok ? { src: a, dst: b, ok: true as const, explanation: r.explanation } : { src: a, dst: b, ok: false as const, error: r.error };
        });
        if (opts.json) printJson(results);
        else for (const r of results) process.stdout.write(r.ok ? renderExplanation(r.explanation, style()) : `${r.src} -> ${r.dst}: error: ${r.error}\n`);
        process.exitCode = results.every((r) => r.ok) ? 0 : 1;
        return;
      }
      if (src === undefined || dst === undefined) fail('explain needs SRC and DST (or --batch FILE); see moat explain --help');
      const q = query(src, dst);
      if ('error' in q) fail(q.error);
      const { config, desired } = await policyContext(opts.config);
      const learned = await learnedAddresses(config);
      const r = explain(desired.policy, config, q.src, q.dst.ref, q.dst.port, q.dst.proto, { hostAddresses: hostAddresses(), family, learned });
      if (!r.ok) fail(r.error);
      if (opts.json) printJson(r.explanation);
      else process.stdout.write(renderExplanation(r.explanation, style()));
      process.exitCode = r.explanation.verdict === 'allowed' ? 0 : r.explanation.verdict === 'denied' ? 2 : 3;
    });
}

/** Parses SRC and DST[:PORT[/PROTO]]; the source takes no port. */
function query(src: string, dst: string): { src: string; dst: Target } | { error: string } {
  const target = parseTarget(dst);
  if ('error' in target) return target;
  const from = parseTarget(src);
  if ('error' in from) return from;
  if (from.port !== null || from.proto !== null) return { error: `${src}: the source takes no port or protocol (put it on the destination)` };
  return { src: from.ref, dst: target };
}

const what = (proto: Proto | null, port: number | null) =>
  port !== null ? `${proto ?? 'tcp'}/${port}` : proto ? `${proto}, every port` : 'every port and protocol';

export function renderExplanation(e: Explanation, s: Style): string {
  const place = (p: Explanation['src']) =>
    p.kind === 'container'
      ? `${p.name}${p.address ? ` (${p.address}${p.network ? ` on ${p.network}` : ''})` : ''}`
      : p.address && p.name !== p.address
        ? `${p.name} (${p.address})`
        : p.name;
  const verdict =
    e.verdict === 'allowed' ? s.green('ALLOWED') : e.verdict === 'unknown' ? s.yellow('UNKNOWN') : s.red(`DENIED${e.action ? ` (${e.action})` : ''}`);
  const out = [`${s.bold(place(e.src))} -> ${s.bold(place(e.dst))}, ${what(e.proto, e.port)}, IPv${e.family}: ${verdict}`];
  out.push(`  because: ${e.decision.reason}`);
  out.push(`  rule:    ${e.decision.rule ? `${e.decision.rule} in ${e.decision.table}/${e.decision.chain}` : s.dim('none (no moat rule decides this)')}`);
  for (const l of e.legs) {
    out.push(
      s.dim(
        `  path:    ${l.hook}${l.in ? ` in ${l.in}` : ''}${l.out ? ` out ${l.out}` : ''} ${l.src} -> ${l.dst}${l.port !== null ? `:${l.port}` : ''}: ${l.verdict}`,
      ),
    );
    for (const t of l.trace) out.push(s.dim(`             ${t}`));
  }
  if (e.exceptions.length > 0) {
    out.push('  except:');
    for (const x of e.exceptions) {
      const scope = [x.proto ? `${x.proto}${x.ports ? `/${x.ports}` : ''}` : 'any', x.address ? `to/from ${x.address}` : ''].filter(Boolean).join(' ');
      out.push(`    ${scope}: ${x.verdict === 'allowed' ? s.green('allowed') : s.red('denied')} by ${x.decision.reason} (${x.decision.rule})`);
    }
  }
  for (const l of e.dns ?? [])
    out.push(
      `  dns:     ${l.address} in dns:${l.pattern} (${l.set}): ${
        !l.known
          ? 'learned addresses unknown (moatd not reachable)'
          : l.learned
            ? `learned as ${l.learned.name}, expires ${l.learned.expiresAt}`
            : 'not learned'
      }`,
    );
  for (const n of e.notes) out.push(s.yellow(`  note:    ${n}`));
  return `${out.join('\n')}\n`;
}
