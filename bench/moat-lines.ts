// Reading the bed's moatd log lines (pino JSON, ISO `time`).
import type { Moatd, MoatdLine } from '../test/integration/testbed/moatd.js';
import { sleep } from './clock.js';

export const isReconcile = (l: MoatdLine) => l.event === 'reconcile';
export const isCommit = (l: MoatdLine) => l.event === 'reconcile' && l.committed === true;
export const triggered = (l: MoatdLine, what: string) => String(l.trigger ?? '').includes(what);
export const lineTime = (l: MoatdLine) => Date.parse(String(l.time));
/** A reconcile the start gate asked for (alone or joined with events). */
export const isGateReconcile = (l: MoatdLine) =>
  isReconcile(l) &&
  String(l.trigger ?? '')
    .split(',')
    .includes('gate');

/** moatd's answer to a gated start (`start_gate`, logged at debug; `start_gate_timeout` when it came after the bound). */
export const isGateAnswer = (l: MoatdLine) => l.event === 'start_gate' || (l.event === 'start_gate_timeout' && l.source === 'moatd');

export interface GateAnswers {
  /** moatd's time from the request's arrival to its answer, per gated start (ms). */
  readonly waitedMs: readonly number[];
  readonly verdicts: Readonly<Record<string, number>>;
  /** Answers that came after the wrapper's bound (moatd's own start_gate_timeout). */
  readonly late: number;
  /** Starts the wrapper let go without an answer (its records, drained and logged by moatd). */
  readonly unanswered: number;
  /** Reconciles whose triggers include the gate's: how many committed, and how many found the rules already in. */
  readonly gateReconciles: { readonly committed: number; readonly unchanged: number };
}

export function gateAnswers(lines: readonly MoatdLine[], ids?: ReadonlySet<string>): GateAnswers {
  const mine = (l: MoatdLine) => !ids || ids.has(String(l.container));
  const answers = lines.filter((l) => isGateAnswer(l) && mine(l));
  const verdicts: Record<string, number> = {};
  for (const a of answers) verdicts[String(a.verdict)] = (verdicts[String(a.verdict)] ?? 0) + 1;
  return {
    waitedMs: answers.map((a) => Number(a.waitedMs)),
    verdicts,
    late: answers.filter((a) => a.event === 'start_gate_timeout').length,
    unanswered: lines.filter((l) => l.event === 'start_gate_timeout' && l.source === 'moat-runc' && mine(l)).length,
    gateReconciles: {
      committed: lines.filter((l) => isCommit(l) && isGateReconcile(l)).length,
      unchanged: lines.filter((l) => isReconcile(l) && l.ok === true && l.committed !== true && isGateReconcile(l)).length,
    },
  };
}

/** A commit for a container being started: moatd acts on its network connect, or its start event. */
export const isStartCommit = (l: MoatdLine) => isCommit(l) && (triggered(l, 'network.connect') || triggered(l, 'container.start'));

/** Waits until moatd has logged nothing for `quietMs` (bounded by `timeoutMs`). */
export async function quiet(moatd: Moatd, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let count = moatd.lines.length;
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(20);
    if (moatd.lines.length !== count) {
      count = moatd.lines.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}
