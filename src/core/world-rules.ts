// Per network, the `world` rules of the containers that may reach world from
// there, in policy order: MOAT-OUT-<net> jumps to MOAT-TO-WORLD for each of
// their addresses. Made again only for the networks whose members changed.
import { type Members, membersOf, updateMembers } from './members.js';
import { cached } from './memo.js';
import type { Container, Family } from './model.js';
import { TO_WORLD_CHAIN } from './names.js';
import type { Policy } from './policy.js';
import type { Rule } from './rule.js';
import { ruleComment } from './rule-ids.js';
import { hostAddr } from './rule-parts.js';
import type { RulesetMemo } from './ruleset-memo.js';

/** Per network, the `world` rule of each of its containers' addresses. */
function worldRules(c: Container, family: Family): { networkId: string; rule: Rule }[] {
  const out: { networkId: string; rule: Rule }[] = [];
  for (const ep of c.endpoints) {
    const ip = family === 4 ? ep.ipv4 : ep.ipv6;
    if (ip)
      out.push({
        networkId: ep.networkId,
        rule: { src: hostAddr(ip, family), comment: ruleComment({ kind: 'world', container: c.id }), jump: TO_WORLD_CHAIN },
      });
  }
  return out;
}

/** The policy's members (patched from the last call's) and the `world` rules of each network. */
export function worldByNetwork(policy: Policy, family: Family, memo: RulesetMemo): { members: Members; world: ReadonlyMap<string, readonly Rule[]> } {
  const kept = memo.members;
  memo.members = null;
  const { members, touched } = kept ? updateMembers(kept.members, policy.containers) : { members: membersOf(policy.containers), touched: null };
  const world = new Map<string, readonly Rule[]>(touched && kept ? kept.world : []);
  for (const id of touched ?? members.byNetwork.keys()) {
    const rules: Rule[] = [];
    for (const cp of members.byNetwork.get(id) ?? []) {
      if (!cp.world.value) continue;
      for (const w of cached(memo.world, cp.container, () => worldRules(cp.container, family))) if (w.networkId === id) rules.push(w.rule);
    }
    if (rules.length > 0) world.set(id, rules);
    else world.delete(id);
  }
  memo.members = { members, world };
  return memo.members;
}
