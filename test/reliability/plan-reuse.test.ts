import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalRunOptions, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { MANIFEST_NAME } from '../../src/core/compact/index.ts';
import { CommitConflictError } from '../../src/core/errors.ts';
import { type CompactionDeps, mergePartition, publishPartitions, stageObjects } from '../../src/pipeline/compact.ts';
import { readOwedAthenaWork, readProcessed } from '../../src/pipeline/ledger.ts';
import type { StoredPlan } from '../../src/pipeline/plan.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { cwlId, makeTestLake, publishedRows, putRawObject, type TestLake } from '../statemachine/helpers/test-lake.ts';

// A later execution can plan exactly the objects of an earlier one (same planId): the next
// scheduled run after a failed one, the automatic retry of a backfill child, an operator's
// re-run. Nothing the earlier one left behind (staged results, generations, stalled merges) may
// make an object count as processed without its rows published, nor change a published generation.

let lake: TestLake;
afterEach(() => lake?.cleanup());

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const HOUR_07 = 'dt=2025-01-03/hour=07';

const eventIds = async (l: TestLake) => (await publishedRows(l, 'audit_events')).map((r) => r.event_id);

function failure(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Fails chunk `chunkId` of StageObjects while `active()` holds (an object unreadable this time). */
function failingChunk(chunkId: number, active: () => boolean, wrap?: LocalRunOptions['wrapTask']) {
  return ((state, h) => {
    const inner = wrap ? wrap(state, h) : h;
    if (state !== 'StageObjects') return inner;
    return async (i) => {
      if (active() && i.Payload.chunkId === chunkId) throw failure('RawObjectError', 'injected: read failed');
      return inner(i);
    };
  }) satisfies LocalRunOptions['wrapTask'];
}

/** A new lake with two raw objects, a chunk each, both with events in the partition of hour 10; their keys. */
async function twoChunksOfHour10(): Promise<string[]> {
  lake = makeTestLake('2025-01-03T10:20:00Z', { maxChunkObjects: 1 });
  return [
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]),
    await putRawObject(lake, '2025-01-03T10:06:00Z', [{ id: '2', time: '2025-01-03T10:02:00Z' }]),
  ];
}

/**
 * Runs a backfill of hours 07–08 (a child per hour) in which the first attempt of the child
 * starting at `childFrom` fails chunk 1 and then fails at RunAthenaSteps after its steps ran,
 * so Step Functions' Retry runs that child again under the same lease holder and run files.
 */
