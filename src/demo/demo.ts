import { gunzipSync } from 'node:zlib';
import { DuckDbQueryEngine } from '../adapters/local/duckdb-query-engine.ts';
import { deliverTraffic, type FirehoseDeliveryStats } from '../adapters/local/firehose-delivery.ts';
import { LocalCatalog } from '../adapters/local/local-catalog.ts';
import { createLocalFirehose } from '../adapters/local/local-firehose.ts';
import { createLocalWorkflowDeps } from '../adapters/local/local-workflow-deps.ts';
import { type LocalExecution, runLocalWorkflow } from '../adapters/local/local-workflow-runner.ts';
import { InvalidInputError } from '../core/errors.ts';
import { collectTraffic, type GroundTruth } from '../core/generate/traffic.ts';
import { type CuratedTableName, TABLES } from '../core/schema.ts';
import type { RunSummary } from '../pipeline/workflow-tasks.ts';
import type { Catalog, Clock, ObjectStore, QueryEngine } from '../ports.ts';
import { checkPlantedAnswers, type PlantedCheck } from './expectations.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Where the demo's lake lives and how DuckDB reaches it. */
export interface DemoLake {
  readonly store: ObjectStore;
  /** Human description for the output (`folder ./.lake`, `s3://bucket at URL`). */
  readonly description: string;
  /** Makes the lake usable (creates the bucket); optional. */
  prepare?(): Promise<void>;
  /** A query engine over the lake as the catalog publishes it (DuckDB); closed by the demo. */
  openEngine(catalog: Catalog): Promise<QueryEngine & { close(): Promise<void> }>;
}

/** What the demo generates and where it runs. */
export interface DemoOptions {
  readonly lake: DemoLake;
  readonly seed: number;
  /** Time of the first generated event; the CLI picks the next whole hour (see simulatedClock). */
  readonly start: Date;
  readonly durationMinutes: number;
  readonly accounts: readonly string[];
  readonly clustersPerAccount: number;
  readonly eventsPerMinute: number;
  /** Approximate log text to generate, in bytes; when set it decides the rate instead of eventsPerMinute. */
  readonly targetBytes?: number;
  readonly region?: string;
  /** Progress lines as each stage finishes. */
  readonly print?: (line: string) => void;
}

/** Wall-clock time of one demo stage, in milliseconds. */
export interface StageTiming {
  readonly stage: string;
  readonly ms: number;
}

/** One execution of the compaction state machine and its summary. */
export interface DemoRun {
  readonly name: string;
  readonly input: Record<string, string>;
  readonly status: LocalExecution['status'];
  readonly summary?: RunSummary;
  readonly error?: string;
}

/** Everything the demo measured, for the printed summary and for end-to-end assertions. */
export interface DemoReport {
  readonly lake: string;
  readonly truth: GroundTruth;
  readonly firehose: FirehoseDeliveryStats;
  readonly runs: DemoRun[];
  /** Rows per curated table and how many of them repeat an (account, log_group, event_id). */
  readonly tables: Record<string, { rows: number; duplicateIds: number }>;
  readonly bytes: {
    messageChars: number;
    rawObjects: number;
    rawBytes: number;
    parquetFiles: number;
    parquetBytes: number;
  };
  /** generated = curated + quarantined + control dropped + duplicates removed (+ processing failed). */
  readonly conservation: {
    generated: number;
    curated: number;
    quarantined: number;
    controlDropped: number;
    duplicatesRemoved: number;
    processingFailed: number;
    balanced: boolean;
  };
  readonly checks: PlantedCheck[];
  readonly timings: StageTiming[];
}

const COMPACTED_TABLES: readonly CuratedTableName[] = TABLES.filter((t) => t.producer === 'compaction').map(
  (t) => t.name,
);

/** A clock that starts at `base` and advances with real elapsed time. */
export function simulatedClock(base: number): Clock {
  const realStart = Date.now();
  return { now: () => new Date(base + (Date.now() - realStart)) };
}

/** Top-level prefixes of a lake; the demo only ever empties a store holding nothing else. */
export const LAKE_PREFIXES = ['raw/', 'curated/', 'errors/', 'quarantine/', 'control/', 'athena-results/'];

/**
 * Deletes every object in the lake (the demo always starts from an empty lake). Refuses, before
 * deleting anything, when the store holds a key outside the lake's prefixes: not a lake to empty.
 */
