import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createWorkerStager } from '../../src/adapters/local/stage-workers.ts';
import { InvalidInputError } from '../../src/core/errors.ts';
import {
  type ChunkStager,
  type CompactionSummary,
  chunkKeys,
  compactObjects,
  IN_PROCESS_STAGER,
} from '../../src/pipeline/compact.ts';
import type { Catalog, Log, Metrics } from '../../src/ports.ts';
import { gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';
import { countRows, type Lake, lakePerTest, readPublished } from './compact-lake.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = T0 + 3 * HOUR;
const PLAN = 'plan-workers';
/** Two keys a chunk: the nine keys of the lake make five chunks, so the workers share them out. */
const CHUNK = 2;

const lake = lakePerTest();

/**
 * Eight raw objects of every stream type over two event hours: re-deliveries within and across
 * objects (so across chunks), bad lines, an event older than the late horizon (of its object's
 * arrival hour), a corrupt and an empty object, and a key that is not a raw object.
 */
async function fillLake(l: Lake): Promise<string[]> {
  const keys: string[] = [];
  const put = async (type: Parameters<typeof rawKey>[0], name: string, body: Uint8Array) => {
    const key = rawKey(type, T0 + HOUR, name);
    await l.store.put(key, body);
    keys.push(key);
  };
  const audit = rawLines(message('kube-apiserver-audit', sampleEvents('kube-apiserver-audit', T0 + 50 * 60_000, 40)));
  const sched = rawLines(message('kube-scheduler', sampleEvents('kube-scheduler', T0 + 55 * 60_000, 30, 500)));
  const auth = rawLines(message('authenticator', sampleEvents('authenticator', T0 + 20 * 60_000, 20, 900)));
  const old = rawLines(message('kube-scheduler', sampleEvents('kube-scheduler', T0 - 72 * HOUR, 3, 700)));
  await put('kube-apiserver-audit', 'a0', gzipObject([...audit.slice(0, 25), ...audit.slice(0, 3)], 2));
  await put('kube-apiserver-audit', 'a1', gzipObject([...audit.slice(20), 'not json', '{"cut":'], 3));
  await put('kube-apiserver-audit', 'a2', gzipObject(audit.slice(10, 15)));
  await put('kube-scheduler', 's0', gzipObject([...sched.slice(0, 20), ...old]));
  await put('kube-scheduler', 's1', gzipObject(sched.slice(15)));
  await put('authenticator', 'u0', gzipObject(auth));
  const corrupt = gzipObject(auth.slice(0, 10));
  await put('authenticator', 'u1', corrupt.subarray(0, corrupt.length - 12));
  await put('authenticator', 'u2', new Uint8Array(0));
  await l.store.put('raw/manual-upload.txt', 'x');
  keys.push('raw/manual-upload.txt');
  return keys;
}

/** Everything a compaction leaves that a reader or an operator sees, minus generation-independent noise. */
async function outcome(l: Lake, sum: CompactionSummary) {
  const quarantine: Record<string, string> = {};
  for await (const o of l.store.list('quarantine/')) {
    const body = (await l.store.get(o.key))!.body;
    quarantine[o.key] = o.key.endsWith('.ndjson.gz') ? gunzipSync(body).toString() : Buffer.from(body).toString();
  }
  const staged: string[] = [];
  for await (const o of l.store.list('control/staging/')) staged.push(o.key);
  const partitions: Record<string, string[]> = {};
  for (const t of ['audit_events', 'component_logs', 'authenticator_logs', 'unparsed_logs']) {
    partitions[t] = (await l.catalog.listPartitions(t)).map((p) => `${p.values.join('/')} ${p.location}`).sort();
  }
  return { sum, published: await readPublished(l.store, l.catalog), partitions, quarantine, staged };
}

const withWorkers = (l: Lake, workers: number): ChunkStager =>
  workers === 1 ? IN_PROCESS_STAGER : createWorkerStager({ lakeDir: l.dir, workers });

async function run(l: Lake, keys: string[], workers: number, extra: Parameters<Lake['deps']>[1] = {}) {
  return compactObjects(l.deps(NOW, extra), { planId: PLAN, keys, chunkSize: CHUNK, stager: withWorkers(l, workers) });
}

describe('compactObjects with stage workers', () => {
  it('publishes the same rows, counts, partitions, quarantine and staged files with 1, 2 and 3 workers', async () => {
    const results = [];
    for (const workers of [1, 2, 3]) {
      const l = lake();
      const keys = await fillLake(l);
      expect(chunkKeys(keys, CHUNK)).toHaveLength(5);
      results.push(await outcome(l, await run(l, keys, workers)));
    }
    const [one, ...others] = results;
    expect(one!.sum).toMatchObject({
      objects: 8,
      emptyObjects: 1,
      quarantinedObjects: 1,
      ignoredKeys: 1,
      quarantineReasons: { non_json: 1, truncated_json: 1, time_out_of_range: 3 },
    });
    expect(one!.sum.duplicates).toBeGreaterThan(3);
    expect(countRows(one!.published)).toBe(40 + 30 + 20);
    for (const o of others) expect(o).toEqual(one);
  });

  it('surfaces an object a worker cannot read as the same error, class and message as in-process', async () => {
    const errors: unknown[] = [];
    for (const workers of [1, 2]) {
      const l = lake();
      const keys = await fillLake(l);
      // A raw-looking key that the folder store refuses: the read throws, it is no quarantine.
      const bad = 'raw/log_type=kube-scheduler/dt=2026-11-27/hour=02/..';
      errors.push(await run(l, [...keys, bad], workers).catch((e: unknown) => e));
      expect(await l.catalog.listPartitions('audit_events')).toEqual([]);
    }
    const [inProcess, inWorker] = errors as Error[];
    expect(inProcess).toBeInstanceOf(InvalidInputError);
    expect(inWorker).toBeInstanceOf(InvalidInputError);
    expect(inWorker!.name).toBe('InvalidInputError');
    expect(inWorker!.message).toBe(inProcess!.message);
    expect(inWorker!.message).toMatch(/invalid object key/);
  });

  it('adds no duplicates when a run that crashed is rerun with another worker count', async () => {
    const clean = lake();
    const want = await outcome(clean, await run(clean, await fillLake(clean), 1));

    // Crash 1: the workers die while chunks are still staging (some staged, some not).
    // Crash 2: the catalog fails after the first table was switched.
    for (const [crashWorkers, rerunWorkers] of [
      [2, 1],
      [3, 2],
      [1, 3],
    ] as const) {
      for (const crash of ['staging', 'publish'] as const) {
        const l = lake();
        const keys = await fillLake(l);
        let stager = withWorkers(l, crashWorkers);
        if (crash === 'staging' && crashWorkers > 1) {
          const inner = stager as ReturnType<typeof createWorkerStager>;
          let done = 0;
          stager = {
            concurrency: inner.concurrency,
            // The pool dies once two chunks are staged: their files stay, the run fails there
            // (not later by chance: a close racing the last dispatches could let the run finish).
            stage: async (deps, input) => {
              const r = await inner.stage(deps, input);
              if (++done === 2) {
                await inner.close();
                throw new Error('stage workers died');
              }
              return r;
            },
            merge: inner.merge,
            close: () => inner.close(),
          };
        }
        let switches = 0;
        const catalog: Catalog = {
          getPartition: (t, v) => l.catalog.getPartition(t, v),
          listPartitions: (t) => l.catalog.listPartitions(t),
          putPartitions: async (t, p) => {
            if (crash === 'publish' && ++switches === 2) throw new Error('catalog unavailable');
            return l.catalog.putPartitions(t, p);
          },
        };
        if (crash === 'publish' || crashWorkers > 1) {
          await expect(
            compactObjects(l.deps(NOW, { catalog }), { planId: PLAN, keys, chunkSize: CHUNK, stager }),
          ).rejects.toThrow();
        }
        const rerun = await outcome(l, await run(l, keys, rerunWorkers));
        expect(rerun.published, `${crash} crash with ${crashWorkers}, rerun with ${rerunWorkers}`).toEqual(
          want.published,
        );
        expect(rerun.staged).toEqual(want.staged);
        expect(rerun.quarantine).toEqual(want.quarantine);
      }
    }
  });

  it("stages the same whatever the caller's clock, and passes the workers' log lines and metrics to the caller", async () => {
    const seen: Record<string, { logs: string[]; metrics: string[]; sum: CompactionSummary }> = {};
    for (const workers of [1, 2]) {
      // A clock 10 h before the events and one 3 days after them: bounds come from the input (F25).
      for (const now of [T0 - 10 * HOUR, NOW + 72 * HOUR]) {
        const l = lake();
        const keys = await fillLake(l);
        const logs: string[] = [];
        const metrics: string[] = [];
        const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
          logs.push(`${level} ${msg} ${JSON.stringify(fields)}`);
        const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
        const m: Metrics = {
          count: (name, value, dims) => metrics.push(`${name}=${value} ${JSON.stringify(dims ?? {})}`),
          gauge: (name, value) => metrics.push(`${name}:${value}`),
        };
        const sum = await compactObjects(
          { ...l.deps(now), log, metrics: m },
          { planId: PLAN, keys, chunkSize: CHUNK, stager: withWorkers(l, workers) },
        );
        seen[`${workers}@${now}`] = { logs: logs.sort(), metrics: metrics.sort(), sum };
      }
    }
    const [first, ...others] = Object.values(seen);
    expect(first!.sum.quarantineReasons).toEqual({ non_json: 1, truncated_json: 1, time_out_of_range: 3 });
    for (const o of others) expect(o).toEqual(first);
    expect(first!.logs.some((l) => l.startsWith('info staged raw objects'))).toBe(true);
    expect(first!.metrics).toContain('QuarantinedObjects=1 {"reason":"corrupt_gzip"}');
  });

  it('closes the stager once, after success and after a failure', async () => {
    for (const fail of [false, true]) {
      const l = lake();
      const keys = await fillLake(l);
      let closed = 0;
      const stager: ChunkStager = {
        concurrency: 2,
        stage: async (deps, input) => {
          if (fail && input.chunkId === 'c00001') throw new Error('chunk failed');
          return IN_PROCESS_STAGER.stage(deps, input);
        },
        close: async () => {
          closed++;
        },
      };
      const done = compactObjects(l.deps(NOW), { planId: PLAN, keys, chunkSize: CHUNK, stager });
      if (fail) await expect(done).rejects.toThrow('chunk failed');
      else await done;
      expect(closed).toBe(1);
    }
  });
});

describe('chunkKeys', () => {
  const keysOf = (n: number) => Array.from({ length: n }, (_, i) => rawKey('kube-scheduler', T0, `k${i}`));

  it.each([
    [0, []],
    [1, [1]],
    [21, [21]],
    [32, [32]],
    [33, [16, 17]],
    [100, [25, 25, 25, 25]],
  ])('splits %i keys into even chunks of at most 32 keys (%j), whatever their order', (n, sizes) => {
    const keys = keysOf(n);
    const chunks = chunkKeys([...keys].reverse());
    expect(chunks.map((c) => c.length)).toEqual(sizes);
    expect(chunks.flat()).toEqual([...keys].sort());
  });

  it('keeps 1000 keys in 32 chunks of 31 or 32 keys', () => {
    const sizes = chunkKeys(keysOf(1000)).map((c) => c.length);
    expect(sizes).toHaveLength(32);
    expect([Math.min(...sizes), Math.max(...sizes)]).toEqual([31, 32]);
  });

  it('cuts fixed-size chunks when given a chunk size, and rejects a size below 1', () => {
    expect(chunkKeys(keysOf(5), 2).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(() => chunkKeys(keysOf(5), 0)).toThrow(InvalidInputError);
  });
});

describe('compactObjects with one chunk', () => {
  it('stages in this process without starting a worker, and still closes the stager', async () => {
    const l = lake();
    const keys = await fillLake(l);
    let staged = 0;
    let closed = 0;
    const stager: ChunkStager = {
      concurrency: 2,
      stage: async (deps, input) => {
        staged++;
        return IN_PROCESS_STAGER.stage(deps, input);
      },
      close: async () => {
        closed++;
      },
    };
    const sum = await compactObjects(l.deps(NOW), { planId: PLAN, keys, stager });
    expect(sum.objects).toBe(8);
    expect([staged, closed]).toEqual([0, 1]);
  });
});
