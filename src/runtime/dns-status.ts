// The `dns` section of the status document (docs/cli.md): grants sorted by
// pattern, each with its sets and unexpired learned addresses (by address).
import type { DnsSet } from '../core/dns-name.js';
import type { DnsCounters } from './dns-forwarder.js';
import type { DnsLearned } from './dns-learned.js';

export interface DnsGrantView {
  readonly pattern: string;
  readonly sets: { readonly '4'?: string; readonly '6'?: string };
  readonly learned: readonly {
    readonly address: string;
    readonly family: 4 | 6;
    readonly name: string;
    readonly expiresAt: string;
    readonly askedBy: string | null;
  }[];
}

export interface DnsStatus {
  readonly enabled: boolean;
  readonly listen: string | null;
  readonly upstream: readonly string[];
  readonly grants: readonly DnsGrantView[];
  readonly queries: number;
  readonly answersLearned: number;
  readonly upstreamFailures: number;
  readonly dropped: number;
}

/** What status and metrics read from the DNS runtime (the daemon hands it over at start). */
export interface DnsSource {
  status(): DnsStatus;
  counters(): Readonly<DnsCounters>;
  setSizes(): ReadonlyMap<string, number>;
}

export const DNS_OFF: DnsStatus = { enabled: false, listen: null, upstream: [], grants: [], queries: 0, answersLearned: 0, upstreamFailures: 0, dropped: 0 };

export function dnsStatus(input: {
  readonly enabled: boolean;
  readonly listen: string | null;
  readonly upstream: readonly string[];
  readonly sets: readonly DnsSet[];
  readonly learned: Pick<DnsLearned, 'entries'>;
  readonly counters: DnsCounters;
  readonly wallClock: () => number;
}): DnsStatus {
  const patterns = [...new Set(input.sets.map((s) => s.pattern))].sort();
  const grants = patterns.map((pattern): DnsGrantView => {
    const mine = input.sets.filter((s) => s.pattern === pattern).sort((a, b) => a.family - b.family);
    const sets = Object.fromEntries(mine.map((s) => [String(s.family), s.name])) as DnsGrantView['sets'];
    const learned = mine
      .flatMap((s) => input.learned.entries(s.name))
      .map((e) => ({ address: e.address, family: e.family, name: e.name, expiresAt: new Date(e.expiresAt).toISOString(), askedBy: e.askedBy }))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return { pattern, sets, learned };
  });
  const { queries, answersLearned, upstreamFailures, dropped } = input.counters;
  return { enabled: input.enabled, listen: input.listen, upstream: input.upstream, grants, queries, answersLearned, upstreamFailures, dropped };
}
