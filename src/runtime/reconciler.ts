// Invariants:
// - every run starts from Docker's listing: in full, or (for a run asked for
//   by Docker events only) the last one with what those events named read
//   again (HostCache); events only say "look again"; containers being
//   started (see StartGate) join it until it lists them;
// - nothing is written unless the listing succeeded (no snapshot, no change),
//   except that drift is put back to exactly what was last committed;
// - the desired text is diffed against the rules the kernel holds, so an
//   unchanged host costs no commit and only changed chains are rewritten. A
//   run triggered only by Docker events (or a start gate) takes those from the
//   last commit in memory (no iptables-save); the kernel is read (and drift in
//   moat's chains repaired and reported) before the first commit, after a
//   failure, and on every other trigger: start, reconnect, resync, drift,
//   config, policy, retry;
// - a failed commit leaves the previous rules in force (restore is atomic per
//   table), is logged once, and makes the next attempt read the kernel and
//   rewrite every chain;
// - no commit waits to save commits: what arrives while one runs is gathered
//   into the next (the scheduler), so a grant is never delayed by a timer.
import type { Logger } from 'pino';
import type { DockerSource } from '../adapters/docker.js';
import type { ConntrackResult } from '../adapters/conntrack.js';
import { type Iptables, RestoreError } from '../adapters/iptables.js';
import type { Config } from '../core/config.js';
import type { HostCache } from './host-cache.js';
import type { DockerLists } from '../core/from-docker.js';
import { computeDesired, createDesiredMemo, type Desired } from '../core/desired.js';
import type { Family, Problem } from '../core/model.js';
import type { TableName } from '../core/names.js';
import { changedChains, planRestore } from '../core/plan.js';
import type { PolicyRule } from '../core/policy-file.js';
import type { ConntrackFilter } from '../core/revocation.js';
import { countRules, type RenderedRuleset } from '../core/render.js';
import { commitFamily } from './commit-family.js';
import { restoreLastCommit } from './restore-last-commit.js';
import { Revoker } from './revoker.js';
import { eventsOnly } from './triggers.js';

export interface ReconcilerDeps {
  readonly docker: DockerSource;
  /** One per managed family, decided at start. */
  readonly iptables: readonly Iptables[];
  readonly config: () => Config;
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Rules from policy files currently in force. */
  readonly policyRules?: () => readonly PolicyRule[];
  /** Cuts live connections of revoked flows. */
  readonly conntrack?: (filters: readonly ConntrackFilter[]) => Promise<ConntrackResult>;
  /** The last listing patched per event; without it every run lists Docker in full. */
  readonly cache?: HostCache;
  /** Containers being started that the listing does not show yet (list entries), given the ids it shows. */
  readonly starting?: (listed: ReadonlySet<string>) => readonly unknown[];
  /** Turns IPv6 off on bridges whose IPv6 moat cannot firewall (fail closed). */
  readonly disableIpv6?: (bridges: readonly string[]) => Promise<void>;
  /** Kernel objects the rules reference (the DNS ipsets): made before the commit, tidied after it. */
  readonly sets?: CommitSets;
}

export interface CommitSets {
  /** Throws when the commit could not work without what it failed to make. */
  before(desired: Desired, full: boolean): Promise<void>;
  /** Never throws. */
  after(desired: Desired, full: boolean): Promise<void>;
}

export interface ReconcileOutcome {
  readonly ok: boolean;
  readonly committed: boolean;
  readonly triggers: readonly string[];
  /** Monotonic time the run began: what it listed is at least this fresh. */
  readonly startedAt?: number;
  readonly durationMs: number;
  readonly rules: Partial<Record<`v${Family}`, Record<TableName, number>>>;
  readonly error?: string;
  /** Where a failed run failed: listing Docker, or reading/committing the rules. */
  readonly stage?: 'snapshot' | 'apply';
  /** Moat's chains had drifted from the last commit and were put back. */
  readonly driftRepaired?: boolean;
}

const problemKey = (p: Problem) => JSON.stringify(p);

export class Reconciler {
  private forceFull = false;
  private failedKey: string | null = null;
  /** The rules last committed (or found live) per family: what drift is measured against, and what a repair while Docker is unreachable puts back. */
  private readonly expected = new Map<Family, RenderedRuleset>();
  private reported = new Set<string>();
  private ipv6Closed = '';
  last: ReconcileOutcome | null = null;
  lastDesired: Desired | null = null;
  /** What the last computation built, reused for what did not change (the listing keeps unchanged entries' identity). */
  private readonly memo = createDesiredMemo();
  /** Cuts the connections of flows a commit revoked, in the background. */
  private readonly revoker: Revoker;

  constructor(private readonly deps: ReconcilerDeps) {
    this.revoker = new Revoker({ log: deps.log, conntrack: deps.conntrack });
  }