async function backfillRetryingChild(l: TestLake, executionName: string, childFrom: string) {
  let attempt = 0;
  const run = await runLocalWorkflow(
    { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' },
    {
      deps: l.deps,
      executionName,
      wrapTask: failingChunk(
        1,
        () => attempt === 1,
        (state, h) => {
          if (state === 'StartChildExecution')
            return async (i) => {
              if (i.Input.from === childFrom) attempt++;
              return h(i);
            };
          if (state === 'RunAthenaSteps')
            return async (i) => {
              const out = await h(i);
              if (attempt === 1) throw failure('QueryFailedError', 'injected: Athena statement failed');
              return out;
            };
          return h;
        },
      ),
    },
  );
  return { run, attempts: attempt };
}

describe('a later execution of the same plan', () => {
  for (const failAt of ['PublishPartitions', 'RunAthenaSteps'] as const) {
    it(`publishes the rows of a chunk that failed in an earlier run that then failed at ${failAt}`, async () => {
      const keys = await twoChunksOfHour10();
      const first = await runLocalWorkflow(
        { scheduledTime: '2025-01-03T10:15:00Z' },
        {
          deps: lake.deps,
          executionName: 'run-1',
          wrapTask: failingChunk(
            1,
            () => true,
            (state, h) =>
              state !== failAt
                ? h
                : async (i) => {
                    // RunAthenaSteps fails after the publish; PublishPartitions before it.
                    if (failAt === 'RunAthenaSteps') await h(i);
                    throw failure('QueryFailedError', `injected: ${failAt} failed`);
                  },
          ),
        },
      );
      expect(first).toMatchObject({ status: 'FAILED', failedState: failAt });
      expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({});

      lake.clock.advance(40 * 60_000); // the failed run's lease expires
      const second = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:30:00Z' }, { deps: lake.deps });
      expect(second.status).toBe('SUCCEEDED');
      expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).sort()).toEqual([...keys].sort());
      expect(await eventIds(lake)).toEqual(['1', '2'].map(cwlId));
    });
  }

  it('publishes the rows of a chunk that failed in the first attempt of a retried backfill child', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1, maxChunkObjects: 1 });
    const keys = [
      await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '30', time: '2025-01-03T07:09:00Z' }]),
      await putRawObject(lake, '2025-01-03T07:11:00Z', [{ id: '31', time: '2025-01-03T07:10:00Z' }]),
    ];
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '40', time: '2025-01-03T08:09:00Z' }]);
    // The child for hour 07 shares the parent's lease holder and run files with its retry.
    const { run, attempts } = await backfillRetryingChild(lake, 'backfill-1', '2025-01-03T07:00:00.000Z');
    expect(attempts).toBe(2); // the child's Retry ran it again
    expect(run.status).toBe('SUCCEEDED');
    expect(Object.keys(await readProcessed(lake.store, HOUR_07)).sort()).toEqual([...keys].sort());
    expect(await eventIds(lake)).toEqual(['30', '31', '40'].map(cwlId));
  });

  it("builds the rollups a retried backfill child changed itself, not only its first attempt's", async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1, maxChunkObjects: 1 });
    await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '40', time: '2025-01-03T07:09:00Z' }]);
    // The last child (hour 08) is the one retried, so no later child takes on what it leaves owed.
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '30', time: '2025-01-03T08:09:00Z' }]);
    await putRawObject(lake, '2025-01-03T08:11:00Z', [{ id: '31', time: '2025-01-03T08:10:00Z' }]);
    const { run, attempts } = await backfillRetryingChild(lake, 'backfill-2', '2025-01-03T08:00:00.000Z');
    expect(attempts).toBe(2);
    expect(run.status).toBe('SUCCEEDED');
    expect(await eventIds(lake)).toEqual(['30', '31', '40'].map(cwlId));
    // The first attempt built hour 08's rollup from event 30 alone; the retry, which added event
    // 31, rebuilt it instead of finding the first attempt's finished steps: nothing is left owed.
    expect((await readOwedAthenaWork(lake.store)).rollups).toEqual({});
  });

  it('stages every object again when a retried backfill child numbers its chunks differently', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1, maxChunkObjects: 2 });
    // a, b (chunk 0) and c, d (chunk 1) of arrival hour 07. After chunk 0 fails, the retry plans
    // the same four objects (same planId) as c, d (chunk 0) and the suspects a and b (chunks 1, 2).
    const keys = [
      await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '1', time: '2025-01-03T07:09:00Z' }]),
      await putRawObject(lake, '2025-01-03T07:11:00Z', [{ id: '2', time: '2025-01-03T07:10:00Z' }]),
      await putRawObject(lake, '2025-01-03T07:12:00Z', [{ id: '3', time: '2025-01-03T07:11:00Z' }]),
      await putRawObject(lake, '2025-01-03T07:13:00Z', [{ id: '4', time: '2025-01-03T07:12:00Z' }]),
    ];
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '9', time: '2025-01-03T08:09:00Z' }]);
    let attempt = 0;
    const read: string[] = [];
    const steps = lake.deps.compaction;
    const stage = steps.stageObjects.bind(steps);
    steps.stageObjects = async (i) => {
      if (attempt === 2) read.push(...i.keys);
      return stage(i);
    };
    const run = await runLocalWorkflow(
      { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' },
      {
        deps: lake.deps,
        executionName: 'backfill-2',
        wrapTask: failingChunk(
          0,
          () => attempt === 1,
          (state, h) => {
            if (state === 'StartChildExecution')
              return async (i) => {
                if (i.Input.from === '2025-01-03T07:00:00.000Z') attempt++;
                return h(i);
              };
            if (state === 'MergePartition' && attempt === 1)
              return async () => {
                throw failure('Sandbox.Timedout', 'Task timed out after 900.00 seconds');
              };
            return h;
          },
        ),
      },
    );
    expect(attempt).toBe(2);
    expect(run.status).toBe('SUCCEEDED');
    // Object a is chunk 1 of the retry: it was read, not taken for attempt 1's chunk 1 (c, d).
    expect(read).toContain(keys[0]);
    expect(Object.keys(await readProcessed(lake.store, HOUR_07)).sort()).toEqual([...keys].sort());
    expect(await eventIds(lake)).toEqual(['1', '2', '3', '4', '9'].map(cwlId));
  });

  it('records no object as processed whose staged rows the published generation lacks, and plans it again', async () => {
    const keys = await twoChunksOfHour10();
    // Chunk 1's staged files vanish between staging and the merge (deleted by hand, or by a
    // lifecycle rule): its partition is published without them.
    const first = await runLocalWorkflow(
      { scheduledTime: '2025-01-03T10:15:00Z' },
      {
        deps: lake.deps,
        executionName: 'run-1',
        wrapTask: (state, h) =>
          state !== 'PlanMerge'
            ? h
            : async (i) => {
                const staged: string[] = [];
                for await (const o of lake.store.list('control/staging/'))
                  if (/\/c00001-/.test(o.key)) staged.push(o.key);
                expect(staged).not.toEqual([]);
                await lake.store.delete(staged);
                return h(i);
              },
      },
    );
    expect(first.status).toBe('FAILED');
    expect(first).toMatchObject({ error: 'ItemsFailedError' });
    expect(first.cause).toContain('1 of 3 items failed');
    expect(first.cause).toContain('chunk 1: UnmergedChunkError');
    expect(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).toEqual({ [keys[0]!]: expect.any(String) });
    expect(await eventIds(lake)).toEqual([cwlId('1')]);

    lake.clock.advance(15 * 60_000);
    const second = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:30:00Z' }, { deps: lake.deps });
    expect(second.status).toBe('SUCCEEDED');
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10')).sort()).toEqual([...keys].sort());
    expect(await eventIds(lake)).toEqual(['1', '2'].map(cwlId));
  });
});

