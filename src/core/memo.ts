// Memoisation for the incremental event path (see desired.ts). Everything the
// core computes is a pure function of immutable inputs, so a result may be
// reused exactly when every input it was computed from is the very same
// object (or the same primitive) as before: a reused result is then what a
// fresh computation would give, by construction, not by hope.

/** True when both lists hold the same items in the same order: objects by identity, primitives by value. */
export function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The ids of the network policies only one of two lists has (null: too many to say). */
export function changedIds<T extends { readonly network: { readonly id: string } }>(before: readonly T[], after: readonly T[]): Set<string> | null {
  const diff = changedItems(before, after);
  return diff ? new Set([...diff.removed, ...diff.added].map((n) => n.network.id)) : null;
}

/** `sameItems` part by part. */
export const sameParts = (a: readonly (readonly unknown[])[], b: readonly (readonly unknown[])[]): boolean =>
  a.length === b.length && a.every((part, i) => sameItems(part, b[i]!));

/** Separates the parts of a dependency list, so that two different splits of the same items never compare equal. */
export const SEP: unique symbol = Symbol('sep');

interface Slot {
  readonly deps: readonly unknown[];
  readonly value: unknown;
}

/**
 * Results kept by name from one computation to the next, each with the
 * inputs it came from. A name no computation asks for again is dropped at
 * the next `turn()`, so what is kept follows the host, not its history.
 */
export class Slots {
  private prev = new Map<string, Slot>();
  private next = new Map<string, Slot>();

  /** The kept value when `deps` are the same items as when it was computed; else `compute()`, kept. */
  reuse<T>(name: string, deps: readonly unknown[], compute: () => T): T {
    const kept = this.next.get(name) ?? this.prev.get(name);
    if (kept && sameItems(kept.deps, deps)) {
      this.next.set(name, kept);
      return kept.value as T;
    }
    const value = compute();
    this.next.set(name, { deps, value });
    return value;
  }

  /**
   * `reuse` with the inputs given as lists compared list by list (the same
   * as one list with a separator between them), so that callers need not
   * copy long lists of rules into one.
   */
  reuseParts<T>(name: string, parts: readonly (readonly unknown[])[], compute: () => T): T {
    const kept = this.next.get(name) ?? this.prev.get(name);
    if (kept && sameParts(kept.deps as readonly (readonly unknown[])[], parts)) {
      this.next.set(name, kept);
      return kept.value as T;
    }
    const value = compute();
    this.next.set(name, { deps: parts, value });
    return value;
  }

  /** Ends a computation: names it did not use are forgotten. */
  turn(): void {
    this.prev = this.next;
    this.next = new Map();
  }
}

/** The value cached for `key`, computed once. */
export function cached<K extends object, V>(cache: WeakMap<K, V>, key: K, compute: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = compute();
    cache.set(key, v);
  }
  return v;
}

/**
 * What turns `before` into `after` (lists in one order, items compared by
 * identity): the items only in `before` and the items only in `after`; null
 * when they differ in more than `limit` places, where starting over is
 * cheaper. Exact as multisets: `after` = `before` - removed + added.
 */
export function changedItems<T>(before: readonly T[], after: readonly T[], limit = 32): { readonly removed: T[]; readonly added: T[] } | null {
  const removed: T[] = [];
  const added: T[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    if (before[i] === after[j]) {
      i++;
      j++;
      continue;
    }
    if (removed.length + added.length >= limit) return null;
    // The nearest point where the lists agree again: k items inserted, or k removed.
    let k = 1;
    for (; k <= limit; k++) {
      if (j + k < after.length && before[i] === after[j + k]) {
        added.push(...after.slice(j, j + k));
        j += k;
        break;
      }
      if (i + k < before.length && before[i + k] === after[j]) {
        removed.push(...before.slice(i, i + k));
        i += k;
        break;
      }
    }
    if (k > limit) {
      removed.push(before[i++]!);
      added.push(after[j++]!);
    }
  }
  while (i < before.length) removed.push(before[i++]!);
  while (j < after.length) added.push(after[j++]!);
  return removed.length + added.length > limit ? null : { removed, added };
}

/**
 * `items.map(f)` that reuses the result of every item found again in
 * `before.items` (a pointer walk like changedItems') for which `keep` holds;
 * everything else, and everything when the lists differ in more than
 * `limit` places, goes through `f`. Only for an `f` whose result depends on
 * the item alone, on what the caller keeps fixed, and on what `keep` checks:
 * then a reused result is what `f` gives.
 */
export function alignedMap<T, R>(
  before: { readonly items: readonly T[]; readonly results: readonly R[] } | null,
  items: readonly T[],
  f: (item: T) => R,
  keep?: (item: T) => boolean,
  limit = 32,
): R[] {
  const out: R[] = new Array<R>(items.length);
  let j = 0;
  if (before) {
    const { items: was, results } = before;
    let i = 0;
    let misses = 0;
    while (j < items.length && i < was.length && misses <= limit) {
      if (was[i] === items[j]) {
        out[j] = !keep || keep(items[j]!) ? results[i]! : f(items[j]!);
        i++;
        j++;
        continue;
      }
      misses++;
      let k = 1;
      for (; k <= limit; k++) {
        if (j + k < items.length && was[i] === items[j + k]) {
          for (const end = j + k; j < end; j++) out[j] = f(items[j]!);
          break;
        }
        if (i + k < was.length && was[i + k] === items[j]) {
          i += k;
          break;
        }
      }
      if (k > limit) {
        out[j] = f(items[j]!);
        i++;
        j++;
      }
    }
  }
  for (; j < items.length; j++) out[j] = f(items[j]!);
  return out;
}
