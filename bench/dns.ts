// Section dns (issue 13 part 1): egress by DNS name, on the DNS bed
// (test/integration/testbed/dns-bed.ts). Two beds up together:
//   moat   — iptables: false + moatd with its forwarder (dns.listen, ttlFloorS 1);
//   native — Docker's own firewall (iptables: true), daemon.json "dns" at a test DNS
//            server standing in for the forwarder (same address, same records).
// (a) answer-to-connection: a running container (on moat: a network with egress none,
//     granted `dns:*.bench.example.test:8443`) runs one busybox wget by name, no retry;
//     each run asks a name never asked before, answered with one of POOL world
//     addresses whose last answer has expired (TTL 1 s), so on moat every run needs the
//     forwarder to have learned the address before the answer reached the container.
//     The same run also asks `tI.bench.example.test` (another fresh address) with dns-ask in
//     the container's namespace, straight to the forwarder, and connects the moment the
//     answer is decoded (no resolver, no process in between): the strictest client.
//     Failures counted (target 0); time from the answer leaving the forwarder (moatd's
//     `dns_learned` line, logged after the ipset add and before the reply; on native the
//     stand-in's receipt of the query, it replies at once) to the connection reaching
//     the world server (a stamp server there). The engines' runs interleaved.
// (b) forwarder latency, moat bed: queries from a container's namespace (dns-ask, no
//     Docker resolver in between) to the forwarder for a name no grant matches, for a
//     granted name (the forwarder adds to an ipset first), and to the upstream directly;
//     rounds interleaved; median and p99.
// (c) moatd's RSS before and after the forwarder learned `bulk` addresses (distinct
//     names under `*.bulk.example.test`, one A each in 198.18.0.0/15: set entries only,
//     never contacted), counted in the kernel set.
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createBed, type Bed } from '../test/integration/testbed/bed.js';
import { execInContainer } from '../test/integration/testbed/container-exec.js';
import { WORLD_DNS } from '../test/integration/testbed/dns-bed.js';
import { askOnce, dnsAsk, inContainer, type DnsAnswer, type Enter } from '../test/integration/testbed/dns-client.js';
import type { DnsRecord, DnsZone } from '../test/integration/testbed/dns-zone.js';
import type { Moatd } from '../test/integration/testbed/moatd.js';
import { terminate } from '../test/integration/testbed/processes.js';
import type { TestDns } from '../test/integration/testbed/test-dns.js';
import { execaSpawn } from '../test/integration/testbed/spawn.js';
import { onAbort } from './abort.js';
import { sleep, wallMs } from './clock.js';
import { startServer } from './containers.js';
import { disposeBed } from './engine-section.js';
import { lineTime, quiet } from './moat-lines.js';
import { peakRssKb, sampleProc } from './proc-stats.js';

export interface DnsBenchOptions {
  readonly runs: number;
  readonly warmup: number;
  readonly latencyRounds: number;
  readonly latencyPerRound: number;
  readonly bulk: number;
  readonly moatdBin: string;
  readonly log: (s: string) => void;
}

export interface AnswerToConnection {
  readonly opened: number;
  readonly of: number;
  /** Answer out -> connection at the server, ms, one per opened run. */
  readonly ms: readonly number[];
  /** Why the runs that failed failed (wget's message). */
  readonly failures: readonly string[];
}

export interface TightConnects {
  readonly opened: number;
  readonly of: number;
  readonly failures: readonly string[];
}

export interface DnsBenchResult {
  readonly moat: AnswerToConnection;
  readonly native: AnswerToConnection;
  /** dns-ask --connect: a connect the moment the answer is decoded (absent in results before it). */
  readonly tight?: { readonly moat: TightConnects; readonly native: TightConnects };
  readonly latency: {
    readonly direct: readonly number[];
    readonly forwarder: readonly number[];
    readonly forwarderLearning: readonly number[];
    /** Queries that got no answer or not NOERROR, by case. */
    readonly failed: Readonly<Record<string, number>>;
  };
  readonly memory: {
    readonly names: number;
    /** Entries in the kernel set of `*.bulk.example.test` afterwards. */
    readonly learned: number | null;
    readonly askS: number;
    readonly rssMbBefore: number;
    readonly anonMbBefore: number;
    readonly rssMbAfter: number;
    readonly anonMbAfter: number;
    readonly peakMb: number;
  };
  readonly loadavg: readonly number[];
}

