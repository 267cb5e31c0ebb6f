// Invariants:
// - at most one reconcile runs at a time (p-queue, concurrency 1);
// - at most one more waits behind it, and every trigger that arrives before
//   it starts joins it, so a burst of events costs a handful of reconciles;
// - a lone trigger starts at once: no fixed debounce delay;
// - nothing runs before `start()` (first config load and Docker connection).
import PQueue from 'p-queue';

export type ReconcileFn = (triggers: readonly string[]) => Promise<void>;

export class Scheduler {
  private readonly queue = new PQueue({ concurrency: 1 });
  private pending: Set<string> | null = null;
  private waiter: Promise<void> | null = null;
  private started = false;

  constructor(
    private readonly reconcile: ReconcileFn,
    /** A reconcile must not throw; if one does, it is reported here and the queue goes on. */
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.started = true;
  }

  /** Asks for a reconcile; resolves when one that includes this trigger has run. */
  request(trigger: string): Promise<void> {
    if (!this.started) return Promise.resolve();
    if (this.pending && this.waiter) {
      this.pending.add(trigger);
      return this.waiter;
    }
    const triggers = new Set([trigger]);
    this.pending = triggers;
    this.waiter = this.queue.add(async () => {
      // From here on, new triggers need a follow-up run: this one has started.
      this.pending = null;
      this.waiter = null;
      try {
        await this.reconcile([...triggers]);
      } catch (err) {
        this.onError(err);
      }
    });
    return this.waiter;
  }

  /** True while a reconcile runs or waits. */
  busy(): boolean {
    return this.queue.pending > 0 || this.queue.size > 0;
  }

  /** Resolves when nothing is running or queued. */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  stop(): void {
    this.started = false;
    this.queue.clear();
  }
}
