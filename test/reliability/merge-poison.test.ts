import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalRunOptions, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { readAttempts, readProcessed, readWatermark } from '../../src/pipeline/ledger.ts';
import { readRunFile } from '../../src/pipeline/plan.ts';
import type { RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import { cwlId, makeTestLake, publishedRows, putRawObject, type TestLake } from '../statemachine/helpers/test-lake.ts';
import { keysUnder } from './pipeline.ts';

// A partition whose merge fails for its own reasons in every run (a Lambda timeout or OOM on a
// huge partition, a corrupt staged file) must settle like a stage failure (matrix F9, F21, F22):
// after `poisonAfterFailedRuns` runs the raw objects whose rows it holds are poison, and the
// window completes instead of failing every run for good.

const ARRIVAL_HOUR = 'dt=2025-01-03/hour=10';
const FIRST_RUN = Date.parse('2025-01-03T10:15:00Z');

let lake: TestLake;
afterEach(() => lake?.cleanup());

type Wrap = NonNullable<LocalRunOptions['wrapTask']>;

/** Runs the scheduled window `i` (15 minutes apart) with one fault wrapped around the Tasks. */
async function scheduledRun(i: number, wrapTask?: Wrap, executionName = `sched-${i}`) {
  const scheduledTime = new Date(FIRST_RUN + i * 15 * 60_000).toISOString();
  lake.clock.current = new Date(Date.parse(scheduledTime) + 5 * 60_000);
  const run = await runLocalWorkflow({ scheduledTime }, { deps: lake.deps, executionName, wrapTask });
  // A failed execution's summary is the input of the Fail state it ended in.
  const failed = run.failedStateInput as { summary?: RunSummary } | undefined;
  return {
    status: run.status,
    error: run.error ?? null,
    cause: run.cause ?? '',
    summary: (run.output as RunSummary | undefined) ?? failed?.summary,
  };
}

/** A whole MergePartition invocation that dies with `name` (Step Functions keeps only the name). */
function mergeInvocationFails(
  name: string,
  message: string,
  when: (partitions: string[][]) => boolean = () => true,
): Wrap {
  return (state, handler) =>
    state !== 'MergePartition'
      ? handler
      : async (input: { Payload: { planId: string; groupId: number; lease: { holder: string } } }) => {
          const { planId, groupId, lease } = input.Payload;
          const plan = await readRunFile<{ groups: { groupId: number; partitions: { values: string[] }[] }[] }>(
            lake.store,
            `${lease.holder}/${planId}`,
            'merge.json',
          );
          const group = plan.groups.find((g) => g.groupId === groupId)!;
          if (!when(group.partitions.map((p) => p.values))) return handler(input);
          const e = new Error(message);
          e.name = name;
          throw e;
        };
}

/** After every StageObjects, the staged files (`ext`) of one event hour are overwritten with bytes that do not parse. */
function corruptStaged(eventHour: string, ext: '.parquet' | '.json'): Wrap {
  return (state, handler) =>
    state !== 'StageObjects'
      ? handler
      : async (input: unknown) => {
          const out = await handler(input);
          for (const key of await keysUnder(lake.store, 'control/staging/')) {
            if (key.includes(`/${eventHour}/`) && key.endsWith(ext)) await lake.store.put(key, '{"rows": 1, "sour');
          }
          return out;
        };
}

async function publishedIds(): Promise<string[]> {
  return (await publishedRows(lake, 'audit_events')).map((r) => String(r.event_id));
}

async function poisonNote(key: string) {
  const got = await lake.store.get(`quarantine/objects/${key}.reason.json`);
  return JSON.parse(Buffer.from(got!.body).toString('utf8'));
}

describe('merge failures toward poison', () => {
  it.each([
    ['a Lambda timeout', 'Sandbox.Timedout', 'Task timed out after 900.00 seconds'],
    [
      'an out-of-memory kill',
      'Lambda.Unknown',
      'The cause could not be determined: Runtime exited with error: signal: killed',
    ],
  ])(
    'marks the objects of a partition whose merge dies by %s in 3 runs poison, and the window completes',
    async (_, name, message) => {
      lake = makeTestLake('2025-01-03T10:20:00Z');
      const key = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
      const fault = mergeInvocationFails(name, message);

      for (const i of [0, 1]) {
        expect(await scheduledRun(i, fault)).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
        expect((await readAttempts(lake.store, ARRIVAL_HOUR))[key]).toMatchObject({ runs: i + 1 });
        expect(await readProcessed(lake.store, ARRIVAL_HOUR)).toEqual({});
      }
      const third = await scheduledRun(2, fault);
      expect(third).toMatchObject({ status: 'SUCCEEDED', summary: { poisonedObjects: 1, failedItems: 0 } });
      expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))).toEqual([key]);
      expect((await readWatermark(lake.store))?.completeThrough).toBe('2025-01-03T10:45:00.000Z');
      expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([
        `quarantine/objects/${key}`,
        `quarantine/objects/${key}.reason.json`,
      ]);
      const note = await poisonNote(key);
      expect(note).toMatchObject({ reason: 'poison', failedRuns: 3, key, copied: true });
      expect(note.detail).toContain('audit_events/111122223333/prod-eu-1/2025-01-03/10');
      expect(note.detail).toContain(name);

      // Never planned again, so the partition's merge is not attempted again either.
      expect(await scheduledRun(3, fault)).toMatchObject({
        status: 'SUCCEEDED',
        summary: { objects: 0, poisonedObjects: 0 },
      });
    },
  );

  it.each([
    {
      file: 'Parquet file',
      ext: '.parquet' as const,
      // With rows already published the merge decodes the staged file; its sidecar still names its objects.
      published: true,
      countedFirst: (split: string, _clean: string) => [split],
    },
    {
      file: 'sidecar',
      ext: '.json' as const,
      published: false,
      // The sidecar is what names the objects: unreadable, every object of the chunk counts.
      countedFirst: (split: string, clean: string) => [split, clean].sort(),
    },
  ])(
    'poisons the objects of a partition whose staged $file is corrupt; the other partition of its chunk and the chunk’s other object publish',
    async ({ ext, published, countedFirst }) => {
      lake = makeTestLake('2025-01-03T10:20:00Z', { maxChunkObjects: 10 });
      let i = 0;
      if (published) {
        await putRawObject(lake, '2025-01-03T10:04:00Z', [{ id: '0', time: '2025-01-03T09:50:00Z' }]);
        expect(await scheduledRun(i++)).toMatchObject({ status: 'SUCCEEDED' });
      }
      const arrival = new Date(FIRST_RUN + (i - 1) * 15 * 60_000 + 5 * 60_000);
      // Two event hours in one object: hour 09 is the partition that cannot merge.
      const split = await putRawObject(lake, arrival.toISOString(), [
        { id: '1', time: '2025-01-03T09:58:00Z' },
        { id: '2', time: '2025-01-03T10:01:00Z' },
      ]);
      const clean = await putRawObject(lake, new Date(arrival.getTime() + 60_000).toISOString(), [
        { id: '3', time: '2025-01-03T10:02:00Z' },
      ]);
      const fault = corruptStaged('dt=2025-01-03/hour=09', ext);
      const before = published ? [cwlId('0')] : [];

      const first = await scheduledRun(i++, fault);
      expect(first).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError', summary: { failedItems: 1 } });
      expect(first.cause).toContain('audit_events/111122223333/prod-eu-1/2025-01-03/09: ');
      expect(Object.keys(await readAttempts(lake.store, ARRIVAL_HOUR))).toEqual(countedFirst(split, clean));
      // Hour 10 of the same chunk published.
      expect(await publishedIds()).toEqual([...before, cwlId('2'), cwlId('3')]);

      expect(await scheduledRun(i++, fault)).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
      expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))).toEqual(
        published ? [expect.any(String), clean] : [clean],
      );

      const third = await scheduledRun(i++, fault);
      expect(third).toMatchObject({ status: 'SUCCEEDED', summary: { poisonedObjects: 1, failedItems: 0 } });
      expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))).toContain(split);
      expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([
        `quarantine/objects/${split}`,
        `quarantine/objects/${split}.reason.json`,
      ]);
      expect((await poisonNote(split)).detail).toContain(
        'merge of partition audit_events/111122223333/prod-eu-1/2025-01-03/09 failed',
      );
      // Hour 09's row of the poisoned object is only in its quarantined copy; nothing is published twice.
      expect(await publishedIds()).toEqual([...before, cwlId('2'), cwlId('3')]);
      expect((await lake.store.get(`quarantine/objects/${split}`))!.body).toEqual((await lake.store.get(split))!.body);
    },
  );

  it('merges the partitions of a group that died in their own groups next run, so only the failing partition’s objects are poisoned', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { maxChunkObjects: 10, mergeGroupSize: 25 });
    const bad = await putRawObject(lake, '2025-01-03T10:05:00Z', [
      { id: '1', time: '2025-01-03T10:01:00Z', cluster: 'huge-1' },
    ]);
    const good = await putRawObject(lake, '2025-01-03T10:06:00Z', [
      { id: '2', time: '2025-01-03T10:02:00Z', cluster: 'prod-eu-1' },
    ]);
    // The invocation dies whenever its group holds the huge cluster's partition.
    const fault = mergeInvocationFails('Sandbox.Timedout', 'Task timed out after 900.00 seconds', (partitions) =>
      partitions.some((v) => v[1] === 'huge-1'),
    );

    expect(await scheduledRun(0, fault)).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect(Object.keys(await readAttempts(lake.store, ARRIVAL_HOUR)).sort()).toEqual([bad, good].sort());
    expect(await publishedRows(lake, 'audit_events')).toEqual([]);

    expect(await scheduledRun(1, fault)).toMatchObject({ status: 'FAILED', error: 'ItemsFailedError' });
    expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))).toEqual([good]);
    expect(await publishedIds()).toEqual([cwlId('2')]);

    const third = await scheduledRun(2, fault);
    expect(third).toMatchObject({ status: 'SUCCEEDED', summary: { poisonedObjects: 1 } });
    expect((await readAttempts(lake.store, ARRIVAL_HOUR))[bad]).toMatchObject({ runs: 3, poisoned: true });
    expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([
      `quarantine/objects/${bad}`,
      `quarantine/objects/${bad}.reason.json`,
    ]);
  });

  it.each([
    ['KMS.AccessDeniedException', 'AccessDeniedError'],
    ['ThrottlingException', 'ThrottledError'],
  ])(
    'never counts a merge that fails with %s toward poison; once it passes every object is published',
    async (name, error) => {
      lake = makeTestLake('2025-01-03T10:20:00Z');
      const key = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
      const fault = mergeInvocationFails(name, 'the environment refused');

      for (const i of [0, 1, 2, 3]) expect(await scheduledRun(i, fault)).toMatchObject({ status: 'FAILED', error });
      expect(await readAttempts(lake.store, ARRIVAL_HOUR)).toEqual({});
      expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([]);

      expect(await scheduledRun(4)).toMatchObject({ status: 'SUCCEEDED', summary: { poisonedObjects: 0 } });
      expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))).toEqual([key]);
      expect(await publishedRows(lake, 'audit_events')).toHaveLength(1);
    },
  );

  it('counts a failed merge once per execution: running the same execution again does not bring poison closer', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const key = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const fault = mergeInvocationFails('Sandbox.Timedout', 'Task timed out after 900.00 seconds');

    for (const i of [0, 1, 2])
      expect(await scheduledRun(i, fault, 'same-execution')).toMatchObject({ status: 'FAILED' });
    expect((await readAttempts(lake.store, ARRIVAL_HOUR))[key]).toMatchObject({ runs: 1 });
    expect(await keysUnder(lake.store, 'quarantine/objects/')).toEqual([]);
  });

  it('counts a backfill’s failed merge once per backfill: its child and the child’s automatic retry are one run', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1 });
    const bad = await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '30', time: '2025-01-03T07:09:00Z' }]);
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '31', time: '2025-01-03T08:09:00Z' }]);
    const fault = mergeInvocationFails('Sandbox.Timedout', 'Task timed out after 900.00 seconds', (partitions) =>
      partitions.some((v) => v[3] === '07'),
    );
    const backfill = { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' };

    for (const [n, name] of ['backfill-1', 'backfill-2'].entries()) {
      const run = await runLocalWorkflow(backfill, { deps: lake.deps, executionName: name, wrapTask: fault });
      expect(run).toMatchObject({ status: 'FAILED' });
      expect((await readAttempts(lake.store, 'dt=2025-01-03/hour=07'))[bad]).toMatchObject({
        runs: n + 1,
        lastExecution: name,
      });
    }
    const third = await runLocalWorkflow(backfill, { deps: lake.deps, executionName: 'backfill-3', wrapTask: fault });
    expect(third).toMatchObject({ status: 'SUCCEEDED', output: { poisonedObjects: 1, failedItems: 0 } });
    expect(Object.keys(await readProcessed(lake.store, 'dt=2025-01-03/hour=07'))).toEqual([bad]);
    expect(await publishedIds()).toEqual([cwlId('31')]);
  });
});

