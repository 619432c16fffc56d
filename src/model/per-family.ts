import type { Family } from './ruleset.ts';

/**
 * `make(key, family)` made once per key and family, and kept while the key lives (a WeakMap,
 * so a snapshot or rule list dropped by its owner takes its results with it).
 */
export function perFamily<K extends object, V extends object | null>(
  make: (key: K, family: Family) => V,
): (key: K, family: Family) => V {
  const made = new WeakMap<K, Map<Family, V>>();
  return (key, family) => {
    let byFamily = made.get(key);
    if (byFamily === undefined) {
      byFamily = new Map();
      made.set(key, byFamily);
    }
    let value = byFamily.get(family);
    if (value === undefined) {
      value = make(key, family);
      byFamily.set(family, value);
    }
    return value;
  };
}
