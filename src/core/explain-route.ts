// Where the packet goes: which endpoints the kernel would use for two
// resolved ends (a shared network, else the source's default route), which
// bridge it leaves and enters by, and the container behind a published port
// (a DNAT target, or the one Docker's userland proxy connects to).
import { parseCidr } from './addr.js';
import { assertNever } from './assert-never.js';
import type { AddrSet } from './explain-walk.js';
import { cidrIn, type Resolved, type Resolver } from './explain-resolve.js';
import type { Place } from './explain-types.js';
import { gatewayEndpoint } from './gateway.js';
import type { Proto } from './labels.js';
import type { Container, Endpoint, Family } from './model.js';
import type { NetworkPolicy, Policy } from './policy.js';

/** One end of the routed packet. */
export interface Side {
  readonly place: Place;
  readonly set: AddrSet;
  /** The bridge the packet leaves or enters by, for Docker ends. */
  readonly net: NetworkPolicy | null;
  readonly kind: 'docker' | 'host' | 'zone';
  readonly container: Container | null;
}

export type Route = { src: Side; dst: Side } | { error: string; srcPlace: Place; dstPlace: Place };

export function hostPlace(address: string | null): Place {
  return { kind: 'host', name: address ?? 'host', containerId: null, network: null, bridge: null, address };
}

/** A container's end of a packet, at one of its addresses on `net`. */
function containerSideAt(c: Container, net: NetworkPolicy, ip: string): Side {
  return {
    place: { kind: 'container', name: c.name, containerId: c.id, network: net.network.name, bridge: net.network.bridge, address: ip },
    set: { kind: 'ip', cidr: parseCidr(ip)! },
    net,
    kind: 'docker',
    container: c,
  };
}

export class Router {
  constructor(
    private readonly policy: Policy,
    private readonly nets: ReadonlyMap<string, NetworkPolicy>,
    private readonly resolver: Resolver,
  ) {}

  /** Picks the endpoints the kernel would use: a shared network, else the source's default route. */
  route(a: Resolved, b: Resolved, family: Family): Route {
    const addr = (e: Endpoint) => (family === 4 ? e.ipv4 : e.ipv6);
    const netName = (e: Endpoint) => this.nets.get(e.networkId)?.network.name ?? e.networkId;
    const eps = (c: Container) => c.endpoints.filter((e) => addr(e) && this.nets.has(e.networkId)).sort((x, y) => netName(x).localeCompare(netName(y)));
    // The source's default route: Docker's gateway endpoint of the family (gateway.ts); none into an internal network.
    const gateway = (c: Container) => {
      const gw = gatewayEndpoint(c, (id) => this.nets.get(id)?.network, family);
      return gw && addr(gw.ep) && !gw.net.internal && this.nets.has(gw.ep.networkId) ? gw.ep : null;
    };
    const dockerSide = (c: Container, e: Endpoint): Side => containerSideAt(c, this.nets.get(e.networkId)!, addr(e)!);
    /** The side of an end that is not a container (whose side depends on the route). */
    const other = (r: Resolved): Side | null => {
      switch (r.kind) {
        case 'host':
          return {
            place: hostPlace(r.address),
            set: r.address ? { kind: 'ip', cidr: parseCidr(r.address)! } : { kind: 'host', within: null },
            net: null,
            kind: 'host',
            container: null,
          };
        case 'zone':
          return {
            place: { kind: r.zone, name: r.address ?? r.zone, containerId: null, network: null, bridge: null, address: r.address },
            set: r.address ? { kind: 'ip', cidr: parseCidr(r.address)! } : { kind: 'zone', zone: r.zone, within: null },
            net: null,
            kind: 'zone',
            container: null,
          };
        case 'docker':
          return {
            place: { kind: 'docker', name: r.address, containerId: null, network: r.net.network.name, bridge: r.net.network.bridge, address: r.address },
            set: { kind: 'ip', cidr: parseCidr(r.address)! },
            net: r.net,
            kind: 'docker',
            container: null,
          };
        case 'container':
          return null;
        default:
          return assertNever(r);
      }
    };
    const placeOf = (r: Resolved): Place => {
      if (r.kind !== 'container') return other(r)!.place;
      const ep = (r.pinned && addr(r.pinned) ? r.pinned : null) ?? eps(r.container)[0];
      return ep
        ? dockerSide(r.container, ep).place
        : { kind: 'container', name: r.container.name, containerId: r.container.id, network: null, bridge: null, address: null };
    };
    const fail = (error: string) => ({ error, srcPlace: placeOf(a), dstPlace: placeOf(b) });
    if (a.kind === 'container' && eps(a.container).length === 0)
      return fail(`${a.container.name} has no IPv${family} address on a network moat knows (network mode ${a.container.networkMode})`);
    if (b.kind === 'container' && eps(b.container).length === 0)
      return fail(`${b.container.name} has no IPv${family} address on a network moat knows (network mode ${b.container.networkMode})`);
    const dstNetId = b.kind === 'container' ? (b.pinned?.networkId ?? null) : b.kind === 'docker' ? b.net.network.id : null;

    if (a.kind === 'container') {
      const mine = eps(a.container);
      const pinnedSrc = a.pinned && addr(a.pinned) ? a.pinned : null;
      if (b.kind === 'container') {
        const theirs = eps(b.container);
        const shared = b.pinned
          ? theirs.filter((e) => e.networkId === b.pinned!.networkId && mine.some((m) => m.networkId === e.networkId))
          : theirs.filter((e) => mine.some((m) => m.networkId === e.networkId));
        if (shared[0]) {
          const srcEp = mine.find((m) => m.networkId === shared[0]!.networkId)!;
          return { src: dockerSide(a.container, pinnedSrc ?? srcEp), dst: dockerSide(b.container, shared[0]) };
        }
        const dstEp = (b.pinned && addr(b.pinned) ? b.pinned : null) ?? theirs[0]!;
        const gw = pinnedSrc ?? gateway(a.container);
        if (!gw) return fail(`no route: ${a.container.name} is only on internal networks, which have no gateway to ${b.container.name}'s network`);
        return { src: dockerSide(a.container, gw), dst: dockerSide(b.container, dstEp) };
      }
      const dstSide = other(b)!;
      if (b.kind === 'docker' && dstNetId) {
        const onNet = mine.find((m) => m.networkId === dstNetId);
        if (onNet) return { src: dockerSide(a.container, pinnedSrc ?? onNet), dst: dstSide };
      }
      if (b.kind === 'host') {
        // The gateway of the source's own network is always on-link.
        const onLink = b.address
          ? mine.find((m) =>
              (family === 4 ? this.nets.get(m.networkId)!.network.subnets4 : this.nets.get(m.networkId)!.network.subnets6).some((s) =>
                cidrIn(parseCidr(b.address!)!, s),
              ),
            )
          : undefined;
        const ep = pinnedSrc ?? onLink ?? gateway(a.container) ?? mine[0]!;
        return { src: dockerSide(a.container, ep), dst: dstSide };
      }
      const gw = pinnedSrc ?? gateway(a.container);
      if (!gw) return fail(`no route: ${a.container.name} is only on internal networks (no gateway)`);
      return { src: dockerSide(a.container, gw), dst: dstSide };
    }
    const srcSide = other(a)!;
    if (b.kind === 'container') {
      const ep = (b.pinned && addr(b.pinned) ? b.pinned : null) ?? eps(b.container)[0]!;
      return { src: srcSide, dst: dockerSide(b.container, ep) };
    }
    return { src: srcSide, dst: other(b)! };
  }