const POOL = 20;
const PORT = 8443;
const pool = (i: number) => `203.0.113.${100 + (i % POOL)}`;
const tightPool = (i: number) => `203.0.113.${100 + POOL + (i % POOL)}`;
const runName = (i: number) => `r${i}.bench.example.test`;
const tightName = (i: number) => `t${i}.bench.example.test`;
const bulkName = (i: number) => `n${i}.bulk.example.test`;
const bulkAddress = (i: number) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const mb = (kb: number) => Math.round(kb / 102.4) / 10;
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

function zone(runs: number, bulk: number): DnsZone {
  const records: Record<string, DnsRecord[]> = {
    'lat.bench.example.test': [{ type: 'A', value: '203.0.113.11', ttl: 60 }],
    'free.example.test': [{ type: 'A', value: '203.0.113.11', ttl: 60 }],
  };
  for (let i = 0; i < runs; i++) {
    records[runName(i)] = [{ type: 'A', value: pool(i), ttl: 1 }];
    records[tightName(i)] = [{ type: 'A', value: tightPool(i), ttl: 1 }];
  }
  for (let i = 0; i < bulk; i++) records[bulkName(i)] = [{ type: 'A', value: bulkAddress(i), ttl: 3600 }];
  return { records };
}

interface Side {
  readonly bed: Bed;
  readonly asker: string;
  readonly stamps: { t: number; to: string }[];
  /** The asker's network namespace, for dns-ask. */
  readonly enter: Enter;
  /** When the answer for `name` left the forwarder (wall ms), once it did. */
  answeredAt(name: string): number | null;
}

async function startStamps(bed: Bed): Promise<{ stamps: { t: number; to: string }[]; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./stamp-server.js', import.meta.url));
  const [file, argv] = bed.topology.world.netns.enter([process.execPath, script, String(PORT)]);
  const proc = execaSpawn(file, argv, { stdout: 'pipe', stderr: 'ignore' });
  const stamps: { t: number; to: string }[] = [];
  let ready: () => void = () => undefined;
  const up = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const x = JSON.parse(l) as { event?: string; t: number; to: string };
    if (x.event === 'ready') ready();
    else stamps.push(x);
  });
  await Promise.race([up, sleep(10_000).then(() => Promise.reject(new Error('stamp server did not start')))]);
  return { stamps, stop: async () => void (await terminate(proc.pid, 2_000)) };
}

async function makeSide(
  mode: 'moat' | 'native',
  z: DnsZone,
  o: DnsBenchOptions,
  onStop: (stop: () => Promise<void>) => void,
): Promise<{ side: Side; moatd: Moatd | null }> {
  const bed = await createBed({ dns: { zone: z }, engine: { iptables: mode === 'native' } });
  let stopStamps: () => Promise<void> = async () => undefined;
  let moatd: Moatd | null = null;
  const stop = async () => {
    await moatd?.stop().catch(() => undefined);
    await stopStamps();
    await disposeBed(bed, o.log);
  };
  onStop(stop);
  for (let k = 0; k < POOL; k++) {
    await bed.topology.world.netns.addAddress('eth0', `${pool(k)}/24`);
    await bed.topology.world.netns.addAddress('eth0', `${tightPool(k)}/24`);
  }
  const stamps = await startStamps(bed);
  stopStamps = stamps.stop;
  await bed.createNetwork({ name: 'dns-closed', subnets: ['172.31.1.0/24'], labels: { 'moat.egress': 'none' } });
  await bed.createNetwork({ name: 'dns-open', subnets: ['172.31.2.0/24'] });
  const labels = { 'moat.egress': `dns:*.bench.example.test:${PORT} dns:*.bulk.example.test:443` };
  const asker = await startServer(bed.engine.docker, { name: 'asker', image: bed.image, network: 'dns-closed', labels });
  let standIn: TestDns | null = null;
  if (mode === 'moat') {
    await startServer(bed.engine.docker, { name: 'lat', image: bed.image, network: 'dns-open' });
    const config = await bed.writeFile(
      'moatd.yaml',
      `log: { level: debug }\nreconcile: { resyncIntervalS: 3600 }\npolicyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n${bed.dns!.config}\n`,
    );
    moatd = bed.startMoatd({ configPath: config, bin: o.moatdBin });
    const first = await moatd.waitForEvent('reconcile', { timeoutMs: 60_000 });
    if (first.ok !== true) throw new Error(`moatd's first reconcile failed: ${JSON.stringify(first)}`);
    await quiet(moatd, 500, 20_000);
  } else standIn = await bed.dns!.standIn();
  const m = moatd;
  const answeredAt = (name: string) => {
    if (m) {
      const l = m.lines.findLast((x) => x.event === 'dns_learned' && x.name === name);
      return l ? lineTime(l) : null;
    }
    return standIn!.queries.find((q) => q.name === name && q.type === 'A')?.t ?? null;
  };
  const enter = await inContainer(bed.engine.docker, asker.id);
  return { side: { bed, asker: asker.id, stamps: stamps.stamps, enter, answeredAt }, moatd };
}

