// The DNS forwarder Docker's embedded resolver uses as its upstream
// (daemon.json "dns": [dns.listen]). Invariants:
// - every query is forwarded (DNS itself is not filtered), with a fresh id;
//   only an answer with that id and the same question is taken, and it goes
//   back to the client byte for byte but for the client's own id;
// - before an answer for a name matching a dns: pattern leaves, the
//   addresses at the end of its CNAME chain are in that pattern's sets: the
//   container can connect the moment it has the answer. When that fails the
//   client gets SERVFAIL, never an answer it cannot use;
// - no input crashes it: malformed queries are dropped or answered FORMERR,
//   in-flight queries and per-client rates are bounded (beyond: dropped, counted).
import type { Logger } from 'pino';
import { type DnsSet, matchesDnsPattern } from '../core/dns-name.js';
import { parseAddress } from '../core/addr.js';
import { askTcp, askUdp, type Asked, type Upstream } from './dns-upstream.js';
import { chainAddresses, errorReply, parseQuery, RCODE } from './dns-wire.js';

export interface LearnRequest {
  readonly pattern: string;
  readonly set: string;
  readonly address: string;
  readonly family: 4 | 6;
  /** The question name (normalised). */
  readonly name: string;
  readonly ttlS: number;
  readonly askedBy: string | null;
}

export interface DnsForwarderDeps {
  readonly upstreams: () => readonly Upstream[];
  /** Adds the entries to their sets (and the learned table); throws when it could not. */
  readonly learn: (entries: readonly LearnRequest[]) => Promise<void>;
  /** The container name behind a client address, from the latest snapshot; null if unknown. */
  readonly clientName: (address: string) => string | null;
  readonly ttl: () => { readonly floorS: number; readonly ceilingS: number };
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly timeoutMs?: number;
  readonly maxInFlight?: number;
  /** Queries a second one client may send (burst: twice that). */
  readonly perClientRate?: number;
}

export interface DnsCounters {
  queries: number;
  answersLearned: number;
  upstreamFailures: number;
  dropped: number;
}

export type Transport = 'udp' | 'tcp';

/** UDP in: bigger is dropped (EDNS clients ask for at most 4096). */
export const MAX_UDP_QUERY = 4096;

export class DnsForwarder {
  readonly counters: DnsCounters = { queries: 0, answersLearned: 0, upstreamFailures: 0, dropped: 0 };
  private sets: readonly DnsSet[] = [];
  private inFlight = 0;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastUpstreamWarn = -Infinity;

  constructor(private readonly deps: DnsForwarderDeps) {}

  /** The sets the last commit references: the patterns answers are learned for. */
  setSets(sets: readonly DnsSet[]): void {
    this.sets = sets;
  }

  patterns(): readonly DnsSet[] {
    return this.sets;
  }

  /** A bounded token bucket per client address; the map is cleared when it grows past 4096 clients. */
  private allowed(client: string): boolean {
    const rate = this.deps.perClientRate ?? 500;
    const now = this.deps.now();
    if (this.buckets.size > 4096) this.buckets.clear();
    const b = this.buckets.get(client) ?? { tokens: rate * 2, at: now };
    b.tokens = Math.min(rate * 2, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** The reply for one query from `client`, or null to send nothing. Never throws. */
  async handle(msg: Buffer, client: string, transport: Transport): Promise<Buffer | null> {
    if ((transport === 'udp' && msg.length > MAX_UDP_QUERY) || this.inFlight >= (this.deps.maxInFlight ?? 1024) || !this.allowed(client)) {
      this.counters.dropped++;
      return null;
    }
    this.inFlight++;
    try {
      return await this.forward(msg, client, transport);
    } catch (err) {
      this.deps.log.error({ event: 'dns_forward_failed', client, err: String(err) }, 'DNS forwarding failed');
      this.counters.dropped++;
      return null;
    } finally {
      this.inFlight--;
    }
  }

  private async forward(msg: Buffer, client: string, transport: Transport): Promise<Buffer | null> {
    const parsed = parseQuery(msg);
    if (!parsed.ok) {
      this.counters.dropped++;
      this.deps.log.debug({ event: 'dns_query_refused', client, reason: parsed.reason }, 'malformed DNS query');
      return parsed.reply;
    }
    const { query } = parsed;
    this.counters.queries++;
    const asked = await this.ask(msg, query.question, transport);
    if (!asked) return errorReply(query.head, RCODE.SERVFAIL);
    if (query.qname !== null) {
      const ok = await this.learn(query.qname, asked, client);
      if (!ok) return errorReply(query.head, RCODE.SERVFAIL);
    }
    const out = Buffer.from(asked.raw);
    out.writeUInt16BE(query.id, 0);
    return out;
  }

  private async ask(msg: Buffer, question: Parameters<typeof askUdp>[2], transport: Transport): Promise<Asked | null> {
    const timeoutMs = this.deps.timeoutMs ?? 2000;
    const upstreams = this.deps.upstreams();
    for (const up of upstreams) {
      const answer = await (transport === 'udp' ? askUdp : askTcp)(up, msg, question, timeoutMs);
      if (answer) return answer;
    }
    this.counters.upstreamFailures++;
    const now = this.deps.now();
    if (now - this.lastUpstreamWarn >= 10_000) {
      this.lastUpstreamWarn = now;
      this.deps.log.warn(
        { event: 'dns_upstream_failed', upstreams: upstreams.map((u) => `${u.family === 6 ? `[${u.host}]` : u.host}:${u.port}`), question: question.name },
        upstreams.length === 0 ? 'no DNS upstream configured: answering SERVFAIL' : 'no DNS upstream answered: answering SERVFAIL',
      );
    }
    return null;
  }

  /** Adds what the answer gives for `qname` to the sets of every matching pattern; false when that failed. */
  private async learn(qname: string, asked: Asked, client: string): Promise<boolean> {
    const patterns = [...new Set(this.sets.filter((s) => matchesDnsPattern(s.pattern, qname)).map((s) => s.pattern))];
    if (patterns.length === 0) return true;
    const records = chainAddresses(asked.decoded, qname);
    if (records.length === 0) return true;
    const { floorS, ceilingS } = this.deps.ttl();
    const askedBy = this.deps.clientName(client);
    const entries: LearnRequest[] = [];
    for (const r of records) {
      const address = parseAddress(r.address);
      if (!address || address.family !== r.family) continue;
      for (const pattern of patterns) {
        const set = this.sets.find((s) => s.pattern === pattern && s.family === r.family);
        // At least 1 s: an ipset timeout of 0 would be permanent.
        const ttlS = Math.max(1, Math.min(Math.max(r.ttlS, floorS), ceilingS));
        if (set) entries.push({ pattern, set: set.name, address: address.text, family: r.family, name: qname, ttlS, askedBy });
      }
    }
    if (entries.length === 0) return true;
    try {
      await this.deps.learn(entries);
    } catch (err) {
      this.deps.log.error({ event: 'dns_learn_failed', name: qname, patterns, err: String(err) }, 'could not add learned addresses: answering SERVFAIL');
      return false;
    }
    this.counters.answersLearned += entries.length;
    for (const pattern of patterns) {
      const mine = entries.filter((e) => e.pattern === pattern);
      this.deps.log.debug(
        { event: 'dns_learned', pattern, name: qname, addresses: mine.map((e) => e.address), ttl: mine[0]?.ttlS, askedBy },
        `learned ${qname} for dns:${pattern}`,
      );
    }
    return true;
  }
}
