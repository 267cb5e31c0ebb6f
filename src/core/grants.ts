// Grant origins (labels: own-labels.ts; policy-file rules) -> resolved flows
// (originFlows builds them from what the lookups answered). One side's grant
// suffices (docs/policy.md#grants): an egress entry on A naming B and an ingress entry on B
// naming A both yield the flow A -> B. Anything that does not parse or names
// nothing is reported and skipped; it never widens or narrows another flow.
import { type Cidr, parseCidr } from './addr.js';
import { assertNever } from './assert-never.js';
import { buildIndex, type ContainerIndex, updateIndex } from './container-index.js';
import type { Flow, Side } from './flow.js';
import type { GrantOrigin } from './grant-origin.js';
import type { Entry, Peer } from './labels.js';
import { cached, changedItems, sameItems } from './memo.js';
import type { Container, Network, Problem, Snapshot } from './model.js';
import { originFlows } from './origin-flows.js';
import { rangeLookup, type RangeMemo } from './range-lookup.js';
import type { OwnLabels } from './own-labels.js';

interface Resolved {
  /** Everything the origin's flows and problems were derived from, besides the origin itself. */
  readonly inputs: readonly unknown[];
  /** The container lookups (see keysOf) that produced `inputs`. */
  readonly keys: readonly string[];
  readonly flows: readonly Flow[];
  readonly problems: readonly Problem[];
  /** The call that last checked it (GrantsMemo.calls). */
  checked: number;
}

/**
 * Kept across calls by the incremental path (desired.ts), for one config.
 * Sides are kept per container or network object so that a flow resolved
 * again against an unchanged peer names the very same side, and an origin
 * whose every lookup answers as before keeps its flows (the same objects,
 * which the ruleset's own memo then recognises).
 */
export interface GrantsMemo extends RangeMemo {
  readonly labels: WeakMap<Container, OwnLabels>;
  readonly sides: WeakMap<Container | Network | Peer, Side>;
  /** A container's sides for the address and CIDR entries that cover it, by the entry's CIDR. */
  readonly within: WeakMap<Container, Map<string, Side>>;
  readonly resolved: WeakMap<GrantOrigin, Resolved>;
  /** The containers of the last call that completed, indexed, and its networks; null after a call that did not. */
  index: (ContainerIndex & { readonly networks: readonly Network[] }) | null;
  /** Calls completed so far. */
  calls: number;
}

export const createGrantsMemo = (): GrantsMemo => ({
  labels: new WeakMap(),
  sides: new WeakMap(),
  within: new WeakMap(),
  resolved: new WeakMap(),
  subnets: new WeakMap(),
  inside: null,
  index: null,
  calls: 0,
});

const ZONES: Readonly<Record<'world' | 'lan' | 'host', Side>> = { world: { kind: 'world' }, lan: { kind: 'lan' }, host: { kind: 'host' } };

/** The container that owns the network namespace (`container:X` joiners share X's). */
export function netnsOwner(c: Container, byId: ReadonlyMap<string, Container>): Container | null {
  if (!c.networkMode.startsWith('container:')) return c;
  const ref = c.networkMode.slice('container:'.length);
  return byId.get(ref) ?? [...byId.values()].find((o) => o.name === ref) ?? null;
}

/** Reported for each dns: entry while config dns.listen is null: no forwarder learns anything for it. */
export const DNS_OFF = 'dns: grants are off: dns.listen is null';

/**
 * Resolves entries against the snapshot; `origins` may also come from policy files.
 * `dns`: config dns.listen is set, so dns: entries grant (else each is reported, DNS_OFF).
 */