  /** The container a DNAT rule rewrites to, `ADDR:PORT`. */
  dnatTarget(to: string, family: Family): (Side & { port: number }) | null {
    const m = family === 4 ? /^([0-9.]+):(\d+)$/.exec(to) : /^\[([0-9a-f:]+)\]:(\d+)$/i.exec(to);
    if (!m) return null;
    const r = this.resolver.address(m[1]!, family);
    if (r.kind !== 'container') return null;
    const ep = r.pinned!;
    const net = this.nets.get(ep.networkId)!;
    return {
      place: { kind: 'container', name: r.container.name, containerId: r.container.id, network: net.network.name, bridge: net.network.bridge, address: m[1]! },
      set: { kind: 'ip', cidr: parseCidr(m[1]!)! },
      net,
      kind: 'docker',
      container: r.container,
      port: Number(m[2]),
    };
  }

  /** The container behind a host port Docker publishes (userland proxy), on this family's wildcard or `address`. */
  publishedTarget(port: number, proto: Proto, address: string | null, family: Family): (Side & { port: number }) | null {
    const wildcard = family === 4 ? '0.0.0.0' : '::';
    for (const cp of this.policy.containers) {
      const c = cp.container;
      const p = c.ports.find(
        (x) =>
          x.hostPort === port &&
          x.proto === proto &&
          x.hostIp.includes(':') === (family === 6) &&
          (x.hostIp === wildcard || address === null || x.hostIp === address),
      );
      if (!p) continue;
      // Docker's proxy connects to the gateway endpoint of the family; from a
      // host IPv6 port to the IPv4 one when the container has no IPv6 gateway.
      const networkOf = (id: string) => this.nets.get(id)?.network;
      const gw = gatewayEndpoint(c, networkOf, family) ?? (family === 6 ? gatewayEndpoint(c, networkOf, 4) : null);
      const ep = gw && this.nets.get(gw.ep.networkId)?.managed ? gw.ep : null;
      if (!ep) continue;
      const ip = (family === 4 ? ep.ipv4 : ep.ipv6) ?? ep.ipv4!;
      return { ...containerSideAt(c, this.nets.get(ep.networkId)!, ip), port: p.containerPort };
    }
    return null;
  }
}
