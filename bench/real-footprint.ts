// moatd's footprint with real containers on the bed's engine: 100 containers
// over 10 networks (every 5th with a cross-network moat.egress grant), then
// RSS/CPU at idle, lone-event latency at that size, RSS/CPU while containers
// are started and removed back to back, and a moatd restart (its first
// reconcile is a full resync that finds the rules already live).
import type Docker from 'dockerode';
import type { Bed } from '../test/integration/testbed/bed.js';
import type { Moatd } from '../test/integration/testbed/moatd.js';
import { wallMs } from './clock.js';
import { createContainer, pool, remove, start } from './containers.js';
import { startingEvent, type EngineEvent } from './engine-events.js';
import { isCommit, isReconcile, isStartCommit, lineTime, quiet } from './moat-lines.js';
import { measureWindow, peakRssKb, type Window } from './proc-stats.js';
import { summarize, type Summary } from './stats.js';

export interface RealFootprintResult {
  readonly containers: number;
  readonly networks: number;
  readonly startAllMs: number;
  readonly rules: unknown;
  readonly idle: Window;
  readonly lone: { readonly eventToCommit: Summary | null; readonly reconcileMs: Summary | null };
  readonly churn: Window & {
    readonly starts: number;
    readonly removes: number;
    readonly reconciles: number;
    readonly commits: number;
    readonly reconcileMs: Summary | null;
  };
  readonly peakRssMb: number;
  readonly restart: { readonly firstReconcileMs: number; readonly committed: boolean; readonly rssMbAfter: number };
}

export interface RealFootprintContext {
  readonly bed: Bed;
  readonly docker: Docker;
  readonly moatd: Moatd;
  readonly events: readonly EngineEvent[];
  readonly restartMoatd: () => Promise<Moatd>;
  readonly containers: number;
  readonly idleS: number;
  readonly churnS: number;
  readonly loneEvents: number;
  readonly log: (s: string) => void;
}

async function loneEvent(ctx: RealFootprintContext, moatd: Moatd, name: string): Promise<{ latency: number; duration: number }> {
  const mark = moatd.mark();
  const c = await createContainer(ctx.docker, {
    name,
    image: ctx.bed.image,
    cmd: ['sleep', '2147483647'],
    network: 'bench-a',
    labels: { 'moat.egress': 'peer-b:80' },
  });
  await start(c);
  const line = await moatd.waitForEvent(isStartCommit, { since: mark, timeoutMs: 20_000 });
  const started = startingEvent(ctx.events, c.id);
  await quiet(moatd, 300, 5_000);
  await remove(ctx.docker, c.id);
  await quiet(moatd, 300, 5_000);
  return { latency: started ? lineTime(line) - started.at : NaN, duration: Number(line.durationMs) };
}

export async function realFootprint(ctx: RealFootprintContext): Promise<RealFootprintResult> {
  const { docker, bed } = ctx;
  const nets = ['bench-a', 'bench-b'];
  for (let i = 3; i <= 10; i++) {
    const net = await bed.createNetwork({ name: `bench-${i}`, subnets: [`172.31.${i}.0/24`] });
    nets.push(net.name);
  }
  const t0 = wallMs();
  const names = Array.from({ length: ctx.containers }, (_, j) => `fp-${j}`);
  await pool(names, 4, async (name, j) => {
    const labels: Record<string, string> = j % 5 === 0 ? { 'moat.egress': `fp-${(j + 1) % ctx.containers}:80` } : {};
    const c = await createContainer(docker, { name, image: bed.image, cmd: ['sleep', '2147483647'], network: nets[j % nets.length]!, labels });
    await start(c);
  });
  const startAllMs = wallMs() - t0;
  ctx.log(`${ctx.containers} containers up in ${Math.round(startAllMs)} ms`);
  await quiet(ctx.moatd, 1000, 20_000);
  const lastReconcile = [...ctx.moatd.lines].reverse().find(isReconcile);

  ctx.log(`idle ${ctx.idleS} s`);
  const idle = await measureWindow(ctx.moatd.pid, ctx.idleS);

  ctx.log(`${ctx.loneEvents} lone events`);
  const lone: { latency: number; duration: number }[] = [];
  for (let r = 0; r < ctx.loneEvents; r++) lone.push(await loneEvent(ctx, ctx.moatd, `lone-${r}`));

  ctx.log(`churn ${ctx.churnS} s`);
  const mark = ctx.moatd.mark();
  let starts = 0;
  let removes = 0;
  const churn = await measureWindow(ctx.moatd.pid, ctx.churnS, async () => {
    const end = wallMs() + ctx.churnS * 1000;
    let previous: string | null = null;
    for (let k = 0; wallMs() < end; k++) {
      const c = await createContainer(docker, {
        name: `churn-${k}`,
        image: bed.image,
        cmd: ['sleep', '2147483647'],
        network: nets[k % nets.length]!,
        labels: { 'moat.egress': 'peer-b:80' },
      });
      await start(c);
      starts++;
      if (previous) {
        await remove(docker, previous);
        removes++;
      }
      previous = c.id;
    }
    if (previous) {
      await remove(docker, previous);
      removes++;
    }
  });
  await quiet(ctx.moatd, 1000, 15_000);
  const during = ctx.moatd.lines.slice(mark).filter(isReconcile);
  const peakRssMb = Math.round((await peakRssKb(ctx.moatd.pid)) / 102.4) / 10;

  ctx.log('restart moatd');
  const fresh = await ctx.restartMoatd();
  const first = await fresh.waitForEvent('reconcile', { timeoutMs: 30_000 });
  await quiet(fresh, 500, 5_000);
  const after = await measureWindow(fresh.pid, 1);

  return {
    containers: ctx.containers,
    networks: nets.length,
    startAllMs,
    rules: lastReconcile?.rules ?? null,
    idle,
    lone: { eventToCommit: summarize(lone.map((l) => l.latency)), reconcileMs: summarize(lone.map((l) => l.duration)) },
    churn: {
      ...churn,
      starts,
      removes,
      reconciles: during.length,
      commits: during.filter(isCommit).length,
      reconcileMs: summarize(during.map((l) => Number(l.durationMs))),
    },
    peakRssMb,
    restart: { firstReconcileMs: Number(first.durationMs), committed: first.committed === true, rssMbAfter: after.rssMbEnd },
  };
}
