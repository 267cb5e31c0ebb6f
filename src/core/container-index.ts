// Containers by id, by name and by compose service, as grant resolution
// looks peers up. Kept from one snapshot to the next by the incremental path
// (desired.ts): patched with the containers that came and went rather than
// rebuilt, and telling which lookup keys those changes touched.
import { changedItems } from './memo.js';
import type { Container } from './model.js';

export interface ContainerIndex {
  readonly containers: readonly Container[];
  readonly byId: Map<string, Container>;
  /** In snapshot order (name, then id). */
  readonly byName: Map<string, Container[]>;
  /** `project/service` -> containers, in snapshot order. */
  readonly byService: Map<string, Container[]>;
}

export const serviceKey = (c: Container) => (c.project !== null && c.service !== null ? `${c.project}/${c.service}` : null);

/**
 * The lookup keys whose answer may differ when `c` comes or goes (see resolveGrants):
 * its id, name and service, and `A:NETWORK` for each network it has an address on
 * (which address and CIDR entries over that network's subnets look up).
 */
export const keysOf = (c: Container): string[] => {
  const s = serviceKey(c);
  const keys = s === null ? [`i:${c.id}`, `n:${c.name}`] : [`i:${c.id}`, `n:${c.name}`, `s:${s}`];
  for (const ep of c.endpoints) if (ep.ipv4 !== null || ep.ipv6 !== null) keys.push(`A:${ep.networkId}`);
  return keys;
};

export function buildIndex(containers: readonly Container[]): ContainerIndex {
  const index: ContainerIndex = { containers, byId: new Map(), byName: new Map(), byService: new Map() };
  for (const c of containers) {
    index.byId.set(c.id, c);
    append(index.byName, c.name, c);
    const s = serviceKey(c);
    if (s !== null) append(index.byService, s, c);
  }
  return index;
}

function append(map: Map<string, Container[]>, key: string, c: Container): void {
  const list = map.get(key);
  if (list) list.push(c);
  else map.set(key, [c]);
}

const before = (a: Container, b: Container) => (a.name === b.name ? a.id < b.id : a.name < b.name);

function insert(map: Map<string, Container[]>, key: string, c: Container): void {
  const list = map.get(key);
  if (!list) return void map.set(key, [c]);
  let at = list.length;
  while (at > 0 && before(c, list[at - 1]!)) at--;
  list.splice(at, 0, c);
}

function remove(map: Map<string, Container[]>, key: string, c: Container): void {
  const list = map.get(key);
  if (!list) return;
  const at = list.indexOf(c);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) map.delete(key);
}

/**
 * The index of `containers` made from `old` (which it replaces: `old` must not
 * be used afterwards), and the keys whose answers may have changed; a fresh
 * index and null (every key) when the lists differ too much. Both lists must
 * be in snapshot order (fromDocker's: name, then id).
 */
export function updateIndex(old: ContainerIndex, containers: readonly Container[]): { index: ContainerIndex; dirty: Set<string> | null } {
  const diff = changedItems(old.containers, containers);
  if (!diff) return { index: buildIndex(containers), dirty: null };
  const dirty = new Set<string>();
  for (const c of diff.removed) {
    for (const k of keysOf(c)) dirty.add(k);
    if (old.byId.get(c.id) === c) old.byId.delete(c.id);
    remove(old.byName, c.name, c);
    const s = serviceKey(c);
    if (s !== null) remove(old.byService, s, c);
  }
  for (const c of diff.added) {
    for (const k of keysOf(c)) dirty.add(k);
    old.byId.set(c.id, c);
    insert(old.byName, c.name, c);
    const s = serviceKey(c);
    if (s !== null) insert(old.byService, s, c);
  }
  return { index: { ...old, containers }, dirty };
}
