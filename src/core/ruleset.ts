// Policy -> chains and rules for one address family. Pure data: every rule
// carries a comment naming the default, option, label or policy line that
// produced it (see explain). This file only assembles; each chain family has
// its own builder, the way Calico Felix splits its rule builders:
//
//   per-network.ts      MOAT-OUT/IN/HOST/FROMHOST-<net> and the dispatch to them (network-chains.ts, world-rules.ts)
//   published-ports.ts  published ports: MOAT-INPUT's port dispatch, DNAT rules (published.ts)
//   zones.ts            MOAT-TO-WORLD/-LAN/-EXTERNAL, MOAT-FROM-WORLD/-LAN
//   unknown-bridges.ts  Docker bridges not known yet or not renderable: denied
//   deny-chains.ts      MOAT-DENY, MOAT-DROP
//   nat.ts              masquerade, DNAT
//
// The chain layout, and which way traffic goes through each chain, is drawn in names.ts.
import { type Bridges, bridgesOf } from './bridges.js';
import type { Chain, Ruleset } from './chain.js';
import type { Config } from './config.js';
import { denyChain, dropChain } from './deny-chains.js';
import { flowRules } from './flow-rules.js';
import type { Family } from './model.js';
import { BUILTIN_JUMPS, type TableName } from './names.js';
import { natFrame, natTable } from './nat.js';
import { perNetwork } from './per-network.js';
import type { Policy } from './policy.js';
import { publishedPorts } from './published-ports.js';
import type { Rule } from './rule.js';
import { ESTABLISHED, unique } from './rule-parts.js';
import { createRulesetMemo, type RulesetMemo } from './ruleset-memo.js';
import { unknownBridgeRules } from './unknown-bridges.js';
import { worldByNetwork } from './world-rules.js';
import { zoneChains } from './zones.js';

export type { Chain, Ruleset, TableRuleset } from './chain.js';
export { createRulesetMemo, type RulesetMemo } from './ruleset-memo.js';

/** The rules that depend on the set of bridges and on the config, not on any one network or container. */
function frameOf(b: Bridges, config: Config, family: Family) {
  return {
    // Replies and established flows of every Docker bridge are accepted first,
    // so their cost does not grow with the number of networks. (Each network's
    // chains accept them too; this is the fast path, not the policy.)
    forwardEstablished: b.ifaces.flatMap((i): Rule[] => [
      { in: i, ...ESTABLISHED },
      { out: i, ...ESTABLISHED },
    ]),
    inputEstablished: b.ifaces.map((i): Rule => ({ in: i, ...ESTABLISHED })),
    unknown: unknownBridgeRules(b),
    deny: denyChain(config, family),
    drop: dropChain(config),
    zones: zoneChains(b, config, family),
    nat: natFrame(b, family),
  };
}

export function buildRuleset(policy: Policy, config: Config, family: Family, memo: RulesetMemo = createRulesetMemo()): Ruleset {
  const { slots } = memo;
  const managed = policy.networks.filter((n) => n.managed);
  const managedById = new Map(managed.map((n) => [n.network.id, n]));
  const grants = flowRules(policy.flows, policy.networks, config, family, memo.flows);
  const { members, world } = worldByNetwork(policy, family, memo);
  const published = publishedPorts(members.publishers, policy, managedById, config, family, memo);
  const bridges = bridgesOf(policy, config, family);
  const frame = slots.reuse('frame', [JSON.stringify(bridges)], () => frameOf(bridges, config, family));
  const networks = perNetwork(managed, { grants, world, published: published.inbound }, config, family, memo);
  const { dispatched } = networks;
  const { unknown } = frame;

  const forward = [
    ...unknown.unnamedForward,
    ...frame.forwardEstablished,
    ...dispatched.forwardIn.rules,
    ...unknown.unknownIn,
    ...dispatched.forwardOut.rules,
    ...unknown.unknownOut,
  ];
  const inputAll = [...unknown.unnamedInput, ...frame.inputEstablished, ...dispatched.input.rules, ...unknown.unknownInput, ...published.input.rules];
  const input = slots.reuse('unique:input', inputAll, () => unique(inputAll));
  const nat = natTable(managed, frame.nat, published, config, family, memo);

  // The same rules as last time: the same Chain, which render and plan recognise
  // without reading it. (A network's own chains are kept that way already.)
  const same =
    (table: TableName) =>
    (c: Chain): Chain =>
      slots.reuse(`chain:${table}:${c.name}`, c.rules, () => c);
  return {
    family,
    tables: {
      filter: {
        chains: [
          { name: BUILTIN_JUMPS.filter.FORWARD, rules: forward },
          { name: BUILTIN_JUMPS.filter.INPUT, rules: input },
          { name: BUILTIN_JUMPS.filter.OUTPUT, rules: dispatched.output.rules },
          frame.deny,
          ...(frame.drop ? [frame.drop] : []),
          ...frame.zones,
          ...Object.values(dispatched).flatMap((d) => d.chains),
          ...published.input.chains,
        ]
          .map(same('filter'))
          .concat(networks.chains),
        jumps: BUILTIN_JUMPS.filter,
      },
      nat: { chains: nat.chains.map(same('nat')), jumps: nat.jumps },
    },
  };
}