export async function emptyLake(store: ObjectStore): Promise<number> {
  const keys: string[] = [];
  for await (const o of store.list('')) {
    if (!LAKE_PREFIXES.some((p) => o.key.startsWith(p)))
      throw new InvalidInputError(
        `the lake holds ${o.key}, which is not lake data: give the demo an empty folder or bucket`,
      );
    keys.push(o.key);
  }
  for (let i = 0; i < keys.length; i += 1000) await store.delete(keys.slice(i, i + 1000));
  return keys.length;
}

/**
 * Generates traffic, delivers it through the local Firehose and the real transform into raw/,
 * runs the compaction state machine once on the schedule and once as a backfill, then runs the
 * investigation queries and measures rows, bytes and conservation.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  const print = opts.print ?? (() => {});
  const region = opts.region ?? 'eu-west-1';
  const store = opts.lake.store;
  const timings: StageTiming[] = [];
  const timed = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    timings.push({ stage, ms: performance.now() - t0 });
    return out;
  };

  await opts.lake.prepare?.();
  await emptyLake(store);

  // 1. Generate.
  const { deliveries, truth } = await timed('generate', () =>
    collectTraffic({
      seed: opts.seed,
      start: opts.start,
      durationMinutes: opts.durationMinutes,
      accounts: opts.accounts,
      clustersPerAccount: opts.clustersPerAccount,
      eventsPerMinute: opts.targetBytes === undefined ? opts.eventsPerMinute : undefined,
      targetBytes: opts.targetBytes,
      region,
    }),
  );
  print(
    `generated   ${fmt(truth.events.unique)} events (${mb(truth.messageChars)} of log text) in ${truth.clusters.length} clusters, ` +
      `${fmt(truth.messages.data)} messages + ${fmt(truth.messages.duplicate)} re-deliveries, ${truth.messages.late} late, ` +
      `${truth.messages.control} control, ${Object.values(truth.malformed).reduce((a, b) => a + b, 0)} malformed lines`,
  );

  // 2. Deliver through Firehose and the real transform.
  const firehose = createLocalFirehose({ store, seed: opts.seed, region, allowedAccounts: opts.accounts });
  const delivered = await timed('deliver (Firehose + transform)', () => deliverTraffic(deliveries, firehose));
  print(
    `delivered   ${fmt(delivered.recordsIn)} records in ${delivered.invocations} transform invocations → ` +
      `${delivered.objects} raw objects (${mb(delivered.objectBytes)} gzip NDJSON), ${delivered.dropped} control dropped, ` +
      `${delivered.processingFailed} failed`,
  );

  // 3. The state machine: the scheduled run at the end of the traffic, then a backfill of every arrival hour.
  const catalog = new LocalCatalog(store);
  const engine = await opts.lake.openEngine(catalog);
  try {
    const trafficEnd = opts.start.getTime() + opts.durationMinutes * MINUTE;
    const scheduledTime = Math.ceil(trafficEnd / (15 * MINUTE)) * 15 * MINUTE;
    const lastArrival = truth.arrivalRange.last;
    const clockBase = Math.max(scheduledTime, lastArrival) + MINUTE;
    const clock = simulatedClock(clockBase);
    print(
      `clock       the state machine runs on a simulated clock from ${new Date(clockBase).toISOString()}, after the last arrival`,
    );
    const deps = createLocalWorkflowDeps({ store, catalog, engine, clock });
    const runs: DemoRun[] = [];
    const run = async (name: string, input: Record<string, string>) => {
      const exec = await timed(`${name} run (state machine)`, () =>
        runLocalWorkflow(input, { deps, executionName: `demo-${name}-${opts.seed}` }),
      );
      const summary = exec.status === 'SUCCEEDED' ? (exec.output as RunSummary) : undefined;
      const r: DemoRun = {
        name,
        input,
        status: exec.status,
        summary,
        error: exec.status === 'FAILED' ? `${exec.error}: ${exec.cause} (in ${exec.failedState})` : undefined,
      };
      runs.push(r);
      print(
        summary
          ? `${name.padEnd(11)} ${JSON.stringify(input)}: ${summary.objects} objects, ${fmt(summary.eventsIn)} events → ` +
              `${summary.partitions} partitions, ${fmt(summary.duplicatesRemoved)} duplicates removed, ${summary.quarantined} quarantined`
          : `${name.padEnd(11)} ${JSON.stringify(input)}: FAILED ${r.error}`,
      );
    };
    await run('scheduled', { scheduledTime: new Date(scheduledTime).toISOString() });
    const from = Math.floor(Math.min(opts.start.getTime(), truth.arrivalRange.first) / HOUR) * HOUR;
    const to = Math.floor(lastArrival / HOUR) * HOUR + HOUR;
    await run('backfill', { from: new Date(from).toISOString(), to: new Date(to).toISOString() });

    // 4. Queries: rows per table, duplicate ids, the planted answers.
    const tables: DemoReport['tables'] = {};
    const checks = await timed('queries (DuckDB)', async () => {
      for (const t of COMPACTED_TABLES) {
        const [row] = await engine.runSql(
          `SELECT count(*) AS n, count(DISTINCT account || '|' || log_group || '|' || event_id) AS ids FROM ${t}`,
        );
        tables[t] = { rows: Number(row!.n), duplicateIds: Number(row!.n) - Number(row!.ids) };
      }
      const [rollup] = await engine.runSql('SELECT count(*) AS n FROM audit_hourly_summary');
      tables.audit_hourly_summary = { rows: Number(rollup!.n), duplicateIds: 0 };
      return checkPlantedAnswers(truth, (name, params) => engine.runNamed(name, params));
    });
    for (const c of checks) print(`query       ${c.query}: ${c.found ? 'found' : 'NOT FOUND'} ${c.expected}`);

    // 5. Sizes and conservation.
    let rawObjects = 0;
    let rawBytes = 0;
    for await (const o of store.list('raw/')) {
      rawObjects++;
      rawBytes += o.size;
    }
    let parquetFiles = 0;
    let parquetBytes = 0;
    for (const t of TABLES)
      for (const p of await catalog.listPartitions(t.name))
        for await (const o of store.list(p.location))
          if (o.key.endsWith('.parquet')) {
            parquetFiles++;
            parquetBytes += o.size;
          }
    const sum = (f: (s: RunSummary) => number) => runs.reduce((n, r) => n + (r.summary ? f(r.summary) : 0), 0);
    const curated = COMPACTED_TABLES.reduce((n, t) => n + tables[t]!.rows, 0);
    const quarantined = sum((s) => s.quarantined);
    const duplicatesRemoved = sum((s) => s.duplicatesRemoved);
    const processingFailedEvents = await countFailedEvents(store);
    const generated = truth.events.unique + truth.events.duplicate + truth.events.control;
    const conservation = {
      generated,
      curated,
      quarantined,
      controlDropped: delivered.dropped,
      duplicatesRemoved,
      processingFailed: processingFailedEvents,
      balanced: generated === curated + quarantined + delivered.dropped + duplicatesRemoved + processingFailedEvents,
    };
    return {
      lake: opts.lake.description,
      truth,
      firehose: delivered,
      runs,
      tables,
      bytes: { messageChars: truth.messageChars, rawObjects, rawBytes, parquetFiles, parquetBytes },
      conservation,
      checks,
      timings,
    };
  } finally {
    await engine.close();
  }
}

/** Opens a folder lake: the store over the folder, DuckDB over the same folder. */
export function folderLake(store: ObjectStore & { rootDir: string }, description: string): DemoLake {
  return {
    store,
    description,
    openEngine: async (catalog) => new DuckDbQueryEngine({ lakeDir: store.rootDir, catalog }),
  };
}

/** Events inside the records Firehose wrote under errors/ (each holds the original gzip'd message). */
export async function countFailedEvents(store: ObjectStore): Promise<number> {
  let n = 0;
  for await (const o of store.list('errors/')) {
    const body = (await store.get(o.key))?.body;
    if (!body) continue;
    for (const line of Buffer.from(body).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const raw = Buffer.from(JSON.parse(line).rawData as string, 'base64');
      const message = JSON.parse(gunzipSync(raw).toString('utf8')) as { logEvents?: unknown[] };
      n += message.logEvents?.length ?? 0;
    }
  }
  return n;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function mb(n: number): string {
  return `${(n / 1_048_576).toFixed(1)} MiB`;
}
