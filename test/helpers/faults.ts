import { RetryableError } from '../../src/core/errors.ts';
import type { Catalog, CatalogPartition, ObjectInfo, ObjectStore, PutOptions } from '../../src/ports.ts';

/**
 * Thrown by a fault rule to stand for the process dying at that point. It is deliberately not a
 * PipelineError: no code path should catch it as a handled failure. Tests catch it, then rerun.
 */
export class SimulatedCrash extends Error {
  constructor(readonly where: string) {
    super(`simulated crash at ${where}`);
    this.name = 'SimulatedCrash';
  }
}

export type ObjectStoreOp = 'put' | 'get' | 'getStream' | 'head' | 'list' | 'delete';
export type CatalogOp = 'getPartition' | 'listPartitions' | 'putPartitions';

/** When a rule fires on a matching call. */
export interface FaultRule<Op extends string> {
  /** Operation(s) the rule watches; `'*'` for all. */
  readonly op: Op | readonly Op[] | '*';
  /**
   * What the call must be about: the key (put/get/getStream/head), the prefix (list), any of the
   * keys (delete) or the table (catalog). A string matches exactly; a RegExp or predicate freely.
   * Default: every call of the op.
   */
  readonly match?: string | RegExp | ((target: string) => boolean);
  /** First matching call (1-based) that fails; earlier matching calls pass. Default 1. */
  readonly nth?: number;
  /** How many consecutive matching calls fail from `nth` on. Default 1; `Infinity` for all. */
  readonly times?: number;
  /** The error to throw; default a {@link SimulatedCrash}. A function gets a fresh error per firing. */
  readonly error?: Error | ((op: Op, target: string) => Error);
  /**
   * `'before'` (default): the call does not reach the wrapped adapter. `'after'`: the call is
   * carried out, then the error is thrown (crash after the write landed, lost response).
   */
  readonly when?: 'before' | 'after';
  /** getStream only: the call succeeds but the stream throws after this many bytes (if the object is longer). */
  readonly cutAfterBytes?: number;
}

/** A rule once added: how often it matched and fired so far. */
export interface FaultHandle {
  readonly seen: number;
  readonly fired: number;
}

interface LiveRule<Op extends string> extends FaultRule<Op> {
  seen: number;
  fired: number;
}

interface Verdict {
  before?: Error;
  after?: Error;
  cutAfterBytes?: number;
  cutError?: Error;
}

/** The rule engine shared by the wrappers; exposed for wrappers over other ports. */
export class FaultInjector<Op extends string> {
  private rules: LiveRule<Op>[] = [];
  /** Every call seen, in order, with the fault that fired on it (if any). */
  readonly calls: { op: Op; target: string; fault?: string }[] = [];

  /** Adds a rule; returns a live view of its counters. */
  add(rule: FaultRule<Op>): FaultHandle {
    const nth = rule.nth ?? 1;
    const times = rule.times ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new Error(`fault rule nth must be a positive integer: ${nth}`);
    if (!(times >= 1)) throw new Error(`fault rule times must be ≥ 1: ${times}`);
    const live: LiveRule<Op> = { ...rule, nth, times, seen: 0, fired: 0 };
    this.rules.push(live);
    return live;
  }

  /** Drops all rules (the call log stays). */
  clear(): void {
    this.rules = [];
  }

  /** Counts the call against every matching rule and says what, if anything, fires. */
  enter(op: Op, targets: readonly string[]): Verdict {
    const verdict: Verdict = {};
    let label: string | undefined;
    for (const rule of this.rules) {
      if (rule.op !== '*' && !(Array.isArray(rule.op) ? rule.op.includes(op) : rule.op === op)) continue;
      const target = targets.find((t) => matches(rule.match, t));
      if (target === undefined) continue;
      rule.seen++;
      if (rule.seen < rule.nth! || rule.seen >= rule.nth! + rule.times!) continue;
      rule.fired++;
      const error =
        typeof rule.error === 'function'
          ? rule.error(op, target)
          : (rule.error ?? new SimulatedCrash(`${op} ${target} (call ${rule.seen})`));
      label ??= error.name;
      if (rule.cutAfterBytes !== undefined && op === 'getStream') {
        verdict.cutAfterBytes ??= rule.cutAfterBytes;
        verdict.cutError ??= error;
      } else if (rule.when === 'after') verdict.after ??= error;
      else verdict.before ??= error;
    }
    this.calls.push({ op, target: targets[0] ?? '', ...(label ? { fault: label } : {}) });
    return verdict;
  }
}

function matches(match: FaultRule<string>['match'], target: string): boolean {
  if (match === undefined) return true;
  if (typeof match === 'string') return match === target;
  if (match instanceof RegExp) return match.test(target);
  return match(target);
}

/**
 * Wraps any {@link ObjectStore} and fails on cue, e.g. "crash on the 3rd put under `curated/`"
 * or "fail the first 2 gets with a RetryableError". Without rules it behaves exactly like `inner`.
 */
export class FaultyObjectStore implements ObjectStore {
  readonly faults = new FaultInjector<ObjectStoreOp>();

  constructor(readonly inner: ObjectStore) {}

  /** Adds a rule (see {@link FaultRule}). */
  failOn(rule: FaultRule<ObjectStoreOp>): FaultHandle {
    return this.faults.add(rule);
  }

