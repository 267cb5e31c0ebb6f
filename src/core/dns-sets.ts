// The kernel sets the rendered rulesets reference (Desired.dnsSets): moatd
// creates them before a commit that needs them and destroys the ones no rule
// references any more after it. Read from the rules themselves, so a set is
// listed exactly when some rule matches on it (a v6 set only when IPv6 is
// rendered and a container with an IPv6 address holds the grant).
import type { Chain, Ruleset } from './chain.js';
import { type DnsSet, dnsSet } from './dns-name.js';
import type { Flow } from './flow.js';

/** Each chain's set names, kept while the chain is the same object (the ruleset's memo hands back unchanged chains as they were). */
export type DnsSetsMemo = WeakMap<Chain, readonly string[]>;

const NONE: readonly string[] = [];

export function dnsSetsOf(flows: readonly Flow[], rulesets: readonly Ruleset[], memo: DnsSetsMemo = new WeakMap()): DnsSet[] {
  const names = new Set<string>();
  for (const rs of rulesets) {
    for (const chain of rs.tables.filter.chains) {
      let found = memo.get(chain);
      if (!found) {
        const here = new Set<string>();
        for (const r of chain.rules) if (r.dstSet !== undefined) here.add(r.dstSet);
        memo.set(chain, (found = here.size > 0 ? [...here] : NONE));
      }
      for (const n of found) names.add(n);
    }
  }
  if (names.size === 0) return [];
  const sets = new Map<string, DnsSet>();
  for (const f of flows) {
    if (f.to.kind !== 'dns') continue;
    for (const family of [4, 6] as const) {
      const set = dnsSet(f.to.pattern, family);
      if (names.has(set.name) && !sets.has(set.name)) sets.set(set.name, set);
    }
  }
  return [...sets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
