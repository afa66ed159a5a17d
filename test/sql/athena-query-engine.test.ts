import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import { describe, expect, it } from 'vitest';
import { AthenaQueryEngine } from '../../src/adapters/aws/athena-query-engine.ts';
import { QueryFailedError, RetryableError, ScanLimitExceededError } from '../../src/core/errors.ts';

interface Script {
  throttleStarts?: number;
  states: { state: QueryExecutionState; reason?: string; retryable?: boolean }[];
  pages?: { rows: string[][]; next?: string }[];
  statementType?: 'DML' | 'DDL' | 'UTILITY';
}

/** A scripted Athena endpoint: records requests, throttles the first starts, walks through states. */
function fakeAthena(script: Script) {
  const calls: { command: string; input: any }[] = [];
  let starts = 0;
  let polls = 0;
  const columns = [
    { Name: 'username', Label: 'username', Type: 'varchar' },
    { Name: 'requests', Label: 'requests', Type: 'bigint' },
  ];
  const client = {
    send: async (command: any): Promise<any> => {
      calls.push({ command: command.constructor.name, input: command.input });
      if (command instanceof StartQueryExecutionCommand) {
        if (starts++ < (script.throttleStarts ?? 0)) {
          throw new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
        }
        return { QueryExecutionId: 'q-1' };
      }
      if (command instanceof GetQueryExecutionCommand) {
        const s = script.states[Math.min(polls++, script.states.length - 1)]!;
        return {
          QueryExecution: {
            QueryExecutionId: 'q-1',
            StatementType: script.statementType ?? 'DML',
            Status: {
              State: s.state,
              StateChangeReason: s.reason,
              AthenaError: s.retryable === undefined ? undefined : { Retryable: s.retryable, ErrorMessage: s.reason },
            },
          },
        };
      }
      if (command instanceof GetQueryResultsCommand) {
        const pages = script.pages ?? [];
        const index = command.input.NextToken ? Number(command.input.NextToken) : 0;
        const page = pages[index]!;
        return {
          NextToken: page.next,
          ResultSet: {
            ResultSetMetadata: { ColumnInfo: columns },
            Rows: page.rows.map((r) => ({ Data: r.map((v) => (v === '<null>' ? {} : { VarCharValue: v })) })),
          },
        };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  };
  return { client, calls };
}

const engineFor = (client: any) =>
  new AthenaQueryEngine({
    client,
    workGroup: 'eks-log-lake',
    database: 'eks_logs',
    lakeRoot: 's3://lake-bucket/',
    pollIntervalMs: 1,
    maxWaitMs: 50,
    sleep: async () => {},
  });

describe('AthenaQueryEngine', () => {
  it('starts in the workgroup, polls to SUCCEEDED and reads every page without the header row', async () => {
    const { client, calls } = fakeAthena({
      throttleStarts: 2,
      states: [{ state: 'QUEUED' }, { state: 'RUNNING' }, { state: 'SUCCEEDED' }],
      pages: [
        {
          rows: [
            ['username', 'requests'],
            ['alice', '3'],
          ],
          next: '1',
        },
        { rows: [['bob', '<null>']] },
      ],
    });
    const rows = await engineFor(client).runNamed('list-top-callers', { dtFrom: '2026-01-01', dtTo: '2026-01-02' });
    expect(rows).toEqual([
      { username: 'alice', requests: 3 },
      { username: 'bob', requests: null },
    ]);
    const starts = calls.filter((c) => c.command === 'StartQueryExecutionCommand');
    expect(starts).toHaveLength(3);
    expect(starts[2]!.input).toMatchObject({
      WorkGroup: 'eks-log-lake',
      QueryExecutionContext: { Database: 'eks_logs' },
    });
    expect(starts[2]!.input.QueryString).toContain("dt BETWEEN '2026-01-01' AND '2026-01-02'");
    expect(calls.filter((c) => c.command === 'GetQueryResultsCommand').map((c) => c.input.NextToken)).toEqual([
      undefined,
      '1',
    ]);
  });

  it('resolves the rollup location under the lake bucket and reads no rows for it', async () => {
    const { client, calls } = fakeAthena({ states: [{ state: 'SUCCEEDED' }], statementType: 'UTILITY' });
    const location = 'curated/audit_hourly_summary/account=111122223333/cluster=c1/dt=2026-01-01/hour=00/gen=p1/';
    const rows = await engineFor(client).runNamed('create-audit-hourly-summary', {
      planId: 'p1',
      account: '111122223333',
      cluster: 'c1',
      dt: '2026-01-01',
      hour: '00',
      location,
    });
    expect(rows).toEqual([]);
    expect(calls[0]!.input.QueryString).toContain(`TO 's3://lake-bucket/${location}'`);
    expect(calls.some((c) => c.command === 'GetQueryResultsCommand')).toBe(false);
  });

  it('fails fast and without a retry when the bytes-scanned cutoff cancels the query', async () => {
    const { client, calls } = fakeAthena({
      states: [
        { state: 'RUNNING' },
        { state: 'CANCELLED', reason: 'Query cancelled! -- Bytes scanned limit was exceeded' },
      ],
    });
    const run = engineFor(client).runSql("SELECT 1 FROM audit_events WHERE dt = '2026-01-01'");
    await expect(run).rejects.toBeInstanceOf(ScanLimitExceededError);
    await expect(run).rejects.toThrow(/narrow the dt range/);
    expect(calls.filter((c) => c.command === 'StartQueryExecutionCommand')).toHaveLength(1);
  });

  it('reports a failed query with its reason, and a transient failure as retryable', async () => {
    const failed = fakeAthena({
      states: [{ state: 'FAILED', reason: 'COLUMN_NOT_FOUND: line 1:8', retryable: false }],
    });
    await expect(engineFor(failed.client).runSql('SELECT nope FROM t')).rejects.toThrow(QueryFailedError);
    const transient = fakeAthena({ states: [{ state: 'FAILED', reason: 'internal error', retryable: true }] });
    await expect(engineFor(transient.client).runSql('SELECT 1')).rejects.toThrow(RetryableError);
  });

  it('gives up on throttling after the retry budget and on a query that never finishes', async () => {
    const throttled = fakeAthena({ throttleStarts: 100, states: [{ state: 'SUCCEEDED' }] });
    await expect(engineFor(throttled.client).runSql('SELECT 1')).rejects.toThrow(/still failing after 6 attempts/);
    const stuck = fakeAthena({ states: [{ state: 'RUNNING' }] });
    await expect(engineFor(stuck.client).runSql('SELECT 1')).rejects.toThrow(/still RUNNING/);
  });

  it('rejects bad parameters before calling Athena', async () => {
    const { client, calls } = fakeAthena({ states: [{ state: 'SUCCEEDED' }] });
    await expect(
      engineFor(client).runNamed('list-top-callers', { dtFrom: "2026-01-01' --", dtTo: '2026-01-01' }),
    ).rejects.toThrow(/expected a date/);
    expect(calls).toEqual([]);
  });
});