  async run(triggers: readonly string[]): Promise<ReconcileOutcome> {
    const { log, now } = this.deps;
    const started = now();
    const families = this.deps.iptables.map((i) => i.family);
    const finish = (o: Omit<ReconcileOutcome, 'durationMs' | 'triggers'>): ReconcileOutcome => {
      this.last = { ...o, triggers, startedAt: started, durationMs: Math.round((now() - started) * 100) / 100 };
      return this.last;
    };

    let desired: Desired;
    try {
      // Only Docker events (and gates) may trust the cached listing, as only they may trust memory for the kernel.
      const lists = this.deps.cache ? await this.deps.cache.lists(this.forceFull || !eventsOnly(triggers)) : await this.deps.docker.lists();
      desired = computeDesired(this.withStarting(lists), this.deps.config(), families, this.deps.policyRules?.() ?? [], this.memo);
    } catch (err) {
      log.warn({ event: 'snapshot_failed', trigger: triggers.join(','), err: String(err) }, 'cannot list Docker: rules left as they are');
      // Put back exactly the last commit where it drifted (nothing new); not while a commit is failing.
      const repaired = await (this.forceFull ? Promise.resolve(false) : restoreLastCommit(this.deps.iptables, this.expected, log)).catch(
        (e: unknown) => void log.warn({ event: 'drift_repair_failed', err: String(e) }, 'could not put back the last committed rules'),
      );
      return finish({ ok: false, committed: false, rules: {}, error: String(err), stage: 'snapshot', driftRepaired: repaired === true });
    }
    this.lastDesired = desired;
    this.reportProblems(desired.problems);
    if (!families.includes(6)) await this.failClosedIpv6(desired);

    const rules: ReconcileOutcome['rules'] = {};
    let committed = false;
    let driftRepaired = false;
    // Only Docker events may trust memory: drift is the drift check's, a failure the full rewrite's.
    const readKernel = this.forceFull || !eventsOnly(triggers);
    try {
      await this.deps.sets?.before(desired, readKernel);
    } catch (err) {
      this.forceFull = true;
      this.logFailure(err, families[0] ?? 4);
      return finish({ ok: false, committed: false, rules, error: String(err), stage: 'apply' });
    }
    for (const [i, ipt] of this.deps.iptables.entries()) {
      const rendered = desired.rendered[i]!;
      rules[`v${ipt.family}`] = countRules(rendered);
      try {
        const before = this.expected.get(ipt.family);
        const step = await commitFamily(ipt, rendered, before, { readKernel, forceFull: this.forceFull }, log);
        committed ||= step.committed;
        driftRepaired ||= step.driftRepaired;
        const changed = before ? changedChains(before, rendered) : undefined;
        this.expected.set(ipt.family, rendered);
        this.revoker.revoke(ipt.family, desired.rulesets[i]!, desired.snapshot, changed);
      } catch (err) {
        this.forceFull = true;
        this.deps.cache?.invalidate();
        this.logFailure(err, ipt.family);
        const o = finish({ ok: false, committed, rules, error: String(err), stage: 'apply', driftRepaired });
        log.info({ event: 'reconcile', trigger: triggers.join(','), durationMs: o.durationMs, rules, committed, ok: false }, 'reconcile failed');
        return o;
      }
    }
    await this.deps.sets?.after(desired, readKernel);
    if (this.failedKey !== null) log.info({ event: 'apply_recovered' }, 'commit succeeded again');
    this.failedKey = null;
    this.forceFull = false;
    const o = finish({ ok: true, committed, rules, driftRepaired });
    log.info(
      { event: 'reconcile', trigger: triggers.join(','), durationMs: o.durationMs, rules, committed, ok: true },
      committed ? 'ruleset committed' : 'ruleset unchanged',
    );
    return o;
  }

  /** The listing plus the containers being started that it does not show yet. */
  private withStarting(lists: DockerLists): DockerLists {
    if (!this.deps.starting) return lists;
    const listed = new Set(lists.containers.map((c) => (c as { Id?: unknown } | null)?.Id).filter((id): id is string => typeof id === 'string'));
    const starting = this.deps.starting(listed);
    return starting.length === 0 ? lists : { networks: lists.networks, containers: [...lists.containers, ...starting] };
  }

  /**
   * The cheap check between reconciles: true when moat's chains or jumps in
   * the kernel differ from the last commit. False while a commit is failing:
   * the retry and its backoff own that case.
   */
  async drifted(): Promise<boolean> {
    if (this.forceFull) return false;
    for (const ipt of this.deps.iptables) {
      const want = this.expected.get(ipt.family);
      if (want && planRestore(want, await ipt.live()).text !== null) return true;
    }
    return false;
  }

  /** Resolves when every revocation started so far has run (moatd's stop waits for it). */
  revocations(): Promise<void> {
    return this.revoker.idle();
  }

  /** IPv6 on a Docker network that ip6tables cannot firewall is switched off, loudly. */
  private async failClosedIpv6(desired: Desired): Promise<void> {
    const bridges = desired.policy.networks
      .filter((n) => n.managed && n.network.subnets6.length > 0)
      .map((n) => n.network.bridge!)
      .sort();
    const key = bridges.join(',');
    if (bridges.length === 0 || key === this.ipv6Closed) return;
    this.ipv6Closed = key;
    this.deps.log.error(
      { event: 'ipv6_fail_closed', bridges },
      `IPv6 networks exist but moat cannot firewall IPv6 here: IPv6 is switched off on ${bridges.join(', ')}`,
    );
    await this.deps
      .disableIpv6?.(bridges)
      .catch((err: unknown) => this.deps.log.error({ event: 'ipv6_fail_closed_failed', err: String(err) }, 'could not switch IPv6 off'));
  }

  private logFailure(err: unknown, family: Family): void {
    const key = err instanceof RestoreError ? `${family}:${err.stderr}:${err.line}` : `${family}:${String(err)}`;
    if (key === this.failedKey) return; // logged once; retries stay quiet until it changes or recovers
    this.failedKey = key;
    if (err instanceof RestoreError) {
      this.deps.log.error(
        { event: 'apply_failed', family, err: err.message, stderr: err.stderr, line: err.line, context: err.context() },
        'commit failed: previous rules stay in force',
      );
    } else {
      this.deps.log.error({ event: 'apply_failed', family, err: String(err) }, 'commit failed: previous rules stay in force');
    }
  }

  private reportProblems(problems: readonly Problem[]): void {
    const now = new Set(problems.map(problemKey));
    for (const p of problems) {
      if (!this.reported.has(problemKey(p))) this.deps.log.warn({ ...p, event: p.kind }, `${p.subject}: ${p.reason}`);
    }
    this.reported = now;
  }
}
