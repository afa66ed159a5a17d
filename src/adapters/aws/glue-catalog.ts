import {
  BatchCreatePartitionCommand,
  type BatchCreatePartitionCommandOutput,
  BatchGetPartitionCommand,
  type BatchGetPartitionCommandOutput,
  BatchUpdatePartitionCommand,
  type BatchUpdatePartitionCommandOutput,
  GetPartitionCommand,
  type GetPartitionCommandOutput,
  GetPartitionsCommand,
  type GetPartitionsCommandOutput,
  GetTableCommand,
  type GetTableCommandOutput,
  type Partition,
  type PartitionInput,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import { CommitConflictError, PipelineError, RetryableError } from '../../core/errors.ts';
import type { Catalog, CatalogPartition } from '../../ports.ts';
import { assertTableName, comparePartitions, normalizePartitions, partitionId } from '../catalog-partitions.ts';
import { errorNameOf, httpStatusOf, type RetryOptions, retryWithBackoff } from './retry.ts';

/** Glue's limit on BatchCreatePartition / BatchUpdatePartition entries per call. */
export const GLUE_BATCH_WRITE_LIMIT = 100;
/** Glue's limit on BatchGetPartition keys per call. */
export const GLUE_BATCH_GET_LIMIT = 1000;

/** Error codes Glue uses for transient trouble, whole-call or per entry. */
const TRANSIENT_CODES = new Set([
  'ThrottlingException',
  'ConcurrentModificationException',
  'InternalServiceException',
  'OperationTimeoutException',
  'ResourceNotReadyException',
]);

/** The one method of GlueClient this adapter uses (a recorded-shape fake also fits). */
export interface GlueSender {
  send(command: any): Promise<any>;
}

export interface GlueCatalogProps {
  readonly client: GlueSender;
  readonly database: string;
  /** Lake bucket: locations are `s3://<bucket>/<lake-relative prefix>`. */
  readonly bucket: string;
  readonly catalogId?: string;
  /** Full-jitter backoff for throttling, concurrent modification and 5xx (default 6 attempts). */
  readonly retry?: RetryOptions;
}

/**
 * {@link Catalog} on the Glue Data Catalog. Creates partitions in batches of 100, moves existing
 * ones (AlreadyExists) with BatchUpdatePartition, then confirms each ended at the wanted location.
 */
export class GlueCatalog implements Catalog {
  private readonly client: GlueSender;
  readonly database: string;
  readonly bucket: string;
  private readonly catalogId: string | undefined;
  private readonly retry: RetryOptions;
  private readonly templates = new Map<string, Promise<StorageDescriptor>>();

  constructor(props: GlueCatalogProps) {
    this.client = props.client;
    this.database = props.database;
    this.bucket = props.bucket;
    this.catalogId = props.catalogId;
    this.retry = props.retry ?? {};
  }

  /** `s3://<bucket>/<location>` for a lake-relative location. */
  toS3Uri(location: string): string {
    return `s3://${this.bucket}/${location}`;
  }

  /** Lake-relative location of a Glue location in this bucket (with a trailing `/`); others unchanged. */
  fromS3Uri(uri: string): string {
    const prefix = `s3://${this.bucket}/`;
    if (!uri.startsWith(prefix)) return uri;
    const rest = uri.slice(prefix.length);
    return rest.endsWith('/') ? rest : `${rest}/`;
  }

  async getPartition(table: string, values: readonly string[]): Promise<CatalogPartition | undefined> {
    assertTableName(table);
    try {
      const out = await this.call<GetPartitionCommandOutput>(
        `GetPartition ${table}${partitionId(values)}`,
        () =>
          new GetPartitionCommand({
            CatalogId: this.catalogId,
            DatabaseName: this.database,
            TableName: table,
            PartitionValues: [...values],
          }),
      );
      return out.Partition ? this.toCatalogPartition(out.Partition) : undefined;
    } catch (error) {
      if (errorNameOf(error) === 'EntityNotFoundException') {
        await this.template(table); // distinguishes "no such partition" from "no such table"
        return undefined;
      }
      throw error;
    }
  }

  async listPartitions(table: string): Promise<CatalogPartition[]> {
    assertTableName(table);
    const out: CatalogPartition[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await this.call<GetPartitionsCommandOutput>(
        `GetPartitions ${table}`,
        () =>
          new GetPartitionsCommand({
            CatalogId: this.catalogId,
            DatabaseName: this.database,
            TableName: table,
            NextToken: token,
            ExcludeColumnSchema: true,
          }),
      ).catch((error: unknown) => this.rethrowTableError(table, error));
      for (const p of page.Partitions ?? []) out.push(this.toCatalogPartition(p));
      token = page.NextToken || undefined;
      if (++pages > 100_000) throw new PipelineError(`GetPartitions ${table}: paging did not end`);
    } while (token !== undefined);
    return out.sort(comparePartitions);
  }

  async putPartitions(table: string, partitions: readonly CatalogPartition[]): Promise<void> {
    const wanted = normalizePartitions(table, partitions);
    if (wanted.length === 0) return;
    const template = await this.template(table);
    const existing: CatalogPartition[] = [];
    for (const chunk of chunks(wanted, GLUE_BATCH_WRITE_LIMIT)) {
      existing.push(...(await this.createChunk(table, template, chunk)));
    }
    if (existing.length === 0) return;

    // AlreadyExists: leave the ones already at the wanted location, move the others, then confirm.
    const current = await this.batchGet(table, existing);
    const toMove = existing.filter((p) => current.get(partitionId(p.values)) !== p.location);
    for (const chunk of chunks(toMove, GLUE_BATCH_WRITE_LIMIT)) await this.updateChunk(table, template, chunk);
    if (toMove.length === 0) return;
    const after = await this.batchGet(table, toMove);
    const lost = toMove.filter((p) => after.get(partitionId(p.values)) !== p.location);
    if (lost.length > 0) {
      const p = lost[0]!;
      throw new CommitConflictError(
        `${this.database}.${table}: ${lost.length} partition(s) not at the wanted location after update, e.g. ` +
          `${partitionId(p.values)} wanted ${p.location}, found ${after.get(partitionId(p.values)) ?? 'nothing'}`,
      );
    }
  }

  /** Creates one chunk; returns the entries Glue reported as AlreadyExists. Transient entry errors are re-sent. */
  private async createChunk(
    table: string,
    template: StorageDescriptor,
    chunk: readonly CatalogPartition[],
  ): Promise<CatalogPartition[]> {
    const existing: CatalogPartition[] = [];
    let pending = [...chunk];
    await retryWithBackoff(
      `BatchCreatePartition ${this.database}.${table}`,
      async () => {
        const out = await this.call<BatchCreatePartitionCommandOutput>(
          `BatchCreatePartition ${table}`,
          () =>
            new BatchCreatePartitionCommand({
              CatalogId: this.catalogId,
              DatabaseName: this.database,
              TableName: table,
              PartitionInputList: pending.map((p) => this.partitionInput(template, p)),
            }),
        );
        const retry: CatalogPartition[] = [];
        const fatal: string[] = [];
        for (const e of out.Errors ?? []) {
          const p = findByValues(pending, e.PartitionValues);
          const code = e.ErrorDetail?.ErrorCode ?? 'Unknown';
          if (p === undefined) fatal.push(`${JSON.stringify(e.PartitionValues)}: ${code} for a partition not sent`);
          else if (code === 'AlreadyExistsException') existing.push(p);
          else if (TRANSIENT_CODES.has(code)) retry.push(p);
          else fatal.push(`${partitionId(p.values)}: ${code} ${e.ErrorDetail?.ErrorMessage ?? ''}`.trim());
        }
        if (fatal.length > 0) {
          throw new PipelineError(`BatchCreatePartition ${this.database}.${table}: ${fatal.join('; ')}`);
        }
        pending = retry;
        if (retry.length > 0) throw new EntryRetry(`${retry.length} entries failed transiently`);
      },
      (error) => error instanceof EntryRetry,
      this.retry,
    );
    return existing;
  }

  private async updateChunk(
    table: string,
    template: StorageDescriptor,
    chunk: readonly CatalogPartition[],
  ): Promise<void> {
    let pending = [...chunk];
    await retryWithBackoff(
      `BatchUpdatePartition ${this.database}.${table}`,
      async () => {
        const out = await this.call<BatchUpdatePartitionCommandOutput>(
          `BatchUpdatePartition ${table}`,
          () =>
            new BatchUpdatePartitionCommand({
              CatalogId: this.catalogId,
              DatabaseName: this.database,
              TableName: table,
              Entries: pending.map((p) => ({
                PartitionValueList: [...p.values],
                PartitionInput: this.partitionInput(template, p),
              })),
            }),
        );
        const retry: CatalogPartition[] = [];
        const fatal: string[] = [];
        for (const e of out.Errors ?? []) {
          const p = findByValues(pending, e.PartitionValueList);
          const code = e.ErrorDetail?.ErrorCode ?? 'Unknown';
          if (p !== undefined && TRANSIENT_CODES.has(code)) retry.push(p);
          else {
            fatal.push(`${JSON.stringify(e.PartitionValueList)}: ${code} ${e.ErrorDetail?.ErrorMessage ?? ''}`.trim());
          }
        }
        if (fatal.length > 0) {
          throw new PipelineError(`BatchUpdatePartition ${this.database}.${table}: ${fatal.join('; ')}`);
        }
        pending = retry;
        if (retry.length > 0) throw new EntryRetry(`${retry.length} entries failed transiently`);
      },
      (error) => error instanceof EntryRetry,
      this.retry,
    );
  }

  /** Current lake-relative location per partition id (absent partitions are missing from the map). */
  private async batchGet(table: string, partitions: readonly CatalogPartition[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const chunk of chunks(partitions, GLUE_BATCH_GET_LIMIT)) {
      let keys = chunk.map((p) => ({ Values: [...p.values] }));
      await retryWithBackoff(
        `BatchGetPartition ${this.database}.${table}`,
        async () => {
          const out = await this.call<BatchGetPartitionCommandOutput>(
            `BatchGetPartition ${table}`,
            () =>
              new BatchGetPartitionCommand({
                CatalogId: this.catalogId,
                DatabaseName: this.database,
                TableName: table,
                PartitionsToGet: keys,
              }),
          );
          for (const p of out.Partitions ?? []) {
            const c = this.toCatalogPartition(p);
            found.set(partitionId(c.values), c.location);
          }
          keys = (out.UnprocessedKeys ?? []).map((k) => ({ Values: [...(k.Values ?? [])] }));
          if (keys.length > 0) throw new EntryRetry(`${keys.length} keys unprocessed`);
        },
        (error) => error instanceof EntryRetry,
        this.retry,
      );
    }
    return found;
  }

  /** The table's StorageDescriptor, fetched once per table, as the template for new partitions. */
  private template(table: string): Promise<StorageDescriptor> {
    let cached = this.templates.get(table);
    if (cached === undefined) {
      cached = this.call<GetTableCommandOutput>(
        `GetTable ${table}`,
        () => new GetTableCommand({ CatalogId: this.catalogId, DatabaseName: this.database, Name: table }),
      )
        .catch((error: unknown) => this.rethrowTableError(table, error))
        .then((out) => {
          const sd = out.Table?.StorageDescriptor;
          if (!sd) throw new PipelineError(`Glue table ${this.database}.${table} has no StorageDescriptor`);
          return sd;
        });
      cached.catch(() => this.templates.delete(table));
      this.templates.set(table, cached);
    }
    return cached;
  }

  private partitionInput(template: StorageDescriptor, p: CatalogPartition): PartitionInput {
    return { Values: [...p.values], StorageDescriptor: { ...template, Location: this.toS3Uri(p.location) } };
  }

  private toCatalogPartition(p: Partition): CatalogPartition {
    return { values: [...(p.Values ?? [])], location: this.fromS3Uri(p.StorageDescriptor?.Location ?? '') };
  }

  private rethrowTableError(table: string, error: unknown): never {
    if (errorNameOf(error) === 'EntityNotFoundException') {
      throw new PipelineError(`Glue table ${this.database}.${table} not found`, { cause: error });
    }
    throw error;
  }

  /** One Glue call, retried with full jitter on throttling, concurrent modification and 5xx. */
  private call<T>(what: string, command: () => unknown): Promise<T> {
    return retryWithBackoff(
      `${what} (${this.database})`,
      () => this.client.send(command()) as Promise<T>,
      isTransientGlueError,
      this.retry,
    );
  }
}

/** Throttling, concurrent modification, internal errors and 5xx: worth another attempt. */
export function isTransientGlueError(error: unknown): boolean {
  if (error instanceof RetryableError) return false; // already the result of a spent retry budget
  const name = errorNameOf(error);
  if (name !== undefined && TRANSIENT_CODES.has(name)) return true;
  const status = httpStatusOf(error);
  return status === 429 || (status !== undefined && status >= 500);
}

/** Internal: some entries of a batch failed transiently and are re-sent. */
class EntryRetry extends Error {}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function findByValues(
  partitions: readonly CatalogPartition[],
  values: readonly string[] | undefined,
): CatalogPartition | undefined {
  if (values === undefined) return undefined;
  const id = partitionId(values);
  return partitions.find((p) => partitionId(p.values) === id);
}
