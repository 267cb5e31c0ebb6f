// First connections (issue 11): a container whose own command connects once,
// right at start, with no retry (the test bed's firstConnectionCommand: one
// `timeout 3 wget`, then FIRST-CONNECTION-OPEN or -CLOSED), created and
// started through the API like `docker run -d`, on each engine:
//   world    — the bed's internet peer (default egress);
//   same     — a peer on the container's network;
//   cross    — a peer on another network, granted by moat.egress=peer-b:80
//              under moat; on Docker's own firewall the container is also
//              connected to the peer's network before start; the floor routes;
//   together — 6 containers created and started at once, each to `world`.
// And a compose-like burst: 50 containers created and started at once, each
// connecting once at start to peer-b (the cross case), with moatd's commits
// counted from its `reconcile` lines. The containers stay up after their one
// connection (sleep), so a burst is only starts: no `die` in the count.
import type { Moatd } from '../test/integration/testbed/moatd.js';
import { firstConnectionCommand } from '../test/integration/testbed/first-connection.js';
import { wallMs } from './clock.js';
import { createContainer, followOutput, removeAll, start, waitOutput } from './containers.js';
import { gateAnswers, isCommit, isReconcile, lineTime, quiet, type GateAnswers } from './moat-lines.js';
import { underMoat, type ReachContext } from './reachability.js';

export type FirstCase = 'world' | 'same' | 'cross' | 'together';
export const FIRST_CASES: readonly FirstCase[] = ['world', 'same', 'cross', 'together'];
export const TOGETHER = 6;

export interface FirstTry {
  readonly case: FirstCase;
  readonly opened: number;
  readonly of: number;
  /** Create call -> the verdict seen in the container's output, per container (ms). */
  readonly verdictMs: readonly number[];
}

export interface FirstBurst {
  readonly containers: number;
  readonly opened: number;
  /** Containers whose output gave no verdict within the bound. */
  readonly noVerdict: number;
  /** First create call -> last start call returned. */
  readonly startSpanMs: number;
  /** First create call -> the last verdict seen. */
  readonly lastVerdictMs: number;
  /** moatd only: commits (reconcile lines with committed: true) from the first create to the last verdict, and until moatd went quiet. */
  readonly commitsToLastVerdict: number | null;
  readonly commits: number | null;
  readonly reconciles: number | null;
  /** start_gate_timeout lines logged during the burst. */
  readonly gateTimeouts: number | null;
  /** The gate engine: moatd's answers to the burst's gated starts. */
  readonly gate: GateAnswers | null;
  readonly reconcileMs: readonly number[];
}

interface Outcome {
  readonly id: string;
  readonly verdict: 'open' | 'closed' | 'none';
  readonly createdAt: number;
  readonly startedAt: number;
  readonly verdictAt: number;
}

const OPEN = 'FIRST-CONNECTION-OPEN';
const CLOSED = 'FIRST-CONNECTION-CLOSED';

/**
 * Creates and starts `count` first-connection containers at once and collects
 * their verdicts; then `before removal` runs, and the containers are removed
 * (also on failure).
 */
async function firstConnections<T>(
  ctx: ReachContext,
  name: string,
  to: 'world' | 'same' | 'cross',
  count: number,
  beforeRemoval: (out: Outcome[]) => Promise<T>,
): Promise<T> {
  const target = { world: ctx.peers.world, same: ctx.peers.a, cross: ctx.peers.b }[to];
  const ids: string[] = [];
  try {
    const out: Outcome[] = await Promise.all(
      Array.from({ length: count }, async (_, i): Promise<Outcome> => {
        const createdAt = wallMs();
        const c = await createContainer(ctx.docker, {
          name: count > 1 ? `${name}-${i}` : name,
          image: ctx.image,
          cmd: firstConnectionCommand(target, 80, true),
          network: ctx.networks.a,
          labels: to === 'cross' && underMoat(ctx.mode) ? { 'moat.egress': 'peer-b:80' } : {},
          alsoOn: to === 'cross' && ctx.mode === 'native' ? [ctx.networks.b] : [],
          ...(ctx.runtime ? { runtime: ctx.runtime } : {}),
        });
        ids.push(c.id);
        await start(c);
        const startedAt = wallMs();
        const follow = await followOutput(c, ctx.docker);
        try {
          // One wget of at most 3 s after the process starts; 20 s covers a loaded engine.
          const lines = await waitOutput(follow, (l) => l.some((x) => x.includes(OPEN) || x.includes(CLOSED)), 20_000).catch(() => [] as string[]);
          const verdict = lines.some((x) => x.includes(OPEN)) ? 'open' : lines.some((x) => x.includes(CLOSED)) ? 'closed' : 'none';
          return { id: c.id, verdict, createdAt, startedAt, verdictAt: wallMs() };
        } finally {
          follow.close();
        }
      }),
    );
    return await beforeRemoval(out);
  } finally {
    await removeAll(ctx.docker, ids);
  }
}

/** One try of one case on one engine. */
export async function firstTry(ctx: ReachContext, which: FirstCase, index: number): Promise<FirstTry> {
  const name = `fc-${ctx.mode}-${which}-${index}`;
  const out = await firstConnections(ctx, name, which === 'together' ? 'world' : which, which === 'together' ? TOGETHER : 1, async (o) => o);
  return {
    case: which,
    opened: out.filter((o) => o.verdict === 'open').length,
    of: out.length,
    verdictMs: out.map((o) => Math.round(o.verdictAt - o.createdAt)),
  };
}

/**
 * 50 (count) first-connection containers to peer-b, created and started at
 * once. moatd's lines are counted from the first create until it is quiet
 * after the last verdict, before the removal (the containers stay up, so
 * every line is about the starts).
 */
export async function firstBurst(ctx: ReachContext, moatd: Moatd | null, index: number, count: number): Promise<FirstBurst> {
  const mark = moatd?.mark() ?? 0;
  const t0 = wallMs();
  return firstConnections(ctx, `fb-${ctx.mode}-${index}`, 'cross', count, async (out) => {
    const lastVerdict = Math.max(...out.map((o) => o.verdictAt));
    if (moatd) await quiet(moatd, 500, 10_000);
    const lines = moatd ? moatd.lines.slice(mark) : [];
    return {
      containers: count,
      opened: out.filter((o) => o.verdict === 'open').length,
      noVerdict: out.filter((o) => o.verdict === 'none').length,
      startSpanMs: Math.round(Math.max(...out.map((o) => o.startedAt)) - t0),
      lastVerdictMs: Math.round(lastVerdict - t0),
      commitsToLastVerdict: moatd ? lines.filter((l) => isCommit(l) && lineTime(l) <= lastVerdict).length : null,
      commits: moatd ? lines.filter(isCommit).length : null,
      reconciles: moatd ? lines.filter(isReconcile).length : null,
      gateTimeouts: moatd ? lines.filter((l) => l.event === 'start_gate_timeout').length : null,
      gate: moatd && ctx.mode === 'gate' ? gateAnswers(lines, new Set(out.map((o) => o.id))) : null,
      reconcileMs: lines.filter(isReconcile).map((l) => Number(l.durationMs)),
    };
  });
}
