// dns: grants in `moat explain` (docs/cli.md#moat-explain): a rule on a dns:
// set matches an address only when moatd learned it for the set's pattern.
// The learned table comes from moatd's status document (the CLI fetches it);
// without it the answer may depend on what moatd learned, and explain says so
// instead of guessing: the query is walked both ways, and when the two
// verdicts differ the verdict is `unknown`.
import { type Cidr, parseAddress } from './addr.js';
import { dnsSetName } from './dns-name.js';
import type { DnsLookup, LearnedAddress } from './explain-types.js';
import type { Flow } from './flow.js';
import type { Policy } from './policy.js';

/** moatd's learned addresses by pattern (status document `dns.grants`). */
export type Learned = ReadonlyMap<string, readonly LearnedAddress[]>;

export class DnsSets {
  private readonly patterns = new Map<string, string>();
  private readonly lookups = new Map<string, DnsLookup>();
  /** What to answer for a set while the learned table is unknown. */
  private assumeLearned = false;

  constructor(
    policy: Policy,
    private readonly learned: Learned | undefined,
  ) {
    for (const f of policy.flows) {
      if (f.to.kind !== 'dns') continue;
      for (const family of [4, 6] as const) this.patterns.set(dnsSetName(f.to.pattern, family), f.to.pattern);
    }
  }

  /** Starts a walk: forgets the lookups of the last one; `assumeLearned` answers for the addresses moat cannot know. */
  begin(assumeLearned: boolean): void {
    this.assumeLearned = assumeLearned;
    this.lookups.clear();
  }

  /** The set lookups of the walk so far, in the order they were made. */
  seen(): DnsLookup[] {
    return [...this.lookups.values()];
  }

  /** Some lookup of the walk could not be answered (no learned table). */
  get unknown(): boolean {
    return this.learned === undefined && this.lookups.size > 0;
  }

  /** WalkContext.inSet. */
  readonly inSet = (set: string, cidr: Cidr): boolean => {
    const pattern = this.patterns.get(set);
    if (pattern === undefined) return false;
    const address = cidr.text.slice(0, cidr.text.indexOf('/'));
    if (this.learned === undefined) {
      this.lookups.set(set, { pattern, set, address, known: false, learned: null });
      return this.assumeLearned;
    }
    const hit = this.learned.get(pattern)?.find((a) => parseAddress(a.address)?.text === address) ?? null;
    this.lookups.set(set, { pattern, set, address, known: true, learned: hit });
    return hit !== null;
  };

  /** The lookup behind a deciding flow rule, when its flow is a dns: grant. */
  lookupOf(flow: Flow | undefined): DnsLookup | null {
    if (flow?.to.kind !== 'dns') return null;
    const pattern = flow.to.pattern;
    return this.seen().find((l) => l.pattern === pattern) ?? null;
  }
}

/** What a learned address adds to the reason of the dns: grant it was allowed by. */
export const learnedText = (l: LearnedAddress): string => `learned address ${l.address} (asked as ${l.name}, expires at ${l.expiresAt})`;

/**
 * The learned table from moatd's status document (`dns.grants`, docs/cli.md#moat-status): null when the
 * document has none (a moatd without the feature) or it is not of that shape. Entries of any other
 * shape are skipped: the table only ever narrows what explain claims.
 */
export function learnedFromStatus(doc: unknown): Map<string, LearnedAddress[]> | null {
  const grants = (doc as { dns?: { grants?: unknown } } | null)?.dns?.grants;
  if (!Array.isArray(grants)) return null;
  const out = new Map<string, LearnedAddress[]>();
  for (const g of grants as unknown[]) {
    const { pattern, learned } = (g ?? {}) as { pattern?: unknown; learned?: unknown };
    if (typeof pattern !== 'string' || !Array.isArray(learned)) continue;
    const list: LearnedAddress[] = [];
    for (const l of learned as unknown[]) {
      const { address, name, expiresAt } = (l ?? {}) as Record<string, unknown>;
      if (typeof address === 'string' && typeof name === 'string' && typeof expiresAt === 'string') list.push({ address, name, expiresAt });
    }
    out.set(pattern, list);
  }
  return out;
}
