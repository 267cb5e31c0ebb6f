// The side-by-side engines, each on its own bed (private dockerd in fresh
// namespaces, all torn down at the end even on failure):
//   native — dockerd --iptables=true (Docker's own firewall);
//   floor  — dockerd --iptables=false, nothing else (no firewall at all);
//   moat   — dockerd --iptables=false + bin/moatd.
// The three beds are up together and start-to-reachable runs are interleaved
// (native, floor, moat, rotating the order), so load from anything else on
// the machine hits the three alike. Then, on moat alone: bursts and the
// footprint with real containers. Lone-event latency comes from the moat runs.
import { loadavg } from 'node:os';
import { createBed, type Bed, type TeardownReport } from '../test/integration/testbed/bed.js';
import { onAbort } from './abort.js';
import type { Moatd } from '../test/integration/testbed/moatd.js';
import { burstOnce, type BurstResult } from './burst.js';
import { sleep } from './clock.js';
import { removeAll, startServer, withTimeout } from './containers.js';
import { recordEvents, type EngineEvent } from './engine-events.js';
import { isCommit, lineTime, quiet, triggered } from './moat-lines.js';
import { reachOnce, type Mode, type ReachContext, type RunResult } from './reachability.js';
import { realFootprint, type RealFootprintResult } from './real-footprint.js';

export interface EngineOptions {
  readonly modes: readonly Mode[];
  readonly runs: number;
  readonly warmup: number;
  readonly bursts: number;
  readonly burstSize: number;
  readonly footprintContainers: number;
  readonly idleS: number;
  readonly churnS: number;
  readonly loneEvents: number;
  readonly moatdBin: string;
  readonly proberJs: string;
  readonly log: (s: string) => void;
}

export interface LoneEvent {
  /** Docker's start event -> moatd's commit line. */
  readonly eventToCommitMs: number;
  readonly reconcileMs: number;
  /** Reconciles logged between the start event and that commit (inclusive). */
  readonly reconciles: number;
}

export interface EngineResult {
  readonly mode: Mode;
  readonly runs: readonly RunResult[];
  readonly lone: readonly LoneEvent[];
  readonly bursts: readonly BurstResult[];
  readonly footprint: RealFootprintResult | null;
  readonly loadavg: readonly number[];
}

interface Engine {
  readonly mode: Mode;
  readonly bed: Bed;
  readonly ctx: ReachContext;
  readonly events: EngineEvent[];
  readonly closeEvents: () => void;
  readonly peerBPid: number;
  readonly startMoatd: () => Promise<Moatd>;
  moatd: Moatd | null;
  readonly runs: RunResult[];
  readonly lone: LoneEvent[];
}

const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

async function setUp(mode: Mode, opts: EngineOptions, beds: Bed[]): Promise<Engine> {
  const bed = await createBed({ engine: { iptables: mode === 'native' } });
  beds.push(bed);
  const docker = bed.engine.docker;
  await bed.createNetwork({ name: 'bench-a', subnets: ['172.31.1.0/24'] });
  await bed.createNetwork({ name: 'bench-b', subnets: ['172.31.2.0/24'] });
  const peerA = await startServer(docker, { name: 'peer-a', image: bed.image, network: 'bench-a' });
  const peerB = await startServer(docker, { name: 'peer-b', image: bed.image, network: 'bench-b' });
  const recorder = await recordEvents(docker);
  const configPath = await bed.writeFile('moatd.yaml', `reconcile: { resyncIntervalS: 3600 }\npolicyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n`);
  const startMoatd = async () => {
    const m = bed.startMoatd({ configPath, bin: opts.moatdBin });
    const first = await m.waitForEvent('reconcile', { timeoutMs: 30_000 });
    if (first.ok !== true) throw new Error(`moatd's first reconcile failed: ${JSON.stringify(first)}`);
    return m;
  };
  const engine: Engine = {
    mode, bed, events: recorder.events, closeEvents: recorder.close, peerBPid: peerB.pid, startMoatd, moatd: null, runs: [], lone: [],
    ctx: { docker, image: bed.image, mode, peers: { a: peerA.ip, b: peerB.ip, world: bed.topology.world.ipv4 }, networks: { a: 'bench-a', b: 'bench-b' }, events: recorder.events },
  };
  if (mode === 'moat') engine.moatd = await startMoatd();
  return engine;
}

async function settle(e: Engine): Promise<void> {
  if (e.moatd) await quiet(e.moatd, 300, 5_000);
  else await sleep(300);
}

