/** A string map with no prototype, so keys like `__proto__` are ordinary entries. */
export type KvMap = Record<string, string>;

/** A fresh empty KvMap. */
export function newKv(): KvMap {
  return Object.create(null) as KvMap;
}

/**
 * Adds a pair without losing earlier ones: the first value keeps the key, later repeats go
 * to `key#2`, `key#3`, … in order of appearance.
 */
export function addKv(kv: KvMap, key: string, value: string): void {
  if (!(key in kv)) {
    kv[key] = value;
    return;
  }
  let n = 2;
  while (`${key}#${n}` in kv) n++;
  kv[`${key}#${n}`] = value;
}
