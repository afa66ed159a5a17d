import { createHash } from 'node:crypto';

/**
 * The id of a compaction plan: a hash of the sorted raw keys and ETags it covers, so the same
 * window always gets the same id (reruns are no-ops) and any new or changed object a new one.
 */
export function planIdFor(objects: readonly { key: string; etag: string }[]): string {
  const lines = objects.map((o) => `${o.key}\t${o.etag.replaceAll('"', '')}`).sort();
  const h = createHash('sha256');
  for (const l of lines) h.update(`${l}\n`);
  return h.digest('hex').slice(0, 20);
}

/** Lowercase hex SHA-256 of bytes or text. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
