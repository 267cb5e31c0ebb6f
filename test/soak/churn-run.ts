// Container churn against a running moatd on the test bed: containers with
// random labels (seeded, so a run can be repeated) started and removed across
// a set of networks, then the end state checked: no rule names anything gone,
// a sample of flows probed against what the labels say, moatd's memory
// sampled all along, commits counted against Docker events. Used by the short
// CI test (test/integration/faults-churn.test.ts) and the soak (churn.ts).
import type Docker from 'dockerode';
import { relevant } from '../../src/adapters/docker.js';
import { liveDocker, rssKiB, savedRules, settled, sleep, staleReferences, waitServing } from '../integration/faults-support.js';
import type { Bed } from '../integration/testbed/bed.js';
import { check, type Case } from '../integration/testbed/check.js';
import type { Moatd } from '../integration/testbed/moatd.js';
import { containerSource } from '../integration/testbed/probe.js';

export interface ChurnOptions {
  readonly networks: number;
  /** Live containers the churn hovers around. */
  readonly containers: number;
  readonly durationMs: number;
  readonly seed: number;
  /** Parallel Docker clients. */
  readonly workers?: number;
  /** Source containers probed at the end. */
  readonly sample?: number;
  readonly rssEveryMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChurnReport {
  readonly seed: number;
  readonly networks: number;
  /** Containers started (fill and churn) and removed. */
  readonly started: number;
  readonly removed: number;
  readonly failedOps: number;
  readonly liveAtEnd: number;
  readonly dockerEvents: number;
  readonly reconciles: number;
  readonly commits: number;
  readonly maxReconcileMs: number;
  readonly rulesAtEnd: Record<string, unknown>;
  readonly rssKiB: readonly number[];
  readonly stale: readonly string[];
  readonly probes: number;
  readonly churnMs: number;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Spec {
  readonly name: string;
  readonly network: string;
  readonly egress: string;
  readonly ingress: string;
  id?: string;
}

export const CHURN_SUBNET_PREFIX = '172.28.';

export async function runChurn(bed: Bed, moatd: Moatd, o: ChurnOptions): Promise<ChurnReport> {
  const docker = bed.engine.docker;
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const log = o.log ?? (() => {});
  const nets = Array.from({ length: o.networks }, (_, i) => `ch-${i}`);
  for (const [i, name] of nets.entries()) await bed.createNetwork({ name, subnets: [`${CHURN_SUBNET_PREFIX}${i}.0/24`] });

  const live = new Map<string, Spec>();
  const everyName: string[] = [];
  let seq = 0;
  let started = 0;
  let removed = 0;
  let failedOps = 0;

  const labelsFor = (self: string, network: string): Pick<Spec, 'egress' | 'ingress'> => {
    const other = () => (everyName.length > 0 ? pick(everyName) : 'nobody');
    const egress = pick([
      '',
      '',
      'none',
      `${other()}:80`,
      `${other()}:80`,
      `net:${pick(nets)}:8080`,
      'world:80',
      `${other()}:99999 bad$name`,
      `${self}-ghost, -j ACCEPT`,
    ]);
    const ingress = pick(['', '', `${other()}:80`, `net:${network}`]);
    return { egress, ingress };
  };

  const start = async () => {
    const name = `ch${seq++}`;
    const network = pick(nets);
    const spec: Spec = { name, network, ...labelsFor(name, network) };
    everyName.push(name);
    try {
      const labels: Record<string, string> = {};
      if (spec.egress) labels['moat.egress'] = spec.egress;
      if (spec.ingress) labels['moat.ingress'] = spec.ingress;
      const c = await docker.createContainer({ Image: bed.image, name, Cmd: ['serve', '80', '8080'], Labels: labels, HostConfig: { NetworkMode: network } });
      await c.start();
      spec.id = c.id;
      live.set(name, spec);
      started++;
    } catch {
      failedOps++;
    }
  };

  const remove = async () => {
    const names = [...live.keys()];
    if (names.length === 0) return;
    const name = pick(names);
    const spec = live.get(name)!;
    live.delete(name);
    try {
      await docker.getContainer(spec.id!).remove({ force: true });
      removed++;
    } catch {
      failedOps++;
    }
  };

  // Fill up to the target first: memory is sampled at the steady state only.
  const filling = Date.now();
  await Promise.all(
    Array.from({ length: o.workers ?? 4 }, async () => {
      while (live.size + (o.workers ?? 4) <= o.containers && Date.now() - filling < 300_000) await start();
    }),
  );
  await settled(moatd, 1_000, 60_000);
  log(`filled: ${live.size} containers in ${Date.now() - filling} ms`);

  const rss: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const kib = await rssKiB(moatd.pid);
      if (kib !== null) rss.push(kib);
      await sleep(o.rssEveryMs ?? 2_000);
    }
  })();

  const events = await countEvents(docker);
  const mark = moatd.mark();
  const t0 = Date.now();
  const end = t0 + o.durationMs;
  let lastLog = t0;
  await Promise.all(
    Array.from({ length: o.workers ?? 4 }, async () => {
      while (Date.now() < end) {
        const n = live.size;
        const grow = n < o.containers * 0.8 || (n < o.containers * 1.2 && random() < 0.5);
        await (grow ? start() : remove());
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          log(`churn: ${Math.round((Date.now() - t0) / 1000)} s, live ${live.size}, started ${started}, removed ${removed}, rss ${rss.at(-1)} KiB`);
        }
      }
    }),
  );
  const churnMs = Date.now() - t0;
  await settled(moatd, 1_500, 60_000);
  sampling = false;
  await sampler;
  const dockerEvents = events.stop();

  const lines = moatd.lines.slice(mark).filter((l) => l.event === 'reconcile');
  const text = `${await savedRules(bed.topology.host, 4)}\n${await savedRules(bed.topology.host, 6)}`;
  const stale = staleReferences(text, await liveDocker(docker), [CHURN_SUBNET_PREFIX]);

  const cases = await sampleCases(bed, docker, [...live.values()], o.sample ?? 8, random);
  await check(cases);

  return {
    seed: o.seed,
    networks: o.networks,
    started,
    removed,
    failedOps,
    liveAtEnd: live.size,
    dockerEvents,
    reconciles: lines.length,
    commits: lines.filter((l) => l.committed === true).length,
    maxReconcileMs: Math.max(0, ...lines.map((l) => Number(l.durationMs))),
    rulesAtEnd: (lines.at(-1)?.rules ?? {}) as Record<string, unknown>,
    rssKiB: rss,
    stale,
    probes: cases.length,
    churnMs,
  };
}

