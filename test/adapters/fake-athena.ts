import {
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';

/** Athena's result column types, as GetQueryResults names them. */
export type AthenaColumnType = 'varchar' | 'bigint' | 'integer' | 'double' | 'boolean';

/** What Athena answered for one query: a result set, or a final failure with its reason. */
export type AthenaRecording =
  | {
      /** Matched against the QueryString Athena receives. */
      readonly match: RegExp;
      readonly columns: readonly (readonly [string, AthenaColumnType])[];
      /** Values as Athena sends them (text); null is a cell without VarCharValue. */
      readonly rows: readonly (readonly (string | null)[])[];
    }
  | {
      readonly match: RegExp;
      readonly state: 'FAILED' | 'CANCELLED';
      readonly reason: string;
    };

/**
 * Athena behind `send(command)` replaying recorded answers with the real request and response
 * shapes: StartQueryExecution, GetQueryExecution (QUEUED, RUNNING, then the final state) and
 * GetQueryResults in pages of `pageSize` rows, the first page starting with the column labels.
 * A query no recording matches fails loudly, so a changed rendering cannot pass unnoticed.
 */
export class FakeAthena {
  /** QueryStrings in the order Athena received them. */
  readonly queries: string[] = [];
  pageSize = 2;
  private readonly executions = new Map<string, { recording: AthenaRecording; polls: number }>();

  constructor(private readonly recordings: readonly AthenaRecording[]) {}

  async send(command: unknown): Promise<unknown> {
    if (command instanceof StartQueryExecutionCommand) return this.start(command.input.QueryString ?? '');
    if (command instanceof GetQueryExecutionCommand) return this.status(command.input.QueryExecutionId!);
    if (command instanceof GetQueryResultsCommand) {
      return this.results(command.input.QueryExecutionId!, command.input.NextToken, command.input.MaxResults);
    }
    throw new Error(`FakeAthena: unexpected ${(command as object).constructor.name}`);
  }

  private start(sql: string): StartQueryExecutionCommandOutput {
    this.queries.push(sql);
    const recording = this.recordings.find((r) => r.match.test(sql));
    if (!recording) throw new Error(`FakeAthena: no recording matches ${sql}`);
    const id = `9f6c2e7a-0000-4000-8000-${String(this.executions.size + 1).padStart(12, '0')}`;
    this.executions.set(id, { recording, polls: 0 });
    return { QueryExecutionId: id, $metadata: {} };
  }

  private status(id: string): GetQueryExecutionCommandOutput {
    const execution = this.executions.get(id)!;
    const { recording } = execution;
    const steps = ['QUEUED', 'RUNNING'] as const;
    const poll = execution.polls++;
    const final = 'state' in recording ? recording.state : 'SUCCEEDED';
    const state = poll < steps.length ? steps[poll]! : final;
    const failed = state === 'FAILED' || state === 'CANCELLED';
    return {
      QueryExecution: {
        QueryExecutionId: id,
        StatementType: 'DML',
        Status: {
          State: state,
          StateChangeReason: failed && 'reason' in recording ? recording.reason : undefined,
          AthenaError:
            failed && 'reason' in recording
              ? { ErrorCategory: 2, ErrorType: 1006, Retryable: false, ErrorMessage: recording.reason }
              : undefined,
        },
      },
      $metadata: {},
    };
  }

  private results(id: string, token: string | undefined, maxResults = 1000): GetQueryResultsCommandOutput {
    const { recording } = this.executions.get(id)!;
    if ('state' in recording) throw new Error(`FakeAthena: query ${id} has no results`);
    const labels = recording.columns.map(([name]) => name);
    const all = [labels, ...recording.rows];
    const size = Math.min(this.pageSize, maxResults);
    const start = token ? Number(token) : 0;
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? String(start + size) : undefined;
    return {
      NextToken: next,
      ResultSet: {
        ResultSetMetadata: {
          ColumnInfo: recording.columns.map(([name, type]) => ({ Name: name, Label: name, Type: type })),
        },
        Rows: page.map((r) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) })),
      },
      $metadata: {},
    };
  }
}
