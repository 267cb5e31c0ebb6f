// The DNS side of moatd (issue 13): the forwarder on dns.listen, the learned
// table, and the kernel sets the rules reference. Around each commit: the
// sets it references are created before it, unreferenced moat-dns sets are
// destroyed after it, and the forwarder learns for the committed patterns.
// A forwarder that cannot bind is logged (dns_listen_failed, once) and tried
// again every 10 s; moatd goes on enforcing, and dns: grants learn nothing
// meanwhile.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type CommandRunner } from '../adapters/iptables.js';
import { Ipset } from '../adapters/ipset.js';
import type { Config } from '../core/config.js';
import type { DnsSet } from '../core/dns-name.js';
import type { Desired } from '../core/desired.js';
import type { Snapshot } from '../core/model.js';
import { type DnsCounters, DnsForwarder } from './dns-forwarder.js';
import { DnsLearned } from './dns-learned.js';
import { type DnsListeners, startDnsListeners } from './dns-listeners.js';
import { parseUpstream, resolvConfUpstreams, type Upstream, withoutSelf } from './dns-upstream.js';
import { type DnsSource, type DnsStatus, dnsStatus } from './dns-status.js';
import type { CommitSets } from './reconciler.js';

export interface DnsRuntimeDeps {
  readonly config: () => Config;
  readonly run: CommandRunner;
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Wall-clock milliseconds. */
  readonly wallClock: () => number;
  /** /etc/resolv.conf's text (tests pass their own). */
  readonly resolvConf?: () => Promise<string>;
  /** The port to bind (53; tests bind 0). */
  readonly port?: number;
  readonly ipset?: Pick<Ipset, 'ensureSets' | 'addEntries' | 'destroySets' | 'listSets'>;
  readonly timeoutMs?: number;
  /** How long after a failed bind it is tried again (default 10 s). */
  readonly rebindMs?: number;
}

export class DnsRuntime implements DnsSource {
  private readonly ipset: NonNullable<DnsRuntimeDeps['ipset']>;
  readonly learned: DnsLearned;
  readonly forwarder: DnsForwarder;
  private listeners: DnsListeners | null = null;
  private bindFailures = 0;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  private upstreams: readonly Upstream[] = [];
  private clients = new Map<string, string>();
  private sets: readonly DnsSet[] = [];
  private lastIpsetError: string | null = null;
  /** Sets this moatd created (or found) since the last full run. */
  private readonly ensured = new Set<string>();
  /** The set names of the last commit whose stale sets were tidied. */
  private committedKey: string | null = null;

  constructor(private readonly deps: DnsRuntimeDeps) {
    const dns = deps.config().dns;
    this.ipset = deps.ipset ?? new Ipset(deps.run);
    this.learned = new DnsLearned({ ipset: this.ipset, wallClock: deps.wallClock, stateFile: dns.stateFile, log: deps.log });
    this.forwarder = new DnsForwarder({
      upstreams: () => this.upstreams,
      learn: (entries) => this.learned.learn(entries),
      clientName: (address) => this.clients.get(address) ?? null,
      ttl: () => {
        const c = this.deps.config().dns;
        return { floorS: c.ttlFloorS, ceilingS: c.ttlCeilingS };
      },
      log: deps.log,
      now: deps.now,
      timeoutMs: deps.timeoutMs,
    });
  }

  /** The port the forwarder listens on, or null when it does not. */
  get port(): number | null {
    return this.listeners?.port ?? null;
  }

  /** Restores the learned table, then binds dns.listen when it is set. Never throws. */
  async start(): Promise<void> {
    const { log } = this.deps;
    await this.learned
      .restore()
      .catch((err: unknown) => log.warn({ event: 'dns_state_restore_failed', err: String(err) }, 'learned DNS addresses not restored'));
    await this.bind();
  }

  /** After a config reload (SIGHUP): binds again (dns.listen or dns.upstream may have changed). Never throws. */
  async reconfigure(): Promise<void> {
    if (this.listeners === null && this.deps.config().dns.listen === null) return;
    if (this.retry) clearTimeout(this.retry);
    this.bindFailures = 0;
    await this.listeners?.close();
    this.listeners = null;
    await this.bind();
  }

  private async bind(): Promise<void> {
    const { log } = this.deps;
    const dns = this.deps.config().dns;
    if (dns.listen === null) return;
    try {
      await this.loadUpstreams(dns.listen, dns.upstream);
    } catch (err) {
      // The config schema refuses a bad dns.upstream; a config that did not pass through it is said here.
      log.error({ event: 'dns_listen_failed', listen: dns.listen, err: String(err) }, 'DNS forwarder not started: bad dns.upstream');
      return;
    }
    try {
      this.listeners = await startDnsListeners(this.forwarder, dns.listen, this.deps.port ?? 53, log);
      this.bindFailures = 0;
      log.info({ event: 'dns_listening', listen: dns.listen, upstreams: this.upstreamTexts() }, `DNS forwarder on ${dns.listen} port ${this.listeners.port}`);
    } catch (err) {
      // The address may not be on the host yet (boot order): tried again every 10 s, logged the first time.
      if (this.bindFailures++ === 0)
        log.error(
          { event: 'dns_listen_failed', listen: dns.listen, err: err instanceof Error ? err.message : String(err) },
          `cannot listen for DNS on ${dns.listen}: dns: grants learn nothing until it can (moatd keeps enforcing; retrying every 10 s)`,
        );
      if (!this.stopped) {
        this.retry = setTimeout(() => void this.bind(), this.deps.rebindMs ?? 10_000);
        this.retry.unref();
      }
    }
  }

