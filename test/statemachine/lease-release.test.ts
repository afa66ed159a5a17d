import { afterEach, describe, expect, it } from 'vitest';
import {
  type LocalRunOptions,
  redriveLocalWorkflow,
  runLocalWorkflow,
} from '../../src/adapters/local/local-workflow-runner.ts';
import { PreconditionFailedError } from '../../src/core/errors.ts';
import { acquireLease, LEASE_KEY, readLeaseRecord } from '../../src/pipeline/lease.ts';
import type { RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import { FaultyObjectStore } from '../helpers/faults.ts';
import { makeTestLake, putRawObject, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const NOW = '2025-01-03T10:20:00Z';
const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };
const BACKFILL = { from: '2025-01-03T08:00:00Z', to: '2025-01-03T11:00:00Z' };

async function seed(l: TestLake): Promise<void> {
  await putRawObject(l, '2025-01-03T09:58:00Z', [{ id: '1', time: '2025-01-03T09:57:00Z' }]);
  await putRawObject(l, '2025-01-03T10:05:00Z', [{ id: '2', time: '2025-01-03T10:01:00Z' }]);
}

/** Runs `before` right before the ReleaseLease Task runs. */
const beforeRelease =
  (before: () => Promise<void>): LocalRunOptions['wrapTask'] =>
  (state, run) =>
    state === 'ReleaseLease'
      ? async (input) => {
          await before();
          return run(input);
        }
      : run;

describe('the lease at the end of an execution', () => {
  it('is released by a scheduled run, so a backfill in the same process takes it, fans out and releases it too', async () => {
    lake = makeTestLake(NOW, { childRangeHours: 1 });
    await seed(lake);
    const scheduled = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, executionName: 'demo-scheduled-1' });
    expect(scheduled.status).toBe('SUCCEEDED');
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'demo-scheduled-1', token: 1, released: true });

    const backfill = await runLocalWorkflow(BACKFILL, { deps: lake.deps, executionName: 'demo-backfill-1' });
    expect(backfill.status).toBe('SUCCEEDED');
    expect((backfill.output as RunSummary).status).toBe('succeeded');
    // Three one-hour children, one at a time under the parent's name, each taking and giving back the lease.
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'demo-backfill-1', token: 4, released: true });

    const again = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, executionName: 'demo-scheduled-2' });
    expect(again.status).toBe('SUCCEEDED');
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'demo-scheduled-2', token: 5, released: true });
  });

  it('fails the execution at ReleaseLease when the release keeps losing its conditional write; a redrive releases it', async () => {
    lake = makeTestLake(NOW);
    await seed(lake);
    const faulty = new FaultyObjectStore(lake.store);
    const deps = { ...lake.deps, store: faulty };
    const lost = () => new PreconditionFailedError('412 Precondition Failed', LEASE_KEY);
    const run = await runLocalWorkflow(SCHEDULED, {
      deps,
      executionName: 'sched-a',
      wrapTask: beforeRelease(async () => {
        faulty.failOn({ op: 'put', match: LEASE_KEY, times: Number.POSITIVE_INFINITY, error: lost });
      }),
    });
    expect(run).toMatchObject({ status: 'FAILED', error: 'RetryableError', failedState: 'ReleaseLease' });
    expect(run.cause).toMatch(/kept changing while releasing/);
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'sched-a', released: false });

    faulty.faults.clear();
    const redriven = await redriveLocalWorkflow(run, { deps });
    expect(redriven.status).toBe('SUCCEEDED');
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'sched-a', released: true });
    expect((await runLocalWorkflow(BACKFILL, { deps: lake.deps })).status).toBe('SUCCEEDED');
  });

  it('fails the execution at ReleaseLease when the lease record vanished during the run', async () => {
    lake = makeTestLake(NOW);
    await seed(lake);
    const run = await runLocalWorkflow(SCHEDULED, {
      deps: lake.deps,
      wrapTask: beforeRelease(() => lake.store.delete([LEASE_KEY])),
    });
    expect(run).toMatchObject({ status: 'FAILED', error: 'LeaseLostError', failedState: 'ReleaseLease' });
    expect(run.cause).toMatch(/is missing/);
  });

  it('leaves a lease that a later run took over to that run, and still succeeds', async () => {
    lake = makeTestLake(NOW);
    await seed(lake);
    const leaseDeps = { store: lake.store, clock: lake.clock, ttlMs: lake.deps.config.leaseTtlSeconds * 1000 };
    const run = await runLocalWorkflow(SCHEDULED, {
      deps: lake.deps,
      executionName: 'stalled',
      wrapTask: beforeRelease(async () => {
        lake.clock.advance(leaseDeps.ttlMs + 1);
        await acquireLease(leaseDeps, 'later');
      }),
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'later', token: 2, released: false });
  });
});
