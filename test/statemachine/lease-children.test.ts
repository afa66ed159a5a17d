import { afterEach, describe, expect, it } from 'vitest';
import { type LocalExecution, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { readLeaseRecord } from '../../src/pipeline/lease.ts';
import { makeTestLake, putRawObject, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const entered = (r: LocalExecution) => r.events.filter((e) => e.type === 'StateEntered').map((e) => e.state);

describe('who may hold the lease under a backfill parent', () => {
  // An operator pastes a failed child's input (it names the parent) into StartExecution.
  it('refuses a bare leaseHolder on any input before the lease, even while that holder runs', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    await putRawObject(lake, '2025-01-03T09:05:00Z', [{ id: '2', time: '2025-01-03T09:01:00Z' }]);
    const [a, b] = await Promise.all([
      runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps: lake.deps, executionName: 'sched-a' }),
      runLocalWorkflow(
        { from: '2025-01-03T09:00:00Z', to: '2025-01-03T10:00:00Z', leaseHolder: 'sched-a' },
        { deps: lake.deps, executionName: 'operator-rerun' },
      ),
    ]);
    expect(a.status).toBe('SUCCEEDED');
    expect(b).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
    expect(b.cause).toMatch(/leaseHolder sched-a must be the execution that started this one/);
    expect(entered(b)).not.toContain('AcquireLease');
  });

  it("refuses a copy of an earlier child's full input while the parent's next child holds the lease", async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z', { childRangeHours: 1 });
    await putRawObject(lake, '2025-01-03T07:10:00Z', [{ id: '30', time: '2025-01-03T07:09:00Z' }]);
    await putRawObject(lake, '2025-01-03T08:10:00Z', [{ id: '31', time: '2025-01-03T08:09:00Z' }]);
    const childInputs: Record<string, unknown>[] = [];
    let pasted: LocalExecution | undefined;
    const parent = await runLocalWorkflow(
      { from: '2025-01-03T07:00:00Z', to: '2025-01-03T09:00:00Z' },
      {
        deps: lake.deps,
        executionName: 'backfill-9',
        wrapTask: (state, h) => {
          if (state === 'StartChildExecution') {
            return async (i) => {
              childInputs.push(i.Input);
              return h(i);
            };
          }
          if (state !== 'PlanWindow') return h;
          return async (i) => {
            if (i.Payload.window.start === '2025-01-03T08:00:00.000Z' && !pasted) {
              pasted = await runLocalWorkflow(childInputs[0], { deps: lake.deps, executionName: 'operator-rerun' });
            }
            return h(i);
          };
        },
      },
    );
    expect(childInputs[0]).toMatchObject({
      leaseHolder: 'backfill-9',
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: expect.stringMatching(/:execution:[^:]+:backfill-9$/),
    });
    expect(pasted).toMatchObject({ status: 'FAILED', error: 'LeaseHeldError' });
    expect(pasted?.cause).toMatch(/held by backfill-9 for execution backfill-9-child-1/);
    expect(entered(pasted!)).not.toContain('PlanWindow');
    expect(parent.status).toBe('SUCCEEDED');
    expect(await readLeaseRecord(lake.store)).toMatchObject({
      holder: 'backfill-9',
      execution: 'backfill-9-child-1',
      childFrom: '2025-01-03T08:00:00.000Z',
      released: true,
    });
  });
});
