// One managed network's own chains: MOAT-OUT (what its containers send
// through the host), MOAT-IN (what reaches them from outside Docker),
// MOAT-HOST (what they send to the host) and, when host -> containers is
// denied, MOAT-FROMHOST. A function of the network's policy and the rules
// granted to it alone, so the incremental path rebuilds only the networks an
// event touched.
import { hostCidr, parseAddress } from './addr.js';
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import type { Leaf } from './dispatch.js';
import { sameParts } from './memo.js';
import type { Family } from './model.js';
import { DENY_CHAIN, DROP_CHAIN, fromHostChain, hostChain, inChain, outChain } from './names.js';
import type { NetworkPolicy } from './policy.js';
import type { Rule } from './rule.js';
import { fixed, ruleComment } from './rule-ids.js';
import { ESTABLISHED, ndp, unique } from './rule-parts.js';

/** The rules other stages made for one network, in the order they were made. */
export interface NetworkRules {
  /** Grants leaving through the network (MOAT-OUT). */
  readonly out: readonly Rule[];
  /** Its containers allowed to reach `world`. */
  readonly world: readonly Rule[];
  /** Grants arriving from outside Docker (MOAT-IN). */
  readonly in: readonly Rule[];
  /** Published ports reached through it (dnat mode). */
  readonly published: readonly Rule[];
  /** Grants to the host (MOAT-HOST). */
  readonly host: readonly Rule[];
  /** Grants from the host (MOAT-FROMHOST), by bridge. */
  readonly output: readonly Rule[];
}

export interface NetworkLeaves {
  readonly forwardIn: Leaf;
  readonly forwardOut: Leaf;
  readonly input: Leaf;
  /** Only when host -> containers is denied. */
  readonly output: Leaf | null;
}

/** The dispatch rules that lead to the network's chains. */
export function networkLeaves(np: NetworkPolicy, config: Config): NetworkLeaves {
  const net = np.network;
  const br = net.bridge!;
  const comment = ruleComment({ kind: 'net', network: net.id });
  return {
    forwardIn: { iface: br, rule: { in: br, comment, jump: outChain(net.id) } },
    forwardOut: { iface: br, rule: { out: br, comment, jump: inChain(net.id) } },
    input: { iface: br, rule: { in: br, comment, jump: hostChain(net.id) } },
    output: config.hostToContainers === 'deny' ? { iface: br, rule: { out: br, comment, jump: fromHostChain(net.id) } } : null,
  };
}

/** MOAT-OUT: grants, ICC, `world`, else deny. */
function outRules(np: NetworkPolicy, family: Family, granted: readonly Rule[], world: readonly Rule[]): Rule[] {
  const net = np.network;
  const br = net.bridge!;
  // Only grants can repeat (a flow granted by both sides): the structural rules are unique by construction.
  const out: Rule[] = [ESTABLISHED, ...ndp(family, { out: br }), ...unique(granted)];
  out.push(np.icc.value ? { out: br, comment: fixed('icc'), jump: 'ACCEPT' } : { out: br, comment: fixed('icc-off'), jump: DENY_CHAIN });
  if (!net.internal && np.egress.value === 'world') out.push(...world);
  out.push({ comment: net.internal ? fixed('internal') : fixed('default-deny'), jump: DENY_CHAIN });
  return out;
}

/** MOAT-IN: replies, grants from outside Docker, DNAT'ed published ports, else drop. */
const inRules = (config: Config, granted: readonly Rule[], published: readonly Rule[]): Rule[] => [
  ESTABLISHED,
  ...unique([...granted, ...published]),
  { comment: fixed('inbound'), jump: config.logDenied ? DROP_CHAIN : 'DROP' },
];

/**
 * moatd's DNS forwarder (config dns.listen), port 53 udp and tcp, in the listen address's family: Docker's embedded resolver
 * sends each container's queries there from the container's own namespace. Never from an internal network (it never reaches the host).
 */
function dnsForwarder(np: NetworkPolicy, config: Config, family: Family): Rule[] {
  const listen = config.dns.listen === null ? null : parseAddress(config.dns.listen);
  if (listen === null || listen.family !== family || np.network.internal) return [];
  const dst = hostCidr(listen.text);
  const comment = fixed('dns-forwarder');
  return (['udp', 'tcp'] as const).map((proto): Rule => ({ dst, proto, dport: '53', comment, jump: 'ACCEPT' }));
}

/** MOAT-HOST: the DNS forwarder, grants to the host, else deny. */
const hostRules = (np: NetworkPolicy, config: Config, family: Family, granted: readonly Rule[]): Rule[] => [
  ESTABLISHED,
  ...ndp(family, {}),
  ...dnsForwarder(np, config, family),
  ...unique(granted),
  { comment: fixed('host'), jump: DENY_CHAIN },
];

/** MOAT-FROMHOST (hostToContainers: deny): grants from the host, else deny. */
const fromHostRules = (family: Family, granted: readonly Rule[]): Rule[] => [
  ESTABLISHED,
  ...ndp(family, {}),
  ...unique(granted),
  { comment: fixed('host-to-containers'), jump: DENY_CHAIN },
];

/** The chains last built for one network policy, each with the rule lists it was built from (one config and family). */
export type KeptChains = Partial<Record<'out' | 'in' | 'host' | 'fromHost', { readonly parts: readonly (readonly Rule[])[]; readonly chain: Chain }>>;

/**
 * The network's chains. A chain whose rule lists are the same as when it
 * was kept in `kept` is handed back as it was: each chain depends on its own
 * lists only (and on the network policy `kept` belongs to).
 */
export function networkChains(np: NetworkPolicy, config: Config, family: Family, rules: NetworkRules, kept: KeptChains): Chain[] {
  const id = np.network.id;
  const reuse = (slot: keyof KeptChains, parts: readonly (readonly Rule[])[], name: (id: string) => string, build: () => Rule[]): Chain => {
    const k = kept[slot];
    if (k && sameParts(k.parts, parts)) return k.chain;
    const chain = { name: name(id), rules: build() };
    kept[slot] = { parts, chain };
    return chain;
  };
  const chains = [
    reuse('out', [rules.out, rules.world], outChain, () => outRules(np, family, rules.out, rules.world)),
    reuse('in', [rules.in, rules.published], inChain, () => inRules(config, rules.in, rules.published)),
    reuse('host', [rules.host], hostChain, () => hostRules(np, config, family, rules.host)),
  ];
  if (config.hostToContainers === 'deny') chains.push(reuse('fromHost', [rules.output], fromHostChain, () => fromHostRules(family, rules.output)));
  return chains;
}
