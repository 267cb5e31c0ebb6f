// Policy -> chains and rules for one address family. Pure data: every rule
// carries a comment naming the default, option or label it enforces.
import { parseCidr } from './addr.js';
import type { Config } from './config.js';
import type { Container, Family, Network } from './model.js';
import { BUILTIN_JUMPS, DENY_CHAIN, TO_WORLD_CHAIN, hostChain, inChain, outChain, type TableName } from './names.js';
import type { Policy } from './policy.js';
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

/** Interface patterns Docker bridges use; a bridge not in the snapshot yet is denied, not ignored. */
const UNKNOWN_BRIDGES = ['br-+', 'docker0'];
/** Neighbour solicitation and advertisement: IPv6 cannot resolve a neighbour without them. */
const NDP_TYPES = [135, 136];

const coveredByPattern = (bridge: string) => UNKNOWN_BRIDGES.some((p) => (p.endsWith('+') ? bridge.startsWith(p.slice(0, -1)) : bridge === p));

const ESTABLISHED: Rule = { ctstate: 'RELATED,ESTABLISHED', comment: 'moat:established', jump: 'ACCEPT' };

function hostAddr(ip: string, family: Family): string {
  return `${ip}/${family === 4 ? 32 : 128}`;
}

function subnetsOf(net: Network, family: Family): readonly string[] {
  return family === 4 ? net.subnets4 : net.subnets6;
}

function denyChain(config: Config, family: Family): Chain {
  if (config.denyAction === 'drop') return { name: DENY_CHAIN, rules: [{ comment: 'moat:deny', jump: 'DROP' }] };
  return {
    name: DENY_CHAIN,
    rules: [
      { proto: 'tcp', comment: 'moat:deny', jump: 'REJECT', jumpArgs: '--reject-with tcp-reset' },
      { comment: 'moat:deny', jump: 'REJECT', jumpArgs: `--reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}` },
    ],
  };
}

