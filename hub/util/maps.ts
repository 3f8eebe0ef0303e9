/**
 * The inner map of `outer` under `key`, made (empty) when there is none: the hub's lookups by
 * enterprise then machine (or group then edge node) use the ids' own strings as keys at each
 * level instead of building a key string per message or sample.
 */
export function inner<O, K, V>(outer: Map<O, Map<K, V>>, key: O): Map<K, V> {
  let m = outer.get(key);
  if (m === undefined) {
    m = new Map();
    outer.set(key, m);
  }
  return m;
}
