// The dns section of latest.md (bench/dns.ts): answer-to-connection beside
// Docker's own firewall, the forwarder's latency beside the upstream asked
// directly, moatd's memory with the learned addresses.
import type { DnsBenchResult } from './dns.js';
import { round, summarize } from './stats.js';

/** Nearest-rank quantile, as stats.ts (every number reported is one measured). */
function quantile(values: readonly number[], q: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const n = (v: number | null, digits = 2) => (v === null ? 'n/a' : String(round(v, digits)));
const table = (head: readonly string[], rows: readonly (readonly string[])[]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function renderDns(d: DnsBenchResult): string {
  const out: string[] = ['## Egress by DNS name (issue 13)\n'];
  const failures = d.moat.of - d.moat.opened + (d.tight ? d.tight.moat.of - d.tight.moat.opened : 0);
  out.push(
    `**Target: 0 failures for a container that connects right after its lookup — ${failures === 0 ? 'met' : '**missed**'}** (moat ${d.moat.opened}/${d.moat.of}${d.tight ? `, and ${d.tight.moat.opened}/${d.tight.moat.of} for the strictest client below` : ''}).\n`,
  );
  out.push(
    "A running container runs one busybox `wget` by name, no retry (Docker's resolver → the forwarder → the bed's DNS server in world); every run asks a name never asked before, answered with a world address whose previous answer has expired (TTL 1 s), so under moat each connection needs the address learned before the answer reached the container (network egress `none`, grant `dns:*.bench.example.test:8443`). Time: from the answer leaving the forwarder (moatd's `dns_learned` line, logged after the ipset add and before the reply; pino, ms resolution) to the connection reaching the world server (a stamp server there); under Docker's own firewall there is no forwarder: a test DNS server at the same address stands in, and its receipt of the query counts. The two engines' runs interleaved. ms, median / p95 (min–max).\n",
  );
  const row = (label: string, a: DnsBenchResult['moat']) => {
    const s = summarize(a.ms);
    return [label, `${a.opened}/${a.of}`, s ? `${round(s.median)} / ${round(s.p95)} (${round(s.min)}–${round(s.max)})` : 'n/a'];
  };
  out.push(
    table(
      ['engine', 'first connections open', 'answer → connection'],
      [row("Docker's own firewall (a stand-in DNS server)", d.native), row('moat (its forwarder learns, then answers)', d.moat)],
    ),
  );
  if (d.tight) {
    const t = d.tight;
    out.push(
      `\nThe strictest client, in the same runs: \`dns-ask\` in the container's namespace asks the forwarder (on native the stand-in) itself and connects the moment it decodes the answer, no resolver and no process in between, each run a fresh address: moat **${t.moat.opened}/${t.moat.of}**, Docker's own firewall ${t.native.opened}/${t.native.of}.`,
    );
  }
  const failed = [
    ...d.moat.failures.map((f) => `moat: ${f}`),
    ...d.native.failures.map((f) => `native: ${f}`),
    ...(d.tight?.moat.failures ?? []).map((f) => `moat, strictest client: ${f}`),
    ...(d.tight?.native.failures ?? []).map((f) => `native, strictest client: ${f}`),
  ];
  if (failed.length > 0) out.push(`\nFailed runs:\n\n${failed.map((f) => `- ${f}`).join('\n')}`);
  out.push('');

  const l = d.latency;
  const med = (v: readonly number[]) => quantile(v, 0.5);
  const p99 = (v: readonly number[]) => quantile(v, 0.99);
  out.push(
    "**Forwarder latency**: queries from a container's namespace straight to the forwarder or to the upstream (no Docker resolver in between), UDP, one after another, the cases in interleaved rounds; ms.\n",
  );
  const lrow = (label: string, v: readonly number[], key: string) => [
    label,
    n(med(v)),
    n(p99(v)),
    String(v.length),
    String(l.failed[key] ?? 0),
    key === 'direct'
      ? '—'
      : `${n(med(v) === null || med(l.direct) === null ? null : med(v)! - med(l.direct)!)} / ${n(p99(v) === null || p99(l.direct) === null ? null : p99(v)! - p99(l.direct)!)}`,
  ];
  out.push(
    table(
      ['path', 'median', 'p99', 'answered', 'failed', 'added (median / p99)'],
      [
        lrow('the upstream, directly', l.direct, 'direct'),
        lrow('the forwarder, a name no grant matches', l.forwarder, 'forwarder'),
        lrow('the forwarder, a granted name (ipset add before the reply)', l.forwarderLearning, 'forwarderLearning'),
      ],
    ),
  );
  out.push('');
  const m = d.memory;
  out.push(
    `**Memory with ${m.names.toLocaleString('en')} learned addresses**: ${m.names.toLocaleString('en')} distinct names under \`*.bulk.example.test\` (one A each, 198.18.0.0/15, never contacted) asked through the forwarder in ${m.askS} s (8 in flight); ${m.learned === null ? 'n/a' : m.learned.toLocaleString('en')} entries in the kernel set afterwards. moatd VmRSS ${m.rssMbBefore} MB (RssAnon ${m.anonMbBefore}) before, ${m.rssMbAfter} MB (RssAnon ${m.anonMbAfter}) after; peak (VmHWM) ${m.peakMb} MB.\n`,
  );
  return out.join('\n');
}
