// Notices when moat's chains or jumps in the kernel no longer match what it
// last committed — another tool's reload, `nft flush ruleset`, a hand-deleted
// or pushed-down jump — and asks for a reconcile (trigger 'drift'), so drift
// is repaired in well under a second instead of at the next resync.
//
// On nf_tables a long-lived `nft monitor` says when the ruleset changes: the
// check (`Reconciler.drifted()`: iptables-save per family, no Docker call)
// runs ~150 ms after the last change of a burst, and never at idle. Changes
// committed by moat's own iptables-restore (known by pid and name) need no
// check. With no monitor (legacy backend, no nft) or while it is down (it is
// restarted with backoff), the kernel is polled instead: after a check that
// took T, the next waits 50 × T, within [intervalMs, 2.5 × intervalMs].
// The periodic resync reads the kernel too: the safety net either way.
//
// Invariants: never two checks at once; no check while a reconcile runs or
// waits (its result would be stale) — a change seen meanwhile is checked once
// the scheduler is idle again, never dropped, since a reconcile triggered by
// Docker events trusts the last commit and does not read the kernel.
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { MonitorEnd, MonitorLine, RulesetMonitor } from '../adapters/nft-monitor.js';
import { assertNever } from '../core/assert-never.js';

export interface DriftWatcherDeps {
  /** True when the live rules differ from the last commit. */
  readonly check: () => Promise<boolean>;
  /** True while a reconcile runs or is queued. */
  readonly busy: () => boolean;
  readonly trigger: (reason: string) => void;
  readonly log: Logger;
  /** Polling period without a monitor; 0: no drift watching at all. */
  readonly intervalMs: number;
  /** Tells when the ruleset changes; without it the kernel is polled. */
  readonly monitor?: RulesetMonitor;
  /** Quiet time after a change before the check (default 150 ms); a busy ruleset is checked at least every 4 × this. */
  readonly debounceMs?: number;
  /** Restart backoff for a monitor that died: first delay (default 1 s), doubling up to 60 s. */
  readonly restartMs?: number;
}

/** How long an own restore's pid is remembered (its generation line comes right after it commits). */
const OWN_TTL_MS = 60_000;
/** A monitor that has run this long counts as healthy again: the next failure is logged. */
const HEALTHY_MS = 30_000;

export class DriftWatcher {
  private stopped = true;
  private checking = false;
  private failing = false;
  private pollTimer: NodeJS.Timeout | null = null;
  /** Set while a change is waiting to be checked. */
  private pendingTimer: NodeJS.Timeout | null = null;
  private pendingSince = 0;
  /** A foreign transaction committed since the last check. */
  private dirty = false;
  /** Change lines whose transaction has not said who committed it yet. */
  private unattributed = false;
  private closeMonitor: (() => void) | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  /** pid -> comm and when, for the restores moat itself ran. */
  private readonly own = new Map<number, { comm: string; at: number }>();

  constructor(private readonly deps: DriftWatcherDeps) {}

  private get debounceMs(): number {
    return this.deps.debounceMs ?? 150;
  }

  /** 'monitor' while the ruleset monitor runs, else 'poll' ('off' before start). */
  get mode(): 'monitor' | 'poll' | 'off' {
    if (this.stopped) return 'off';
    return this.closeMonitor ? 'monitor' : 'poll';
  }

  start(): void {
    if (!this.stopped || this.deps.intervalMs <= 0) return;
    this.stopped = false;
    if (this.deps.monitor) this.openMonitor();
    else this.poll();
  }

  /** moat's own restore is running as `pid`: its transaction is no drift. */
  ownCommit(pid: number, file: string): void {
    const now = performance.now();
    for (const [p, e] of this.own) if (now - e.at > OWN_TTL_MS) this.own.delete(p);
    // The kernel names a process by its first 15 characters.
    this.own.set(pid, { comm: basename(file).slice(0, 15), at: now });
  }

