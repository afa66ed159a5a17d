import { InvalidInputError, PipelineError, PreconditionFailedError } from '../../core/errors.ts';
import type { Catalog, CatalogPartition, ObjectStore } from '../../ports.ts';
import { type RetryOptions, retryWithBackoff } from '../aws/retry.ts';
import { assertTableName, comparePartitions, normalizePartitions, partitionId } from '../catalog-partitions.ts';

/** Where the local catalog keeps one JSON file per table. */
export const LOCAL_CATALOG_PREFIX = 'control/catalog/';

/** Key of a table's catalog file. */
export function localCatalogKey(table: string): string {
  assertTableName(table);
  return `${LOCAL_CATALOG_PREFIX}${table}.json`;
}

/** On-disk shape of `control/catalog/<table>.json`. */
export interface LocalCatalogFile {
  readonly version: 1;
  readonly table: string;
  /** Sorted by values. */
  readonly partitions: readonly CatalogPartition[];
}

const DEFAULT_CAS_RETRY: RetryOptions = { maxAttempts: 40, baseDelayMs: 2, maxDelayMs: 100 };

/**
 * The Glue stand-in: a table's partitions as one JSON object in the lake. Updates are
 * read-merge-write with If-Match, retried on 412, so concurrent writers lose nothing; a
 * location switch is atomic because the file is replaced whole.
 */
export class LocalCatalog implements Catalog {
  private readonly retry: RetryOptions;

  constructor(
    private readonly store: ObjectStore,
    options: { retry?: RetryOptions } = {},
  ) {
    this.retry = { ...DEFAULT_CAS_RETRY, ...options.retry };
  }

  async getPartition(table: string, values: readonly string[]): Promise<CatalogPartition | undefined> {
    const id = partitionId(values);
    return (await this.read(table))?.file.partitions.find((p) => partitionId(p.values) === id);
  }

  async listPartitions(table: string): Promise<CatalogPartition[]> {
    return [...((await this.read(table))?.file.partitions ?? [])];
  }

  async putPartitions(table: string, partitions: readonly CatalogPartition[]): Promise<void> {
    const wanted = normalizePartitions(table, partitions);
    if (wanted.length === 0) return;
    const key = localCatalogKey(table);
    await retryWithBackoff(
      `catalog ${table}: putPartitions`,
      async () => {
        const current = await this.read(table);
        const merged = new Map((current?.file.partitions ?? []).map((p) => [partitionId(p.values), p]));
        let changed = false;
        for (const p of wanted) {
          const id = partitionId(p.values);
          if (merged.get(id)?.location === p.location) continue;
          merged.set(id, p);
          changed = true;
        }
        if (!changed) return;
        const file: LocalCatalogFile = { version: 1, table, partitions: [...merged.values()].sort(comparePartitions) };
        await this.store.put(key, `${JSON.stringify(file, null, 1)}\n`, {
          contentType: 'application/json',
          ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
        });
      },
      (error) => error instanceof PreconditionFailedError,
      this.retry,
    );
  }

  private async read(table: string): Promise<{ file: LocalCatalogFile; etag: string } | undefined> {
    const key = localCatalogKey(table);
    const got = await this.store.get(key);
    if (got === undefined) return undefined;
    let file: LocalCatalogFile;
    try {
      file = JSON.parse(Buffer.from(got.body).toString('utf8')) as LocalCatalogFile;
    } catch (error) {
      throw new PipelineError(`catalog file ${key} is not JSON`, { cause: error });
    }
    if (file?.version !== 1 || file.table !== table || !Array.isArray(file.partitions)) {
      throw new InvalidInputError(`catalog file ${key} is not a version-1 catalog of table ${table}`);
    }
    return { file, etag: got.etag };
  }
}