describe('executions of one plan that fail in any order (property)', () => {
  const FAIL_AT = [null, 'PublishPartitions', 'RunAthenaSteps', 'WriteLedger'] as const;
  const execution = fc.record({
    failedChunks: fc.subarray([0, 1, 2]),
    failAt: fc.constantFrom(...FAIL_AT),
  });

  it('never records an object as processed whose events are not all published, and ends with every event once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(execution, { minLength: 1, maxLength: 3 }), async (executions) => {
        lake?.cleanup();
        // Poison would record an object as processed without rows, on purpose: not this property.
        lake = makeTestLake('2025-01-03T10:20:00Z', { maxChunkObjects: 1, poisonAfterFailedRuns: 100 });
        // Three objects, a chunk each; objects 0 and 1 share the partition of hour 10.
        const events = [
          [{ id: '1', time: '2025-01-03T10:01:00Z' }],
          [{ id: '2', time: '2025-01-03T10:02:00Z' }],
          [
            { id: '3', time: '2025-01-03T10:03:00Z' },
            { id: '4', time: '2025-01-03T09:59:00Z' },
          ],
        ];
        const keys: string[] = [];
        for (const [i, e] of events.entries()) keys.push(await putRawObject(lake, `2025-01-03T10:0${5 + i}:00Z`, e));
        const idsOf = new Map(keys.map((k, i) => [k, events[i]!.map((e) => cwlId(e.id))]));
        const check = async () => {
          const published = await eventIds(lake);
          expect(new Set(published).size).toBe(published.length);
          for (const k of Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=10'))) {
            for (const id of idsOf.get(k)!) expect(published).toContain(id);
          }
        };
        let n = 0;
        for (const e of executions) {
          lake.clock.advance(40 * 60_000); // a failed run's lease expires meanwhile
          await runFailing(lake, `run-${++n}`, e.failAt, new Set(e.failedChunks.map((i) => keys[i]!)));
          await check();
        }
        lake.clock.advance(40 * 60_000);
        const last = await runLocalWorkflow({ scheduledTime: lake.clock.now().toISOString() }, { deps: lake.deps });
        expect(last.status).toBe('SUCCEEDED');
        await check();
        expect(await eventIds(lake)).toEqual(['1', '2', '3', '4'].map(cwlId).sort());
      }),
      { numRuns: 8 },
    );
  });
});

