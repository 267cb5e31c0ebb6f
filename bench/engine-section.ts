// The side-by-side engines, each on its own bed (private dockerd in fresh
// namespaces, all torn down at the end even on failure):
//   native — dockerd --iptables=true (Docker's own firewall);
//   floor  — dockerd --iptables=false, nothing else (no firewall at all);
//   moat   — dockerd --iptables=false + bin/moatd;
//   gate   — the moat engine, its containers started through the start gate:
//            bin/moat-runc is registered in its daemon.json as runtime
//            "moat" and these containers ask for it (HostConfig.Runtime), the
//            others get runc as before. Same engine, same moatd.
// The beds are up together and start-to-reachable runs are interleaved
// (native, floor, moat, gate, rotating the order), so load from anything else
// on the machine hits them alike; then first connections (per case, and
// bursts of 50) on every engine, interleaved the same way. Then, on moat
// alone: bursts and the footprint with real containers. Lone-event latency
// comes from the moat runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBed, type Bed, type TeardownReport } from '../test/integration/testbed/bed.js';
import { onAbort } from './abort.js';
import type { Moatd, MoatdLine } from '../test/integration/testbed/moatd.js';
import { burstOnce, type BurstResult } from './burst.js';
import { FIRST_CASES, firstBurst, firstTry, type FirstBurst, type FirstTry } from './first-connection.js';
import { sleep } from './clock.js';
import { removeAll, startServer, withTimeout } from './containers.js';
import { recordEvents, startingEvent, type EngineEvent } from './engine-events.js';
import { gateAnswers, isGateAnswer, isGateReconcile, isStartCommit, lineTime, quiet, type GateAnswers } from './moat-lines.js';
import { reachOnce, underMoat, type Mode, type ReachContext, type RunResult } from './reachability.js';
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
  /** bin/moat-runc, registered on the moat engine as runtime "moat". */
  readonly wrapperBin: string;
  /** First connections: tries per case per engine (0: skip), and bursts of `firstBurstSize` per engine. */
  readonly firstTries: number;
  readonly firstBursts: number;
  readonly firstBurstSize: number;
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
  readonly first: readonly FirstTry[];
  readonly firstBursts: readonly FirstBurst[];
  /** gate: start_gate_timeout lines moatd logged over the whole run of the engine. */
  readonly gateTimeouts: number | null;
  /** gate: moatd's answers to the start-to-reachable runs' gated starts. */
  readonly gateRuns: GateAnswers | null;
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
  readonly first: FirstTry[];
  readonly firstBursts: FirstBurst[];
  /** gate: moatd's answer lines for the start-to-reachable runs. */
  readonly gateLines: MoatdLine[];
}

const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

/** The gate's runtime name in daemon.json. */
const GATE_RUNTIME = 'moat';

/**
 * One bed per engine; moat and gate share one (the gate engine is the moat
 * engine with containers that ask for the wrapper). `socketDir` holds moatd's
 * control socket, whose path daemon.json must name before the bed exists.
 */