/** The strictest client on one side: dns-ask asks the forwarder (or the stand-in) and connects at once. */
async function tightOnce(side: Side, i: number): Promise<{ ok: boolean; why: string }> {
  const a = await askOnce(side.enter, side.bed.dns!.listen, tightName(i), 'A', ['--connect', String(PORT)]);
  return a.connected ? { ok: true, why: '' } : { ok: false, why: `${tightName(i)}: ${a.rcode ?? ''} ${a.connectError ?? a.error ?? ''}` };
}

/** One run on one side: a new name, one wget, the verdict and the time. */
async function runOnce(side: Side, i: number): Promise<{ ok: boolean; ms: number | null; why: string }> {
  const name = runName(i);
  const since = wallMs();
  const r = await execInContainer(side.bed.engine.docker, side.asker, ['timeout', '3', 'wget', '-q', '-O', '/dev/null', `http://${name}:${PORT}/`], 15_000);
  if (r.exitCode !== 0) return { ok: false, ms: null, why: `${name}: exit ${r.exitCode} ${r.stderr.trim()}` };
  const stamp = side.stamps.find((s) => s.to === pool(i) && s.t >= since);
  const answered = side.answeredAt(name);
  return { ok: true, ms: stamp && answered !== null ? stamp.t - answered : null, why: '' };
}