export function resolveGrants(
  snapshot: Snapshot,
  origins: readonly GrantOrigin[],
  problems: Problem[],
  memo: GrantsMemo = createGrantsMemo(),
  dns = false,
): Flow[] {
  const networksByName = new Map(snapshot.networks.map((n) => [n.name, n]));
  const flows: Flow[] = [];
  // An origin checked by the last completed call whose lookups name no
  // container that came or went since, with the same networks, resolves as
  // it did then: it is not resolved again. Anything else is.
  const previous = memo.index;
  memo.index = null;
  const { index, dirty } = previous ? updateIndex(previous, snapshot.containers) : { index: buildIndex(snapshot.containers), dirty: null };
  // Networks that came or went: their name and id, and every subnet test (insideDocker), are dirty.
  const nets = previous ? changedItems(previous.networks, snapshot.networks) : null;
  if (dirty && nets && nets.removed.length + nets.added.length > 0) {
    for (const n of [...nets.removed, ...nets.added]) dirty.add(`N:${n.name}`).add(`I:${n.id}`);
    dirty.add('subnets');
  }
  const unchanged = nets ? dirty : null;
  const { byId, byName, byService } = index;
  const call = memo.calls + 1;
  let keys: string[] = [];

  const containerSide = (c: Container): Side | string => {
    if (c.networkMode === 'host') return `container ${c.name} is in host network mode and cannot be firewalled`;
    let owner: Container | null = c;
    if (c.networkMode.startsWith('container:')) {
      // netnsOwner, from the index: the first container of that name in snapshot order is the first in byId's.
      const ref = c.networkMode.slice('container:'.length);
      keys.push(`i:${ref}`, `n:${ref}`);
      owner = byId.get(ref) ?? byName.get(ref)?.[0] ?? null;
    }
    const o = owner;
    return o ? cached(memo.sides, o, (): Side => ({ kind: 'container', container: o })) : `container ${c.name} shares a network namespace moat cannot find`;
  };

  const resolvePeer = (origin: GrantOrigin, e: Entry): Side[] | string => {
    const p = e.peer;
    switch (p.kind) {
      case 'world':
      case 'lan':
      case 'host':
        return [ZONES[p.kind]];
      case 'cidr': {
        // The containers with an address in the range (as they come and go: keyed by the networks it
        // overlaps), and the range itself unless it lies wholly inside one Docker subnet (then
        // nothing outside Docker is in it).
        const range = parseCidr(p.cidr);
        const found = range ? covered(range, origin) : [];
        const outside = insideDocker(p.cidr) === null ? [cached(memo.sides, p, (): Side => ({ kind: 'cidr', family: p.family, cidr: p.cidr }))] : [];
        return [...outside, ...found];
      }
      case 'network': {
        keys.push(`N:${p.name}`);
        const net = networksByName.get(p.name);
        return net ? [cached(memo.sides, net, (): Side => ({ kind: 'network', network: net }))] : `no network named ${JSON.stringify(p.name)}`;
      }
      case 'container': {
        const project = origin.container.project;
        if (project) keys.push(`s:${project}/${p.name}`);
        keys.push(`n:${p.name}`);
        const inProject = project ? (byService.get(`${project}/${p.name}`) ?? []) : [];
        const matches = inProject.length > 0 ? inProject : (byName.get(p.name) ?? []);
        if (matches.length === 0)
          return `no container or compose service named ${JSON.stringify(p.name)}${project ? ` (looked in project ${JSON.stringify(project)} first)` : ''}`;
        return sides(matches);
      }
      case 'service': {
        keys.push(`s:${p.project}/${p.service}`);
        const matches = byService.get(`${p.project}/${p.service}`) ?? [];
        return matches.length > 0 ? sides(matches) : `no compose service ${JSON.stringify(`${p.project}/${p.service}`)}`;
      }
      case 'dns':
        return dns ? [cached(memo.sides, p, (): Side => ({ kind: 'dns', pattern: p.pattern }))] : DNS_OFF;
      default:
        return assertNever(p);
    }
  };
  const sides = (cs: readonly Container[]): Side[] | string => {
    const out: Side[] = [];
    for (const c of cs) {
      const s = containerSide(c);
      if (typeof s === 'string') return s;
      out.push(s);
    }
    return out;
  };

  // Address and CIDR entries: the containers whose own addresses fall inside the range, each a side
  // standing for only those addresses (flow.ts sideAddress). The origin's own container is left out
  // (a range over its own network covers itself); so are host-mode and joined containers, which
  // have no address of their own. Only the endpoints on networks whose subnets overlap the range
  // are looked at (Docker gives an endpoint an address in its network's subnet), and those
  // networks are the lookup's keys (A:NETWORK, see keysOf). Looked up once per range and call.
  const covered = (range: Cidr, origin: GrantOrigin): Side[] => {
    const { nets, containers } = ranges.covering(range);
    for (const id of nets) keys.push(`A:${id}`);
    const own = netnsOwner(origin.container, byId);
    const out: Side[] = [];
    for (const c of containers) {
      if (c === own) continue;
      let mine = memo.within.get(c);
      if (!mine) memo.within.set(c, (mine = new Map()));
      let side = mine.get(range.text);
      if (!side) mine.set(range.text, (side = { kind: 'container', container: c, within: range }));
      out.push(side);
    }
    return out;
  };

  const networksById = new Map(snapshot.networks.map((n) => [n.id, n]));
  // Internal networks (docs/policy.md#network-options) never reach (nor are reached from) world, lan or
  // the host, whatever the labels say. flow-rules.ts drops such flows at each
  // internal endpoint; a container with no other endpoint gets nothing from
  // the entry, and that is reported rather than passed over in silence.
  const onlyInternal = (c: Container): string[] | null => {
    const nets = c.endpoints.map((ep) => networksById.get(ep.networkId)).filter((n): n is Network => n !== undefined);
    return nets.length > 0 && nets.every((n) => n.internal) ? nets.map((n) => n.name) : null;
  };

  // An address inside a Docker network's subnet is a container peer (docs/policy.md#peer-kinds),
  // never lan or world: a CIDR entry wholly inside one stands for the containers there alone
  // (the zone chains return for Docker destinations, and container traffic never reaches
  // the inbound chains, so a rule for the range itself would be dead).
  const ranges = rangeLookup(snapshot, index.containers, memo);
  const insideDocker = (cidr: string) => ranges.insideDocker(cidr);

  for (const origin of origins) {
    const was = memo.resolved.get(origin);
    if (was && unchanged && was.checked === memo.calls && !was.keys.some((k) => unchanged.has(k))) {
      was.checked = call;
      for (const f of was.flows) flows.push(f);
      for (const p of was.problems) problems.push(p);
      continue;
    }
    keys = [];
    const self = containerSide(origin.container);
    if (typeof self === 'string') {
      memo.resolved.set(origin, { inputs: [self], keys, flows: [], problems: [], checked: call });
      continue;
    }
    if (self.kind === 'container') for (const ep of self.container.endpoints) keys.push(`I:${ep.networkId}`);
    const internalOnly = self.kind === 'container' ? onlyInternal(self.container) : null;
    const inputs: unknown[] = [self, internalOnly === null ? null : JSON.stringify(internalOnly)];
    const resolved = origin.entries.map((e) => {
      const peers = resolvePeer(origin, e);
      if (e.peer.kind === 'cidr') keys.push('subnets');
      const docker = typeof peers !== 'string' && e.peer.kind === 'cidr' ? insideDocker(e.peer.cidr) : null;
      if (typeof peers === 'string') inputs.push(peers);
      else inputs.push(peers.length, ...peers);
      inputs.push(docker);
      return { peers, docker };
    });
    const kept: Resolved =
      was && sameItems(was.inputs, inputs)
        ? { ...was, keys, checked: call }
        : { inputs, keys, ...originFlows(origin, self, internalOnly, resolved), checked: call };
    memo.resolved.set(origin, kept);
    for (const f of kept.flows) flows.push(f);
    for (const p of kept.problems) problems.push(p);
  }
  memo.index = { ...index, networks: snapshot.networks };
  memo.calls = call;
  return flows;
}
