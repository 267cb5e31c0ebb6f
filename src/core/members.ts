// The container policies on each network and the ones that publish ports,
// in policy order. Kept from one policy to the next by the incremental path
// (desired.ts): patched with the containers that came and went, so that the
// ruleset rebuilds the per-network parts of only the networks they are on.
import { changedItems } from './memo.js';
import type { ContainerPolicy } from './policy.js';

export interface Members {
  readonly containers: readonly ContainerPolicy[];
  /** Network id -> the container policies with an endpoint on it. Lists are never changed once made: a change makes a new one. */
  readonly byNetwork: ReadonlyMap<string, readonly ContainerPolicy[]>;
  readonly publishers: readonly ContainerPolicy[];
}

/** Ports published with a host port, or in routed mode without one. */
const publishes = (cp: ContainerPolicy) => cp.container.ports.length > 0 || (cp.container.routedPorts?.length ?? 0) > 0;

const before = (a: ContainerPolicy, b: ContainerPolicy) =>
  a.container.name === b.container.name ? a.container.id < b.container.id : a.container.name < b.container.name;

export function membersOf(containers: readonly ContainerPolicy[]): Members {
  const byNetwork = new Map<string, ContainerPolicy[]>();
  for (const cp of containers) {
    for (const id of new Set(cp.container.endpoints.map((e) => e.networkId))) {
      const list = byNetwork.get(id);
      if (list) list.push(cp);
      else byNetwork.set(id, [cp]);
    }
  }
  return { containers, byNetwork, publishers: containers.filter(publishes) };
}

/** Puts `cp` where policy order wants it, in a copy. */
function withItem(list: readonly ContainerPolicy[], cp: ContainerPolicy): ContainerPolicy[] {
  let at = list.length;
  while (at > 0 && before(cp, list[at - 1]!)) at--;
  return [...list.slice(0, at), cp, ...list.slice(at)];
}

/**
 * The members of `containers` from those of the previous policy, and the
 * networks whose lists changed; fresh ones and null (every network) when the
 * lists differ too much. Both lists in policy order (the snapshot's: name, then id).
 */
export function updateMembers(old: Members, containers: readonly ContainerPolicy[]): { members: Members; touched: Set<string> | null } {
  const diff = changedItems(old.containers, containers);
  if (!diff) return { members: membersOf(containers), touched: null };
  const byNetwork = new Map(old.byNetwork);
  let publishers = old.publishers;
  const touched = new Set<string>();
  for (const cp of diff.removed) {
    for (const id of new Set(cp.container.endpoints.map((e) => e.networkId))) {
      touched.add(id);
      const list = (byNetwork.get(id) ?? []).filter((x) => x !== cp);
      if (list.length > 0) byNetwork.set(id, list);
      else byNetwork.delete(id);
    }
    if (publishes(cp)) publishers = publishers.filter((x) => x !== cp);
  }
  for (const cp of diff.added) {
    for (const id of new Set(cp.container.endpoints.map((e) => e.networkId))) {
      touched.add(id);
      byNetwork.set(id, withItem(byNetwork.get(id) ?? [], cp));
    }
    if (publishes(cp)) publishers = withItem(publishers, cp);
  }
  return { members: { containers, byNetwork, publishers }, touched };
}
