import { LOG_TYPES } from '../core/types.ts';
import {
  type ChunkLimits,
  chunkObjects,
  type PlanChunk,
  type PlannedObject,
  planIdOf,
  RAW_KEY,
} from '../core/workflow/plan.ts';
import type { WorkflowWindow } from '../core/workflow/window.ts';
import type { Log, ObjectStore } from '../ports.ts';
import { readAttempts, readProcessed } from './ledger.ts';

/** Root of every execution's intermediate results (claim checks), so state payloads stay small. */
export const RUNS_PREFIX = 'control/runs/';

/** Where one run (`<execution name>/<planId>`) keeps its intermediate results. */
export function runPrefix(run: string): string {
  return `${RUNS_PREFIX}${run}/`;
}

/** The stored plan of one run. */
export interface StoredPlan {
  readonly planId: string;
  readonly window: WorkflowWindow;
  readonly chunks: readonly PlanChunk[];
  /** Raw keys listed but not planned because they do not look like Firehose output (alarmed on). */
  readonly ignoredKeys: readonly string[];
  /** When listing began: every object of a listed hour that arrived before it was seen. */
  readonly listedAt?: string;
}

export interface PlanDeps {
  readonly store: ObjectStore;
  readonly limits: ChunkLimits;
  readonly log?: Log;
}

/** Log-type prefixes under raw/ (Firehose partitions by the transform's `log_type`). */
const RAW_LOG_TYPES = [...LOG_TYPES, 'unknown'];

/**
 * The oldest arrival hour (`dt=…/hour=…`) of any Firehose-shaped key under raw/, or null when
 * there is none. Keys list in order and `dt=YYYY-MM-DD/hour=HH` sorts by time, so each log type's
 * first such key is its oldest: one LIST page per log type, stopped there (S3 is not paged on).
 */
export async function oldestRawArrivalHour(store: ObjectStore): Promise<string | null> {
  let oldest: string | null = null;
  for (const logType of RAW_LOG_TYPES) {
    for await (const o of store.list(`raw/log_type=${logType}/`)) {
      const m = RAW_KEY.exec(o.key);
      if (!m) continue;
      const hour = `dt=${m[2]}/hour=${m[3]}`;
      if (oldest === null || hour < oldest) oldest = hour;
      break;
    }
  }
  return oldest;
}

/**
 * Lists the raw objects of the window's arrival hours (every log type), keeps Firehose-shaped
 * keys that arrived before `arrivedBefore`, drops those the ledger records as processed with
 * the same ETag, chunks the rest and stores the plan under control/runs/<planId>/plan.json.
 */
export async function planWindow(
  deps: PlanDeps,
  window: WorkflowWindow,
  holder: string,
  listedAt?: string,
): Promise<StoredPlan> {
  const planned: PlannedObject[] = [];
  // Objects with failed runs (their chunk failed to stage, or a partition of theirs failed to
  // merge) get a chunk each, so a poison object fails alone and its neighbours go through.
  const suspects: PlannedObject[] = [];
  const ignoredKeys: string[] = [];
  const before = window.arrivedBefore ? Date.parse(window.arrivedBefore) : Number.POSITIVE_INFINITY;
  for (const hour of window.arrivalHours) {
    const processed = await readProcessed(deps.store, hour);
    const attempts = await readAttempts(deps.store, hour);
    for (const logType of RAW_LOG_TYPES) {
      for await (const o of deps.store.list(`raw/log_type=${logType}/${hour}/`)) {
        if (!RAW_KEY.test(o.key)) {
          ignoredKeys.push(o.key);
          continue;
        }
        if (o.lastModified.getTime() >= before) continue;
        if (processed[o.key] === o.etag) continue;
        const p = { key: o.key, etag: o.etag, size: o.size };
        planned.push(p);
        if (attempts[o.key]?.etag === o.etag) suspects.push(p);
      }
    }
  }
  if (ignoredKeys.length > 0)
    deps.log?.warn('unexpected keys under raw/ were not planned', { count: ignoredKeys.length });
  const planId = planIdOf(planned);
  const isolated = new Set(suspects);
  const chunks = chunkObjects(
    planned.filter((p) => !isolated.has(p)),
    deps.limits,
  );
  for (const o of chunkObjects(suspects, { ...deps.limits, maxChunkObjects: 1 }))
    chunks.push({ ...o, chunkId: chunks.length });
  const plan: StoredPlan = { planId, window, chunks, ignoredKeys, ...(listedAt ? { listedAt } : {}) };
  await writeRunFile(deps.store, `${holder}/${planId}`, 'plan.json', plan);
  return plan;
}

/** Reads a stored run file as JSON; throws when absent (a claim check that must exist). */
export async function readRunFile<T>(store: ObjectStore, run: string, name: string): Promise<T> {
  const got = await store.get(`${runPrefix(run)}${name}`);
  if (!got) throw new Error(`run file ${runPrefix(run)}${name} is missing`);
  return JSON.parse(Buffer.from(got.body).toString('utf8')) as T;
}

/** Reads a stored run file, or undefined when it was never written. */
export async function maybeReadRunFile<T>(store: ObjectStore, run: string, name: string): Promise<T | undefined> {
  const got = await store.get(`${runPrefix(run)}${name}`);
  return got ? (JSON.parse(Buffer.from(got.body).toString('utf8')) as T) : undefined;
}

export async function writeRunFile(store: ObjectStore, run: string, name: string, value: unknown): Promise<void> {
  await store.put(`${runPrefix(run)}${name}`, JSON.stringify(value), { contentType: 'application/json' });
}