async function setUp(mode: Mode, opts: EngineOptions, beds: Bed[], engines: readonly Engine[], socketDir: string): Promise<Engine> {
  const sibling = underMoat(mode) ? engines.find((e) => underMoat(e.mode)) : undefined;
  if (sibling) {
    return {
      ...sibling,
      mode,
      runs: [],
      lone: [],
      first: [],
      firstBursts: [],
      gateLines: [],
      ctx: { ...sibling.ctx, mode, ...(mode === 'gate' ? { runtime: GATE_RUNTIME } : {}) },
    };
  }
  const socket = join(socketDir, 'moat.sock');
  const daemonJson = underMoat(mode) ? { runtimes: { [GATE_RUNTIME]: { path: opts.wrapperBin, runtimeArgs: ['--moat-socket', socket] } } } : undefined;
  const bed = await createBed({ engine: { iptables: mode === 'native', ...(daemonJson ? { daemonJson } : {}) } });
  beds.push(bed);
  opts.log(`[${mode}] bed ${bed.prefix} (namespaces ${bed.prefix}-*, files /tmp/${bed.prefix})`);
  const docker = bed.engine.docker;
  await bed.createNetwork({ name: 'bench-a', subnets: ['172.31.1.0/24'] });
  await bed.createNetwork({ name: 'bench-b', subnets: ['172.31.2.0/24'] });
  const peerA = await startServer(docker, { name: 'peer-a', image: bed.image, network: 'bench-a' });
  const peerB = await startServer(docker, { name: 'peer-b', image: bed.image, network: 'bench-b' });
  const recorder = await recordEvents(docker);
  // log level debug: moatd's only debug line is the gate's answer (start_gate, with its wait).
  const configPath = await bed.writeFile(
    'moatd.yaml',
    `log: { level: debug }\nreconcile: { resyncIntervalS: 3600 }\npolicyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${socket} }\n`,
  );
  const startMoatd = async () => {
    const m = bed.startMoatd({ configPath, bin: opts.moatdBin });
    const first = await m.waitForEvent('reconcile', { timeoutMs: 30_000 });
    if (first.ok !== true) throw new Error(`moatd's first reconcile failed: ${JSON.stringify(first)}`);
    return m;
  };
  const engine: Engine = {
    mode,
    bed,
    events: recorder.events,
    closeEvents: recorder.close,
    peerBPid: peerB.pid,
    startMoatd,
    moatd: null,
    runs: [],
    lone: [],
    first: [],
    firstBursts: [],
    gateLines: [],
    ctx: {
      docker,
      image: bed.image,
      mode,
      peers: { a: peerA.ip, b: peerB.ip, world: bed.topology.world.ipv4 },
      networks: { a: 'bench-a', b: 'bench-b' },
      events: recorder.events,
      ...(mode === 'gate' ? { runtime: GATE_RUNTIME } : {}),
    },
  };
  if (underMoat(mode)) engine.moatd = await startMoatd();
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
  if (e.moatd && e.mode === 'gate')
    e.gateLines.push(...e.moatd.lines.slice(mark).filter((l) => (isGateAnswer(l) && l.container === r.id) || isGateReconcile(l)));
  // Lone events: gate off only (under the gate the commit is the one the gate asked for).
  if (!e.moatd || e.mode !== 'moat') return;
  const started = startingEvent(e.events, r.id);
  if (!started) return;
  const lines = e.moatd.lines.slice(mark).filter((l) => lineTime(l) >= Math.floor(started.at));
  const idx = lines.findIndex(isStartCommit);
  if (idx < 0) return;
  const commit = lines[idx]!;
  e.lone.push({
    eventToCommitMs: lineTime(commit) - started.at,
    reconcileMs: Number(commit.durationMs),
    reconciles: lines.slice(0, idx + 1).filter((l) => l.event === 'reconcile').length,
  });
}

const tornDown = new WeakSet<Bed>();

/**
 * Removes the bed's containers 4 at a time (the bed's own teardown removes
 * them all at once, which dockerd 20.10 can deadlock on), then disposes the
 * bed. An engine that stopped answering is killed by its PID first, so the
 * teardown does not wait on it.
 */
