import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandOutput,
} from '@aws-sdk/client-athena';
import { QueryFailedError, RetryableError, ScanLimitExceededError } from '../../core/errors.ts';
import { renderNamed } from '../../core/sql/catalogue.ts';
import type { QueryEngine, QueryRow } from '../../ports.ts';
import { errorNameOf, httpStatusOf, type RetryOptions, retryWithBackoff, sleepMs } from './retry.ts';

/** Where and how queries run; the workgroup carries the result location, encryption and scan cutoff. */
export interface AthenaQueryEngineOptions {
  readonly client: Pick<AthenaClient, 'send'>;
  readonly workGroup: string;
  readonly database: string;
  /** `s3://bucket/` of the lake; lake-relative `location` parameters resolve under it. */
  readonly lakeRoot: string;
  /** Delay between GetQueryExecution polls (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Give up waiting after this long (default 14 min, inside a Lambda's 15). */
  readonly maxWaitMs?: number;
  readonly retry?: RetryOptions;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const THROTTLED = new Set(['TooManyRequestsException', 'ThrottlingException', 'InternalServerException']);
const NUMERIC = new Set(['tinyint', 'smallint', 'integer', 'bigint', 'double', 'float', 'real']);
const SCAN_LIMIT = /bytes scanned limit/i;

/** True for Athena throttling and 5xx, which are worth another attempt. */
export function isRetryableAthenaError(error: unknown): boolean {
  const name = errorNameOf(error);
  return (name !== undefined && THROTTLED.has(name)) || (httpStatusOf(error) ?? 0) >= 500;
}

/**
 * Athena behind the QueryEngine port: StartQueryExecution in the workgroup (throttling retried
 * with jitter), GetQueryExecution polled to a final state, GetQueryResults read page by page.
 * A query cancelled at the bytes-scanned cutoff fails with ScanLimitExceededError, not retried.
 */
export class AthenaQueryEngine implements QueryEngine {
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AthenaQueryEngineOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxWaitMs = options.maxWaitMs ?? 14 * 60_000;
    this.sleep = options.sleep ?? sleepMs;
  }

  async runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]> {
    return this.runSql(renderNamed('athena', name, params, { lakeRoot: this.options.lakeRoot }));
  }

  async runSql(sql: string): Promise<QueryRow[]> {
    const id = await this.start(sql);
    const execution = await this.waitFor(id);
    return execution.StatementType === 'DML' || execution.StatementType === undefined ? this.readAll(id) : [];
  }

  private async start(sql: string): Promise<string> {
    const { client, workGroup, database } = this.options;
    const out: StartQueryExecutionCommandOutput = await retryWithBackoff(
      'athena StartQueryExecution',
      () =>
        client.send(
          new StartQueryExecutionCommand({
            QueryString: sql,
            WorkGroup: workGroup,
            QueryExecutionContext: { Database: database },
          }),
        ),
      isRetryableAthenaError,
      { ...this.options.retry, sleep: this.options.retry?.sleep ?? this.sleep },
    );
    if (!out.QueryExecutionId) throw new QueryFailedError('athena StartQueryExecution returned no QueryExecutionId');
    return out.QueryExecutionId;
  }

  private async waitFor(id: string) {
    let waited = 0;
    for (;;) {
      const out: GetQueryExecutionCommandOutput = await retryWithBackoff(
        'athena GetQueryExecution',
        () => this.options.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
        isRetryableAthenaError,
        { ...this.options.retry, sleep: this.options.retry?.sleep ?? this.sleep },
      );
      const execution = out.QueryExecution ?? {};
      const state = execution.Status?.State;
      const reason = execution.Status?.StateChangeReason ?? execution.Status?.AthenaError?.ErrorMessage ?? '';
      if (state === 'SUCCEEDED') return execution;
      if (state === 'CANCELLED' || state === 'FAILED') {
        if (SCAN_LIMIT.test(reason)) {
          throw new ScanLimitExceededError(
            `athena query ${id} stopped at the workgroup's bytes-scanned cutoff: narrow the dt range (${reason})`,
            id,
          );
        }
        if (state === 'FAILED' && execution.Status?.AthenaError?.Retryable) {
          throw new RetryableError(`athena query ${id} failed transiently: ${reason}`);
        }
        throw new QueryFailedError(`athena query ${id} ${state.toLowerCase()}: ${reason || 'no reason given'}`, id);
      }
      if (waited >= this.maxWaitMs) {
        throw new RetryableError(`athena query ${id} still ${state ?? 'unknown'} after ${waited} ms`);
      }
      await this.sleep(this.pollIntervalMs);
      waited += this.pollIntervalMs;
    }
  }

  private async readAll(id: string): Promise<QueryRow[]> {
    const rows: QueryRow[] = [];
    let token: string | undefined;
    let first = true;
    do {
      const page: GetQueryResultsCommandOutput = await retryWithBackoff(
        'athena GetQueryResults',
        () =>
          this.options.client.send(
            new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
          ),
        isRetryableAthenaError,
        { ...this.options.retry, sleep: this.options.retry?.sleep ?? this.sleep },
      );
      const columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // A SELECT's first row repeats the column labels.
      const labels = columns.map((c) => c.Label ?? c.Name);
      const start = first && data.length > 0 && data[0]!.Data?.every((d, i) => d.VarCharValue === labels[i]) ? 1 : 0;
      for (const row of data.slice(start)) {
        const out: QueryRow = {};
        columns.forEach((c, i) => {
          out[c.Name ?? `_col${i}`] = convert(row.Data?.[i]?.VarCharValue, c.Type);
        });
        rows.push(out);
      }
      first = false;
      token = page.NextToken;
    } while (token);
    return rows;
  }
}

/** Athena returns every value as text; numbers and booleans come back typed like DuckDB's. */
function convert(value: string | undefined, type: string | undefined): unknown {
  if (value === undefined) return null;
  if (type && NUMERIC.has(type)) {
    const n = Number(value);
    return Number.isFinite(n) && (type === 'bigint' ? Number.isSafeInteger(n) : true) ? n : value;
  }
  if (type === 'boolean') return value === 'true';
  return value;
}
