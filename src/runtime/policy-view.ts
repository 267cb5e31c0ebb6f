// The networks and containers of `GET /status` (see status.ts): each with its
// decisions, and each container with its grants and problems, built from the
// last computed policy.
import { assertNever } from '../core/assert-never.js';
import type { Side } from '../core/flow.js';
import type { Problem } from '../core/model.js';
import type { Decision, Policy } from '../core/policy.js';

export interface GrantView {
  /** egress: this container opens the connection; ingress: the peer does. */
  readonly direction: 'egress' | 'ingress';
  /** `NAME`, `net:NAME`, `world`, `lan`, `host` or a CIDR. */
  readonly peer: string;
  readonly ports: string | null;
  readonly proto: string | null;
  readonly reason: string;
  /** The comment its rules carry. */
  readonly rule: string;
}

export interface NetworkView {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly bridge: string | null;
  readonly subnets: readonly string[];
  readonly managed: boolean;
  readonly internal: boolean;
  readonly icc: Decision<boolean>;
  readonly egress: Decision<'world' | 'none'>;
  readonly nat: Decision<boolean>;
}

export interface ContainerView {
  readonly id: string;
  readonly name: string;
  readonly project: string | null;
  readonly service: string | null;
  readonly networkMode: string;
  readonly addresses: readonly { readonly network: string; readonly ipv4: string | null; readonly ipv6: string | null }[];
  readonly ports: readonly { readonly hostIp: string; readonly hostPort: number; readonly containerPort: number; readonly proto: string }[];
  /** Published in routed mode (Docker 28): no host port, the container port reached by direct routing. */
  readonly routedPorts: readonly { readonly family: number; readonly containerPort: number; readonly proto: string }[];
  readonly world: Decision<boolean>;
  readonly grants: readonly GrantView[];
  readonly problems: readonly Problem[];
}

function sideText(s: Side): string {
  switch (s.kind) {
    case 'container':
      return s.container.name;
    case 'network':
      return `net:${s.network.name}`;
    case 'cidr':
      return s.cidr;
    case 'dns':
      return `dns:${s.pattern}`;
    case 'world':
    case 'lan':
    case 'host':
      return s.kind;
    default:
      return assertNever(s);
  }
}

/** Networks and containers with their decisions, grants and problems. Pure. */
export function policyView(policy: Policy, problems: readonly Problem[]): { networks: NetworkView[]; containers: ContainerView[] } {
  const netName = new Map(policy.networks.map((n) => [n.network.id, n.network.name]));
  const networks = policy.networks.map((np): NetworkView => {
    const n = np.network;
    return {
      id: n.id,
      name: n.name,
      driver: n.driver,
      bridge: n.bridge,
      subnets: [...n.subnets4, ...n.subnets6],
      managed: np.managed,
      internal: n.internal,
      icc: np.icc,
      egress: np.egress,
      nat: np.nat,
    };
  });
  const containers = policy.containers.map(({ container: c, world }): ContainerView => {
    const grants: GrantView[] = [];
    for (const f of policy.flows) {
      const ports = f.ports ? (f.ports.lo === f.ports.hi ? String(f.ports.lo) : `${f.ports.lo}-${f.ports.hi}`) : null;
      const base = { ports, proto: f.proto, reason: f.reason, rule: `moat:${f.id}` };
      if (f.from.kind === 'container' && f.from.container.id === c.id) grants.push({ direction: 'egress', peer: sideText(f.to), ...base });
      if (f.to.kind === 'container' && f.to.container.id === c.id) grants.push({ direction: 'ingress', peer: sideText(f.from), ...base });
    }
    return {
      id: c.id,
      name: c.name,
      project: c.project,
      service: c.service,
      networkMode: c.networkMode,
      addresses: c.endpoints.map((e) => ({ network: netName.get(e.networkId) ?? e.networkId.slice(0, 12), ipv4: e.ipv4, ipv6: e.ipv6 })),
      ports: c.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort, proto: p.proto })),
      routedPorts: (c.routedPorts ?? []).map((p) => ({ family: p.family, containerPort: p.containerPort, proto: p.proto })),
      world,
      grants,
      problems: problems.filter((p) => p.subject === `container ${c.name}`),
    };
  });
  return { networks, containers };
}
