// What moatd knows about itself, for `GET /status` (and `moat status`): the
// Docker connection, the last reconcile, rule counts, problems, and every
// network and container with its decisions and grants. The daemon reports
// into a DaemonStatus (it is the DaemonObserver); the document is built on
// request from the last computed policy. The JSON shape is documented in
// docs/cli.md and only grows.
import { assertNever } from '../core/assert-never.js';
import type { Side } from '../core/flow.js';
import type { Family, Problem } from '../core/model.js';
import type { TableName } from '../core/names.js';
import type { Decision, Policy } from '../core/policy.js';
import type { Metrics } from './metrics.js';
import type { Desired } from '../core/desired.js';
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
}

export interface GrantView {
  /** egress: this container opens the connection; ingress: the peer does. */
  readonly direction: 'egress' | 'ingress';
  /** `NAME`, `net:NAME`, `world`, `lan`, `host` or a CIDR. */
  readonly peer: string;
  readonly ports: string | null;
  readonly proto: string | null;
  readonly reason: string;
  /** The comment its rules carry. */
  readonly rule: string;
}

export interface NetworkView {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly bridge: string | null;
  readonly subnets: readonly string[];
  readonly managed: boolean;
  readonly internal: boolean;
  readonly icc: Decision<boolean>;
  readonly egress: Decision<'world' | 'none'>;
  readonly nat: Decision<boolean>;
}

export interface ContainerView {
  readonly id: string;
  readonly name: string;
  readonly project: string | null;
  readonly service: string | null;
  readonly networkMode: string;
  readonly addresses: readonly { readonly network: string; readonly ipv4: string | null; readonly ipv6: string | null }[];
  readonly ports: readonly { readonly hostIp: string; readonly hostPort: number; readonly containerPort: number; readonly proto: string }[];
  /** Published in routed mode (Docker 28): no host port, the container port reached by direct routing. */
  readonly routedPorts: readonly { readonly family: number; readonly containerPort: number; readonly proto: string }[];
  readonly world: Decision<boolean>;
  readonly grants: readonly GrantView[];
  readonly problems: readonly Problem[];
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
}

export function sideText(s: Side): string {
  switch (s.kind) {
    case 'container':
      return s.container.name;
    case 'network':
      return `net:${s.network.name}`;
    case 'cidr':
      return s.cidr;
    case 'world':
    case 'lan':
    case 'host':
      return s.kind;
    default:
      return assertNever(s);
  }
}

/** Networks and containers with their decisions, grants and problems. Pure. */
export function policyView(policy: Policy, problems: readonly Problem[]): { networks: NetworkView[]; containers: ContainerView[] } {
  const netName = new Map(policy.networks.map((n) => [n.network.id, n.network.name]));
  const networks = policy.networks.map((np): NetworkView => {
    const n = np.network;
    return {
      id: n.id,
      name: n.name,
      driver: n.driver,
      bridge: n.bridge,
      subnets: [...n.subnets4, ...n.subnets6],
      managed: np.managed,
      internal: n.internal,
      icc: np.icc,
      egress: np.egress,
      nat: np.nat,
    };
  });
  const containers = policy.containers.map(({ container: c, world }): ContainerView => {
    const grants: GrantView[] = [];
    for (const f of policy.flows) {
      const ports = f.ports ? (f.ports.lo === f.ports.hi ? String(f.ports.lo) : `${f.ports.lo}-${f.ports.hi}`) : null;
      const base = { ports, proto: f.proto, reason: f.reason, rule: `moat:${f.id}` };
      if (f.from.kind === 'container' && f.from.container.id === c.id) grants.push({ direction: 'egress', peer: sideText(f.to), ...base });
      if (f.to.kind === 'container' && f.to.container.id === c.id) grants.push({ direction: 'ingress', peer: sideText(f.from), ...base });
    }
    return {
      id: c.id,
      name: c.name,
      project: c.project,
      service: c.service,
      networkMode: c.networkMode,
      addresses: c.endpoints.map((e) => ({ network: netName.get(e.networkId) ?? e.networkId.slice(0, 12), ipv4: e.ipv4, ipv6: e.ipv6 })),
      ports: c.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort, proto: p.proto })),
      routedPorts: (c.routedPorts ?? []).map((p) => ({ family: p.family, containerPort: p.containerPort, proto: p.proto })),
      world,
      grants,
      problems: problems.filter((p) => p.subject === `container ${c.name}`),
    };
  });
  return { networks, containers };
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
    };
  }
}
