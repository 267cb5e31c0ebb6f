// Policy -> chains and rules for one address family. Pure data: every rule
// carries a comment naming the default, option, label or policy line that
// produced it (see explain).
//
// filter FORWARD -> MOAT-FORWARD dispatches on the bridge:
//   -i <bridge> -> MOAT-OUT-<net>  (containers' traffic: grants, ICC, world, else deny)
//   -o <bridge> -> MOAT-IN-<net>   (traffic from outside Docker: replies, grants, DNAT, else drop)
//   unknown Docker bridges (br-+, docker0) are denied until a snapshot names them.
// filter INPUT -> MOAT-INPUT: -i <bridge> -> MOAT-HOST-<net>; published host ports.
// filter OUTPUT -> MOAT-OUTPUT: host -> containers, when hostToContainers: deny.
// nat POSTROUTING -> MOAT-POSTROUTING (masquerade); PREROUTING/OUTPUT -> MOAT-DNAT (dnat mode).
import { parseCidr } from './addr.js';
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import { cidrDispatch, type CidrLeaf, dispatch, type DispatchMemo, FANOUT, type Leaf, portDispatch } from './dispatch.js';
import { createFlowRulesMemo, flowRules, type FlowRulesMemo } from './flow-rules.js';
import { pushTo } from './maps.js';
import { type Members, membersOf, updateMembers } from './members.js';
import { cached, Slots } from './memo.js';
import type { Container, Family } from './model.js';
import {
  BUILTIN_JUMPS, DENY_CHAIN, DISPATCH_PREFIX, DNAT_CHAIN, DROP_CHAIN, FROM_LAN_CHAIN, FROM_WORLD_CHAIN,
  TO_EXTERNAL_CHAIN, TO_LAN_CHAIN, TO_WORLD_CHAIN, type TableName,
} from './names.js';
import { type KeptChains, networkChains, type NetworkLeaves, networkLeaves, type NetworkRules } from './network-chains.js';
import type { NetworkPolicy, Policy } from './policy.js';
import { publishedDeps, publishedRules } from './published.js';
import type { Rule } from './rule.js';
import { ESTABLISHED, hostAddr, logRule, short, subnetsOf, unique } from './rule-parts.js';

export interface TableRuleset {
  /** moat's chains in render order; each built-in chain in `jumps` jumps to its MOAT- chain first. */
  readonly chains: readonly Chain[];
  readonly jumps: Readonly<Record<string, string>>;
}

export interface Ruleset {
  readonly family: Family;
  readonly tables: Readonly<Record<TableName, TableRuleset>>;
}

/**
 * Kept across calls by the incremental path (desired.ts), for one config and
 * one family. Every piece is reused only when the objects it was built from
 * are the same ones, and every chain whose rules are the same objects as last
 * time is handed back as the same Chain, so rendering and planning can skip it.
 */
export interface RulesetMemo {
  readonly slots: Slots;
  readonly flows: FlowRulesMemo;
  readonly world: WeakMap<Container, readonly { readonly networkId: string; readonly rule: Rule }[]>;
  readonly leaves: WeakMap<NetworkPolicy, NetworkLeaves>;
  readonly chains: WeakMap<NetworkPolicy, KeptChains>;
  readonly masquerade: WeakMap<NetworkPolicy, readonly CidrLeaf[]>;
  /** Per dispatch tree, its subtrees: a bridge that comes or goes rebuilds the path to it, not the tree. */
  readonly trees: Record<'forwardIn' | 'forwardOut' | 'input' | 'output' | 'masquerade', DispatchMemo>;
  /** The last policy's members and the `world` rules of each network, patched by the next one. */
  members: { readonly members: Members; readonly world: ReadonlyMap<string, readonly Rule[]> } | null;
}

export const createRulesetMemo = (): RulesetMemo => ({ slots: new Slots(), flows: createFlowRulesMemo(), world: new WeakMap(), leaves: new WeakMap(), chains: new WeakMap(), masquerade: new WeakMap(), members: null,
  trees: { forwardIn: new Map(), forwardOut: new Map(), input: new Map(), output: new Map(), masquerade: new Map() },
});

