import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { type SfnSender, startAndFollow } from '../../src/adapters/aws/sfn-runner.ts';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { executionInput, runLocal } from '../../src/cli/commands/run.ts';
import { makeTestLake, putRawObject, type TestLake } from './helpers/test-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('eks-log-lake run (local)', () => {
  it('backfills a local lake with DuckDB in Athena’s place, shows progress per child and a summary', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-02T23:30:00Z', [{ id: '10', time: '2025-01-02T23:29:00Z' }]);
    await putRawObject(lake, '2025-01-03T00:10:00Z', [{ id: '11', time: '2025-01-03T00:09:00Z' }]);
    const c = capture();
    const { code } = await runLocal(
      {
        lake: lake.dir,
        from: '2025-01-02T22:00:00Z',
        to: '2025-01-03T02:00:00Z',
        now: new Date('2025-01-03T10:20:00Z'),
        config: { childRangeHours: 2 },
      },
      c.io,
    );
    expect(code).toBe(0);
    expect(c.err.map((l) => l.replace(/elapsed [\d.]+ s/, 'elapsed x s'))).toEqual([
      'hours 2/4 (50%)  rows out 1  elapsed x s',
      'hours 4/4 (100%)  rows out 2  elapsed x s',
    ]);
    expect(c.out[0]).toBe('backfill 2025-01-02T22:00:00.000Z .. 2025-01-03T02:00:00.000Z: succeeded');
    expect(c.out).toContain('  rows out 2; duplicates removed 0; quarantined 0');

    // The rollup of each touched hour was built by DuckDB and is readable through the catalog.
    const engine = new DuckDbQueryEngine({ lakeDir: lake.dir, catalog: lake.catalog });
    try {
      const rows = await engine.runSql(
        'SELECT dt, hour, sum(requests) AS requests FROM audit_hourly_summary GROUP BY dt, hour ORDER BY dt, hour',
      );
      expect(rows).toEqual([
        { dt: '2025-01-02', hour: '23', requests: 1 },
        { dt: '2025-01-03', hour: '00', requests: 1 },
      ]);
    } finally {
      await engine.close();
    }
  });

  it('exits 1 naming the failing state and error', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const c = capture();
    const { code } = await runLocal(
      {
        lake: lake.dir,
        from: '2025-01-03T05:00:00Z',
        to: '2025-01-03T01:00:00Z',
        now: new Date('2025-01-03T10:20:00Z'),
      },
      c.io,
    );
    expect(code).toBe(1);
    expect(c.err.at(-1)).toMatch(/^run failed in state RejectInput: InvalidInputError: backfill range is reversed/);
  });

  it('builds a scheduled input from the current time and a backfill from both bounds', () => {
    const now = new Date('2025-01-03T10:17:00Z');
    expect(executionInput({}, now)).toEqual({ scheduledTime: '2025-01-03T10:17:00.000Z' });
    expect(executionInput({ from: 'a', to: 'b' }, now)).toEqual({ from: 'a', to: 'b' });
    expect(() => executionInput({ from: 'a' }, now)).toThrow('--from and --to go together');
  });
});

describe('startAndFollow', () => {
  /** Answers with recorded Step Functions response shapes, in order. */
  function recordedSfn(
    describes: Record<string, unknown>[],
    history: Record<string, unknown>,
  ): SfnSender & { sent: unknown[] } {
    const sent: unknown[] = [];
    return {
      sent,
      async send(command: unknown) {
        sent.push(command);
        if (command instanceof StartExecutionCommand) {
          return {
            executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:compaction:e1',
            startDate: new Date(),
          };
        }
        if (command instanceof DescribeExecutionCommand) return describes.shift();
        if (command instanceof GetExecutionHistoryCommand) return history;
        throw new Error('unexpected command');
      },
    };
  }

  it('starts the execution with the JSON input and returns the output when it succeeds', async () => {
    const sfn = recordedSfn(
      [{ status: 'RUNNING' }, { status: 'SUCCEEDED', output: '{"status":"succeeded","rowsOut":4}' }],
      {},
    );
    const polls: string[] = [];
    const r = await startAndFollow(sfn, {
      stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:compaction',
      input: { from: '2025-01-02T00:00:00Z', to: '2025-01-03T00:00:00Z' },
      sleep: async () => {},
      onPoll: (p) => polls.push(p.status),
    });
    expect(r).toMatchObject({ status: 'SUCCEEDED', output: { status: 'succeeded', rowsOut: 4 } });
    expect(polls).toEqual(['RUNNING']);
    expect((sfn.sent[0] as StartExecutionCommand).input).toMatchObject({
      input: '{"from":"2025-01-02T00:00:00Z","to":"2025-01-03T00:00:00Z"}',
    });
  });

  it('reports the error, cause and last state entered of a failed execution', async () => {
    const sfn = recordedSfn([{ status: 'FAILED', error: 'ItemsFailedError', cause: '1 of 3 items failed' }], {
      events: [
        { id: 40, type: 'FailStateEntered', stateEnteredEventDetails: { name: 'ItemsFailed' } },
        { id: 39, type: 'ChoiceStateExited', stateExitedEventDetails: { name: 'CheckOutcome' } },
      ],
    });
    const r = await startAndFollow(sfn, { stateMachineArn: 'arn:x', input: {}, sleep: async () => {} });
    expect(r).toMatchObject({
      status: 'FAILED',
      error: 'ItemsFailedError',
      cause: '1 of 3 items failed',
      failedState: 'ItemsFailed',
    });
  });
});