describe('merge failures in any order (property)', () => {
  const PARTITIONS = ['prod-a/09', 'prod-a/10', 'prod-b/10'] as const;
  const execution = fc.record({
    failing: fc.subarray([...PARTITIONS], { minLength: 1 }),
    error: fc.constantFrom('Sandbox.Timedout', 'Lambda.Unknown', 'ThrottlingException'),
  });

  it('poisons an object only in a run that failed a partition of its own rows for its own reasons, never publishes an event twice, and a clean run then publishes every other object', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(execution, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(1, 25),
        async (executions, mergeGroupSize) => {
          lake?.cleanup();
          lake = makeTestLake('2025-01-03T10:20:00Z', {
            maxChunkObjects: 10,
            mergeGroupSize,
            poisonAfterFailedRuns: 2,
          });
          const objects = [
            {
              events: [
                { id: '1', time: '2025-01-03T10:01:00Z', cluster: 'prod-a' },
                { id: '2', time: '2025-01-03T09:59:00Z', cluster: 'prod-a' },
              ],
            },
            { events: [{ id: '3', time: '2025-01-03T10:02:00Z', cluster: 'prod-a' }] },
            { events: [{ id: '4', time: '2025-01-03T10:03:00Z', cluster: 'prod-b' }] },
          ];
          const keys: string[] = [];
          for (const [i, o] of objects.entries())
            keys.push(await putRawObject(lake, `2025-01-03T10:0${5 + i}:00Z`, o.events));
          const eventsOf = new Map(keys.map((k, i) => [k, objects[i]!.events]));
          const partitionsOf = (key: string) => eventsOf.get(key)!.map((e) => `${e.cluster}/${e.time.slice(11, 13)}`);
          const poisonedNow = async () =>
            Object.entries(await readAttempts(lake.store, ARRIVAL_HOUR)).flatMap(([k, a]) => (a.poisoned ? [k] : []));

          let objectRuns = 0;
          for (const [i, e] of executions.entries()) {
            const before = new Set(await poisonedNow());
            const failing = new Set<string>(e.failing);
            await scheduledRun(
              i,
              mergeInvocationFails(e.error, 'injected', (ps) => ps.some((v) => failing.has(`${v[1]}/${v[3]}`))),
            );
            if (e.error !== 'ThrottlingException') objectRuns++;
            const published = await publishedIds();
            expect(new Set(published).size).toBe(published.length);
            const attempts = await readAttempts(lake.store, ARRIVAL_HOUR);
            for (const a of Object.values(attempts)) expect(a.runs).toBeLessThanOrEqual(objectRuns);
            for (const k of await poisonedNow()) {
              if (before.has(k)) continue;
              // Poisoned in this run: one of its own partitions failed here, for its own reasons.
              expect(e.error).not.toBe('ThrottlingException');
              expect(partitionsOf(k).some((p) => failing.has(p))).toBe(true);
              expect(await lake.store.get(`quarantine/objects/${k}`)).toBeDefined();
            }
            const poisoned = new Set(await poisonedNow());
            for (const k of Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR))) {
              if (poisoned.has(k)) continue;
              for (const ev of eventsOf.get(k)!) expect(published).toContain(cwlId(ev.id));
            }
          }
          expect(await scheduledRun(executions.length)).toMatchObject({ status: 'SUCCEEDED' });
          const poisoned = new Set(await poisonedNow());
          expect(Object.keys(await readProcessed(lake.store, ARRIVAL_HOUR)).sort()).toEqual([...keys].sort());
          const published = await publishedIds();
          for (const k of keys.filter((key) => !poisoned.has(key))) {
            for (const ev of eventsOf.get(k)!) expect(published).toContain(cwlId(ev.id));
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});