/** True when an iptables interface pattern (`br-+`) matches the name. */
export const matchesPattern = (pattern: string, name: string) => (pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

function denyChain(config: Config, family: Family): Chain {
  const log = logRule(config, 'moat-deny');
  if (config.denyAction === 'drop') return { name: DENY_CHAIN, rules: [...log, { comment: 'moat:deny', jump: 'DROP' }] };
  return {
    name: DENY_CHAIN,
    rules: [
      ...log,
      { proto: 'tcp', comment: 'moat:deny', jump: 'REJECT', jumpArgs: '--reject-with tcp-reset' },
      { comment: 'moat:deny', jump: 'REJECT', jumpArgs: `--reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}` },
    ],
  };
}

/** Per network, the `world` rule of each of its containers' addresses. */
function worldRules(c: Container, family: Family): { networkId: string; rule: Rule }[] {
  const out: { networkId: string; rule: Rule }[] = [];
  for (const ep of c.endpoints) {
    const ip = family === 4 ? ep.ipv4 : ep.ipv6;
    if (ip) out.push({ networkId: ep.networkId, rule: { src: hostAddr(ip, family), comment: `moat:world:${short(c.id)}`, jump: TO_WORLD_CHAIN } });
  }
  return out;
}

interface Bridges {
  /** Every Docker bridge, known or not: the patterns, and the named bridges they do not cover. */
  readonly ifaces: readonly string[];
  /** Subnets of bridge networks whose interface name moat refuses to render. */
  readonly unnamedSubnets: readonly string[];
  /** Patterns no managed bridge is named exactly. */
  readonly unknown: readonly string[];
  /** Subnets of networks moat does not dispatch by bridge (macvlan, unrenderable bridges). */
  readonly routedSubnets: readonly string[];
}

/** The rules that depend on the set of bridges and on the config, not on any one network or container. */
function frameOf(b: Bridges, config: Config, family: Family) {
  const protectedRanges = config.protectedNetworks.map(parseCidr).filter((c) => c?.family === family).map((c) => c!.text);
  // Zone chains. RETURN (not deny) keeps them composable: the caller's later
  // rules still decide. A Docker peer is never `lan` or `world`, and a bridge
  // moat does not know yet counts as a Docker peer. A bridge network's peers
  // are recognised by the bridge the packet leaves or enters by (a few
  // patterns, whatever the number of networks); only other networks
  // (macvlan, a bridge moat cannot name) are listed by subnet.
  const dockerDst: Rule[] = [
    ...b.ifaces.map((i): Rule => ({ out: i, comment: 'moat:zone:docker', jump: 'RETURN' })),
    ...b.routedSubnets.map((s): Rule => ({ dst: s, comment: 'moat:zone:docker', jump: 'RETURN' })),
  ];
  const dockerSrc: Rule[] = [
    ...b.ifaces.map((i): Rule => ({ in: i, comment: 'moat:zone:docker', jump: 'RETURN' })),
    ...b.routedSubnets.map((s): Rule => ({ src: s, comment: 'moat:zone:docker', jump: 'RETURN' })),
  ];
  const toDnat: Rule = { addrType: 'LOCAL', comment: 'moat:published', jump: DNAT_CHAIN };
  return {
    // Replies and established flows of every Docker bridge are accepted first,
    // so their cost does not grow with the number of networks. (Each network's
    // chains accept them too; this is the fast path, not the policy.)
    forwardEstablished: b.ifaces.flatMap((i): Rule[] => [{ in: i, ...ESTABLISHED }, { out: i, ...ESTABLISHED }]),
    inputEstablished: b.ifaces.map((i): Rule => ({ in: i, ...ESTABLISHED })),
    // A bridge network whose interface name moat refuses to render (Docker
    // accepts `x;y`) cannot be dispatched by name: deny it by its subnets, so
    // it fails closed instead of escaping every rule.
    unnamedForward: b.unnamedSubnets.flatMap((s): Rule[] => [
      { src: s, comment: 'moat:unrenderable-bridge', jump: DENY_CHAIN },
      { dst: s, comment: 'moat:unrenderable-bridge', jump: 'DROP' },
    ]),
    unnamedInput: b.unnamedSubnets.map((s): Rule => ({ src: s, comment: 'moat:unrenderable-bridge', jump: DENY_CHAIN })),
    unknownIn: b.unknown.map((p): Rule => ({ in: p, comment: 'moat:unknown-bridge', jump: DENY_CHAIN })),
    unknownOut: b.unknown.map((p): Rule => ({ out: p, comment: 'moat:unknown-bridge', jump: 'DROP' })),
    unknownInput: b.unknown.map((p): Rule => ({ in: p, comment: 'moat:unknown-bridge', jump: DENY_CHAIN })),
    deny: denyChain(config, family),
    drop: config.logDenied ? { name: DROP_CHAIN, rules: [...logRule(config, 'moat-drop'), { comment: 'moat:inbound', jump: 'DROP' }] } : null,
    zones: [
      { name: TO_WORLD_CHAIN, rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: 'moat:zone:lan', jump: 'RETURN' })), { comment: 'moat:zone:world', jump: 'ACCEPT' }] },
      { name: TO_LAN_CHAIN, rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: 'moat:zone:lan', jump: 'ACCEPT' }))] },
      { name: TO_EXTERNAL_CHAIN, rules: [...dockerDst, { comment: 'moat:zone:external', jump: 'ACCEPT' }] },
      { name: FROM_WORLD_CHAIN, rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: 'moat:zone:lan', jump: 'RETURN' })), { comment: 'moat:zone:world', jump: 'ACCEPT' }] },
      { name: FROM_LAN_CHAIN, rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: 'moat:zone:lan', jump: 'ACCEPT' }))] },
    ] satisfies Chain[],
    // Container-to-container traffic keeps its real source address.
    noNat: [
      ...b.ifaces.map((i): Rule => ({ out: i, comment: 'moat:no-nat-between-networks', jump: 'RETURN' })),
      ...b.routedSubnets.map((s): Rule => ({ dst: s, comment: 'moat:no-nat-between-networks', jump: 'RETURN' })),
    ],
    // Never a packet addressed to loopback from outside: once DNAT'ed it
    // would pass as routable, where the kernel drops it as martian.
    prerouting: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }],
    // Host-local clients too, except loopback (Docker's userland proxy serves 127.0.0.1).
    natOutput: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }],
    dnatFromDocker: b.ifaces.map((i): Rule => ({ in: i, comment: 'moat:published:from-docker', jump: 'RETURN' })),
  };
}

