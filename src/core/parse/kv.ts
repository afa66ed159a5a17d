/** Structured key/value pairs of one line; `__proto__` and friends are ordinary own entries. */
export type KvMap = Record<string, string>;

/** A fresh empty KvMap. */
export function newKv(): KvMap {
  // A plain object (not Object.create(null)) keeps V8's fast properties, which JSON.stringify is quick on.
  return {};
}

/**
 * Adds a pair without losing earlier ones: the first value keeps the key, later repeats go
 * to `key#2`, `key#3`, … in order of appearance.
 */
export function addKv(kv: KvMap, key: string, value: string): void {
  if (!Object.hasOwn(kv, key)) {
    setOwn(kv, key, value);
    return;
  }
  addRepeat(kv, key, value);
}

/** Stores a repeat of `key` as the first free `key#2`, `key#3`, …. */
export function addRepeat(kv: KvMap, key: string, value: string): void {
  let n = 2;
  while (Object.hasOwn(kv, `${key}#${n}`)) n++;
  setOwn(kv, `${key}#${n}`, value);
}

function setOwn(kv: KvMap, key: string, value: string): void {
  // Assigning `__proto__` would set the prototype instead of storing the pair.
  if (key === '__proto__') {
    Object.defineProperty(kv, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    kv[key] = value;
  }
}
