// Wires the daemon: config -> families (families.ts) -> watcher -> scheduler
// -> reconciler, plus the br_netfilter check at start (bridge-netfilter.ts),
// the start gate (containers being started), the periodic resync, the drift
// watcher (on ruleset change where nft can tell, else polling) and the retry
// after a failed commit.
import type { Logger } from 'pino';
import { deleteConntrack } from '../adapters/conntrack.js';
import type { DockerEvent, DockerSource } from '../adapters/docker.js';
import type { CommandRunner } from '../adapters/iptables.js';
import { nfTablesBackend, type RulesetMonitor } from '../adapters/nft-monitor.js';
import { PolicyDir } from '../adapters/policy-dir.js';
import type { Config } from '../core/config.js';
import { checkBridgeNetfilter } from './bridge-netfilter.js';
import { DriftWatcher } from './drift-watcher.js';
import { managedFamilies } from './families.js';
import { Reconciler } from './reconciler.js';
import { HostCache } from './host-cache.js';
import { Scheduler } from './scheduler.js';
import { type GateAnswer, StartGate } from './start-gate.js';
import type { DaemonObserver } from './status.js';
import { Watcher } from './watcher.js';

export interface DaemonDeps {
  readonly config: Config;
  readonly docker: DockerSource;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly now: () => number;
  /** Called once, after the first reconcile that left the live rules equal to the desired ones. */
  readonly onReady?: () => void;
  /** How often the kernel is polled for drift between resyncs without a ruleset monitor (default 2000 ms; 0: no drift watching). */
  readonly driftCheckMs?: number;
  /** Says when the ruleset changes (`nft monitor`); used on the nf_tables backend only. */
  readonly monitor?: RulesetMonitor;
  /** Switches IPv6 off on bridges moat cannot firewall (fail closed). */
  readonly disableIpv6?: (bridges: readonly string[]) => Promise<void>;
  /** Reads a sysctl (`net.bridge.bridge-nf-call-iptables`); null when absent. */
  readonly readSysctl?: (name: string) => Promise<string | null>;
  /** Status and metrics: told about events, reconciles and the Docker connection. */
  readonly observer?: DaemonObserver;
  /** Reads and empties the start-gate timeouts moat-runc recorded while moatd did not answer. */
  readonly drainGateTimeouts?: () => Promise<readonly Record<string, unknown>[]>;
  /** Told about every start-gate answer (metrics). */
  readonly onGateAnswer?: (answer: GateAnswer) => void;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

export class Daemon {
  private config: Config;
  private readonly timers = new Set<NodeJS.Timeout>();
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private ready = false;
  private stopped = false;
  private resync: NodeJS.Timeout | null = null;
  private watcher: Watcher | null = null;
  private drift: DriftWatcher | null = null;
  private scheduler: Scheduler | null = null;
  private policies: PolicyDir;
  reconciler: Reconciler | null = null;
  /** Containers being started, and the gate that holds their process until their rules are in. */
  readonly gate: StartGate;
  private readonly cache: HostCache;
  /** The reconcile under way, if any: a gated start tracked before it began waits for it, not for another. */
  private running: { readonly startedAt: number; readonly outcome: Promise<unknown> } | null = null;

  /** The runner moat's iptables use: each restore's pid tells the drift watcher that transaction is moat's own. */
  private readonly run: CommandRunner = (file, args, input, onSpawn) =>
    this.deps.run(file, args, input, (pid) => {
      if (file.endsWith('-restore')) this.drift?.ownCommit(pid, file);
      onSpawn?.(pid);
    });

  constructor(private readonly deps: DaemonDeps) {
    this.config = deps.config;
    this.policies = new PolicyDir(deps.config.policyDir, deps.log);
    this.cache = new HostCache(deps.docker, deps.now);
    this.gate = new StartGate({
      resolve: (id) => deps.docker.starting(id),
      reconcile: async (trigger) => {
        if (!this.scheduler || !this.reconciler) return null;
        await this.scheduler.request(trigger);
        return this.reconciler.last;
      },
      now: deps.now,
      log: deps.log,
      drainTimeouts: deps.drainGateTimeouts,
      onAnswer: (a) => deps.onGateAnswer?.(a),
      committedSince: async (id, since) => {
        // A reconcile that began after the container was tracked is the one that commits it: wait for it if it is still running.
        if (this.running && this.running.startedAt >= since) await this.running.outcome;
        const last = this.reconciler?.last;
        return (
          last?.ok === true &&
          (last.startedAt ?? Number.NEGATIVE_INFINITY) >= since &&
          (this.reconciler?.lastDesired?.snapshot.containers.some((c) => c.id === id) ?? false)
        );
      },
    });
  }

  /** The start gate's question (control socket): answers once the container's rules are committed. */
  admit(id: string, waitMs: number): Promise<GateAnswer> {
    return this.gate.admit(id, waitMs);
  }