  private async loadUpstreams(listen: string, configured: readonly string[]): Promise<void> {
    if (configured.length > 0) {
      this.upstreams = withoutSelf(configured.map(parseUpstream), listen);
      return;
    }
    const text = await (this.deps.resolvConf ?? (() => readFile('/etc/resolv.conf', 'utf8')))().catch((err: unknown) => {
      this.deps.log.warn({ event: 'dns_upstream_failed', err: String(err) }, 'cannot read /etc/resolv.conf: no DNS upstream');
      return '';
    });
    this.upstreams = resolvConfUpstreams(text, listen);
  }

  private upstreamTexts(): string[] {
    return this.upstreams.map((u) => `${u.family === 6 ? `[${u.host}]` : u.host}:${u.port}`);
  }

  /**
   * Before a commit: the sets its rules reference exist. Those this moatd
   * made are trusted on event-only runs; a full run (start, resync, after a
   * failure) creates them all again (-exist). Throws: the commit must not run without them.
   */
  async beforeCommit(desired: Desired, full: boolean): Promise<void> {
    const sets = desired.dnsSets;
    const missing = full ? sets : sets.filter((s) => !this.ensured.has(s.name));
    if (full) this.ensured.clear();
    if (missing.length === 0) return;
    await this.ipset.ensureSets(missing);
    for (const s of missing) this.ensured.add(s.name);
  }

  /** After a commit: the forwarder learns for its patterns; sets nothing references are destroyed. Never throws. */
  async afterCommit(desired: Desired, full: boolean): Promise<void> {
    const sets = desired.dnsSets;
    const key = sets.map((s) => s.name).join(',');
    this.sets = sets;
    this.forwarder.setSets(sets);
    this.clients = clientNames(desired.snapshot);
    // dns: grants off and none rendered by this moatd: ipset is left alone (it need not be installed); `moat flush` removes leftovers.
    if (sets.length === 0 && !this.committedKey && this.deps.config().dns.listen === null) return;
    if (!full && key === this.committedKey) return;
    this.committedKey = key;
    try {
      const wanted = new Set(sets.map((s) => s.name));
      const stale = (await this.ipset.listSets('moat-dns')).map((s) => s.name).filter((n) => !wanted.has(n));
      const destroyed: string[] = [];
      for (const name of stale) {
        try {
          await this.ipset.destroySets([name]);
          destroyed.push(name);
          this.ensured.delete(name);
          this.deps.log.info({ event: 'dns_set_destroyed', set: name }, `ipset ${name} destroyed: no rule references it`);
        } catch (err) {
          // Still referenced (by a rule moat did not write, say): tried again at the next full run.
          this.deps.log.warn({ event: 'dns_set_destroy_failed', set: name, err: String(err) }, `could not destroy ipset ${name}`);
        }
      }
      this.learned.forget(destroyed);
      this.lastIpsetError = null;
    } catch (err) {
      // Said once, not every resync.
      if (String(err) !== this.lastIpsetError) this.deps.log.warn({ event: 'dns_set_list_failed', err: String(err) }, 'cannot list ipsets');
      this.lastIpsetError = String(err);
    }
  }

  /** The reconciler's hooks around each commit. */
  commitSets(): CommitSets {
    return { before: (d, full) => this.beforeCommit(d, full), after: (d, full) => this.afterCommit(d, full) };
  }

  status(): DnsStatus {
    const dns = this.deps.config().dns;
    return dnsStatus({
      enabled: this.listeners !== null,
      listen: dns.listen,
      upstream: this.upstreamTexts(),
      sets: this.sets,
      learned: this.learned,
      counters: this.forwarder.counters,
      wallClock: this.deps.wallClock,
    });
  }

  counters(): Readonly<DnsCounters> {
    return this.forwarder.counters;
  }

  /** Learned entries per set name, unexpired (metrics). */
  setSizes(): ReadonlyMap<string, number> {
    return this.learned.sizes();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.listeners?.close();
    this.listeners = null;
    await this.learned.persist();
  }
}

/** Each container address (v4 and v6) to the container's name. */
export function clientNames(snapshot: Snapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of snapshot.containers) {
    for (const e of c.endpoints) {
      if (e.ipv4) out.set(e.ipv4, c.name);
      if (e.ipv6) out.set(e.ipv6, c.name);
    }
  }
  return out;
}