export function buildRuleset(policy: Policy, config: Config, family: Family): Ruleset {
  const managed = policy.networks.filter((n) => n.managed);
  const dockerSubnets = [...new Set(policy.networks.flatMap((n) => subnetsOf(n.network, family)))].sort();
  const protectedRanges = config.protectedNetworks.map(parseCidr).filter((c) => c?.family === family).map((c) => c!.text);
  const ndp = (extra: Partial<Rule>): Rule[] =>
    family === 6 ? NDP_TYPES.map((t) => ({ ...extra, proto: 'icmp', icmp6Type: t, comment: 'moat:ndp', jump: 'ACCEPT' })) : [];

  // Per network, the addresses of containers that may reach `world` from it.
  const worldSources = new Map<string, { container: Container; ip: string }[]>();
  for (const cp of policy.containers) {
    if (!cp.world.value) continue;
    for (const ep of cp.container.endpoints) {
      const ip = family === 4 ? ep.ipv4 : ep.ipv6;
      if (!ip) continue;
      const list = worldSources.get(ep.networkId) ?? [];
      list.push({ container: cp.container, ip });
      worldSources.set(ep.networkId, list);
    }
  }

  const forward: Rule[] = [];
  const input: Rule[] = [];
  const output: Rule[] = [];
  const perNetwork: Chain[] = [];

  for (const np of managed) {
    const net = np.network;
    const br = net.bridge!;
    forward.push({ in: br, comment: `moat:net:${net.id.slice(0, 12)}`, jump: outChain(net.id) });
    input.push({ in: br, comment: `moat:net:${net.id.slice(0, 12)}`, jump: hostChain(net.id) });

    const out: Rule[] = [ESTABLISHED, ...ndp({ out: br })];
    out.push(np.icc.value ? { out: br, comment: 'moat:icc', jump: 'ACCEPT' } : { out: br, comment: 'moat:icc-off', jump: DENY_CHAIN });
    if (!net.internal && np.egress.value === 'world') {
      for (const { container, ip } of worldSources.get(net.id) ?? []) {
        out.push({ src: hostAddr(ip, family), comment: `moat:world:${container.id.slice(0, 12)}`, jump: TO_WORLD_CHAIN });
      }
    }
    out.push({ comment: net.internal ? 'moat:internal' : 'moat:default-deny', jump: DENY_CHAIN });
    perNetwork.push({ name: outChain(net.id), rules: out });

    perNetwork.push({ name: inChain(net.id), rules: [ESTABLISHED, { comment: 'moat:inbound', jump: 'DROP' }] });
    perNetwork.push({ name: hostChain(net.id), rules: [ESTABLISHED, ...ndp({}), { comment: 'moat:host', jump: DENY_CHAIN }] });

    if (config.hostToContainers === 'deny') {
      output.push({ out: br, ...ESTABLISHED });
      output.push(...ndp({ out: br }));
      output.push({ out: br, comment: 'moat:host-to-containers', jump: DENY_CHAIN });
    }
  }
  const managedBridges = new Set(managed.map((n) => n.network.bridge!));
  const unknownBridges = UNKNOWN_BRIDGES.filter((b) => !managedBridges.has(b));
  for (const pattern of unknownBridges) forward.push({ in: pattern, comment: 'moat:unknown-bridge', jump: DENY_CHAIN });
  for (const np of managed) forward.push({ out: np.network.bridge!, comment: `moat:net:${np.network.id.slice(0, 12)}`, jump: inChain(np.network.id) });
  for (const pattern of unknownBridges) forward.push({ out: pattern, comment: 'moat:unknown-bridge', jump: 'DROP' });
  for (const pattern of unknownBridges) input.push({ in: pattern, comment: 'moat:unknown-bridge', jump: DENY_CHAIN });

  // Shared by every network's egress: a Docker peer is never `lan` or `world`,
  // and a bridge moat does not know yet is treated as a peer. RETURN (not
  // deny) keeps it composable: the caller's later rules still decide.
  const toWorld: Rule[] = [
    ...dockerSubnets.map((s): Rule => ({ dst: s, comment: 'moat:not-world:docker', jump: 'RETURN' })),
    ...UNKNOWN_BRIDGES.map((b): Rule => ({ out: b, comment: 'moat:not-world:docker', jump: 'RETURN' })),
    ...[...managedBridges].filter((b) => !coveredByPattern(b)).sort().map((b): Rule => ({ out: b, comment: 'moat:not-world:docker', jump: 'RETURN' })),
    ...protectedRanges.map((r): Rule => ({ dst: r, comment: 'moat:not-world:lan', jump: 'RETURN' })),
    { comment: 'moat:world', jump: 'ACCEPT' },
  ];

  if (config.publishMode === 'proxy') {
    const wildcard = family === 4 ? '0.0.0.0' : '::';
    for (const cp of policy.containers) {
      for (const port of cp.container.ports) {
        const hostFamily = port.hostIp.includes(':') ? 6 : 4;
        if (hostFamily !== family) continue;
        input.push({
          ...(port.hostIp === wildcard ? {} : { dst: hostAddr(port.hostIp, family) }),
          proto: port.proto,
          dport: String(port.hostPort),
          comment: `moat:published:${cp.container.id.slice(0, 12)}:${port.containerPort}/${port.proto}`,
          jump: 'ACCEPT',
        });
      }
    }
  }

  const postrouting: Rule[] = [];
  const masqueraded = managed.filter((n) => n.nat.value && !n.network.internal && subnetsOf(n.network, family).length > 0);
  if (masqueraded.length > 0) {
    // Container-to-container traffic keeps its real source address.
    for (const s of dockerSubnets) postrouting.push({ dst: s, comment: 'moat:no-nat-between-networks', jump: 'RETURN' });
    for (const np of masqueraded) {
      for (const s of subnetsOf(np.network, family)) {
        postrouting.push({ src: s, notOut: np.network.bridge!, comment: `moat:nat:${np.network.id.slice(0, 12)}`, jump: 'MASQUERADE' });
      }
    }
  }

  return {
    family,
    tables: {
      filter: {
        chains: [
          { name: BUILTIN_JUMPS.filter.FORWARD, rules: forward },
          { name: BUILTIN_JUMPS.filter.INPUT, rules: input },
          { name: BUILTIN_JUMPS.filter.OUTPUT, rules: output },
          denyChain(config, family),
          { name: TO_WORLD_CHAIN, rules: toWorld },
          ...perNetwork,
        ],
        jumps: BUILTIN_JUMPS.filter,
      },
      nat: { chains: [{ name: BUILTIN_JUMPS.nat.POSTROUTING, rules: postrouting }], jumps: BUILTIN_JUMPS.nat },
    },
  };
}