export function buildRuleset(policy: Policy, config: Config, family: Family, memo: RulesetMemo = createRulesetMemo()): Ruleset {
  const { slots } = memo;
  // Bridges Docker may create: one not in the snapshot yet is denied, not ignored.
  const UNKNOWN_BRIDGES = config.dockerBridges;
  const coveredByPattern = (bridge: string) => UNKNOWN_BRIDGES.some((p) => matchesPattern(p, bridge));
  const managed = policy.networks.filter((n) => n.managed);
  const managedById = new Map(managed.map((n) => [n.network.id, n]));
  const grants = flowRules(policy.flows, policy.networks, config, family, memo.flows);
  const dnat = config.publishMode === 'dnat';

  // Per network, the `world` rules of the containers that may reach it from
  // there, in policy order: made again only for the networks whose members changed.
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

  // Published ports: DNAT rules (nat) and the filter rules that let them in.
  const dnatRules: Rule[] = [];
  const fromDocker: Rule[] = [];
  const publishedIn = new Map<string, Rule[]>();
  const inputPublished: Rule[] = [];
  for (const cp of members.publishers) {
    const p = slots.reuse(`published:${cp.container.id}`, publishedDeps(cp, policy, managedById), () => publishedRules(cp, policy, managedById, config, family));
    inputPublished.push(...p.input);
    dnatRules.push(...p.dnat);
    fromDocker.push(...p.fromDocker);
    for (const [networkId, rules] of p.inbound) pushTo(publishedIn, networkId, ...rules);
  }

  const managedBridges = new Set(managed.map((n) => n.network.bridge!));
  const bridges: Bridges = {
    ifaces: [...UNKNOWN_BRIDGES, ...[...managedBridges].filter((b) => !coveredByPattern(b)).sort()],
    unnamedSubnets: [...new Set(policy.networks.filter((n) => !n.managed && n.network.driver === 'bridge').flatMap((n) => subnetsOf(n.network, family)))].sort(),
    unknown: UNKNOWN_BRIDGES.filter((b) => !managedBridges.has(b)),
    routedSubnets: [...new Set(policy.networks.filter((n) => !n.managed).flatMap((n) => subnetsOf(n.network, family)))].sort(),
  };
  const frame = slots.reuse('frame', [JSON.stringify(bridges)], () => frameOf(bridges, config, family));

  const perNetwork: Chain[] = [];
  const leaves = { forwardIn: [] as Leaf[], forwardOut: [] as Leaf[], input: [] as Leaf[], output: [] as Leaf[] };
  for (const np of managed) {
    const net = np.network;
    const l = cached(memo.leaves, np, () => networkLeaves(np, config));
    leaves.forwardIn.push(l.forwardIn);
    leaves.forwardOut.push(l.forwardOut);
    leaves.input.push(l.input);
    if (l.output) leaves.output.push(l.output);
    const rules: NetworkRules = {
      out: grants.out.get(net.id) ?? [],
      world: world.get(net.id) ?? [],
      in: grants.in.get(net.id) ?? [],
      published: publishedIn.get(net.id) ?? [],
      host: grants.host.get(net.id) ?? [],
      output: grants.output.get(net.bridge!) ?? [],
    };
    for (const chain of networkChains(np, config, family, rules, cached(memo.chains, np, (): KeptChains => ({})))) perNetwork.push(chain);
  }
  const dispatched = {
    forwardIn: slots.reuse('dispatch:forwardIn', leaves.forwardIn, () => dispatch(leaves.forwardIn, 'in', DISPATCH_PREFIX.forwardIn, FANOUT, memo.trees.forwardIn)),
    forwardOut: slots.reuse('dispatch:forwardOut', leaves.forwardOut, () => dispatch(leaves.forwardOut, 'out', DISPATCH_PREFIX.forwardOut, FANOUT, memo.trees.forwardOut)),
    input: slots.reuse('dispatch:input', leaves.input, () => dispatch(leaves.input, 'in', DISPATCH_PREFIX.input, FANOUT, memo.trees.input)),
    output: slots.reuse('dispatch:output', leaves.output, () => dispatch(leaves.output, 'out', DISPATCH_PREFIX.output, FANOUT, memo.trees.output)),
  };
  const published = slots.reuse('dispatch:published', inputPublished, () => portDispatch(inputPublished, DISPATCH_PREFIX.published));
  const forward = [...frame.unnamedForward, ...frame.forwardEstablished, ...dispatched.forwardIn.rules, ...frame.unknownIn, ...dispatched.forwardOut.rules, ...frame.unknownOut];
  const inputAll = [...frame.unnamedInput, ...frame.inputEstablished, ...dispatched.input.rules, ...frame.unknownInput, ...published.rules];
  const input = slots.reuse('unique:input', inputAll, () => unique(inputAll));

  const postrouting: Rule[] = [];
  const natDispatch: Chain[] = [];
  const masqueraded = managed.filter((n) => n.nat.value && (n.natFamilies ?? [4, 6]).includes(family) && !n.network.internal && subnetsOf(n.network, family).length > 0);
  if (masqueraded.length > 0) {
    const mqLeaves = masqueraded.flatMap((np) =>
      cached(memo.masquerade, np, () =>
        subnetsOf(np.network, family).map((s) => ({ cidr: parseCidr(s)!, rule: { src: s, notOut: np.network.bridge!, comment: `moat:nat:${short(np.network.id)}`, jump: 'MASQUERADE' } })),
      ),
    );
    const masquerade = slots.reuse('dispatch:masquerade', mqLeaves, () => cidrDispatch(mqLeaves, 'src', DISPATCH_PREFIX.masquerade, FANOUT, memo.trees.masquerade));
    postrouting.push(...frame.noNat, ...masquerade.rules);
    natDispatch.push(...masquerade.chains);
  }
  const natChains: Chain[] = [{ name: BUILTIN_JUMPS.nat.POSTROUTING, rules: postrouting }];
  const natJumps: Record<string, string> = { POSTROUTING: BUILTIN_JUMPS.nat.POSTROUTING };
  if (dnat) {
    const dnatDispatch = slots.reuse('dispatch:dnat', dnatRules, () => portDispatch(unique(dnatRules), DISPATCH_PREFIX.dnat));
    const dnatAll = [...fromDocker, ...frame.dnatFromDocker, ...dnatDispatch.rules];
    natChains.push(
      { name: BUILTIN_JUMPS.nat.PREROUTING, rules: frame.prerouting },
      { name: BUILTIN_JUMPS.nat.OUTPUT, rules: frame.natOutput },
      { name: DNAT_CHAIN, rules: slots.reuse('unique:dnat', dnatAll, () => unique(dnatAll)) },
      ...dnatDispatch.chains,
    );
    natJumps.PREROUTING = BUILTIN_JUMPS.nat.PREROUTING;
    natJumps.OUTPUT = BUILTIN_JUMPS.nat.OUTPUT;
  }

  // The same rules as last time: the same Chain, which render and plan recognise
  // without reading it. (A network's own chains are kept that way already.)
  const same = (table: TableName) => (c: Chain): Chain => slots.reuse(`chain:${table}:${c.name}`, c.rules, () => c);
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
          ...published.chains,
        ].map(same('filter')).concat(perNetwork),
        jumps: BUILTIN_JUMPS.filter,
      },
      nat: { chains: [...natChains, ...natDispatch].map(same('nat')), jumps: natJumps },
    },
  };
}