async function reachRun(e: Engine, i: number, keep: boolean): Promise<void> {
  const mark = e.moatd?.mark() ?? 0;
  const r = await reachOnce(e.ctx, i);
  await settle(e);
  if (!keep) return;
  e.runs.push(r);
  if (!e.moatd) return;
  const started = e.events.find((ev) => ev.id === r.id && ev.action === 'start');
  if (!started) return;
  const lines = e.moatd.lines.slice(mark).filter((l) => lineTime(l) >= Math.floor(started.at));
  const idx = lines.findIndex((l) => isCommit(l) && triggered(l, 'container.start'));
  if (idx < 0) return;
  const commit = lines[idx]!;
  e.lone.push({ eventToCommitMs: lineTime(commit) - started.at, reconcileMs: Number(commit.durationMs), reconciles: lines.slice(0, idx + 1).filter((l) => l.event === 'reconcile').length });
}

const tornDown = new WeakSet<Bed>();

/**
 * Removes the bed's containers 4 at a time (the bed's own teardown removes
 * them all at once, which dockerd 20.10 can deadlock on), then disposes the
 * bed. An engine that stopped answering is killed by its PID first, so the
 * teardown does not wait on it.
 */
async function disposeBed(bed: Bed, say: (s: string) => void): Promise<TeardownReport | null> {
  if (tornDown.has(bed)) return null;
  tornDown.add(bed);
  try {
    const all = await withTimeout('list containers', bed.engine.docker.listContainers({ all: true }), 15_000);
    await removeAll(bed.engine.docker, all.map((c) => c.Id));
  } catch (err) {
    say(`engine ${bed.prefix} does not answer (${String(err)}): killing its dockerd`);
    try {
      process.kill(bed.engine.pid(), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return bed.dispose();
}

async function tearDown(e: Engine, say: (s: string) => void): Promise<void> {
  if (tornDown.has(e.bed)) return;
  say(`[${e.mode}] tearing down`);
  e.closeEvents();
  const report = await disposeBed(e.bed, say).catch((err: unknown) => {
    say(`[${e.mode}] teardown error: ${String(err)}`);
    return null;
  });
  if (report && report.forced.length + report.cgroupsLeft.length > 0) say(`[${e.mode}] teardown: ${JSON.stringify(report)}`);
}

export async function runEngines(opts: EngineOptions): Promise<EngineResult[]> {
  const say = opts.log;
  const beds: Bed[] = [];
  const engines: Engine[] = [];
  const results = new Map<Mode, EngineResult>();
  const unregister = onAbort(async () => {
    for (const bed of beds) await disposeBed(bed, say).catch(() => undefined);
  });
  try {
    for (const mode of opts.modes) {
      say(`[${mode}] creating bed`);
      engines.push(await setUp(mode, opts, beds));
    }
    for (const e of engines) await settle(e);
    say(`start-to-reachable, interleaved: ${opts.warmup} warm-up + ${opts.runs} runs per engine`);
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const order = engines.map((_, k) => engines[(k + i) % engines.length]!);
      for (const e of order) await reachRun(e, i, i >= opts.warmup);
      if ((i + 1) % 10 === 0) say(`  run ${i + 1 - opts.warmup}/${opts.runs} (load ${load().join(' ')})`);
    }
    const loadAfterRuns = load();
    for (const e of engines.filter((x) => x.mode !== 'moat')) {
      results.set(e.mode, { mode: e.mode, runs: e.runs, lone: [], bursts: [], footprint: null, loadavg: loadAfterRuns });
      await tearDown(e, say);
    }

    const m = engines.find((x) => x.mode === 'moat');
    if (m?.moatd) {
      const bursts: BurstResult[] = [];
      for (let k = 0; k < opts.bursts; k++) {
        say(`[moat] burst ${k + 1}/${opts.bursts} of ${opts.burstSize} (load ${load().join(' ')})`);
        bursts.push(await burstOnce({ docker: m.ctx.docker, image: m.bed.image, moatd: m.moatd, network: 'bench-a', addressPrefix: '172.31.1', peerPid: m.peerBPid, proberJs: opts.proberJs, events: m.events }, k, opts.burstSize));
      }
      let footprint: RealFootprintResult | null = null;
      if (opts.footprintContainers > 0) {
        say(`[moat] footprint with ${opts.footprintContainers} real containers (load ${load().join(' ')})`);
        const first = m.moatd;
        footprint = await realFootprint({
          bed: m.bed, docker: m.ctx.docker, moatd: first, events: m.events, containers: opts.footprintContainers,
          idleS: opts.idleS, churnS: opts.churnS, loneEvents: opts.loneEvents, log: (s) => say(`[moat] ${s}`),
          restartMoatd: async () => {
            await first.stop();
            m.moatd = await m.startMoatd();
            return m.moatd;
          },
        });
      }
      results.set('moat', { mode: 'moat', runs: m.runs, lone: m.lone, bursts, footprint, loadavg: load() });
    }
    return opts.modes.map((mode) => results.get(mode)).filter((r): r is EngineResult => r !== undefined);
  } finally {
    for (const e of engines) await tearDown(e, say);
    // A bed whose set-up failed half way is not in `engines`.
    for (const bed of beds) await disposeBed(bed, say).catch(() => undefined);
    unregister();
  }
}
