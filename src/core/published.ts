// One container's published ports -> the rules that let them in: INPUT rules
// (publishMode: host), or DNAT rules, their FORWARD acceptance and the DNAT of
// granted Docker sources (publishMode: dnat); ports published in routed mode
// (no host port) are let in by direct routing to the container, in either
// mode. DNAT and routed access go to the container's gateway endpoint of the
// family (gateway.ts), as Docker's own do. `published: labelled` admits only
// the sources a grant names.
import { isLoopback } from './addr.js';
import type { Config } from './config.js';
import { type Flow, sideAddress } from './flow.js';
import { gatewayEndpoint } from './gateway.js';
import { pushTo } from './maps.js';
import { SEP } from './memo.js';
import type { Container, Family } from './model.js';
import { FROM_LAN_CHAIN, FROM_WORLD_CHAIN } from './names.js';
import type { ContainerPolicy, NetworkPolicy, Policy } from './policy.js';
import type { Rule } from './rule.js';
import { ruleComment } from './rule-ids.js';
import { hostAddr, subnetsOf } from './rule-parts.js';

export interface PublishedRules {
  /** For MOAT-INPUT's port dispatch (host mode). */
  readonly input: readonly Rule[];
  /** For MOAT-DNAT's port dispatch. */
  readonly dnat: readonly Rule[];
  /** DNAT of granted sources inside Docker, first in MOAT-DNAT. */
  readonly fromDocker: readonly Rule[];
  /** Acceptance of the DNAT'ed packets, by the network that receives them (MOAT-IN). */
  readonly inbound: readonly (readonly [string, readonly Rule[]])[];
}

/** The flows to each container, by container id: built once per policy (both families share it). */
const flowsByTarget = new WeakMap<Policy, Map<string, Flow[]>>();

function flowsTo(policy: Policy, target: Container): readonly Flow[] {
  let index = flowsByTarget.get(policy);
  if (!index) {
    index = new Map();
    for (const f of policy.flows) if (f.to.kind === 'container') pushTo(index, f.to.container.id, f);
    flowsByTarget.set(policy, index);
  }
  return index.get(target.id) ?? [];
}

/** Every network of the policy, managed or not, by id: the gateway order counts them all. */
const networksById = new WeakMap<Policy, Map<string, NetworkPolicy>>();

function networkOf(policy: Policy): (id: string) => NetworkPolicy | undefined {
  let index = networksById.get(policy);
  if (!index) {
    index = new Map(policy.networks.map((n) => [n.network.id, n]));
    networksById.set(policy, index);
  }
  return (id) => index.get(id);
}

/**
 * The managed network and address the container's published ports go to in
 * `family`: its gateway endpoint's, so that replies leave by the way the
 * request came. None when that endpoint has no address there, is on a
 * network moat does not manage, or on an internal one (never reached from
 * outside).
 */
function publishedEndpoint(
  policy: Policy,
  c: Container,
  managedById: ReadonlyMap<string, NetworkPolicy>,
  family: Family,
): { np: NetworkPolicy; ip: string } | null {
  const of = networkOf(policy);
  const gw = gatewayEndpoint(c, (id) => of(id)?.network, family);
  const ip = gw ? (family === 4 ? gw.ep.ipv4 : gw.ep.ipv6) : null;
  const np = gw ? managedById.get(gw.ep.networkId) : undefined;
  return ip && np && !np.network.internal ? { np, ip } : null;
}

/** The flows granted to `target` that cover its container port `port`. */
const flowsToPort = (policy: Policy, target: Container, port: { containerPort: number; proto: string }): Flow[] =>
  flowsTo(policy, target).filter(
    (f) => (f.proto === null || f.proto === port.proto) && (f.ports === null || (port.containerPort >= f.ports.lo && port.containerPort <= f.ports.hi)),
  );

/** Sources granted inbound to a published port under `published: labelled`, as INPUT/FORWARD rules. */
function labelledSources(cp: ContainerPolicy, policy: Policy, port: { containerPort: number; proto: string }, family: Family, base: Rule): Rule[] {
  const out: Rule[] = [];
  for (const f of flowsToPort(policy, cp.container, port)) {
    const comment = ruleComment({ kind: 'flow', flow: f.id });
    if (f.from.kind === 'world') out.push({ ...base, comment, jump: FROM_WORLD_CHAIN });
    else if (f.from.kind === 'lan') out.push({ ...base, comment, jump: FROM_LAN_CHAIN });
    else if (f.from.kind === 'cidr' && f.from.cidr.includes(':') === (family === 6)) out.push({ ...base, src: f.from.cidr, comment, jump: 'ACCEPT' });
  }
  return out;
}

/**
 * Everything publishedRules reads besides the config and family: the
 * container, the flows to it, and the policy of every network its endpoints
 * and those flows' sources are on. Equal lists, equal rules.
 */
export function publishedDeps(cp: ContainerPolicy, policy: Policy, managedById: ReadonlyMap<string, NetworkPolicy>): unknown[] {
  const flows = flowsTo(policy, cp.container);
  const deps: unknown[] = [cp.container, ...flows, SEP];
  const of = networkOf(policy);
  for (const ep of cp.container.endpoints) deps.push(managedById.get(ep.networkId), of(ep.networkId));
  for (const f of flows) {
    deps.push(SEP);
    if (f.from.kind === 'container') for (const ep of f.from.container.endpoints) deps.push(managedById.get(ep.networkId));
    else if (f.from.kind === 'network') deps.push(managedById.get(f.from.network.id));
  }
  return deps;
}

