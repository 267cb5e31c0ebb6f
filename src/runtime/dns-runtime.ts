// The DNS side of moatd (issue 13): the forwarder on dns.listen, the learned
// table, and the kernel sets the rules reference. Around each commit: the
// sets it references are created before it, unreferenced moat-dns sets are
// destroyed after it, and the forwarder learns for the committed patterns.
// A forwarder that cannot bind is logged (dns_listen_failed) and moatd goes
// on enforcing: dns: grants then learn nothing.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type CommandRunner } from '../adapters/iptables.js';
import { Ipset } from '../adapters/ipset.js';
import type { Config } from '../core/config.js';
import type { DnsSet } from '../core/dns-name.js';
import type { Snapshot } from '../core/model.js';
import { dnsConfig } from './dns-config.js';
import { DnsForwarder } from './dns-forwarder.js';
import { DnsLearned } from './dns-learned.js';
import { type DnsListeners, startDnsListeners } from './dns-listeners.js';
import { parseUpstream, resolvConfUpstreams, type Upstream, withoutSelf } from './dns-upstream.js';
import { type DnsStatus, dnsStatus } from './dns-status.js';

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
}

export class DnsRuntime {
  private readonly ipset: NonNullable<DnsRuntimeDeps['ipset']>;
  readonly learned: DnsLearned;
  readonly forwarder: DnsForwarder;
  private listeners: DnsListeners | null = null;
  private upstreams: readonly Upstream[] = [];
  private clients = new Map<string, string>();
  private sets: readonly DnsSet[] = [];
  private lastIpsetError: string | null = null;

  constructor(private readonly deps: DnsRuntimeDeps) {
    const dns = dnsConfig(deps.config());
    this.ipset = deps.ipset ?? new Ipset(deps.run);
    this.learned = new DnsLearned({ ipset: this.ipset, wallClock: deps.wallClock, stateFile: dns.stateFile, log: deps.log });
    this.forwarder = new DnsForwarder({
      upstreams: () => this.upstreams,
      learn: (entries) => this.learned.learn(entries),
      clientName: (address) => this.clients.get(address) ?? null,
      ttl: () => {
        const c = dnsConfig(this.deps.config());
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
    const dns = dnsConfig(this.deps.config());
    if (dns.listen === null) return;
    await this.loadUpstreams(dns.listen, dns.upstream);
    try {
      this.listeners = await startDnsListeners(this.forwarder, dns.listen, this.deps.port ?? 53, log);
      log.info({ event: 'dns_listening', listen: dns.listen, upstreams: this.upstreamTexts() }, `DNS forwarder on ${dns.listen} port ${this.listeners.port}`);
    } catch (err) {
      log.error(
        { event: 'dns_listen_failed', listen: dns.listen, err: err instanceof Error ? err.message : String(err) },
        `cannot listen for DNS on ${dns.listen}: dns: grants learn nothing (moatd keeps enforcing)`,
      );
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

  /** Before a commit: the sets its rules reference exist. Throws (the commit must not run without them). */
  async beforeCommit(sets: readonly DnsSet[]): Promise<void> {
    await this.ipset.ensureSets(sets);
  }

  /** After a commit: the forwarder learns for its patterns; sets nothing references are destroyed. Never throws. */
  async afterCommit(sets: readonly DnsSet[], snapshot: Snapshot | null): Promise<void> {
    this.sets = sets;
    this.forwarder.setSets(sets);
    if (snapshot) this.clients = clientNames(snapshot);
    try {
      const wanted = new Set(sets.map((s) => s.name));
      const stale = (await this.ipset.listSets('moat-dns')).map((s) => s.name).filter((n) => !wanted.has(n));
      for (const name of stale) {
        await this.ipset.destroySets([name]).then(
          () => this.deps.log.info({ event: 'dns_set_destroyed', set: name }, `ipset ${name} destroyed: no rule references it`),
          (err: unknown) => this.deps.log.warn({ event: 'dns_set_destroy_failed', set: name, err: String(err) }, `could not destroy ipset ${name}`),
        );
      }
      this.learned.forget(stale);
      this.lastIpsetError = null;
    } catch (err) {
      // ipset missing on a host without dns: grants: said once, not every reconcile.
      if (String(err) !== this.lastIpsetError) this.deps.log.warn({ event: 'dns_set_list_failed', err: String(err) }, 'cannot list ipsets');
      this.lastIpsetError = String(err);
    }
  }

  status(): DnsStatus {
    const dns = dnsConfig(this.deps.config());
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

  async stop(): Promise<void> {
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