  /** Crash (before the call) on the `nth` call of `op` whose key matches. */
  crashOn(op: ObjectStoreOp, match?: FaultRule<ObjectStoreOp>['match'], nth = 1): FaultHandle {
    return this.faults.add({ op, match, nth });
  }

  /** Crash right after the `nth` matching call took effect. */
  crashAfter(op: ObjectStoreOp, match?: FaultRule<ObjectStoreOp>['match'], nth = 1): FaultHandle {
    return this.faults.add({ op, match, nth, when: 'after' });
  }

  /** Fail the first `times` matching calls with `error` (default a transient RetryableError), then succeed. */
  failTimes(
    op: ObjectStoreOp,
    times: number,
    match?: FaultRule<ObjectStoreOp>['match'],
    error?: FaultRule<ObjectStoreOp>['error'],
  ): FaultHandle {
    return this.faults.add({ op, match, times, error: error ?? ((o, t) => transientError(`${o} ${t}`)) });
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    const v = this.faults.enter('put', [key]);
    if (v.before) throw v.before;
    const out = await this.inner.put(key, body, options);
    if (v.after) throw v.after;
    return out;
  }

  async get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    const v = this.faults.enter('get', [key]);
    if (v.before) throw v.before;
    const out = await this.inner.get(key);
    if (v.after) throw v.after;
    return out;
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const v = this.faults.enter('getStream', [key]);
    if (v.before) throw v.before;
    const out = await this.inner.getStream(key);
    if (v.after) throw v.after;
    if (out === undefined || v.cutAfterBytes === undefined) return out;
    return cutStream(out, v.cutAfterBytes, v.cutError!);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const v = this.faults.enter('head', [key]);
    if (v.before) throw v.before;
    const out = await this.inner.head(key);
    if (v.after) throw v.after;
    return out;
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    const v = this.faults.enter('list', [prefix]);
    if (v.before) throw v.before;
    yield* this.inner.list(prefix, options);
    if (v.after) throw v.after;
  }

  async delete(keys: readonly string[]): Promise<void> {
    const v = this.faults.enter('delete', keys);
    if (v.before) throw v.before;
    await this.inner.delete(keys);
    if (v.after) throw v.after;
  }
}

/**
 * Wraps any {@link Catalog} and fails on cue; rules match on the table name. `crashAfter('putPartitions')`
 * leaves the partitions switched and then "dies" (F4).
 */
export class FaultyCatalog implements Catalog {
  readonly faults = new FaultInjector<CatalogOp>();

  constructor(readonly inner: Catalog) {}

  failOn(rule: FaultRule<CatalogOp>): FaultHandle {
    return this.faults.add(rule);
  }

  crashOn(op: CatalogOp, table?: FaultRule<CatalogOp>['match'], nth = 1): FaultHandle {
    return this.faults.add({ op, match: table, nth });
  }

  crashAfter(op: CatalogOp, table?: FaultRule<CatalogOp>['match'], nth = 1): FaultHandle {
    return this.faults.add({ op, match: table, nth, when: 'after' });
  }

  failTimes(
    op: CatalogOp,
    times: number,
    table?: FaultRule<CatalogOp>['match'],
    error?: FaultRule<CatalogOp>['error'],
  ): FaultHandle {
    return this.faults.add({ op, match: table, times, error: error ?? ((o, t) => transientError(`${o} ${t}`)) });
  }

  async getPartition(table: string, values: readonly string[]): Promise<CatalogPartition | undefined> {
    const v = this.faults.enter('getPartition', [table]);
    if (v.before) throw v.before;
    const out = await this.inner.getPartition(table, values);
    if (v.after) throw v.after;
    return out;
  }

  async listPartitions(table: string): Promise<CatalogPartition[]> {
    const v = this.faults.enter('listPartitions', [table]);
    if (v.before) throw v.before;
    const out = await this.inner.listPartitions(table);
    if (v.after) throw v.after;
    return out;
  }

  async putPartitions(table: string, partitions: readonly CatalogPartition[]): Promise<void> {
    const v = this.faults.enter('putPartitions', [table]);
    if (v.before) throw v.before;
    await this.inner.putPartitions(table, partitions);
    if (v.after) throw v.after;
  }
}

/** A transient failure as the adapters raise it after their own retries ran out. */
export function transientError(what: string): RetryableError {
  return new RetryableError(`injected transient failure: ${what}`);
}

/** An error shaped like an AWS SDK v3 service exception (`name` + `$metadata.httpStatusCode`). */
export function awsError(name: string, httpStatusCode: number, message = `injected ${name}`): Error {
  const error = new Error(message) as Error & { $metadata: { httpStatusCode: number }; $fault: string };
  error.name = name;
  error.$metadata = { httpStatusCode };
  error.$fault = httpStatusCode >= 500 ? 'server' : 'client';
  return error;
}

/** `ENOSPC` as node:fs raises it when /tmp is full (F28). */
export function enospcError(path = '/tmp'): NodeJS.ErrnoException {
  const error = new Error(`ENOSPC: no space left on device, write '${path}'`) as NodeJS.ErrnoException;
  error.code = 'ENOSPC';
  error.errno = -28;
  error.syscall = 'write';
  error.path = path;
  return error;
}

async function* cutStream(source: AsyncIterable<Uint8Array>, limit: number, error: Error): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of source) {
    if (sent + chunk.byteLength > limit) {
      if (limit > sent) yield chunk.subarray(0, limit - sent);
      throw error;
    }
    sent += chunk.byteLength;
    yield chunk;
  }
}
