// moatd's Prometheus metrics (prom-client), on a registry of their own: no
// global default registry, so two daemons in one test process never mix.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Problem } from '../core/model.js';
import type { DnsCounters } from './dns-forwarder.js';
import type { DnsSource } from './dns-status.js';
import type { ReconcileOutcome } from './reconciler.js';

export interface MetricsOptions {
  /** Read at each scrape: 1 while the Docker events stream is open. */
  readonly dockerConnected: () => boolean;
  /** Process metrics (CPU, memory, fds); off in unit tests. Default true. */
  readonly processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly reconciles: Counter<'result'>;
  private readonly duration: Histogram;
  private readonly commits: Counter;
  private readonly skipped: Counter;
  private readonly applyFailures: Counter;
  private readonly driftRepairs: Counter;
  private readonly invalidLabels: Gauge;
  private readonly problems: Gauge<'kind'>;
  private readonly rules: Gauge<'table' | 'family'>;
  private readonly eventToCommit: Histogram;
  private readonly gates: Histogram;
  private dns: DnsSource | null = null;

  constructor(options: MetricsOptions) {
    const registers = [this.registry];
    this.reconciles = new Counter({ name: 'moat_reconciles_total', help: 'Reconciles run, by result (ok, failed).', labelNames: ['result'], registers });
    this.duration = new Histogram({
      name: 'moat_reconcile_duration_seconds',
      help: 'Time of one reconcile: Docker listing, ruleset, diff and commit.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.commits = new Counter({ name: 'moat_commits_total', help: 'Reconciles that committed a change (iptables-restore).', registers });
    this.skipped = new Counter({ name: 'moat_commits_skipped_total', help: 'Reconciles that found live equal to desired and committed nothing.', registers });
    this.applyFailures = new Counter({
      name: 'moat_apply_failures_total',
      help: 'Commits that iptables-restore refused; the previous rules stayed in force.',
      registers,
    });
    this.driftRepairs = new Counter({
      name: 'moat_drift_repairs_total',
      help: 'Times moat found its chains or jumps changed behind its back and put them back.',
      registers,
    });
    this.invalidLabels = new Gauge({
      name: 'moat_invalid_labels',
      help: 'Label entries currently skipped because they do not parse or name nothing.',
      registers,
    });
    this.problems = new Gauge({
      name: 'moat_problems',
      help: 'Current problems by kind (label_invalid, label_ignored, not_isolatable, not_firewalled, ...).',
      labelNames: ['kind'],
      registers,
    });
    this.rules = new Gauge({ name: 'moat_rules', help: 'Rules moat keeps live, per table and family.', labelNames: ['table', 'family'], registers });
    new Gauge({
      name: 'moat_docker_connected',
      help: '1 while moatd follows the Docker events stream, 0 while it is disconnected.',
      registers,
      collect() {
        this.set(options.dockerConnected() ? 1 : 0);
      },
    });
    this.eventToCommit = new Histogram({
      name: 'moat_event_to_commit_seconds',
      help: 'From a Docker event reaching moatd to the end of the reconcile that enforced it.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // Event-loop lag sampled once a second, not prom-client's default 10 ms:
    // the sampling timer is the only thing that wakes an idle moatd (at 100 ms
    // it was still 10 wake-ups a second, ~0.1–0.5 % of a core).
    this.gates = new Histogram({
      name: 'moat_start_gate_seconds',
      help: "Start gate: from a gated start's question to moatd's answer, by verdict (committed, failed, unknown, no-network).",
      labelNames: ['verdict'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
    this.dnsMetrics(registers);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'moat_', eventLoopMonitoringPrecision: 1_000 });
  }

  /** One finished reconcile; `eventLatenciesS` for the Docker events it covered (when it succeeded). */
  /** A start gate answered. */
  gated(verdict: string, waitedMs: number): void {
    this.gates.observe({ verdict }, waitedMs / 1000);
  }

  reconciled(o: ReconcileOutcome & { readonly driftRepaired?: boolean; readonly stage?: string }, eventLatenciesS: readonly number[]): void {
    this.reconciles.inc({ result: o.ok ? 'ok' : 'failed' });
    this.duration.observe(o.durationMs / 1000);
    if (o.committed) this.commits.inc();
    else if (o.ok) this.skipped.inc();
    if (!o.ok && o.stage === 'apply') this.applyFailures.inc();
    if (o.driftRepaired) this.driftRepairs.inc();
    for (const [family, tables] of Object.entries(o.rules)) {
      for (const [table, n] of Object.entries(tables ?? {})) this.rules.set({ table, family }, n);
    }
    if (o.ok) for (const s of eventLatenciesS) this.eventToCommit.observe(s);
  }

  /** The DNS forwarder's counters and set sizes, read at each scrape (zero until the daemon hands them over). */
  private dnsMetrics(registers: Registry[]): void {
    const dns = () => this.dns;
    const counter = (name: string, help: string, pick: (s: Readonly<DnsCounters>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const s = dns()?.counters();
          this.reset();
          if (s) this.inc(pick(s));
        },
      });
    counter('moat_dns_queries_total', 'DNS queries the forwarder took and forwarded.', (s) => s.queries);
    counter('moat_dns_answers_learned_total', 'Addresses added to dns: sets from answers (one per address and set).', (s) => s.answersLearned);
    counter('moat_dns_upstream_failures_total', 'Queries no upstream answered in time: the client got SERVFAIL.', (s) => s.upstreamFailures);
    counter('moat_dns_dropped_total', 'DNS queries dropped or refused: malformed, oversized, over the in-flight or per-client bound.', (s) => s.dropped);
    new Gauge({
      name: 'moat_dns_set_entries',
      help: 'Learned, unexpired addresses per dns: set.',
      labelNames: ['set'],
      registers,
      collect() {
        this.reset();
        for (const [set, n] of dns()?.setSizes() ?? []) this.set({ set }, n);
      },
    });
  }

  watchDns(source: DnsSource): void {
    this.dns = source;
  }

  /** Drift repaired outside a reconcile (e.g. while Docker is unreachable). */
  driftRepaired(): void {
    this.driftRepairs.inc();
  }

  setProblems(problems: readonly Problem[]): void {
    this.invalidLabels.set(problems.filter((p) => p.kind === 'label_invalid').length);
    this.problems.reset();
    const counts = new Map<string, number>();
    for (const p of problems) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
    for (const [kind, n] of counts) this.problems.set({ kind }, n);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
