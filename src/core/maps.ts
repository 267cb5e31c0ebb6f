// Small collection helpers shared by the core.

/** Appends to the list under `key`, creating it (a spread per push would be quadratic). */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, ...values: V[]): void {
  const list = map.get(key);
  if (list) list.push(...values);
  else map.set(key, values);
}