  private openMonitor(): void {
    const monitor = this.deps.monitor!;
    this.stopPolling();
    let ended = false;
    const close = monitor({
      onLine: (l) => void (ended || this.onLine(l)),
      onEnd: (e) => {
        ended = true;
        this.onMonitorEnd(e);
      },
    });
    if (ended) return; // it could not even start
    this.closeMonitor = close;
    this.healthyTimer = setTimeout(() => {
      if (this.failures > 0) this.deps.log.info({ event: 'drift_monitor_recovered' }, 'ruleset monitor running again: drift is checked on change');
      this.failures = 0;
    }, HEALTHY_MS);
    this.healthyTimer.unref();
    // Changes before the monitor listened (or while it was down) went unseen: look once.
    this.dirty = true;
    this.arm();
  }

  private onLine(line: MonitorLine): void {
    if (this.stopped) return;
    switch (line.kind) {
      case 'change':
        this.unattributed = true;
        break;
      case 'generation':
        if (this.own.get(line.pid)?.comm !== line.comm) this.dirty = true;
        this.unattributed = false;
        break;
      default:
        assertNever(line);
    }
    this.arm();
  }

  private onMonitorEnd(end: MonitorEnd): void {
    this.closeMonitor = null;
    if (this.healthyTimer) clearTimeout(this.healthyTimer);
    this.healthyTimer = null;
    if (this.stopped) return;
    this.poll();
    if (end.missing) {
      this.deps.log.warn({ event: 'drift_monitor_unavailable', err: end.reason }, 'nft is not installed: the kernel is polled for drift every few seconds');
      return;
    }
    if (this.failures === 0)
      this.deps.log.warn({ event: 'drift_monitor_down', err: end.reason }, 'the ruleset monitor stopped: polling the kernel for drift until it runs again');
    const delay = Math.min(60_000, (this.deps.restartMs ?? 1_000) * 2 ** Math.min(this.failures, 6));
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopped) this.openMonitor();
    }, delay);
    this.restartTimer.unref();
  }

  /** A change is waiting: check after a quiet `debounceMs`, or at the latest 4 × that after the first. */
  private arm(): void {
    const now = performance.now();
    if (this.pendingTimer) {
      if (now - this.pendingSince >= 3 * this.debounceMs) return; // a flood: let the timer fire
      this.pendingTimer.refresh();
      return;
    }
    this.pendingSince = now;
    this.pendingTimer = setTimeout(() => this.due(), this.debounceMs);
    this.pendingTimer.unref();
  }

  private due(): void {
    this.pendingTimer = null;
    if (this.stopped || !(this.dirty || this.unattributed)) return;
    // Not now, but not forgotten: look again once the check or reconcile is done.
    if (this.checking || this.deps.busy()) return this.arm();
    this.dirty = false;
    this.unattributed = false;
    void this.tick();
  }

  private poll(ms = this.deps.intervalMs): void {
    if (this.stopped || this.pollTimer) return;
    this.pollTimer = setTimeout(() => {
      const started = performance.now();
      const { intervalMs } = this.deps;
      void this.tick().then(() => {
        this.pollTimer = null;
        if (!this.closeMonitor) this.poll(Math.min(2.5 * intervalMs, Math.max(intervalMs, 50 * (performance.now() - started))));
      });
    }, ms);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** One check; exported for tests. */
  async tick(): Promise<void> {
    if (this.checking || this.deps.busy()) return;
    this.checking = true;
    try {
      const drifted = await this.deps.check();
      this.failing = false;
      if (drifted && this.deps.busy()) {
        // A reconcile started meanwhile and may have changed the rules: look again after it.
        this.dirty = true;
        this.arm();
      } else if (drifted) {
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
    this.stopPolling();
    for (const t of [this.pendingTimer, this.restartTimer, this.healthyTimer]) if (t) clearTimeout(t);
    this.pendingTimer = this.restartTimer = this.healthyTimer = null;
    const close = this.closeMonitor;
    this.closeMonitor = null;
    close?.();
  }
}