/**
 * Counts, live, the Docker events that can change the ruleset (moatd's own
 * filter). Live, because the engine replays only its last 256 events.
 */
async function countEvents(docker: Docker): Promise<{ stop(): number }> {
  const stream = (await docker.getEvents({ filters: { type: ['container', 'network'] } })) as NodeJS.ReadableStream & { destroy(): void };
  let count = 0;
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts.filter(Boolean)) {
      const e = JSON.parse(line) as { Type?: string; Action?: string };
      if (relevant({ type: String(e.Type), action: String(e.Action).split(':')[0] ?? '', id: '' })) count++;
    }
  });
  stream.on('error', () => undefined);
  return {
    stop() {
      stream.destroy();
      return count;
    },
  };
}

/**
 * Probes for a sample of live containers, expected from their labels alone:
 * - world:80 is open unless moat.egress is `none`;
 * - a peer on the same network is open (ICC on);
 * - another network's container on port 80 is open exactly when one side's
 *   label names the other (`NAME:80`), closed otherwise.
 */
async function sampleCases(bed: Bed, docker: Docker, specs: readonly Spec[], count: number, random: () => number): Promise<Case[]> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const grants = (a: Spec, b: Spec) => a.egress === `${b.name}:80` || b.ingress === `${a.name}:80`;
  const granted = specs.flatMap((s) => {
    const target = byName.get(/^(ch\d+):80$/.exec(s.egress)?.[1] ?? '');
    return target && target.network !== s.network ? [[s, target] as const] : [];
  });
  const sources = [...new Set([...granted.map(([s]) => s), ...specs].slice(0, count * 3))].sort(() => random() - 0.5).slice(0, count);
  const addr = new Map<string, string>();
  const ipOf = async (s: Spec) => {
    if (!addr.has(s.name)) addr.set(s.name, (await docker.getContainer(s.id!).inspect()).NetworkSettings.Networks[s.network]!.IPAddress);
    return addr.get(s.name)!;
  };
  const cases: Case[] = [];
  for (const s of sources) {
    await waitServing(docker, s.id!);
    const from = containerSource(docker, s.id!, s.name);
    cases.push({
      name: `${s.name} (egress ${JSON.stringify(s.egress)}) -> world`,
      from,
      to: bed.topology.world.ipv4,
      port: 80,
      state: s.egress === 'none' ? 'closed' : 'open',
    });
    const mate = specs.find((t) => t !== s && t.network === s.network);
    if (mate) cases.push({ name: `${s.name} -> ${mate.name} (same network)`, from, to: await ipOf(mate), port: 80, state: 'open' });
    const target = granted.find(([a]) => a === s)?.[1];
    if (target) cases.push({ name: `${s.name} -> ${target.name}:80 (granted)`, from, to: await ipOf(target), port: 80, state: 'open' });
    const stranger = specs.find((t) => t.network !== s.network && !grants(s, t) && !grants(t, s));
    if (stranger) cases.push({ name: `${s.name} -> ${stranger.name}:80 (not granted)`, from, to: await ipOf(stranger), port: 80, state: 'closed' });
  }
  return cases;
}
