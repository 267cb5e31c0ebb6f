// Small collection helpers shared by the core.

/** Appends one value to the list under `key`, creating it: no rest array per call, for the loops that run per container or per flow. */
export function pushOne<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Appends to the list under `key`, creating it (a spread per push would be quadratic). */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, ...values: V[]): void {
  const list = map.get(key);
  if (list) list.push(...values);
  else map.set(key, values);
}