/**
 * Runs one scheduled execution in which the chunks holding any of `failing` fail to stage and the
 * top-level state `failAt` (if any) fails after doing its work.
 */
async function runFailing(l: TestLake, executionName: string, failAt: string | null, failing: ReadonlySet<string>) {
  const scheduledTime = new Date(Math.floor(l.clock.now().getTime() / 900_000) * 900_000).toISOString();
  return runLocalWorkflow(
    { scheduledTime },
    {
      deps: l.deps,
      executionName,
      wrapTask: (state, h) => {
        if (state === 'StageObjects')
          return async (i) => {
            const plan = await l.store.get(`control/runs/${executionName}/${i.Payload.planId}/plan.json`);
            const { chunks } = JSON.parse(Buffer.from(plan!.body).toString()) as StoredPlan;
            const chunk = chunks.find((c) => c.chunkId === i.Payload.chunkId)!;
            if (chunk.objects.some((o) => failing.has(o.key))) throw failure('RawObjectError', 'injected: read failed');
            return h(i);
          };
        if (state === failAt)
          return async (i) => {
            await h(i);
            throw failure('QueryFailedError', `injected: ${state} failed after its work`);
          };
        return h;
      },
    },
  );
}

describe('a stale merge', () => {
  const PART = { table: 'audit_events' as const, values: ['111122223333', 'prod-eu-1', '2025-01-03', '10'] };

  it('leaves a generation another run of the same plan published untouched', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const b = await putRawObject(lake, '2025-01-03T10:06:00Z', [{ id: '2', time: '2025-01-03T10:02:00Z' }]);
    const deps: CompactionDeps = { store: lake.store, catalog: lake.catalog, log: QUIET, now: () => lake.clock.now() };
    const planId = 'p0000000000000000001'; // one plan in both executions: same objects and ETags
    const part = { planId, ...PART, values: [...PART.values] };

    // Execution 1 staged chunk 0 only (its chunk 1 failed); its merge read the catalog and the
    // staging, then stalled before its first write while its lease expired.
    await stageObjects(deps, { planId, chunkId: 'c00000', keys: [a] });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const atGate = new Promise<void>((r) => {
      reached = r;
    });
    const writes: string[] = [];
    const stalled = new Proxy(lake.store, {
      get(target, prop, receiver) {
        if (prop === 'put')
          return async (key: string, body: Uint8Array | string, o?: object) => {
            if (key.startsWith('curated/')) {
              reached();
              await gate;
              writes.push(key);
            }
            return target.put(key, body, o);
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as ObjectStore;
    const staleMerge = mergePartition({ ...deps, store: stalled }, part);

    // Execution 2 stages both chunks, merges and publishes.
    await atGate;
    await stageObjects(deps, { planId, chunkId: 'c00001', keys: [b] });
    const merged = await mergePartition(deps, part);
    await publishPartitions(deps, { planId, merged: [merged], fence: async () => {} });
    const published = (await lake.catalog.getPartition(PART.table, PART.values))!.location;
    const before = await snapshot(lake.store, published);
    expect(await eventIds(lake)).toEqual(['1', '2'].map(cwlId));

    release();
    const stale = await staleMerge;
    expect(stale.location).not.toBe(published);
    expect(writes.every((k) => !k.startsWith(published))).toBe(true);
    expect(await snapshot(lake.store, published)).toEqual(before);
    expect(await eventIds(lake)).toEqual(['1', '2'].map(cwlId));
    // Its result cannot be published over the newer generation either.
    await expect(publishPartitions(deps, { planId, merged: [stale], fence: async () => {} })).rejects.toThrow(
      CommitConflictError,
    );
  });

  // Another writer's file under a name this merge writes: a crash left it, or a writer of other code.
  for (const file of ['part-00000.parquet', MANIFEST_NAME]) {
    it(`refuses to replace ${file} of a generation when it holds other bytes, and keeps it`, async () => {
      lake = makeTestLake('2025-01-03T10:20:00Z');
      const a = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
      const deps: CompactionDeps = {
        store: lake.store,
        catalog: lake.catalog,
        log: QUIET,
        now: () => lake.clock.now(),
      };
      const planId = 'p0000000000000000002';
      const part = { planId, ...PART, values: [...PART.values] };
      await stageObjects(deps, { planId, chunkId: 'c00000', keys: [a] });
      const first = await mergePartition(deps, part);
      await lake.store.delete([`${first.location}${MANIFEST_NAME}`]);
      await lake.store.put(`${first.location}${file}`, 'not these bytes');
      await expect(mergePartition(deps, part)).rejects.toThrow(CommitConflictError);
      expect(Buffer.from((await lake.store.get(`${first.location}${file}`))!.body).toString()).toBe('not these bytes');
      const left = await lake.store.get(`${first.location}${MANIFEST_NAME}`);
      // No manifest is written beside another writer's part file; theirs stays as it is.
      expect(left ? Buffer.from(left.body).toString() : 'absent').toBe(
        file === MANIFEST_NAME ? 'not these bytes' : 'absent',
      );
    });
  }

  it('is a no-op when rerun with the same base and staged files, and writes another generation when they differ', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const b = await putRawObject(lake, '2025-01-03T10:06:00Z', [{ id: '2', time: '2025-01-03T10:02:00Z' }]);
    const deps: CompactionDeps = { store: lake.store, catalog: lake.catalog, log: QUIET, now: () => lake.clock.now() };
    const planId = 'p0000000000000000003';
    const part = { planId, ...PART, values: [...PART.values] };
    await stageObjects(deps, { planId, chunkId: 'c00000', keys: [a] });
    const one = await mergePartition(deps, part);
    const oneFiles = await snapshot(lake.store, one.location!);
    expect(await mergePartition(deps, part)).toEqual(one); // crash after the manifest: found, not rewritten
    expect(await snapshot(lake.store, one.location!)).toEqual(oneFiles);
    await publishPartitions(deps, { planId, merged: [one], fence: async () => {} });
    expect(await mergePartition(deps, part)).toMatchObject({ location: one.location, changed: false });

    await stageObjects(deps, { planId, chunkId: 'c00001', keys: [b] });
    const two = await mergePartition(deps, part);
    expect(two).toMatchObject({ changed: true, baseLocation: one.location, addedRows: 1, rows: 2 });
    expect(two.location).not.toBe(one.location);
    expect(two.location).toContain(`/gen=${planId}-`);
    expect(two.chunks).toEqual(['c00000', 'c00001']);
    expect(await snapshot(lake.store, one.location!)).toEqual(oneFiles);
  });
});

/** Key → ETag of every object under a prefix. */
async function snapshot(store: ObjectStore, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const o of store.list(prefix)) out[o.key] = o.etag;
  return out;
}
