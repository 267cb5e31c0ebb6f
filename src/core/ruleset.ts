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
import { isLoopback, parseCidr } from './addr.js';
import type { Config } from './config.js';
import { cidrDispatch, type CidrLeaf, dispatch, type Leaf, portDispatch } from './dispatch.js';
import { pushTo } from './maps.js';
import { flowRules } from './flow-rules.js';
import type { Flow } from './grants.js';
import type { Container, Family, Network } from './model.js';
import {
  BUILTIN_JUMPS, DENY_CHAIN, DISPATCH_PREFIX, DNAT_CHAIN, DROP_CHAIN, FROM_LAN_CHAIN, FROM_WORLD_CHAIN, fromHostChain, hostChain, inChain, outChain,
  TO_EXTERNAL_CHAIN, TO_LAN_CHAIN, TO_WORLD_CHAIN, type TableName,
} from './names.js';
import type { ContainerPolicy, Policy } from './policy.js';
import type { Rule } from './rule.js';

export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export interface TableRuleset {
  /** moat's chains in render order; each built-in chain in `jumps` jumps to its MOAT- chain first. */
  readonly chains: readonly Chain[];
  readonly jumps: Readonly<Record<string, string>>;
}

export interface Ruleset {
  readonly family: Family;
  readonly tables: Readonly<Record<TableName, TableRuleset>>;
}

/** Neighbour solicitation and advertisement: IPv6 cannot resolve a neighbour without them. */
const NDP_TYPES = [135, 136];

