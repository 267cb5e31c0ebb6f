// What fromDocker keeps between calls, so that Docker data which did not change
// is not parsed, deduplicated and sorted again.
import { toContainer } from './docker-container.js';
import { changedItems } from './memo.js';
import type { Container, Network, Problem } from './model.js';

/** The snapshot's order: by name, then by id. */
export const byNameThenId = (a: { name: string; id: string }, b: { name: string; id: string }) =>
  a.name === b.name ? a.id.localeCompare(b.id) : a.name < b.name ? -1 : 1;

interface Parsed<T> {
  readonly value: T | null;
  readonly problems: readonly Problem[];
}

/**
 * What each raw list object parsed to, kept across calls: an object Docker
 * data did not change is not parsed again, and yields the very same Network
 * or Container, which is what lets every later stage reuse its own work.
 * Raw objects must be treated as immutable: replaced when they change, never edited.
 */
export interface FromDockerMemo {
  readonly networks: WeakMap<object, Parsed<Network>>;
  readonly containers: WeakMap<object, Parsed<Container>>;
  /** The last call's containers (raw list, sorted result, by id, problems), when they had no duplicate id; null otherwise. */
  last: {
    readonly raws: readonly unknown[];
    readonly sorted: readonly Container[];
    readonly byId: Map<string, Container>;
    readonly problems: readonly Problem[];
  } | null;
}

export const createFromDockerMemo = (): FromDockerMemo => ({ networks: new WeakMap(), containers: new WeakMap(), last: null });

/** The value `raw` parsed to (memoized in `cache`); its problems are added to `problems`. */
export function parseOnce<T>(
  cache: WeakMap<object, Parsed<T>>,
  raw: unknown,
  parse: (raw: unknown, problems: Problem[]) => T | null,
  problems: Problem[],
): T | null {
  const key = raw !== null && typeof raw === 'object' ? raw : null;
  let parsed = key ? cache.get(key) : undefined;
  if (!parsed) {
    const own: Problem[] = [];
    parsed = { value: parse(raw, own), problems: own };
    if (key) cache.set(key, parsed);
  }
  problems.push(...parsed.problems);
  return parsed.value;
}

/**
 * The containers of `raws` from the last call's, when only a few raw objects
 * came or went, none of them with a problem or a duplicate id: the sorted
 * list patched in place of a parse, dedupe and sort of every container. Null
 * when that does not hold (the caller starts over).
 */
export function patched(
  memo: FromDockerMemo,
  last: FromDockerMemo['last'],
  raws: readonly unknown[],
): { sorted: Container[]; byId: Map<string, Container> } | null {
  const diff = last ? changedItems(last.raws, raws) : null;
  if (!last || !diff) return null;
  const parsed = (raw: unknown) => (raw !== null && typeof raw === 'object' ? memo.containers.get(raw) : undefined);
  const gone: Container[] = [];
  for (const raw of diff.removed) {
    const p = parsed(raw);
    if (!p || p.problems.length > 0 || !p.value || last.byId.get(p.value.id) !== p.value) return null;
    gone.push(p.value);
  }
  const come: Container[] = [];
  const ids = new Set<string>();
  for (const raw of diff.added) {
    if (raw === null || typeof raw !== 'object') return null;
    const problems: Problem[] = [];
    const value = parseOnce(memo.containers, raw, toContainer, problems);
    const holder = value ? last.byId.get(value.id) : undefined;
    if (problems.length > 0 || !value || ids.has(value.id) || (holder && !gone.includes(holder))) return null;
    ids.add(value.id);
    come.push(value);
  }
  const sorted = [...last.sorted];
  for (const c of gone) {
    sorted.splice(sorted.indexOf(c), 1);
    last.byId.delete(c.id);
  }
  for (const c of come) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byNameThenId(sorted[mid]!, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    sorted.splice(lo, 0, c);
    last.byId.set(c.id, c);
  }
  return { sorted, byId: last.byId };
}
