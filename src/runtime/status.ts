// What moatd knows about itself, for `GET /status` (and `moat status`): the
// Docker connection, the last reconcile, rule counts, problems, and every
// network and container with its decisions and grants. The daemon reports
// into a DaemonStatus (it is the DaemonObserver); the document is built on
// request from the last computed policy, and the DNS forwarder's section from
// its runtime. The JSON shape is documented in
// docs/cli.md and only grows.
import type { Family, Problem } from '../core/model.js';
import type { TableName } from '../core/names.js';
import type { Metrics } from './metrics.js';
import type { Desired } from '../core/desired.js';
import { type ContainerView, type NetworkView, policyView } from './policy-view.js';
import { DNS_OFF, type DnsSource, type DnsStatus } from './dns-status.js';
import type { ReconcileOutcome } from './reconciler.js';

/** Hooks the daemon calls; every method is cheap and never throws. */
export interface DaemonObserver {
  /** The address families moatd manages, decided at start. */
  started(families: readonly Family[]): void;
  /** A Docker event that may change the ruleset arrived. */
  event(trigger: string): void;
  /** A reconcile is starting: events received so far are the ones it covers. */
  reconcileStarted(): void;
  reconciled(outcome: ReconcileOutcome, desired: Desired | null): void;
  dockerConnection(connected: boolean): void;
  /** The DNS forwarder's state, for the `dns` section and the moat_dns_* metrics (called once at start). */
  dns?(source: DnsSource): void;
}

export interface ReconcileView {
  readonly at: string;
  readonly triggers: readonly string[];
  readonly durationMs: number;
  readonly ok: boolean;
  readonly committed: boolean;
  /** Succeeded with nothing to change: live already equalled desired. */
  readonly skipped: boolean;
  readonly driftRepaired: boolean;
  readonly error: string | null;
}

export interface StatusDocument {
  readonly version: 1;
  readonly generatedAt: string;
  readonly daemon: { readonly pid: number; readonly startedAt: string; readonly uptimeS: number; readonly families: readonly Family[] };
  readonly docker: { readonly connected: boolean; readonly since: string | null };
  readonly lastReconcile: ReconcileView | null;
  readonly lastCommitAt: string | null;
  readonly counts: { readonly reconciles: number; readonly commits: number; readonly skipped: number; readonly failures: number };
  readonly rules: Partial<Record<`v${Family}`, Record<TableName, number>>>;
  readonly problems: readonly Problem[];
  readonly networks: readonly NetworkView[];
  readonly containers: readonly ContainerView[];
  readonly dns: DnsStatus;
}

export interface DaemonStatusDeps {
  /** Monotonic milliseconds (latency). */
  readonly now: () => number;
  /** Wall-clock milliseconds since the epoch (timestamps shown to people). */
  readonly wallClock: () => number;
  readonly pid: number;
  readonly metrics?: Metrics;
}

export class DaemonStatus implements DaemonObserver {
  private readonly startedAt: number;
  private families: readonly Family[] = [];
  private connected = false;
  private connectedSince: number | null = null;
  private last: ReconcileView | null = null;
  private lastCommitAt: number | null = null;
  private rules: StatusDocument['rules'] = {};
  private desired: Desired | null = null;
  private readonly counts = { reconciles: 0, commits: 0, skipped: 0, failures: 0 };
  /** Monotonic receive times of events no successful reconcile has covered yet. */
  private pending: number[] = [];
  private inFlight: number[] = [];
  private dnsSource: DnsSource | null = null;

  constructor(private readonly deps: DaemonStatusDeps) {
    this.startedAt = deps.wallClock();
  }

  started(families: readonly Family[]): void {
    this.families = families;
  }

  event(_trigger: string): void {
    if (this.pending.length < 10_000) this.pending.push(this.deps.now());
  }

  reconcileStarted(): void {
    this.inFlight.push(...this.pending);
    this.pending = [];
  }

  reconciled(o: ReconcileOutcome, desired: Desired | null): void {
    const at = this.deps.wallClock();
    const now = this.deps.now();
    // A failed run enforced nothing: its events wait for the retry.
    const enforced = o.ok;
    const latencies = enforced ? this.inFlight.map((t) => (now - t) / 1000) : [];
    if (enforced) this.inFlight = [];
    this.counts.reconciles++;
    if (o.committed) this.counts.commits++;
    else if (o.ok) this.counts.skipped++;
    if (!o.ok) this.counts.failures++;
    if (o.committed) this.lastCommitAt = at;
    if (Object.keys(o.rules).length > 0) this.rules = o.rules;
    if (desired) this.desired = desired;
    this.last = {
      at: new Date(at).toISOString(),
      triggers: o.triggers,
      durationMs: o.durationMs,
      ok: o.ok,
      committed: o.committed,
      skipped: o.ok && !o.committed,
      driftRepaired: o.driftRepaired ?? false,
      error: o.error ?? null,
    };
    this.deps.metrics?.reconciled(o, latencies);
    if (desired) this.deps.metrics?.setProblems(desired.problems);
  }

  dockerConnection(connected: boolean): void {
    if (connected !== this.connected) this.connectedSince = this.deps.wallClock();
    this.connected = connected;
  }

  dns(source: DnsSource): void {
    this.dnsSource = source;
    this.deps.metrics?.watchDns(source);
  }

  isConnected(): boolean {
    return this.connected;
  }

  document(): StatusDocument {
    const wall = this.deps.wallClock();
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    const view = this.desired ? policyView(this.desired.policy, this.desired.problems) : { networks: [], containers: [] };
    return {
      version: 1,
      generatedAt: new Date(wall).toISOString(),
      daemon: {
        pid: this.deps.pid,
        startedAt: new Date(this.startedAt).toISOString(),
        uptimeS: Math.round((wall - this.startedAt) / 1000),
        families: this.families,
      },
      docker: { connected: this.connected, since: iso(this.connectedSince) },
      lastReconcile: this.last,
      lastCommitAt: iso(this.lastCommitAt),
      counts: { ...this.counts },
      rules: this.rules,
      problems: this.desired?.problems ?? [],
      ...view,
      dns: this.dnsSource?.status() ?? DNS_OFF,
    };
  }
}