export async function disposeBed(bed: Bed, say: (s: string) => void): Promise<TeardownReport | null> {
  if (tornDown.has(bed)) return null;
  tornDown.add(bed);
  try {
    const all = await withTimeout('list containers', bed.engine.docker.listContainers({ all: true }), 15_000);
    await removeAll(
      bed.engine.docker,
      all.map((c) => c.Id),
    );
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

/** Runs `fn` on every engine `times` times, the engines in rotating order. */
async function interleaved(
  engines: readonly Engine[],
  times: number,
  fn: (e: Engine, i: number) => Promise<void>,
  progress?: (i: number) => void,
): Promise<void> {
  for (let i = 0; i < times; i++) {
    for (let k = 0; k < engines.length; k++) await fn(engines[(k + i) % engines.length]!, i);
    progress?.(i);
  }
}

export async function runEngines(opts: EngineOptions): Promise<EngineResult[]> {
  const say = opts.log;
  const beds: Bed[] = [];
  const engines: Engine[] = [];
  const results = new Map<Mode, EngineResult>();
  const socketDir = await mkdtemp('/tmp/moat-bench-sock-');
  const unregister = onAbort(async () => {
    for (const bed of beds) await disposeBed(bed, say).catch(() => undefined);
    await rm(socketDir, { recursive: true, force: true });
  });
  try {
    for (const mode of opts.modes) {
      say(`[${mode}] ${engines.some((e) => underMoat(e.mode)) && underMoat(mode) ? 'on the moat bed' : 'creating bed'}`);
      engines.push(await setUp(mode, opts, beds, engines, socketDir));
    }
    for (const e of engines) await settle(e);
    say(`start-to-reachable, interleaved: ${opts.warmup} warm-up + ${opts.runs} runs per engine`);
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const order = engines.map((_, k) => engines[(k + i) % engines.length]!);
      for (const e of order) await reachRun(e, i, i >= opts.warmup);
      if ((i + 1) % 10 === 0) say(`  run ${i + 1 - opts.warmup}/${opts.runs} (load ${load().join(' ')})`);
    }
    const loadAfterRuns = load();

    if (opts.firstTries > 0) {
      say(`first connections, interleaved: ${opts.firstTries} tries per case (${FIRST_CASES.join(', ')}) per engine`);
      await interleaved(
        engines,
        opts.firstTries,
        async (e, i) => {
          for (const c of FIRST_CASES) {
            e.first.push(await firstTry(e.ctx, c, i));
            await settle(e);
          }
        },
        (i) =>
          say(
            `  try ${i + 1}/${opts.firstTries}: ${engines.map((e) => `${e.mode} ${e.first.reduce((n, t) => n + t.opened, 0)}/${e.first.reduce((n, t) => n + t.of, 0)}`).join(', ')} (load ${load().join(' ')})`,
          ),
      );
    }
    if (opts.firstBursts > 0) {
      say(`first-connection bursts of ${opts.firstBurstSize}, interleaved: ${opts.firstBursts} per engine`);
      await interleaved(engines, opts.firstBursts, async (e, i) => {
        const b = await firstBurst(e.ctx, e.moatd, i, opts.firstBurstSize);
        e.firstBursts.push(b);
        say(
          `  [${e.mode}] burst ${i + 1}: ${b.opened}/${b.containers} open, starts ${b.startSpanMs} ms, last verdict ${b.lastVerdictMs} ms${b.commits === null ? '' : `, ${b.commits} commits (${b.reconciles} reconciles)`} (load ${load().join(' ')})`,
        );
        await settle(e);
      });
    }

    const m = engines.find((x) => x.mode === 'moat');
    const gate = engines.find((x) => x.mode === 'gate');
    const gateTimeouts = gate?.moatd ? gate.moatd.lines.filter((l) => l.event === 'start_gate_timeout').length : null;
    for (const e of engines.filter((x) => x.mode !== 'moat')) {
      results.set(e.mode, {
        mode: e.mode,
        runs: e.runs,
        lone: [],
        bursts: [],
        footprint: null,
        loadavg: loadAfterRuns,
        first: e.first,
        firstBursts: e.firstBursts,
        gateTimeouts: e.mode === 'gate' ? gateTimeouts : null,
        gateRuns: e.mode === 'gate' ? gateAnswers(e.gateLines) : null,
      });
      // The gate engine's bed is the moat engine's: torn down with it.
      if (e.bed !== m?.bed) await tearDown(e, say);
    }

    if (m?.moatd) {
      const bursts: BurstResult[] = [];
      for (let k = 0; k < opts.bursts; k++) {
        say(`[moat] burst ${k + 1}/${opts.bursts} of ${opts.burstSize} (load ${load().join(' ')})`);
        bursts.push(
          await burstOnce(
            {
              docker: m.ctx.docker,
              image: m.bed.image,
              moatd: m.moatd,
              network: 'bench-a',
              addressPrefix: '172.31.1',
              peerPid: m.peerBPid,
              proberJs: opts.proberJs,
              events: m.events,
            },
            k,
            opts.burstSize,
          ),
        );
      }
      let footprint: RealFootprintResult | null = null;
      if (opts.footprintContainers > 0) {
        say(`[moat] footprint with ${opts.footprintContainers} real containers (load ${load().join(' ')})`);
        const first = m.moatd;
        footprint = await realFootprint({
          bed: m.bed,
          docker: m.ctx.docker,
          moatd: first,
          events: m.events,
          containers: opts.footprintContainers,
          idleS: opts.idleS,
          churnS: opts.churnS,
          loneEvents: opts.loneEvents,
          log: (s) => say(`[moat] ${s}`),
          restartMoatd: async () => {
            await first.stop();
            m.moatd = await m.startMoatd();
            return m.moatd;
          },
        });
      }
      results.set('moat', {
        mode: 'moat',
        runs: m.runs,
        lone: m.lone,
        bursts,
        footprint,
        loadavg: load(),
        first: m.first,
        firstBursts: m.firstBursts,
        gateTimeouts: null,
        gateRuns: null,
      });
    }
    return opts.modes.map((mode) => results.get(mode)).filter((r): r is EngineResult => r !== undefined);
  } finally {
    for (const e of engines) await tearDown(e, say);
    // A bed whose set-up failed half way is not in `engines`.
    for (const bed of beds) await disposeBed(bed, say).catch(() => undefined);
    await rm(socketDir, { recursive: true, force: true });
    unregister();
  }
}
