// The start gate on a host that is not small (issue 11's last target: a
// gated start adds ≤ 10 % to start-to-reachable at 1,000 containers). One
// bed: a private dockerd (iptables: false) with bin/moat-runc registered as
// runtime "moat", N real containers over M networks (`sleep`, every 5th with
// a cross-network moat.egress grant, as the real footprint), then moatd. The
// same start-to-reachable runs as the engines section (reachability.ts),
// gate on (HostConfig.Runtime "moat") and gate off (runc) interleaved on the
// same engine and the same moatd, so the ratio carries the host's size and
// not the machine's noise. Docker's own firewall is not run at this size:
// the engines section has it side by side at the small size.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBed, type Bed } from '../test/integration/testbed/bed.js';
import { onAbort } from './abort.js';
import { wallMs } from './clock.js';
import { createContainer, pool, startServer, start } from './containers.js';
import { disposeBed } from './engine-section.js';
import { gateAnswers, isReconcile, quiet, type GateAnswers } from './moat-lines.js';
import { measureWindow } from './proc-stats.js';
import { reachOnce, type ReachContext, type RunResult } from './reachability.js';
import { summarize, type Summary } from './stats.js';

export interface GateScaleOptions {
  readonly containers: number;
  readonly networks: number;
  readonly runs: number;
  readonly warmup: number;
  readonly moatdBin: string;
  readonly wrapperBin: string;
  readonly log: (s: string) => void;
}

export interface GateScaleResult {
  readonly containers: number;
  readonly networks: number;
  /** Creating and starting the N containers, 4 at a time, before moatd ran. */
  readonly fillMs: number;
  /** moatd's first reconcile over the filled host, and its RSS once quiet. */
  readonly firstReconcileMs: number;
  readonly rssMb: number;
  readonly gateOn: readonly RunResult[];
  readonly gateOff: readonly RunResult[];
  /** moatd's answers to the gated starts of the kept runs. */
  readonly answers: GateAnswers;
  /** durationMs of every reconcile during the kept runs. */
  readonly reconcileMs: Summary | null;
  readonly loadavg: readonly number[];
}

const GATE_RUNTIME = 'moat';
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

async function fill(bed: Bed, nets: readonly string[], containers: number): Promise<number> {
  const t0 = wallMs();
  await pool(
    Array.from({ length: containers }, (_, j) => j),
    4,
    async (j) => {
      const labels: Record<string, string> = j % 5 === 0 ? { 'moat.egress': `fill-${(j + 1) % containers}:80` } : {};
      await start(
        await createContainer(bed.engine.docker, {
          name: `fill-${j}`,
          image: bed.image,
          cmd: ['sleep', '2147483647'],
          network: nets[j % nets.length]!,
          labels,
        }),
      );
    },
  );
  return wallMs() - t0;
}

export async function runGateScale(opts: GateScaleOptions): Promise<GateScaleResult> {
  const say = opts.log;
  const socketDir = await mkdtemp('/tmp/moat-bench-sock-');
  const socket = join(socketDir, 'moat.sock');
  let bed: Bed | null = null;
  let stopMoatd: (() => Promise<unknown>) | null = null;
  const unregister = onAbort(async () => {
    if (bed) await disposeBed(bed, say).catch(() => undefined);
    await rm(socketDir, { recursive: true, force: true });
  });
  try {
    bed = await createBed({
      engine: { iptables: false, daemonJson: { runtimes: { [GATE_RUNTIME]: { path: opts.wrapperBin, runtimeArgs: ['--moat-socket', socket] } } } },
    });
    const b = bed;
    say(`[gate-scale] bed ${b.prefix}: ${opts.containers} containers over ${opts.networks} networks`);
    const nets: string[] = [];
    for (let i = 1; i <= opts.networks; i++)
      nets.push((await b.createNetwork({ name: i <= 2 ? `bench-${'ab'[i - 1]}` : `bench-${i}`, subnets: [`172.30.${i}.0/24`] })).name);
    const peerA = await startServer(b.engine.docker, { name: 'peer-a', image: b.image, network: 'bench-a' });
    const peerB = await startServer(b.engine.docker, { name: 'peer-b', image: b.image, network: 'bench-b' });
    const fillMs = await fill(b, nets, opts.containers);
    say(`[gate-scale] ${opts.containers} containers up in ${Math.round(fillMs / 1000)} s (load ${load().join(' ')})`);

    const configPath = await b.writeFile(
      'moatd.yaml',
      `log: { level: debug }\nreconcile: { resyncIntervalS: 3600 }\npolicyDir: ${b.dir}/policy.d\ncontrol: { socket: ${socket} }\n`,
    );
    const moatd = b.startMoatd({ configPath, bin: opts.moatdBin });
    stopMoatd = () => moatd.stop();
    const first = await moatd.waitForEvent('reconcile', { timeoutMs: 120_000 });
    if (first.ok !== true) throw new Error(`moatd's first reconcile failed: ${JSON.stringify(first)}`);
    await quiet(moatd, 1000, 30_000);
    const rssMb = (await measureWindow(moatd.pid, 1)).rssMbEnd;
    say(`[gate-scale] moatd's first reconcile ${Math.round(Number(first.durationMs))} ms, RSS ${rssMb} MB`);

    const base: ReachContext = {
      docker: b.engine.docker,
      image: b.image,
      mode: 'moat',
      peers: { a: peerA.ip, b: peerB.ip, world: b.topology.world.ipv4 },
      networks: { a: 'bench-a', b: 'bench-b' },
      events: [],
    };
    const on: ReachContext = { ...base, mode: 'gate', runtime: GATE_RUNTIME };
    const gateOn: RunResult[] = [];
    const gateOff: RunResult[] = [];
    let markAt = 0;
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      if (i === opts.warmup) markAt = moatd.mark();
      // Alternate which goes first, so a slow moment hits both alike.
      for (const ctx of i % 2 === 0 ? [on, base] : [base, on]) {
        const r = await reachOnce(ctx, i);
        await quiet(moatd, 300, 10_000);
        if (i >= opts.warmup) (ctx === on ? gateOn : gateOff).push(r);
      }
      if ((i + 1) % 10 === 0) say(`[gate-scale]   run ${i + 1 - opts.warmup}/${opts.runs} (load ${load().join(' ')})`);
    }
    const kept = moatd.lines.slice(markAt);
    const ids = new Set(gateOn.map((r) => r.id));
    // gateAnswers picks the answers, timeouts and gate reconciles itself.
    const answers = gateAnswers(kept, ids);
    const reconcileMs = summarize(kept.filter(isReconcile).map((l) => Number(l.durationMs)));
    return {
      containers: opts.containers,
      networks: opts.networks,
      fillMs,
      firstReconcileMs: Number(first.durationMs),
      rssMb,
      gateOn,
      gateOff,
      answers,
      reconcileMs,
      loadavg: load(),
    };
  } finally {
    if (bed) {
      say('[gate-scale] tearing down');
      // moatd first: it would reconcile every one of the N removals.
      await stopMoatd?.().catch(() => undefined);
      await disposeBed(bed, say).catch((err: unknown) => say(`[gate-scale] teardown error: ${String(err)}`));
    }
    await rm(socketDir, { recursive: true, force: true });
    unregister();
  }
}
