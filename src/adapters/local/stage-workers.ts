// Worker threads that stage chunks and merge partitions of a folder lake for compactObjects,
// the local twin of the workflow's Map states (one Lambda per chunk or merge group).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as PIPELINE_ERRORS from '../../core/errors.ts';
import type {
  ChunkStager,
  CompactionDeps,
  MergeRequest,
  MergeResult,
  StageInput,
  StageResult,
} from '../../pipeline/compact.ts';
import { RawObjectError } from '../../pipeline/compact-lines.ts';
import type { Log, MetricUnitName } from '../../ports.ts';

const ENTRY = join(__dirname, 'stage-worker-entry.ts');

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

// The entry is TypeScript: load tsx's require hook first, as bin/eks-log-lake.cjs does. Resolved
// from the entry's folder, so it works under the bin, `tsx src/cli/main.ts` and vitest alike.
const BOOTSTRAP = `
const { createRequire } = require('node:module');
const { workerData } = require('node:worker_threads');
const load = createRequire(workerData.entry);
load('tsx/cjs');
load(workerData.entry);
`;

type ErrorClass = { new (...args: never[]): Error; readonly prototype: Error };

const ERROR_CLASSES = new Map<string, ErrorClass>(
  [...Object.values(PIPELINE_ERRORS), RawObjectError, Error, TypeError, RangeError, SyntaxError, ReferenceError].map(
    (c) => [c.name, c as ErrorClass],
  ),
);

/** Rebuilds a worker's error with its class (when it is one of ours or a built-in), name, message and fields. */
export function reviveError(s: SerializedError): Error {
  const cls = ERROR_CLASSES.get(s.name) ?? Error;
  const error = Object.create(cls.prototype) as Error;
  Object.defineProperty(error, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', {
    value: s.stack ?? `${s.name}: ${s.message}`,
    writable: true,
    configurable: true,
  });
  Object.assign(error, s.props, { name: s.name });
  return error;
}

export interface StageWorkerOptions {
  /** The lake folder; each worker opens its own FsObjectStore over it. */
  readonly lakeDir: string;
  /** Worker threads (default `os.availableParallelism()`). */
  readonly workers?: number;
}

interface Slot {
  readonly worker: Worker;
  job?: { id: number; deps: CompactionDeps; resolve: (r: unknown) => void; reject: (e: Error) => void };
  exited: boolean;
}

/**
 * Stages chunks and merges partitions in worker threads over a folder lake and its local catalog,
 * up to `workers` at once, with the caller's clock value, limits, log and metrics. Workers start
 * on first use; `close` terminates them (compactObjects calls it when both phases are over).
 */
export function createWorkerStager(options: StageWorkerOptions): ChunkStager & { close(): Promise<void> } {
  const size = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const slots: Slot[] = [];
  let nextId = 0;

  const spawn = (): Slot => {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: ENTRY, lakeDir: options.lakeDir } });
    const slot: Slot = { worker, exited: false };
    const fail = (error: Error) => {
      const job = slot.job;
      slot.job = undefined;
      job?.reject(error);
    };
    worker.on('message', (m: StageReply) => {
      const job = slot.job;
      if (m.kind === 'log') job?.deps.log[m.level](m.message, m.fields);
      else if (m.kind === 'count') job?.deps.metrics?.count(m.name, m.value, m.dims);
      else if (m.kind === 'gauge') job?.deps.metrics?.gauge(m.name, m.value, m.unit);
      else if (job && m.id === job.id) {
        slot.job = undefined;
        if (m.kind === 'done') job.resolve(m.result);
        else job.reject(reviveError(m.error));
      }
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => {
      slot.exited = true;
      fail(new Error(`stage worker stopped with exit code ${code}`));
    });
    slots.push(slot);
    return slot;
  };

  const run = <T>(deps: CompactionDeps, op: Pick<StageRequest, 'op' | 'input'>): Promise<T> => {
    const slot =
      slots.find((s) => !s.exited && !s.job) ?? (slots.filter((s) => !s.exited).length < size ? spawn() : undefined);
    if (!slot) return Promise.reject(new Error(`all ${size} stage workers are busy`));
    const request = {
      id: nextId++,
      // The clock is read here, never in the worker: the caller's injected now is the one used.
      nowMs: deps.now().getTime(),
      lateHorizonHours: deps.lateHorizonHours,
      memoryBudgetBytes: deps.memoryBudgetBytes,
      ...op,
    } as StageRequest;
    return new Promise<T>((resolve, reject) => {
      slot.job = { id: request.id, deps, resolve: resolve as (r: unknown) => void, reject };
      slot.worker.postMessage(request);
    });
  };

  return {
    concurrency: size,
    stage: (deps: CompactionDeps, input: StageInput) =>
      run<StageResult>(deps, {
        op: 'stage',
        input: { planId: input.planId, chunkId: input.chunkId, keys: [...input.keys] },
      }),
    merge: (deps: CompactionDeps, input: MergeRequest) =>
      run<MergeResult>(deps, {
        op: 'merge',
        input: { planId: input.planId, table: input.table, values: [...input.values] },
      }),
    async close(): Promise<void> {
      const all = slots.splice(0);
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}
