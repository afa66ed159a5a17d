import { gzipSync } from 'node:zlib';
import type { CwlLogEvent, SubscriptionMessage } from '../types.ts';
import { REINGEST_MARKER } from './record.ts';

/** Firehose PutRecordBatch accepts records up to 1,000 KiB (before base64). */
export const FIREHOSE_MAX_RECORD_BYTES = 1_000 * 1024;
/** Decoded JSON per re-ingested chunk: small enough that a chunk's own response stays small. */
export const REINGEST_CHUNK_JSON_BYTES = 256 * 1024;

/**
 * Splits a message's events into gzip'd subscription messages marked with REINGEST_MARKER,
 * each at most FIREHOSE_MAX_RECORD_BYTES. Every event lands in exactly one chunk, in order,
 * with its own id, so a repeated split yields the same chunks (dedupe is by event id).
 * Returns undefined when one event alone cannot fit a Firehose record.
 */
export function splitForReingest(
  message: SubscriptionMessage,
  chunkJsonBytes: number = REINGEST_CHUNK_JSON_BYTES,
): Uint8Array[] | undefined {
  const filters = [...(message.subscriptionFilters ?? []).filter((f) => f !== REINGEST_MARKER), REINGEST_MARKER];
  const encode = (events: readonly CwlLogEvent[]): Uint8Array =>
    gzipSync(
      JSON.stringify({
        messageType: message.messageType,
        owner: message.owner,
        logGroup: message.logGroup,
        logStream: message.logStream,
        subscriptionFilters: filters,
        logEvents: events,
      }),
      { level: 6 },
    );
  const groups: CwlLogEvent[][] = [];
  let current: CwlLogEvent[] = [];
  let size = 0;
  for (const event of message.logEvents) {
    const eventSize = JSON.stringify(event).length + 1;
    if (current.length > 0 && size + eventSize > chunkJsonBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += eventSize;
  }
  if (current.length > 0) groups.push(current);

  const chunks: Uint8Array[] = [];
  const pending = groups.reverse();
  while (pending.length > 0) {
    const events = pending.pop()!;
    const bytes = encode(events);
    if (bytes.byteLength <= FIREHOSE_MAX_RECORD_BYTES) {
      chunks.push(bytes);
    } else if (events.length > 1) {
      // Incompressible content: halve until each half fits.
      const mid = Math.ceil(events.length / 2);
      pending.push(events.slice(mid), events.slice(0, mid));
    } else {
      return undefined;
    }
  }
  return chunks;
}
