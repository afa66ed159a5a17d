import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import { DuckDbQueryEngine } from '../adapters/local/duckdb-query-engine.ts';
import { getStatement } from '../core/sql/catalogue.ts';
import type { Catalog, ObjectStore, QueryEngine, QueryRow } from '../ports.ts';
import type { DemoLake } from './demo.ts';

/** Prefixes copied for DuckDB: raw NDJSON, curated Parquet and the catalog (so the copy is a queryable lake). */
const MIRRORED = ['raw/', 'curated/', 'control/catalog/'];

export interface S3LakeOptions {
  readonly endpoint: string;
  readonly bucket: string;
  /** Local folder DuckDB reads the lake's copy from (it has no S3 access offline). */
  readonly mirrorDir: string;
  readonly client?: S3Client;
}

/** An S3 client for an S3-compatible server: path-style, checksums only when required. */
export function s3CompatibleClient(endpoint: string): S3Client {
  const env = process.env;
  return new S3Client({
    endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Local S3-compatible servers accept any key; real credentials come from the usual chain.
    ...(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE
      ? {}
      : { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
  });
}

/**
 * The demo lake in an S3 bucket. Every write goes through S3ObjectStore; DuckDB (which cannot
 * reach S3 offline) queries a local copy that is brought up to date before each statement, and
 * a statement that writes a `location` (the hourly rollup) has its files copied back to S3.
 */
export function s3Lake(opts: S3LakeOptions): DemoLake {
  const client = opts.client ?? s3CompatibleClient(opts.endpoint);
  const store = new S3ObjectStore({ client, bucket: opts.bucket });
  const mirrorDir = resolve(opts.mirrorDir);
  const lake: DemoLake = {
    store,
    description: `s3://${opts.bucket} at ${opts.endpoint} (DuckDB reads a copy in ${relative(process.cwd(), mirrorDir) || '.'})`,
    // The bucket is created when missing, so the CLI needs no separate step.
    prepare: async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: opts.bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket: opts.bucket }));
      }
    },
    openEngine: async (catalog) => {
      for (const p of MIRRORED) rmSync(join(mirrorDir, p), { recursive: true, force: true });
      mkdirSync(mirrorDir, { recursive: true });
      return new MirroredEngine(store, catalog, mirrorDir);
    },
  };
  return lake;
}

/** DuckDB over a local copy of an object-store lake, kept in step key by key (ETag). */
class MirroredEngine implements QueryEngine {
  private readonly engine: DuckDbQueryEngine;
  private readonly copied = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    catalog: Catalog,
    private readonly dir: string,
  ) {
    this.engine = new DuckDbQueryEngine({ lakeDir: dir, catalog });
  }

  async runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]> {
    await this.sync();
    const rows = await this.engine.runNamed(name, params);
    const stmt = getStatement('duckdb', name);
    for (const p of stmt.params.filter((x) => x.type === 'location')) {
      const location = params[p.name] ?? p.default;
      if (location !== undefined) await this.upload(location);
    }
    return rows;
  }

  async runSql(sql: string): Promise<QueryRow[]> {
    await this.sync();
    return this.engine.runSql(sql);
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private async sync(): Promise<void> {
    const seen = new Set<string>();
    for (const prefix of MIRRORED) {
      for await (const o of this.store.list(prefix)) {
        seen.add(o.key);
        if (this.copied.get(o.key) === o.etag) continue;
        const got = await this.store.get(o.key);
        if (!got) continue;
        const path = join(this.dir, o.key);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, got.body);
        this.copied.set(o.key, got.etag);
      }
    }
    for (const key of [...this.copied.keys()])
      if (!seen.has(key)) {
        await unlink(join(this.dir, key)).catch(() => undefined);
        this.copied.delete(key);
      }
  }

  private async upload(location: string): Promise<void> {
    const root = join(this.dir, location);
    const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const f of files) {
      if (!f.isFile()) continue;
      const path = join(f.parentPath, f.name);
      const key = relative(this.dir, path).split('\\').join('/');
      const { etag } = await this.store.put(key, await readFile(path));
      this.copied.set(key, etag);
    }
  }
}
