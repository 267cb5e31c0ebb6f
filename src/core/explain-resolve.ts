// explain's references -> what they name: a container (by name, id prefix,
// compose service or PROJECT/SERVICE, followed to the container whose network
// namespace it shares), the host, a zone, or an address, which is a
// container's, the host's (its own addresses and Docker gateways), an unused
// Docker address, `lan` (protectedNetworks) or `world`.
import ipaddr from 'ipaddr.js';
import { type Cidr, parseAddress, parseCidr } from './addr.js';
import type { Config } from './config.js';
import { netnsOwner } from './grants.js';
import type { Container, Endpoint, Family } from './model.js';
import type { NetworkPolicy, Policy } from './policy.js';

export type Resolved =
  | { readonly kind: 'container'; readonly container: Container; readonly pinned: Endpoint | null; readonly hostMode: boolean; readonly notes: string[] }
  | { readonly kind: 'host'; readonly address: string | null; readonly notes: string[] }
  | { readonly kind: 'zone'; readonly zone: 'lan' | 'world'; readonly address: string | null; readonly notes: string[] }
  | { readonly kind: 'docker'; readonly net: NetworkPolicy; readonly address: string; readonly notes: string[] };

export class Resolver {
  private readonly byId: ReadonlyMap<string, Container>;

  constructor(
    private readonly policy: Policy,
    private readonly config: Config,
    private readonly hostAddresses: readonly string[],
  ) {
    this.byId = new Map(policy.containers.map((c) => [c.container.id, c.container]));
  }

  /** Resolves a reference: container name, id prefix, compose service, PROJECT/SERVICE, host, lan, world or an address. */
  resolve(ref: string): Resolved | string {
    if (ref === 'host') return { kind: 'host', address: null, notes: [] };
    if (ref === 'lan' || ref === 'world') return { kind: 'zone', zone: ref, address: null, notes: [] };
    const bare = ref.startsWith('[') && ref.endsWith(']') ? ref.slice(1, -1) : ref;
    const addr = parseAddress(bare);
    if (addr) return this.address(addr.text, addr.family);
    const all = this.policy.containers.map((c) => c.container);
    const slash = ref.indexOf('/');
    let matches: Container[];
    const notes: string[] = [];
    if (slash > 0) {
      const [project, service] = [ref.slice(0, slash), ref.slice(slash + 1)];
      matches = all.filter((c) => c.project === project && c.service === service);
    } else {
      matches = all.filter((c) => c.name === ref);
      if (matches.length === 0 && /^[0-9a-f]{4,64}$/.test(ref)) matches = all.filter((c) => c.id.startsWith(ref));
      if (matches.length === 0) {
        matches = all.filter((c) => c.service === ref);
        const projects = [...new Set(matches.map((c) => c.project))];
        if (projects.length > 1) return `${JSON.stringify(ref)} is a service in several compose projects (${projects.join(', ')}): use PROJECT/SERVICE`;
      }
    }
    if (matches.length === 0) return `no running container, compose service or PROJECT/SERVICE named ${JSON.stringify(ref)}`;
    if (matches.length > 1) notes.push(`${ref} has ${matches.length} containers; explaining ${matches[0]!.name} (name one to choose)`);
    const c = matches[0]!;
    if (c.networkMode === 'host')
      return {
        kind: 'container',
        container: c,
        pinned: null,
        hostMode: true,
        notes: [...notes, `${c.name} is in host network mode: it is the host, a host firewall cannot isolate it`],
      };
    const owner = netnsOwner(c, this.byId);
    if (!owner) return `${c.name} shares the network namespace of a container moat cannot find`;
    if (owner !== c) notes.push(`${c.name} shares ${owner.name}'s network namespace: ${owner.name}'s policy applies`);
    if (owner.networkMode === 'host')
      return { kind: 'container', container: owner, pinned: null, hostMode: true, notes: [...notes, `${owner.name} is in host network mode: it is the host`] };
    return { kind: 'container', container: owner, pinned: null, hostMode: false, notes };
  }

  /** What one address is. */
  address(ip: string, family: Family): Resolved {
    for (const c of this.policy.containers) {
      const ep = c.container.endpoints.find((e) => (family === 4 ? e.ipv4 : e.ipv6) === ip);
      if (ep) return { kind: 'container', container: c.container, pinned: ep, hostMode: false, notes: [] };
    }
    const host = this.hostAddresses.map((a) => parseAddress(a)?.text).includes(ip);
    const cidr = parseCidr(ip)!;
    const net = this.policy.networks.find((n) => (family === 4 ? n.network.subnets4 : n.network.subnets6).some((s) => cidrIn(cidr, s)));
    if (host || (net && isGateway(ip, net, family)))
      return { kind: 'host', address: ip, notes: host ? [] : [`${ip} is taken as ${net!.network.name}'s gateway: the host`] };
    if (net) return { kind: 'docker', net, address: ip, notes: [`no running container has ${ip} (network ${net.network.name})`] };
    const lan = this.protectedRanges(family).some((r) => cidrIn(cidr, r.text));
    return { kind: 'zone', zone: lan ? 'lan' : 'world', address: ip, notes: [] };
  }

  /** protectedNetworks of one family: `lan`. */
  protectedRanges(family: Family): Cidr[] {
    return this.config.protectedNetworks.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null && c.family === family);
  }
}

/** The family a query is about when it does not say: an address's, else 4 unless only IPv6 connects both ends. */
export function queryFamily(a: Resolved, b: Resolved): Family {
  for (const r of [a, b]) {
    if (r.kind === 'container' && r.pinned) return r.pinned.ipv4 ? 4 : 6;
    if ((r.kind === 'host' || r.kind === 'zone' || r.kind === 'docker') && r.address) return r.address.includes(':') ? 6 : 4;
  }
  const has = (r: Resolved, f: Family) => r.kind !== 'container' || r.hostMode || r.container.endpoints.some((e) => (f === 4 ? e.ipv4 : e.ipv6));
  return !has(a, 4) || !has(b, 4) ? (has(a, 6) && has(b, 6) ? 6 : 4) : 4;
}

export function cidrIn(c: Cidr, outer: string): boolean {
  const o = parseCidr(outer);
  return o !== null && o.family === c.family && c.prefix >= o.prefix && c.addr.match(o.addr, o.prefix);
}

/** Docker's default gateway is the subnet's first address. */
function isGateway(ip: string, net: NetworkPolicy, family: Family): boolean {
  const subnets = family === 4 ? net.network.subnets4 : net.network.subnets6;
  return subnets.some((s) => {
    const bytes = parseCidr(s)!.addr.toByteArray();
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) | 1;
    return parseAddress(ipaddr.fromByteArray(bytes).toString())?.text === ip;
  });
}
