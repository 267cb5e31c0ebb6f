/**
 * The retry after a failed reconcile: asked for 0.5 s after the first failure,
 * doubling with each failure in a row up to 30 s; one pending at a time.
 */
export class RetryBackoff {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(private readonly retry: () => void) {}

  /** A reconcile failed: ask for a retry, unless one is already pending. */
  failed(): void {
    if (this.timer) return;
    this.failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry();
    }, delay);
  }

  /** A reconcile succeeded: the next failure starts the backoff again. */
  succeeded(): void {
    this.failures = 0;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
