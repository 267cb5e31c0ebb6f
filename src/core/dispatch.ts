// Dispatch on the interface name in a tree of chains, so that finding a
// bridge's chain costs a number of rule evaluations that grows with the
// logarithm of the number of bridges, not with the number itself.
//
// Up to FANOUT bridges: one rule each, in the calling chain (small hosts see
// the flat list they expect). Beyond: bridges are grouped by the next
// character of their name after the prefix they share (Docker's `br-<hex>`
// names split 16 ways per level); a group of one stays a direct rule, a larger
// group gets its own chain, entered by the iptables wildcard `<prefix>+`.
// Groups are disjoint, so the order of the direct rules is kept within every
// chain and a name no rule matches falls through to the caller's next rule
// (the unknown-bridge deny).
import type { Rule } from './rule.js';
import type { Chain } from './ruleset.js';

export const FANOUT = 16;

export interface Leaf {
  /** The interface the rule matches exactly. */
  readonly iface: string;
  readonly rule: Rule;
}

export interface Dispatch {
  /** Rules for the calling chain. */
  readonly rules: Rule[];
  /** The dispatch chains, named `<chainPrefix><shared name prefix>`. */
  readonly chains: Chain[];
}

function commonPrefix(names: readonly string[]): string {
  let p = names[0]!;
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** `side`: which interface the leaves match (`in` for -i, `out` for -o). */
export function dispatch(leaves: readonly Leaf[], side: 'in' | 'out', chainPrefix: string, fanout = FANOUT): Dispatch {
  const chains: Chain[] = [];
  const build = (prefix: string, members: readonly Leaf[]): Rule[] => {
    if (members.length <= fanout) return members.map((l) => l.rule);
    const rules = members.filter((l) => l.iface === prefix).map((l) => l.rule);
    const groups = new Map<string, Leaf[]>();
    for (const l of members) {
      if (l.iface === prefix) continue;
      const c = l.iface[prefix.length]!;
      groups.set(c, [...(groups.get(c) ?? []), l]);
    }
    for (const c of [...groups.keys()].sort()) {
      const group = groups.get(c)!;
      if (group.length === 1) {
        rules.push(group[0]!.rule);
        continue;
      }
      // Names are at most 15 characters and distinct, so a shared prefix is at most 14 and `<prefix>+` fits.
      const shared = commonPrefix(group.map((l) => l.iface));
      const name = `${chainPrefix}${shared}`;
      chains.push({ name, rules: build(shared, group) });
      rules.push({ [side]: `${shared}+`, comment: 'moat:dispatch', jump: name });
    }
    return rules;
  };
  const rules = build('', leaves);
  return { rules, chains };
}
