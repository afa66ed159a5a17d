// Shared by the compaction pipeline tests: a throwaway local lake and a reader that goes
// through the catalog exactly as a query engine would (location → manifest → files).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { tableToRows } from '../../src/core/arrow/rows.ts';
import { COMPACTED_TABLES, MANIFEST_NAME, parseManifest } from '../../src/core/compact/index.ts';
import { decodeParquet } from '../../src/core/parquet.ts';
import { tableDef } from '../../src/core/schema.ts';
import type { CompactionDeps } from '../../src/pipeline/compact.ts';
import type { Catalog, Log, ObjectStore } from '../../src/ports.ts';

export const SILENT: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** What the compaction tests use of a lake: its store, its catalog, and compaction deps at a time. */
export interface LakeStores {
  store: ObjectStore;
  catalog: Catalog;
  deps(now: number, extra?: Partial<CompactionDeps>): CompactionDeps;
}

export interface Lake extends LakeStores {
  dir: string;
  dispose(): void;
}

/** A `lake()` factory for a test file: every lake it makes is removed after each test. */
export function lakePerTest(): () => Lake {
  let lakes: Lake[] = [];
  afterEach(() => {
    for (const l of lakes) l.dispose();
    lakes = [];
  });
  return () => {
    const l = makeLake();
    lakes.push(l);
    return l;
  };
}

export function makeLake(): Lake {
  const dir = mkdtempSync(join(tmpdir(), 'compact-lake-'));
  const store = new FsObjectStore(dir);
  const catalog = new LocalCatalog(store);
  return {
    dir,
    store,
    catalog,
    deps: (now, extra = {}) => ({ store, catalog, log: SILENT, now: () => new Date(now), ...extra }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A lake in memory whose objects are stamped by `clock` (a folder's file times come from the
 * host clock), for tests of behaviour that depends on object age, such as garbage collection.
 */
export function clockedLake(clock: () => Date): LakeStores {
  const store = new MemoryObjectStore(clock);
  const catalog = new LocalCatalog(store);
  return {
    store,
    catalog,
    deps: (now, extra = {}) => ({ store, catalog, log: SILENT, now: () => new Date(now), ...extra }),
  };
}

/**
 * Every published row per table, read through catalog locations and manifests. Throws if a
 * published partition is not whole (missing manifest or file, wrong hash or row count).
 */
export async function readPublished(store: ObjectStore, catalog: Catalog): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of COMPACTED_TABLES) {
    const def = tableDef(table);
    out[table] = [];
    for (const p of await catalog.listPartitions(table)) {
      const m = await store.get(`${p.location}${MANIFEST_NAME}`);
      if (!m) throw new Error(`published ${p.location} has no manifest`);
      const manifest = parseManifest(Buffer.from(m.body).toString('utf8'));
      for (const f of manifest.files) {
        if (!f.key.startsWith(p.location)) throw new Error(`${f.key} outside ${p.location}`);
        const o = await store.get(f.key);
        if (!o) throw new Error(`published file ${f.key} missing`);
        if (createHash('sha256').update(o.body).digest('hex') !== f.sha256) throw new Error(`${f.key} hash mismatch`);
        const rows = tableToRows(def, decodeParquet(o.body));
        if (rows.length !== f.rows) throw new Error(`${f.key} row count mismatch`);
        for (const r of rows) out[table]!.push(JSON.stringify([p.values, r]));
      }
    }
    out[table]!.sort();
  }
  return out;
}

export function countRows(published: Record<string, string[]>): number {
  return Object.values(published).reduce((n, rows) => n + rows.length, 0);
}
