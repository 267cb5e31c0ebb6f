// What an address or CIDR entry meets among Docker's networks, for one call
// of resolveGrants: whether it lies wholly inside one Docker subnet (then
// nothing outside Docker is in it: docs/policy.md#peer-kinds), and which
// containers have an address inside it. Only the endpoints on networks whose
// subnets overlap the range are looked at (Docker gives an endpoint an
// address in its network's subnet); those networks are the lookup's keys.
import { type Cidr, cidrContains, cidrOverlaps, parseCidr } from './addr.js';
import { cached, sameItems } from './memo.js';
import type { Container, Network, Snapshot } from './model.js';

export interface DockerSubnet {
  readonly network: Network;
  readonly cidr: Cidr | null;
}

/** Kept across calls in GrantsMemo. */
export interface RangeMemo {
  readonly subnets: WeakMap<Network, readonly DockerSubnet[]>;
  /** insideDocker's answers, valid for exactly this list of networks. */
  inside: { readonly networks: readonly Network[]; readonly byCidr: Map<string, string | null> } | null;
}

export interface RangeLookup {
  /** The name of the Docker network whose subnet holds the whole CIDR, or null. */
  insideDocker(cidr: string): string | null;
  /** The networks the range overlaps (their ids) and the containers with an address of its family inside it. */
  covering(range: Cidr): { readonly nets: readonly string[]; readonly containers: readonly Container[] };
}

export function rangeLookup(snapshot: Snapshot, containers: readonly Container[], memo: RangeMemo): RangeLookup {
  // The answer depends on every network's subnets, so it is kept per CIDR
  // only for as long as the list of networks is the same.
  if (!memo.inside || !sameItems(memo.inside.networks, snapshot.networks)) memo.inside = { networks: snapshot.networks, byCidr: new Map() };
  const inside = memo.inside;
  let dockerSubnets: DockerSubnet[] | null = null;
  const subnets = (): readonly DockerSubnet[] =>
    (dockerSubnets ??= snapshot.networks.flatMap((n) =>
      cached(memo.subnets, n, () => [...n.subnets4, ...n.subnets6].map((s) => ({ network: n, cidr: parseCidr(s) }))),
    ));
  const byRange = new Map<string, { readonly nets: readonly string[]; readonly containers: readonly Container[] }>();
  return {
    insideDocker(cidr) {
      let found = inside.byCidr.get(cidr);
      if (found !== undefined) return found;
      const c = parseCidr(cidr);
      found = (c ? subnets().find((d) => d.cidr !== null && cidrContains(d.cidr, c))?.network.name : undefined) ?? null;
      inside.byCidr.set(cidr, found);
      return found;
    },
    covering(range) {
      let found = byRange.get(range.text);
      if (found) return found;
      const nets = new Set<string>();
      for (const d of subnets()) if (d.cidr !== null && cidrOverlaps(d.cidr, range)) nets.add(d.network.id);
      const inRange = (ip: string | null) => {
        const a = ip === null ? null : parseCidr(ip);
        return a !== null && cidrContains(range, a);
      };
      // Host-mode and joined containers have no address of their own.
      const within =
        nets.size === 0
          ? []
          : containers.filter(
              (c) =>
                !c.networkMode.startsWith('container:') &&
                c.networkMode !== 'host' &&
                c.endpoints.some((ep) => nets.has(ep.networkId) && inRange(range.family === 4 ? ep.ipv4 : ep.ipv6)),
            );
      found = { nets: [...nets], containers: within };
      byRange.set(range.text, found);
      return found;
    },
  };
}
