// Between resyncs, a cheap look at the kernel every couple of seconds
// (iptables-save per table and family, no Docker call). When moat's chains or
// jumps no longer match what it last committed — another tool's reload,
// `nft flush ruleset`, a hand-deleted or pushed-down jump — it asks for a
// reconcile, so drift is repaired in seconds instead of at the next resync.
// Invariants: never two checks at once; no check while a reconcile runs or
// waits (its result would be stale, and the reconcile diffs the kernel anyway);
// a check's cost stays small on big hosts without slowing repair much: after a
// check that took T, the next waits 50 × T, within [intervalMs, 2.5 × intervalMs]
// (a 5,000-container host's check is ~150 ms: one every 5 s, ~3 % of a core).
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

export interface DriftWatcherDeps {
  /** True when the live rules differ from the last commit. */
  readonly check: () => Promise<boolean>;
  /** True while a reconcile runs or is queued. */
  readonly busy: () => boolean;
  readonly trigger: (reason: string) => void;
  readonly log: Logger;
  readonly intervalMs: number;
}

export class DriftWatcher {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private failing = false;

  constructor(private readonly deps: DriftWatcherDeps) {}

  private stopped = true;

  start(): void {
    if (!this.stopped || this.deps.intervalMs <= 0) return;
    this.stopped = false;
    this.schedule(this.deps.intervalMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = performance.now();
      const { intervalMs } = this.deps;
      void this.tick().then(() => this.schedule(Math.min(2.5 * intervalMs, Math.max(intervalMs, 50 * (performance.now() - started)))));
    }, ms);
    this.timer.unref();
  }

  /** One check; exported for tests. */
  async tick(): Promise<void> {
    if (this.checking || this.deps.busy()) return;
    this.checking = true;
    try {
      const drifted = await this.deps.check();
      this.failing = false;
      if (drifted && !this.deps.busy()) {
        this.deps.log.warn({ event: 'drift_detected' }, 'moat chains or jumps changed under us; reconciling');
        this.deps.trigger('drift');
      }
    } catch (err) {
      // The next resync still repairs; say it once, not every tick.
      if (!this.failing) this.deps.log.warn({ event: 'drift_check_failed', err: String(err) }, 'cannot read the live rules for the drift check');
      this.failing = true;
    } finally {
      this.checking = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
