// One container's published ports -> the rules that let them in: INPUT rules
// (publishMode: host), or DNAT rules, their FORWARD acceptance and the DNAT of
// granted Docker sources (publishMode: dnat). `published: labelled` admits
// only the sources a grant names.
import { isLoopback } from './addr.js';
import type { Config } from './config.js';
import type { Flow } from './flow.js';
import { pushTo } from './maps.js';
import { SEP } from './memo.js';
import type { Container, Family } from './model.js';
import { FROM_LAN_CHAIN, FROM_WORLD_CHAIN } from './names.js';
import type { ContainerPolicy, NetworkPolicy, Policy } from './policy.js';
import type { Rule } from './rule.js';
import { hostAddr, short, subnetsOf } from './rule-parts.js';

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

/** The flows granted to `target` that cover its container port `port`. */
const flowsToPort = (policy: Policy, target: Container, port: { containerPort: number; proto: string }): Flow[] =>
  flowsTo(policy, target).filter(
    (f) => (f.proto === null || f.proto === port.proto) && (f.ports === null || (port.containerPort >= f.ports.lo && port.containerPort <= f.ports.hi)),
  );

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

/**
 * Everything publishedRules reads besides the config and family: the
 * container, the flows to it, and the policy of every network its endpoints
 * and those flows' sources are on. Equal lists, equal rules.
 */
export function publishedDeps(cp: ContainerPolicy, policy: Policy, managedById: ReadonlyMap<string, NetworkPolicy>): unknown[] {
  const flows = flowsTo(policy, cp.container);
  const deps: unknown[] = [cp.container, ...flows, SEP];
  for (const ep of cp.container.endpoints) deps.push(managedById.get(ep.networkId));
  for (const f of flows) {
    deps.push(SEP);
    if (f.from.kind === 'container') for (const ep of f.from.container.endpoints) deps.push(managedById.get(ep.networkId));
    else if (f.from.kind === 'network') deps.push(managedById.get(f.from.network.id));
  }
  return deps;
}

export function publishedRules(cp: ContainerPolicy, policy: Policy, managedById: ReadonlyMap<string, NetworkPolicy>, config: Config, family: Family): PublishedRules {
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

  const wildcard = family === 4 ? '0.0.0.0' : '::';
  for (const port of cp.container.ports) {
    if (port.hostIp.includes(':') !== (family === 6)) continue;
    const id = `moat:published:${short(cp.container.id)}:${port.containerPort}/${port.proto}`;
    const hostDst = port.hostIp === wildcard ? {} : { dst: hostAddr(port.hostIp, family) };
    const hostPort = { proto: port.proto, dport: String(port.hostPort) } as const;
    if (!dnat) {
      const base: Rule = { ...hostDst, ...hostPort, comment: id, jump: 'ACCEPT' };
      if (!labelled) input.push(base);
      else input.push(...labelledSources(cp, policy, port, family, base), { ...hostDst, notIn: 'lo', ...hostPort, comment: `${id}:unlisted`, jump: 'DROP' });
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
      inbound.push([ep.networkId, labelled ? labelledSources(cp, policy, port, family, base) : [base]]);
      break; // one DNAT target per published port
    }
  }
  return { input, dnat: dnatRules, fromDocker, inbound };
}
