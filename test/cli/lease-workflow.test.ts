import { afterEach, describe, expect, it } from 'vitest';
import { redriveLocalWorkflow, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { leaseCommand } from '../../src/cli/commands/lease.ts';
import { readLeaseRecord } from '../../src/pipeline/lease.ts';
import type { RunSummary } from '../../src/pipeline/workflow-tasks.ts';
import { makeTestLake, putRawObject, type TestLake } from '../statemachine/helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const NOW = '2025-01-03T10:20:00Z';
const SCHEDULED = { scheduledTime: '2025-01-03T10:15:00Z' };

async function releaseAs(holder: string): Promise<{ code: number | undefined; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  let code: number | undefined;
  await leaseCommand({
    now: () => lake.clock.now(),
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    exit: (c) => {
      code = c;
    },
  }).parseAsync(['release', '--lake', lake.dir, '--holder', holder], { from: 'user' });
  return { code, out, err };
}

describe('lease release after a failed local execution', () => {
  it('frees the lease before its TTL: the next run takes token 2 and publishes, the old execution is fenced out', async () => {
    lake = makeTestLake(NOW);
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '1', time: '2025-01-03T10:01:00Z' }]);
    const failed = await runLocalWorkflow(SCHEDULED, {
      deps: lake.deps,
      executionName: 'sched-a',
      wrapTask: (state, run) =>
        state === 'PublishPartitions'
          ? async () => {
              throw new Error('Task timed out after 900.00 seconds');
            }
          : run,
    });
    expect(failed).toMatchObject({ status: 'FAILED', failedState: 'PublishPartitions' });
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'sched-a', token: 1, released: false });

    lake.clock.advance(60_000);
    // Without the release, a scheduled run within the TTL skips: the failed execution still holds the lease.
    const skipped = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, executionName: 'sched-skip' });
    expect(skipped.output).toMatchObject({ summary: { status: 'skipped' } });
    expect(await releaseAs('sched-b')).toMatchObject({ code: 2 });
    expect(await releaseAs('sched-a')).toMatchObject({ code: 0, err: [] });

    // A redrive of the released execution resumes at PublishPartitions, whose fence routes it to LeaseLost.
    const redriven = await redriveLocalWorkflow(failed, { deps: lake.deps });
    expect(redriven).toMatchObject({ status: 'FAILED', error: 'LeaseLostError', failedState: 'LeaseLost' });
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'sched-a', token: 1, released: true });

    const next = await runLocalWorkflow(SCHEDULED, { deps: lake.deps, executionName: 'sched-b' });
    expect(next.status).toBe('SUCCEEDED');
    expect(next.output as RunSummary).toMatchObject({ status: 'succeeded', rowsOut: 1 });
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'sched-b', token: 2, released: true });
  });
});