/** True when an iptables interface pattern (`br-+`) matches the name. */
export const matchesPattern = (pattern: string, name: string) => (pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

const ESTABLISHED: Rule = { ctstate: 'RELATED,ESTABLISHED', comment: 'moat:established', jump: 'ACCEPT' };

const hostAddr = (ip: string, family: Family) => `${ip}/${family === 4 ? 32 : 128}`;
const subnetsOf = (net: Network, family: Family): readonly string[] => (family === 4 ? net.subnets4 : net.subnets6);
const short = (id: string) => id.slice(0, 12);

/** A rate-limited kernel log line (dmesg / journalctl -k) before a deny, when `logDenied` is on. */
const logRule = (config: Config, prefix: string): Rule[] =>
  config.logDenied ? [{ limit: '10/min', comment: 'moat:log-denied', jump: 'LOG', jumpArgs: `--log-prefix "${prefix}: "` }] : [];

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

/** Every field of a rule, in a fixed order: equal keys, equal rules. */
const ruleKey = (r: Rule) =>
  `${r.src}|${r.dst}|${r.notDst}|${r.in}|${r.notIn}|${r.out}|${r.notOut}|${r.proto}|${r.dport}|${r.icmp6Type}|${r.addrType}|${r.limit}|${r.ctstate}|${r.comment}|${r.jump}|${r.jumpArgs}`;

/** Drops exact duplicates (e.g. a flow granted by both sides), keeping the first. */
function unique(rules: readonly Rule[]): Rule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const key = ruleKey(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The flows to each container, by container id: built once per policy (both families share it). */
const flowsByTarget = new WeakMap<Policy, Map<string, Flow[]>>();

/** The flows granted to `target` that cover its container port `port`. */
function flowsToPort(policy: Policy, target: Container, port: { containerPort: number; proto: string }): Flow[] {
  let index = flowsByTarget.get(policy);
  if (!index) {
    index = new Map();
    for (const f of policy.flows) if (f.to.kind === 'container') pushTo(index, f.to.container.id, f);
    flowsByTarget.set(policy, index);
  }
  return (index.get(target.id) ?? []).filter(
    (f) => (f.proto === null || f.proto === port.proto) && (f.ports === null || (port.containerPort >= f.ports.lo && port.containerPort <= f.ports.hi)),
  );
}

/** Sources granted inbound to a published port under `published: labelled`, as INPUT/FORWARD rules. */
function labelledSources(cp: ContainerPolicy, policy: Policy, port: { containerPort: number; proto: string }, family: Family, base: Rule): Rule[] {
  const out: Rule[] = [];
  for (const f of flowsToPort(policy, cp.container, port)) {
    const comment = `moat:${f.id}`;
    if (f.from.kind === 'world') out.push({ ...base, comment, jump: FROM_WORLD_CHAIN });
    else if (f.from.kind === 'lan') out.push({ ...base, comment, jump: FROM_LAN_CHAIN });
    else if (f.from.kind === 'cidr' && f.from.cidr.includes(':') === (family === 6)) out.push({ ...base, src: f.from.cidr, comment, jump: 'ACCEPT' });
  }
  return out;
}

export function buildRuleset(policy: Policy, config: Config, family: Family): Ruleset {
  // Bridges Docker may create: one not in the snapshot yet is denied, not ignored.
  const UNKNOWN_BRIDGES = config.dockerBridges;
  const coveredByPattern = (bridge: string) => UNKNOWN_BRIDGES.some((p) => matchesPattern(p, bridge));
  const managed = policy.networks.filter((n) => n.managed);
  const managedById = new Map(managed.map((n) => [n.network.id, n]));
  const protectedRanges = config.protectedNetworks.map(parseCidr).filter((c) => c?.family === family).map((c) => c!.text);
  const ndp = (extra: Partial<Rule>): Rule[] =>
    family === 6 ? NDP_TYPES.map((t) => ({ ...extra, proto: 'icmp', icmp6Type: t, comment: 'moat:ndp', jump: 'ACCEPT' })) : [];
  const grants = flowRules(policy.flows, policy.networks, config, family);
  const dnat = config.publishMode === 'dnat';
  const labelled = config.published === 'labelled';

  // Per network, the addresses of containers that may reach `world` from it.
  const worldSources = new Map<string, { container: Container; ip: string }[]>();
  for (const cp of policy.containers) {
    if (!cp.world.value) continue;
    for (const ep of cp.container.endpoints) {
      const ip = family === 4 ? ep.ipv4 : ep.ipv6;
      if (!ip) continue;
      pushTo(worldSources, ep.networkId, { container: cp.container, ip });
    }
  }

  // Sources inside Docker that a grant lets reach `target` on the published port's container port.
  const grantedSources = (target: Container, port: { containerPort: number; proto: string }, targetBridge: string) => {
    const out: { ip: string; bridge: string }[] = [];
    for (const f of flowsToPort(policy, target, port)) {
      if (f.from.kind === 'container') {
        for (const ep of f.from.container.endpoints) {
          const ip = family === 4 ? ep.ipv4 : ep.ipv6;
          const br = managedById.get(ep.networkId)?.network.bridge;
          if (ip && br && br !== targetBridge) out.push({ ip: hostAddr(ip, family), bridge: br });
        }
      } else if (f.from.kind === 'network') {
        const br = managedById.get(f.from.network.id)?.network.bridge;
        if (br && br !== targetBridge) for (const s of subnetsOf(f.from.network, family)) out.push({ ip: s, bridge: br });
      }
    }
    return out;
  };

  // Published ports: DNAT rules (nat) and the filter rules that let them in.
  const dnatRules: Rule[] = [];
  const fromDocker: Rule[] = [];
  const publishedIn = new Map<string, Rule[]>();
  const inputPublished: Rule[] = [];
  const wildcard = family === 4 ? '0.0.0.0' : '::';
  for (const cp of policy.containers) {
    for (const port of cp.container.ports) {
      if (port.hostIp.includes(':') !== (family === 6)) continue;
      const id = `moat:published:${short(cp.container.id)}:${port.containerPort}/${port.proto}`;
      const hostDst = port.hostIp === wildcard ? {} : { dst: hostAddr(port.hostIp, family) };
      const hostPort = { proto: port.proto, dport: String(port.hostPort) } as const;
      if (!dnat) {
        const base: Rule = { ...hostDst, ...hostPort, comment: id, jump: 'ACCEPT' };
        if (!labelled) inputPublished.push(base);
        else inputPublished.push(...labelledSources(cp, policy, port, family, base), { ...hostDst, notIn: 'lo', ...hostPort, comment: `${id}:unlisted`, jump: 'DROP' });
        continue;
      }
      // A port published on a loopback address is for the host itself, which
      // Docker's userland proxy serves (MOAT-OUTPUT never DNATs loopback). A
      // DNAT for it would only ever match in PREROUTING: a packet a LAN
      // neighbour addressed to 127.0.0.1 with the host as next hop, which the
      // kernel drops as martian unless it is DNAT'ed first (Docker 28 closed
      // the same hole in its own rules).
      if (isLoopback(port.hostIp)) continue;
      for (const ep of cp.container.endpoints) {
        const ip = family === 4 ? ep.ipv4 : ep.ipv6;
        const np = managedById.get(ep.networkId);
        if (!ip || !np) continue;
        const to = family === 4 ? `${ip}:${port.containerPort}` : `[${ip}]:${port.containerPort}`;
        const dnatTo: Rule = { ...hostDst, ...hostPort, comment: id, jump: 'DNAT', jumpArgs: `--to-destination ${to}` };
        // Containers are DNAT'ed only where a grant lets them reach the target
        // port; the others reach the host (MOAT-HOST decides, and rejects from
        // the right address). Same-bridge hairpin is never DNAT'ed: the reply
        // would bypass the host; Docker's userland proxy serves it if allowed.
        for (const src of grantedSources(cp.container, port, np.network.bridge!)) fromDocker.push({ ...dnatTo, src: src.ip, in: src.bridge });
        dnatRules.push(dnatTo);
        const base: Rule = { dst: hostAddr(ip, family), proto: port.proto, dport: String(port.containerPort), ctstate: 'DNAT', comment: id, jump: 'ACCEPT' };
        const rules = labelled ? labelledSources(cp, policy, port, family, base) : [base];
        pushTo(publishedIn, ep.networkId, ...rules);
        break; // one DNAT target per published port
      }
    }
  }

  // Replies and established flows of every Docker bridge are accepted first,
  // so their cost does not grow with the number of networks. (Each network's
  // chains accept them too; this is the fast path, not the policy.)
  const managedBridges = new Set(managed.map((n) => n.network.bridge!));
  // Every Docker bridge, known or not: the patterns, and the named bridges they do not cover.
  const bridgeIfaces = [...UNKNOWN_BRIDGES, ...[...managedBridges].filter((b) => !coveredByPattern(b)).sort()];
  const forward: Rule[] = bridgeIfaces.flatMap((b): Rule[] => [{ in: b, ...ESTABLISHED }, { out: b, ...ESTABLISHED }]);
  const input: Rule[] = bridgeIfaces.map((b): Rule => ({ in: b, ...ESTABLISHED }));
  const perNetwork: Chain[] = [];
  const leaves = { forwardIn: [] as Leaf[], forwardOut: [] as Leaf[], input: [] as Leaf[], output: [] as Leaf[] };

  for (const np of managed) {
    const net = np.network;
    const br = net.bridge!;
    const comment = `moat:net:${short(net.id)}`;
    leaves.forwardIn.push({ iface: br, rule: { in: br, comment, jump: outChain(net.id) } });
    leaves.forwardOut.push({ iface: br, rule: { out: br, comment, jump: inChain(net.id) } });
    leaves.input.push({ iface: br, rule: { in: br, comment, jump: hostChain(net.id) } });

    // Only grants can repeat (a flow granted by both sides): the structural rules are unique by construction.
    const out: Rule[] = [ESTABLISHED, ...ndp({ out: br }), ...unique(grants.out.get(net.id) ?? [])];
    out.push(np.icc.value ? { out: br, comment: 'moat:icc', jump: 'ACCEPT' } : { out: br, comment: 'moat:icc-off', jump: DENY_CHAIN });
    if (!net.internal && np.egress.value === 'world') {
      for (const { container, ip } of worldSources.get(net.id) ?? []) {
        out.push({ src: hostAddr(ip, family), comment: `moat:world:${short(container.id)}`, jump: TO_WORLD_CHAIN });
      }
    }
    out.push({ comment: net.internal ? 'moat:internal' : 'moat:default-deny', jump: DENY_CHAIN });
    perNetwork.push({ name: outChain(net.id), rules: out });

    const inbound = [ESTABLISHED, ...unique([...(grants.in.get(net.id) ?? []), ...(publishedIn.get(net.id) ?? [])]), { comment: 'moat:inbound', jump: config.logDenied ? DROP_CHAIN : 'DROP' }];
    perNetwork.push({ name: inChain(net.id), rules: inbound });
    perNetwork.push({ name: hostChain(net.id), rules: [ESTABLISHED, ...ndp({}), ...unique(grants.host.get(net.id) ?? []), { comment: 'moat:host', jump: DENY_CHAIN }] });

    if (config.hostToContainers === 'deny') {
      leaves.output.push({ iface: br, rule: { out: br, comment, jump: fromHostChain(net.id) } });
      const fromHost = [ESTABLISHED, ...ndp({}), ...unique(grants.output.get(br) ?? []), { comment: 'moat:host-to-containers', jump: DENY_CHAIN }];
      perNetwork.push({ name: fromHostChain(net.id), rules: fromHost });
    }
  }
  const dispatched = {
    forwardIn: dispatch(leaves.forwardIn, 'in', DISPATCH_PREFIX.forwardIn),
    forwardOut: dispatch(leaves.forwardOut, 'out', DISPATCH_PREFIX.forwardOut),
    input: dispatch(leaves.input, 'in', DISPATCH_PREFIX.input),
    output: dispatch(leaves.output, 'out', DISPATCH_PREFIX.output),
  };
  forward.push(...dispatched.forwardIn.rules);
  input.push(...dispatched.input.rules);
  const output = dispatched.output.rules;
  // A bridge network whose interface name moat refuses to render (Docker
  // accepts `x;y`) cannot be dispatched by name: deny it by its subnets, so
  // it fails closed instead of escaping every rule.
  const unnamed = policy.networks.filter((n) => !n.managed && n.network.driver === 'bridge');
  const unnamedSubnets = [...new Set(unnamed.flatMap((n) => subnetsOf(n.network, family)))].sort();
  forward.unshift(
    ...unnamedSubnets.flatMap((s): Rule[] => [
      { src: s, comment: 'moat:unrenderable-bridge', jump: DENY_CHAIN },
      { dst: s, comment: 'moat:unrenderable-bridge', jump: 'DROP' },
    ]),
  );
  input.unshift(...unnamedSubnets.map((s): Rule => ({ src: s, comment: 'moat:unrenderable-bridge', jump: DENY_CHAIN })));
  const unknownBridges = UNKNOWN_BRIDGES.filter((b) => !managedBridges.has(b));
  for (const pattern of unknownBridges) forward.push({ in: pattern, comment: 'moat:unknown-bridge', jump: DENY_CHAIN });
  forward.push(...dispatched.forwardOut.rules);
  for (const pattern of unknownBridges) forward.push({ out: pattern, comment: 'moat:unknown-bridge', jump: 'DROP' });
  for (const pattern of unknownBridges) input.push({ in: pattern, comment: 'moat:unknown-bridge', jump: DENY_CHAIN });
  const published = portDispatch(inputPublished, DISPATCH_PREFIX.published);
  input.push(...published.rules);

  // Zone chains. RETURN (not deny) keeps them composable: the caller's later
  // rules still decide. A Docker peer is never `lan` or `world`, and a bridge
  // moat does not know yet counts as a Docker peer. A bridge network's peers
  // are recognised by the bridge the packet leaves or enters by (a few
  // patterns, whatever the number of networks); only other networks
  // (macvlan, a bridge moat cannot name) are listed by subnet.
  const routedSubnets = [...new Set(policy.networks.filter((n) => !n.managed).flatMap((n) => subnetsOf(n.network, family)))].sort();
  const dockerDst: Rule[] = [
    ...bridgeIfaces.map((b): Rule => ({ out: b, comment: 'moat:zone:docker', jump: 'RETURN' })),
    ...routedSubnets.map((s): Rule => ({ dst: s, comment: 'moat:zone:docker', jump: 'RETURN' })),
  ];
  const dockerSrc: Rule[] = [
    ...bridgeIfaces.map((b): Rule => ({ in: b, comment: 'moat:zone:docker', jump: 'RETURN' })),
    ...routedSubnets.map((s): Rule => ({ src: s, comment: 'moat:zone:docker', jump: 'RETURN' })),
  ];
  const zones: Chain[] = [
    { name: TO_WORLD_CHAIN, rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: 'moat:zone:lan', jump: 'RETURN' })), { comment: 'moat:zone:world', jump: 'ACCEPT' }] },
    { name: TO_LAN_CHAIN, rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: 'moat:zone:lan', jump: 'ACCEPT' }))] },
    { name: TO_EXTERNAL_CHAIN, rules: [...dockerDst, { comment: 'moat:zone:external', jump: 'ACCEPT' }] },
    { name: FROM_WORLD_CHAIN, rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: 'moat:zone:lan', jump: 'RETURN' })), { comment: 'moat:zone:world', jump: 'ACCEPT' }] },
    { name: FROM_LAN_CHAIN, rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: 'moat:zone:lan', jump: 'ACCEPT' }))] },
  ];

  const postrouting: Rule[] = [];
  const natDispatch: Chain[] = [];
  const masqueraded = managed.filter((n) => n.nat.value && (n.natFamilies ?? [4, 6]).includes(family) && !n.network.internal && subnetsOf(n.network, family).length > 0);
  if (masqueraded.length > 0) {
    // Container-to-container traffic keeps its real source address.
    for (const b of bridgeIfaces) postrouting.push({ out: b, comment: 'moat:no-nat-between-networks', jump: 'RETURN' });
    for (const s of routedSubnets) postrouting.push({ dst: s, comment: 'moat:no-nat-between-networks', jump: 'RETURN' });
    const leaves: CidrLeaf[] = masqueraded.flatMap((np) =>
      subnetsOf(np.network, family).map((s) => ({ cidr: parseCidr(s)!, rule: { src: s, notOut: np.network.bridge!, comment: `moat:nat:${short(np.network.id)}`, jump: 'MASQUERADE' } })),
    );
    const masquerade = cidrDispatch(leaves, 'src', DISPATCH_PREFIX.masquerade);
    postrouting.push(...masquerade.rules);
    natDispatch.push(...masquerade.chains);
  }
  const natChains: Chain[] = [{ name: BUILTIN_JUMPS.nat.POSTROUTING, rules: postrouting }];
  const natJumps: Record<string, string> = { POSTROUTING: BUILTIN_JUMPS.nat.POSTROUTING };
  if (dnat) {
    const dnatDispatch = portDispatch(unique(dnatRules), DISPATCH_PREFIX.dnat);
    const toDnat: Rule = { addrType: 'LOCAL', comment: 'moat:published', jump: DNAT_CHAIN };
    natChains.push(
      // Never a packet addressed to loopback from outside: once DNAT'ed it
      // would pass as routable, where the kernel drops it as martian.
      { name: BUILTIN_JUMPS.nat.PREROUTING, rules: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }] },
      // Host-local clients too, except loopback (Docker's userland proxy serves 127.0.0.1).
      { name: BUILTIN_JUMPS.nat.OUTPUT, rules: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }] },
      {
        name: DNAT_CHAIN,
        rules: unique([
          ...fromDocker,
          ...bridgeIfaces.map((b): Rule => ({ in: b, comment: 'moat:published:from-docker', jump: 'RETURN' })),
          ...dnatDispatch.rules,
        ]),
      },
      ...dnatDispatch.chains,
    );
    natJumps.PREROUTING = BUILTIN_JUMPS.nat.PREROUTING;
    natJumps.OUTPUT = BUILTIN_JUMPS.nat.OUTPUT;
  }

  return {
    family,
    tables: {
      filter: {
        chains: [
          { name: BUILTIN_JUMPS.filter.FORWARD, rules: forward },
          { name: BUILTIN_JUMPS.filter.INPUT, rules: unique(input) },
          { name: BUILTIN_JUMPS.filter.OUTPUT, rules: output },
          denyChain(config, family),
          ...(config.logDenied ? [{ name: DROP_CHAIN, rules: [...logRule(config, 'moat-drop'), { comment: 'moat:inbound', jump: 'DROP' }] }] : []),
          ...zones,
          ...Object.values(dispatched).flatMap((d) => d.chains),
          ...published.chains,
          ...perNetwork,
        ],
        jumps: BUILTIN_JUMPS.filter,
      },
      nat: { chains: [...natChains, ...natDispatch], jumps: natJumps },
    },
  };
}
