/**
 * The small interfaces between the pure core and the world. Each has one AWS adapter and
 * one local adapter (src/adapters/*), checked by one shared contract suite (test/adapters).
 */

/** Metadata of a stored object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
}

export interface PutOptions {
  readonly contentType?: string;
  /** `*`: create only if absent (S3 If-None-Match); 412 ⇒ PreconditionFailedError. */
  readonly ifNoneMatch?: '*';
  /** Replace only if the current ETag equals this (S3 If-Match); 412 ⇒ PreconditionFailedError. */
  readonly ifMatch?: string;
}

/** Keys are lake-relative (`raw/…`, `curated/…`); the adapter owns the bucket or folder. */
export interface ObjectStore {
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  /** Whole object, or undefined when absent. */
  get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined>;
  /** Streamed body for large objects, or undefined when absent. */
  getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object under the prefix in key order, across all pages. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
  /** Deletes; absent keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

/** A partition as the catalog knows it; `location` is a lake-relative prefix ending in `/`. */
export interface CatalogPartition {
  /** Values in the table's partition-key order (account, cluster, dt, hour). */
  readonly values: readonly string[];
  readonly location: string;
}

/** Glue Data Catalog in AWS, a JSON file in the lake locally. */
export interface Catalog {
  getPartition(table: string, values: readonly string[]): Promise<CatalogPartition | undefined>;
  listPartitions(table: string): Promise<CatalogPartition[]>;
  /** Creates or moves each partition to its location; idempotent; chunks as the backend needs. */
  putPartitions(table: string, partitions: readonly CatalogPartition[]): Promise<void>;
}

export type QueryRow = Record<string, unknown>;

/** Athena in AWS, DuckDB locally. Queries travel by name and parameters. */
export interface QueryEngine {
  runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]>;
  runSql(sql: string): Promise<QueryRow[]>;
}

/** Injected time; the core never reads the wall clock. */
export interface Clock {
  now(): Date;
}

/** Structured logger; never given log bodies or credentials. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Counters and gauges (EMF in Lambda, an in-memory tally locally). */
export interface Metrics {
  count(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** A measured value (latest wins locally); the unit travels with it to CloudWatch. */
  gauge(name: string, value: number, unit: MetricUnitName): void;
}

/** CloudWatch units the pipeline's gauges use. */
export type MetricUnitName = 'Seconds' | 'Milliseconds' | 'Bytes' | 'Count';

/** Sends Firehose records back into the delivery stream (the transform's overflow path). */
export interface RecordReingester {
  /** Returns how many records could not be re-ingested after bounded retries. */
  reingest(records: readonly Uint8Array[]): Promise<{ failed: number }>;
}

export const systemClock: Clock = { now: () => new Date() };