export async function runDns(o: DnsBenchOptions): Promise<DnsBenchResult> {
  const say = o.log;
  const total = o.warmup + o.runs;
  const z = zone(total, o.bulk);
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.splice(0)) await stop().catch((err: unknown) => say(`[dns] teardown error: ${String(err)}`));
  };
  const unregister = onAbort(teardown);
  try {
    const moat = await makeSide('moat', z, o, (s) => stops.push(s));
    const native = await makeSide('native', z, o, (s) => stops.push(s));
    say(`[dns] beds ${moat.side.bed.prefix} (moat) and ${native.side.bed.prefix} (native) up; ${o.runs} runs each`);

    // (a) answer-to-connection, interleaved, each address reused only after its TTL.
    const results = { moat: [] as Awaited<ReturnType<typeof runOnce>>[], native: [] as Awaited<ReturnType<typeof runOnce>>[] };
    const tight = { moat: [] as { ok: boolean; why: string }[], native: [] as { ok: boolean; why: string }[] };
    const lastUse = new Map<string, number>();
    for (let i = 0; i < total; i++) {
      const wait = (lastUse.get(pool(i)) ?? 0) + 2_500 - Date.now();
      if (wait > 0) await sleep(wait);
      for (const mode of i % 2 === 0 ? (['moat', 'native'] as const) : (['native', 'moat'] as const)) {
        const side = (mode === 'moat' ? moat : native).side;
        const r = await runOnce(side, i);
        const t = await tightOnce(side, i);
        if (i >= o.warmup) {
          results[mode].push(r);
          tight[mode].push(t);
        }
      }
      lastUse.set(pool(i), Date.now());
    }
    const summary = (rs: readonly Awaited<ReturnType<typeof runOnce>>[]): AnswerToConnection => ({
      opened: rs.filter((r) => r.ok).length,
      of: rs.length,
      ms: rs.flatMap((r) => (r.ms === null ? [] : [r.ms])),
      failures: rs.filter((r) => !r.ok).map((r) => r.why),
    });
    say(`[dns] answer-to-connection: moat ${summary(results.moat).opened}/${o.runs}, native ${summary(results.native).opened}/${o.runs}`);

    // (b) forwarder latency from the open container's namespace.
    const bed = moat.side.bed;
    const enter = await inContainer(bed.engine.docker, 'lat');
    const latency = { direct: [] as number[], forwarder: [] as number[], forwarderLearning: [] as number[] };
    const failed: Record<string, number> = { direct: 0, forwarder: 0, forwarderLearning: 0 };
    const cases = [
      ['direct', WORLD_DNS.ipv4, 'free.example.test'],
      ['forwarder', bed.dns!.listen, 'free.example.test'],
      ['forwarderLearning', bed.dns!.listen, 'lat.bench.example.test'],
    ] as const;
    for (let round = 0; round < o.latencyRounds; round++) {
      for (let k = 0; k < cases.length; k++) {
        const [key, server, name] = cases[(k + round) % cases.length]!;
        const answers = (await dnsAsk(enter, ['--server', server, '--name', name, '--count', String(o.latencyPerRound)])) as DnsAnswer[];
        for (const a of answers) {
          if (a.rcode === 'NOERROR' && !a.error) latency[key].push(a.ms);
          else failed[key]!++;
        }
      }
    }
    say(`[dns] latency: ${o.latencyRounds} rounds of ${o.latencyPerRound} per case`);

    // (c) moatd's memory with `bulk` learned addresses.
    const m = moat.moatd!;
    await quiet(m, 1_000, 20_000);
    const before = await sampleProc(m.pid);
    const names = await bed.writeFile('bulk.txt', Array.from({ length: o.bulk }, (_, i) => bulkName(i)).join('\n'));
    const set = `moat-dns4-${createHash('sha256').update('*.bulk.example.test').digest('hex').slice(0, 16)}`;
    const entries = async () => {
      const r = await bed.topology.host.run('ipset', ['list', '-t', set], { check: false });
      const n = /Number of entries:\s*(\d+)/.exec(r.stdout)?.[1];
      return n === undefined ? null : Number(n);
    };
    const t0 = wallMs();
    // The forwarder bounds what one client has in flight: ask at a pace it serves, and once more for what it dropped.
    for (let pass = 0; pass < 2 && ((await entries()) ?? 0) < o.bulk; pass++)
      await dnsAsk(enter, ['--server', bed.dns!.listen, '--names-file', names, '--concurrency', '8', '--timeout-ms', '3000'], undefined, 600_000);
    const askS = Math.round((wallMs() - t0) / 100) / 10;
    await quiet(m, 1_000, 30_000);
    const after = await sampleProc(m.pid);
    const memory = {
      names: o.bulk,
      learned: await entries(),
      askS,
      rssMbBefore: mb(before.rssKb),
      anonMbBefore: mb(before.anonKb),
      rssMbAfter: mb(after.rssKb),
      anonMbAfter: mb(after.anonKb),
      peakMb: mb(await peakRssKb(m.pid)),
    };
    say(`[dns] ${memory.learned ?? 'n/a'} learned in ${askS} s; RSS ${memory.rssMbBefore} -> ${memory.rssMbAfter} MB`);
    const tightOf = (rs: readonly { ok: boolean; why: string }[]) => ({
      opened: rs.filter((r) => r.ok).length,
      of: rs.length,
      failures: rs.filter((r) => !r.ok).map((r) => r.why),
    });
    return {
      moat: summary(results.moat),
      native: summary(results.native),
      tight: { moat: tightOf(tight.moat), native: tightOf(tight.native) },
      latency: { ...latency, failed },
      memory,
      loadavg: load(),
    };
  } finally {
    say('[dns] tearing down');
    await teardown();
    unregister();
  }
}
