import { planIdFor } from '../compact/plan.ts';

/** A raw object chosen for compaction: key, etag (identifies the version) and size in bytes. */
export interface PlannedObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

/** One unit of staging work: a few raw objects that one Lambda invocation reads. */
export interface PlanChunk {
  readonly chunkId: number;
  readonly objects: readonly PlannedObject[];
  readonly bytes: number;
}

export interface ChunkLimits {
  /** Compressed bytes per chunk (gzip expands 5–20× when read). */
  readonly maxChunkBytes: number;
  readonly maxChunkObjects: number;
}

/**
 * Identity of a plan: the compaction's {@link planIdFor} (SHA-256 over the sorted `key␉etag`
 * lines), so the workflow and `eks-log-lake compact` name the same objects' generations alike.
 */
export function planIdOf(objects: readonly PlannedObject[]): string {
  return planIdFor(objects);
}

/**
 * Packs objects (in key order) into chunks of at most `maxChunkObjects` objects and
 * `maxChunkBytes` bytes; an object larger than the byte limit gets a chunk of its own.
 */
export function chunkObjects(objects: readonly PlannedObject[], limits: ChunkLimits): PlanChunk[] {
  const sorted = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const chunks: PlanChunk[] = [];
  let current: PlannedObject[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length === 0) return;
    chunks.push({ chunkId: chunks.length, objects: current, bytes });
    current = [];
    bytes = 0;
  };
  for (const o of sorted) {
    if (current.length >= limits.maxChunkObjects || (current.length > 0 && bytes + o.size > limits.maxChunkBytes)) {
      flush();
    }
    current.push(o);
    bytes += o.size;
  }
  flush();
  return chunks;
}

/** Splits `items` into consecutive groups of at most `size` (≥ 1). */
export function groupsOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Matches a Firehose raw key (`<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<id>.gz` under its log-type
 * and hour folders) and captures its arrival hour; errors/, failed-record JSON and manual uploads,
 * even gzip ones, do not match (row 36).
 */
export const RAW_KEY =
  /^raw\/log_type=([a-z0-9-]+)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/[^/]+-\d+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[^/]+\.gz$/;
