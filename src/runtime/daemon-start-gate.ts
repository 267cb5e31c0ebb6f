import type { Logger } from 'pino';
import type { DockerSource } from '../adapters/docker.js';
import type { Reconciler } from './reconciler.js';
import type { Scheduler } from './scheduler.js';
import { type GateAnswer, StartGate } from './start-gate.js';

export interface DaemonStartGateDeps {
  readonly docker: DockerSource;
  readonly now: () => number;
  readonly log: Logger;
  readonly drainGateTimeouts?: () => Promise<readonly Record<string, unknown>[]>;
  readonly onGateAnswer?: (answer: GateAnswer) => void;
  /** The daemon's scheduler and reconciler once started (null before). */
  readonly scheduler: () => Scheduler | null;
  readonly reconciler: () => Reconciler | null;
  /** The reconcile under way, if any. */
  readonly running: () => { readonly startedAt: number; readonly outcome: Promise<unknown> } | null;
}

/** The daemon's start gate: it asks the scheduler for reconciles and counts a commit only from a run that began after a container was tracked. */
export function createDaemonStartGate(d: DaemonStartGateDeps): StartGate {
  return new StartGate({
    resolve: (id) => d.docker.starting(id),
    reconcile: async (trigger) => {
      const scheduler = d.scheduler();
      const reconciler = d.reconciler();
      if (!scheduler || !reconciler) return null;
      await scheduler.request(trigger);
      return reconciler.last;
    },
    now: d.now,
    log: d.log,
    drainTimeouts: d.drainGateTimeouts,
    onAnswer: (a) => d.onGateAnswer?.(a),
    committedSince: async (id, since) => {
      // A reconcile that began after the container was tracked is the one that commits it: wait for it if it is still running.
      const running = d.running();
      if (running && running.startedAt >= since) await running.outcome;
      const reconciler = d.reconciler();
      const last = reconciler?.last;
      return (
        last?.ok === true &&
        (last.startedAt ?? Number.NEGATIVE_INFINITY) >= since &&
        (reconciler?.lastDesired?.snapshot.containers.some((c) => c.id === id) ?? false)
      );
    },
  });
}