export function publishedRules(
  cp: ContainerPolicy,
  policy: Policy,
  managedById: ReadonlyMap<string, NetworkPolicy>,
  config: Config,
  family: Family,
): PublishedRules {
  const dnat = config.publishMode === 'dnat';
  const labelled = config.published === 'labelled';
  const input: Rule[] = [];
  const dnatRules: Rule[] = [];
  const fromDocker: Rule[] = [];
  const inbound: (readonly [string, readonly Rule[]])[] = [];

  // Sources inside Docker that a grant lets reach `target` on the published port's container port.
  const grantedSources = (target: Container, port: { containerPort: number; proto: string }, targetBridge: string) => {
    const out: { ip: string; bridge: string }[] = [];
    for (const f of flowsToPort(policy, target, port)) {
      if (f.from.kind === 'container') {
        for (const ep of f.from.container.endpoints) {
          const ip = sideAddress(f.from, ep, family);
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

  const wildcard = family === 4 ? '0.0.0.0' : '::';
  let gateway: ReturnType<typeof publishedEndpoint> | undefined;
  const target = () => (gateway === undefined ? (gateway = publishedEndpoint(policy, cp.container, managedById, family)) : gateway);
  for (const port of cp.container.ports) {
    if (port.hostIp.includes(':') !== (family === 6)) continue;
    const published = { kind: 'published-port', container: cp.container.id, port: port.containerPort, proto: port.proto } as const;
    const id = ruleComment({ ...published, unlisted: false });
    const hostDst = port.hostIp === wildcard ? {} : { dst: hostAddr(port.hostIp, family) };
    const hostPort = { proto: port.proto, dport: String(port.hostPort) } as const;
    // The host port as Docker's userland proxy serves it (INPUT).
    const proxied = () => {
      const base: Rule = { ...hostDst, ...hostPort, comment: id, jump: 'ACCEPT' };
      if (!labelled) input.push(base);
      else
        input.push(...labelledSources(cp, policy, port, family, base), {
          ...hostDst,
          notIn: 'lo',
          ...hostPort,
          comment: ruleComment({ ...published, unlisted: true }),
          jump: 'DROP',
        });
    };
    if (!dnat) {
      proxied();
      continue;
    }
    // A port published on a loopback address is for the host itself, which
    // Docker's userland proxy serves (MOAT-OUTPUT never DNATs loopback). A
    // DNAT for it would only ever match in PREROUTING: a packet a LAN
    // neighbour addressed to 127.0.0.1 with the host as next hop, which the
    // kernel drops as martian unless it is DNAT'ed first (Docker 28 closed
    // the same hole in its own rules).
    if (isLoopback(port.hostIp)) continue;
    const dest = target();
    if (!dest) {
      // Nothing to DNAT to in this family (an IPv4-only gateway behind a
      // `::` entry, which Docker's proxy maps to IPv4): the proxy serves the
      // host port, and `published: labelled` still holds there.
      if (labelled) proxied();
      continue;
    }
    const { np, ip } = dest;
    const to = family === 4 ? `${ip}:${port.containerPort}` : `[${ip}]:${port.containerPort}`;
    const dnatTo: Rule = { ...hostDst, ...hostPort, comment: id, jump: 'DNAT', jumpArgs: `--to-destination ${to}` };
    // Containers are DNAT'ed only where a grant lets them reach the target
    // port; the others reach the host (MOAT-HOST decides, and rejects from
    // the right address). Same-bridge hairpin is never DNAT'ed: the reply
    // would bypass the host; Docker's userland proxy serves it if allowed.
    for (const src of grantedSources(cp.container, port, np.network.bridge!)) fromDocker.push({ ...dnatTo, src: src.ip, in: src.bridge });
    dnatRules.push(dnatTo);
    const base: Rule = { dst: hostAddr(ip, family), proto: port.proto, dport: String(port.containerPort), ctstate: 'DNAT', comment: id, jump: 'ACCEPT' };
    inbound.push([np.network.id, labelled ? labelledSources(cp, policy, port, family, base) : [base]]);
  }
  // Routed mode: Docker opens the container port to direct routing on the
  // gateway endpoint, whatever publishMode says. Honoured only where that
  // network's gateway mode for the family is routed: anywhere else an entry
  // without a host port opens nothing.
  for (const port of cp.container.routedPorts ?? []) {
    if (port.family !== family) continue;
    const gw = target();
    if (!gw || gw.np.network.options[`com.docker.network.bridge.gateway_mode_ipv${family}`] !== 'routed') continue;
    const id = ruleComment({ kind: 'published-port', container: cp.container.id, port: port.containerPort, proto: port.proto, unlisted: false });
    const base: Rule = { dst: hostAddr(gw.ip, family), proto: port.proto, dport: String(port.containerPort), comment: id, jump: 'ACCEPT' };
    inbound.push([gw.np.network.id, labelled ? labelledSources(cp, policy, port, family, base) : [base]]);
  }
  return { input, dnat: dnatRules, fromDocker, inbound };
}
