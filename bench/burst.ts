// Burst: 50 containers created and started at once (concurrent API calls),
// each granting peer-b ingress on port 80 (moat.ingress=peer-b:80) and
// serving on it, at fixed addresses. A prober in peer-b's network namespace
// starts on each address as soon as its start call returns and stamps the
// first established connection. Until moat commits the grant, peer-b's
// packets are rejected at once (no ARP, no timeout), so the stamp is when the
// flow became enforced. Commits are counted from moatd's `reconcile` lines.
import { execa } from 'execa';
import type Docker from 'dockerode';
import type { Moatd } from '../test/integration/testbed/moatd.js';
import { wallMs } from './clock.js';
import { createContainer, removeAll, start } from './containers.js';
import type { EngineEvent } from './engine-events.js';
import { isCommit, isReconcile, lineTime, quiet } from './moat-lines.js';

export interface BurstResult {
  readonly containers: number;
  /** First create call -> last start call returned. */
  readonly startSpanMs: number;
  /** Last start returned -> every granted flow connected (negative: enforced before the last start returned). */
  readonly lastStartToAllEnforcedMs: number;
  readonly firstCreateToAllEnforcedMs: number;
  /** Commits from the first create up to the moment every flow was enforced, and until moatd went quiet. */
  readonly commitsToEnforce: number;
  readonly commitsTotal: number;
  readonly reconcilesTotal: number;
  readonly reconcileMs: readonly number[];
  /** Removing the 50, 4 at a time (see removeAll). */
  readonly removal: { readonly commits: number; readonly reconciles: number; readonly ms: number };
  readonly missing: number;
  /** Docker's first to last `start` event of the 50, and how many container/network events the burst produced. */
  readonly startEventSpanMs: number;
  readonly dockerEvents: number;
}

export interface BurstContext {
  readonly docker: Docker;
  readonly image: string;
  readonly moatd: Moatd;
  readonly network: string;
  /** Host part base: containers get PREFIX.(base + i). */
  readonly addressPrefix: string;
  readonly peerPid: number;
  readonly proberJs: string;
  readonly events: readonly EngineEvent[];
}

export async function burstOnce(ctx: BurstContext, index: number, count = 50): Promise<BurstResult> {
  const prober = execa('nsenter', [`--net=/proc/${ctx.peerPid}/ns/net`, process.execPath, ctx.proberJs, '30000'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: true,
    cleanup: true,
  });
  const mark = ctx.moatd.mark();
  const t0 = wallMs();
  const ids: string[] = [];
  const started: number[] = [];
  let results: { target: string; at: number | null }[] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const ip = `${ctx.addressPrefix}.${100 + i}`;
        const c = await createContainer(ctx.docker, {
          name: `burst-${index}-${i}`,
          image: ctx.image,
          cmd: ['serve', '80'],
          network: ctx.network,
          ip,
          labels: { 'moat.ingress': 'peer-b:80' },
        });
        ids.push(c.id);
        await start(c);
        started.push(wallMs());
        prober.stdin!.write(`${ip} 80\n`);
      }),
    );
    prober.stdin!.end();
    const out = await prober;
    results = String(out.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { target: string; at: number | null });
    await quiet(ctx.moatd, 1000, 15_000);
  } finally {
    // Ends by itself once stdin closes; this only matters when a create failed.
    prober.stdin?.end();
    const stop = setTimeout(() => prober.kill('SIGKILL'), 35_000);
    await prober;
    clearTimeout(stop);
  }
  const lastStart = Math.max(...started);
  const done = results.map((r) => r.at).filter((a): a is number => a !== null);
  const allEnforced = Math.max(...done);
  const lines = ctx.moatd.lines.slice(mark);
  const reconciles = lines.filter(isReconcile);

  const mine = new Set(ids);
  const evs = ctx.events.filter((e) => e.at >= t0 - 1 && e.at <= allEnforced + 1 && (mine.has(e.id) || e.type === 'network'));
  const startsAt = evs.filter((e) => e.action === 'start' && mine.has(e.id)).map((e) => e.at);

  const rmMark = ctx.moatd.mark();
  const r0 = wallMs();
  await removeAll(ctx.docker, ids);
  await quiet(ctx.moatd, 1000, 15_000);
  const rmLines = ctx.moatd.lines.slice(rmMark);
  return {
    containers: count,
    startSpanMs: lastStart - t0,
    lastStartToAllEnforcedMs: allEnforced - lastStart,
    firstCreateToAllEnforcedMs: allEnforced - t0,
    commitsToEnforce: reconciles.filter((l) => isCommit(l) && lineTime(l) <= allEnforced).length,
    commitsTotal: reconciles.filter(isCommit).length,
    reconcilesTotal: reconciles.length,
    reconcileMs: reconciles.map((l) => Number(l.durationMs)),
    removal: { commits: rmLines.filter(isCommit).length, reconciles: rmLines.filter(isReconcile).length, ms: wallMs() - r0 },
    missing: count - done.length,
    startEventSpanMs: startsAt.length ? Math.max(...startsAt) - Math.min(...startsAt) : NaN,
    dockerEvents: evs.length,
  };
}
