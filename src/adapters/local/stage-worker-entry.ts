// Worker-thread side of the stage pool: stages chunks of a folder lake with the same
// stageObjects as the in-process path; the clock value and limits come with each request.
import { parentPort, workerData } from 'node:worker_threads';
import {
  type CompactionDeps,
  type MergeRequest,
  mergePartition,
  type StageInput,
  stageObjects,
} from '../../pipeline/compact.ts';
import type { Log, Metrics, MetricUnitName } from '../../ports.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { LocalCatalog } from './local-catalog.ts';

/** A request from the pool: stage one chunk or merge one partition, as of `nowMs`. */
export type StageRequest = {
  readonly id: number;
  readonly nowMs: number;
  readonly lateHorizonHours?: number;
  readonly memoryBudgetBytes?: number;
} & ({ readonly op: 'stage'; readonly input: StageInput } | { readonly op: 'merge'; readonly input: MergeRequest });

/** An error as it crosses the thread boundary (structured clone keeps neither class nor name). */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly props: Record<string, string | number | boolean | null>;
}

/** What a worker posts back: a log line or metric to forward, or the outcome of a request. */
export type StageReply =
  | {
      readonly kind: 'log';
      readonly level: keyof Log;
      readonly message: string;
      readonly fields?: Record<string, unknown>;
    }
  | { readonly kind: 'count'; readonly name: string; readonly value: number; readonly dims?: Record<string, string> }
  | { readonly kind: 'gauge'; readonly name: string; readonly value: number; readonly unit: MetricUnitName }
  | { readonly kind: 'done'; readonly id: number; readonly result: unknown }
  | { readonly kind: 'failed'; readonly id: number; readonly error: SerializedError };

/** Name, message, stack and the primitive own fields (`code`, `reason`, `key`…) of a thrown value. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), props: {} };
  const props: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(error)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) props[k] = v as string | number | boolean;
  }
  return { name: error.name, message: error.message, stack: error.stack, props };
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('stage-worker-entry must run in a worker thread');
  const { lakeDir } = workerData as { lakeDir: string };
  const store = new FsObjectStore(lakeDir);
  const catalog = new LocalCatalog(store);
  const post = (reply: StageReply) => port.postMessage(reply);
  const logAt =
    (level: keyof Log) =>
    (message: string, fields?: Record<string, unknown>): void => {
      // Fields are plain data; anything a structured clone refuses travels as its JSON.
      try {
        post({ kind: 'log', level, message, fields });
      } catch {
        post({ kind: 'log', level, message, fields: JSON.parse(JSON.stringify(fields ?? {})) });
      }
    };
  const log: Log = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
  const metrics: Metrics = {
    count: (name, value, dims) => post({ kind: 'count', name, value, dims: dims && { ...dims } }),
    gauge: (name, value, unit) => post({ kind: 'gauge', name, value, unit }),
  };
  port.on('message', (req: StageRequest) => {
    const deps: CompactionDeps = {
      store,
      catalog,
      log,
      metrics,
      now: () => new Date(req.nowMs),
      lateHorizonHours: req.lateHorizonHours,
      memoryBudgetBytes: req.memoryBudgetBytes,
    };
    const run = req.op === 'stage' ? stageObjects(deps, req.input) : mergePartition(deps, req.input);
    run.then(
      (result) => post({ kind: 'done', id: req.id, result }),
      (error: unknown) => post({ kind: 'failed', id: req.id, error: serializeError(error) }),
    );
  });
}

main();
