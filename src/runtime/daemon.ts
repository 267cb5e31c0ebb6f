// Wires the daemon: config -> families (families.ts) -> watcher -> scheduler
// -> reconciler, plus the br_netfilter check at start (bridge-netfilter.ts),
// the start gate (containers being started), the periodic resync, the drift
// watcher (on ruleset change where nft can tell, else polling) and the retry
// after a failed commit, and the DNS forwarder (dns-runtime.ts) with the
// ipsets made before and tidied after each commit.
import type { Logger } from 'pino';
import { deleteConntrack } from '../adapters/conntrack.js';
import type { DockerEvent, DockerSource } from '../adapters/docker.js';
import type { CommandRunner } from '../adapters/iptables.js';
import type { RulesetMonitor } from '../adapters/nft-monitor.js';
import { PolicyDir } from '../adapters/policy-dir.js';
import type { Config } from '../core/config.js';
import { checkBridgeNetfilter } from './bridge-netfilter.js';
import { createDaemonStartGate } from './daemon-start-gate.js';
import { type DnsRuntimeDeps, DnsRuntime } from './dns-runtime.js';
import { createDriftWatch } from './drift-watch-setup.js';
import type { DriftWatcher } from './drift-watcher.js';
import { managedFamilies } from './families.js';
import { Reconciler } from './reconciler.js';
import { HostCache } from './host-cache.js';
import { RetryBackoff } from './retry-backoff.js';
import { Scheduler } from './scheduler.js';
import type { GateAnswer, StartGate } from './start-gate.js';
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
  /** Wall-clock milliseconds (learned DNS expiries); default Date.now. */
  readonly wallClock?: () => number;
  /** The DNS forwarder: its port (53; tests bind 0), resolv.conf and ipset stand-ins. */
  readonly dns?: Pick<DnsRuntimeDeps, 'port' | 'resolvConf' | 'ipset' | 'timeoutMs' | 'rebindMs'>;
}

export class Daemon {
  private config: Config;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retry = new RetryBackoff(() => void this.scheduler?.request('retry'));
  private ready = false;
  private stopped = false;
  private resync: NodeJS.Timeout | null = null;
  private watcher: Watcher | null = null;
  private drift: DriftWatcher | null = null;
  private scheduler: Scheduler | null = null;
  private policies: PolicyDir;
  reconciler: Reconciler | null = null;
  /** The DNS forwarder, learned table and ipsets (issue 13); binds only when dns.listen is set. */
  dns: DnsRuntime | null = null;
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
    this.gate = createDaemonStartGate({
      ...deps,
      scheduler: () => this.scheduler,
      reconciler: () => this.reconciler,
      running: () => this.running,
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
    this.dns = new DnsRuntime({ ...this.deps.dns, config: () => this.config, run: this.deps.run, log, now, wallClock: this.deps.wallClock ?? Date.now });
    await this.dns.start();
    this.deps.observer?.dns?.(this.dns);
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
      sets: this.dns.commitSets(),
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
        if (!outcome.ok) return this.retry.failed();
        this.retry.succeeded();
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
    const drift = await createDriftWatch({
      run: this.deps.run,
      families: iptables.map((i) => i.family),
      driftCheckMs: this.deps.driftCheckMs,
      monitor: this.deps.monitor,
      check: () => reconciler.drifted(),
      busy: () => scheduler.busy(),
      trigger: (reason) => void scheduler.request(reason),
      log,
    });
    this.drift = drift.watcher;
    if (this.stopped) return;
    drift.start();
    await this.watcher.start();
    log.info({ event: 'started', families: iptables.map((i) => i.family) }, 'moatd running');
    void this.gate.reportTimeouts();
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
    await this.dns?.reconfigure();
    if (this.resync) {
      clearInterval(this.resync);
      this.resync = setInterval(() => void this.scheduler?.request('resync'), config.reconcile.resyncIntervalS * 1000);
    }
    void this.scheduler?.request('config');
  }

  /** Stops following Docker and waits for a running reconcile and the connection cuts it started; the rules stay in place. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
    this.drift?.stop();
    this.policies.stop();
    if (this.resync) clearInterval(this.resync);
    this.retry.stop();
    for (const t of this.timers) clearTimeout(t);
    this.scheduler?.stop();
    await this.scheduler?.idle();
    // A revoked grant's live connections are cut after its commit: exiting before would leave them open.
    await this.reconciler?.revocations();
    await this.dns?.stop();
  }
}