  /**
   * Acts on what the engine already knows about a container that is not
   * running yet: at `network connect` its endpoint (and address) exists, so
   * its rules can be committed before its process starts, gate or no gate.
   */
  private prepare(e: DockerEvent): Promise<void> | undefined {
    this.cache.note(e);
    if (e.type === 'container' && (e.action === 'die' || e.action === 'destroy')) this.gate.forget(e.id);
    if (e.type !== 'network' || !e.container) return undefined;
    if (e.action === 'disconnect') {
      this.gate.forget(e.container);
      return undefined;
    }
    return e.action === 'connect' ? this.gate.track(e.container).then(() => undefined) : undefined;
  }

  async start(): Promise<void> {
    const { log, now, docker } = this.deps;
    const iptables = await managedFamilies(this.run, this.config, log);
    this.deps.observer?.started(iptables.map((i) => i.family));
    if (this.deps.readSysctl)
      await checkBridgeNetfilter(
        this.deps.readSysctl,
        log,
        iptables.map((i) => i.family),
      );
    await this.policies.load();
    const reconciler = new Reconciler({
      docker,
      iptables,
      config: () => this.config,
      log,
      now,
      policyRules: () => this.policies.rules(),
      conntrack: (filters) => deleteConntrack(this.deps.run, filters),
      disableIpv6: this.deps.disableIpv6,
      starting: (listed) => this.gate.starting(listed),
      cache: this.cache,
    });
    this.reconciler = reconciler;
    const scheduler = new Scheduler(
      async (triggers) => {
        this.deps.observer?.reconcileStarted();
        const run = reconciler.run(triggers);
        this.running = { startedAt: now(), outcome: run.catch(() => null) };
        const outcome = await run;
        this.running = null;
        this.deps.observer?.reconciled(outcome, reconciler.lastDesired);
        if (!outcome.ok) return this.scheduleRetry();
        this.failures = 0;
        if (!this.ready) {
          this.ready = true;
          this.deps.onReady?.();
        }
      },
      (err) => log.error({ event: 'reconcile_crashed', err: String(err) }, 'reconcile threw; will retry'),
    );
    this.scheduler = scheduler;
    scheduler.start();
    const observer = this.deps.observer;
    this.watcher = new Watcher({
      docker,
      log,
      trigger: (reason) => void scheduler.request(reason),
      sleep: (ms) => this.sleep(ms),
      onEvent: (t) => observer?.event(t),
      prepare: (e) => this.prepare(e),
      onConnection: (c) => {
        // Across a drop, a container may have died and started again unseen.
        if (c) this.cache.forgetDeaths();
        observer?.dockerConnection(c);
      },
    });
    this.resync = setInterval(() => void scheduler.request('resync'), this.config.reconcile.resyncIntervalS * 1000);
    this.policies.watch(() => void scheduler.request('policy'));
    const intervalMs = this.deps.driftCheckMs ?? 2_000;
    // The legacy backend changes nothing nft could see: poll there.
    const monitor =
      intervalMs > 0 &&
      this.deps.monitor &&
      (await nfTablesBackend(
        this.deps.run,
        iptables.map((i) => i.family),
      ))
        ? this.deps.monitor
        : undefined;
    this.drift = new DriftWatcher({
      check: () => reconciler.drifted(),
      busy: () => scheduler.busy(),
      trigger: (reason) => void scheduler.request(reason),
      log,
      intervalMs,
      monitor,
    });
    if (this.stopped) return;
    this.drift.start();
    if (intervalMs > 0)
      log.info(
        { event: 'drift_watch', mode: this.drift.mode, intervalMs },
        this.drift.mode === 'monitor'
          ? 'drift is checked when the ruleset changes (nft monitor)'
          : `the kernel is polled for drift every ${intervalMs / 1000}–${(2.5 * intervalMs) / 1000} s`,
      );
    await this.watcher.start();
    log.info({ event: 'started', families: iptables.map((i) => i.family) }, 'moatd running');
    void this.gate.reportTimeouts();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.scheduler?.request('retry');
    }, delay);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Replaces the config and rereads the policy files (SIGHUP), then reconciles. */
  async reload(config: Config): Promise<void> {
    if (config.policyDir !== this.config.policyDir) {
      this.policies.stop();
      this.policies = new PolicyDir(config.policyDir, this.deps.log);
      this.policies.watch(() => void this.scheduler?.request('policy'));
    }
    this.config = config;
    await this.policies.load();
    if (this.resync) {
      clearInterval(this.resync);
      this.resync = setInterval(() => void this.scheduler?.request('resync'), config.reconcile.resyncIntervalS * 1000);
    }
    void this.scheduler?.request('config');
  }

  /** Stops following Docker and waits for a running reconcile; the rules stay in place. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
    this.drift?.stop();
    this.policies.stop();
    if (this.resync) clearInterval(this.resync);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const t of this.timers) clearTimeout(t);
    this.scheduler?.stop();
    await this.scheduler?.idle();
  }
}
