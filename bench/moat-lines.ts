// Reading the bed's moatd log lines (pino JSON, ISO `time`).
import type { Moatd, MoatdLine } from '../test/integration/testbed/moatd.js';
import { sleep } from './clock.js';

export const isReconcile = (l: MoatdLine) => l.event === 'reconcile';
export const isCommit = (l: MoatdLine) => l.event === 'reconcile' && l.committed === true;
export const triggered = (l: MoatdLine, what: string) => String(l.trigger ?? '').includes(what);
export const lineTime = (l: MoatdLine) => Date.parse(String(l.time));
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
