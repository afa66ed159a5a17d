import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FsObjectStore } from '../../../src/adapters/local/fs-object-store.ts';
import type { CuratedTableName } from '../../../src/core/schema.ts';
import { athenaStepsOver } from '../../../src/pipeline/workflow-athena.ts';
import type {
  CompactionSteps,
  MergedPartition,
  StagedChunk,
  WorkflowConfig,
  WorkflowDeps,
} from '../../../src/pipeline/workflow-tasks.ts';
import type { Catalog, CatalogPartition, Clock, QueryEngine, QueryRow } from '../../../src/ports.ts';

export const TEST_CONFIG: WorkflowConfig = {
  lateHorizonHours: 6,
  maxBackfillDays: 100,
  childRangeHours: 24,
  leaseTtlSeconds: 900,
  gcGraceHours: 24,
  maxChunkBytes: 64 * 1024 * 1024,
  maxChunkObjects: 2,
  mergeGroupSize: 3,
};

/** A settable clock: tests move time explicitly. */
export class TestClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** A catalog kept as one JSON object in the store (stand-in until the shared local catalog is wired). */
export class StoreCatalog implements Catalog {
  constructor(private readonly store: FsObjectStore) {}
  private async load(): Promise<Record<string, CatalogPartition[]>> {
    const got = await this.store.get('control/catalog/test-catalog.json');
    return got ? JSON.parse(Buffer.from(got.body).toString('utf8')) : {};
  }
  async getPartition(table: string, values: readonly string[]) {
    return (await this.load())[table]?.find((p) => p.values.join('/') === values.join('/'));
  }
  async listPartitions(table: string) {
    return (await this.load())[table] ?? [];
  }
  async putPartitions(table: string, partitions: readonly CatalogPartition[]) {
    const all = await this.load();
    const list = (all[table] ?? []).filter((p) => !partitions.some((n) => n.values.join('/') === p.values.join('/')));
    all[table] = [...list, ...partitions].sort((a, b) => (a.values.join('/') < b.values.join('/') ? -1 : 1));
    await this.store.put('control/catalog/test-catalog.json', JSON.stringify(all));
  }
}

interface Row {
  account: string;
  cluster: string;
  log_group: string;
  event_id: string;
  time: string;
  log_type: string;
  [k: string]: unknown;
}

const TABLE_OF: Record<string, CuratedTableName> = {
  'kube-apiserver-audit': 'audit_events',
  'kube-apiserver': 'component_logs',
  'kube-scheduler': 'component_logs',
  'kube-controller-manager': 'component_logs',
  'cloud-controller-manager': 'component_logs',
  authenticator: 'authenticator_logs',
};

function valuesOf(r: Row): string[] {
  return [r.account, r.cluster, r.time.slice(0, 10), r.time.slice(11, 13)];
}

/**
 * A small NDJSON compaction with the same contract as the real one (stage per chunk, merge
 * existing ∪ staged with dedupe on account/log_group/event_id into a new generation, publish
 * by catalog switch). It lets the workflow tests run before the Parquet compaction is wired.
 */
export function ndjsonCompaction(store: FsObjectStore, catalog: Catalog): CompactionSteps {
  const readLines = async (key: string): Promise<Row[]> => {
    const got = await store.get(key);
    if (!got) return [];
    const text = key.endsWith('.gz') ? gunzipSync(got.body).toString('utf8') : Buffer.from(got.body).toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
  };
  return {
    async stageObjects({ planId, chunkId, keys }) {
      const byPartition = new Map<
        string,
        { table: CuratedTableName; values: string[]; rows: Row[]; objects: Set<string> }
      >();
      let eventsIn = 0;
      for (const key of keys) {
        for (const r of await readLines(key)) {
          eventsIn++;
          const table = TABLE_OF[r.log_type] ?? 'unparsed_logs';
          const values = valuesOf(r);
          const id = `${table}/${values.join('/')}`;
          const p = byPartition.get(id) ?? { table, values, rows: [], objects: new Set() };
          p.rows.push(r);
          p.objects.add(key);
          byPartition.set(id, p);
        }
      }
      const partitions: StagedChunk['partitions'][number][] = [];
      for (const p of byPartition.values()) {
        const [a, c, d, h] = p.values;
        await store.put(
          `control/staging/${planId}/${p.table}/account=${a}/cluster=${c}/dt=${d}/hour=${h}/chunk-${chunkId}.ndjson`,
          p.rows.map((r) => JSON.stringify(r)).join('\n'),
        );
        partitions.push({ table: p.table, values: p.values, events: p.rows.length, objects: p.objects.size });
      }
      return { partitions, eventsIn, quarantined: 0 };
    },
    async mergePartition({ planId, table, values }): Promise<MergedPartition> {
      const [a, c, d, h] = values;
      const home = `curated/${table}/account=${a}/cluster=${c}/dt=${d}/hour=${h}/`;
      const current = await catalog.getPartition(table, values);
      const rows: Row[] = current ? await readLines(`${current.location}data.ndjson`) : [];
      let staged = 0;
      for await (const o of store.list(
        `control/staging/${planId}/${table}/account=${a}/cluster=${c}/dt=${d}/hour=${h}/`,
      )) {
        const lines = await readLines(o.key);
        staged += lines.length;
        rows.push(...lines);
      }
      const seen = new Map<string, Row>();
      for (const r of rows) seen.set(`${r.account}|${r.log_group}|${r.event_id}`, r);
      const out = [...seen.values()].sort((x, y) => (x.event_id < y.event_id ? -1 : 1));
      const location = `${home}gen=${planId}/`;
      await store.put(`${location}data.ndjson`, out.map((r) => JSON.stringify(r)).join('\n'));
      return { table, values, location, rows: out.length, duplicatesRemoved: rows.length - out.length - 0 * staged };
    },
    async publishPartitions({ merged, fence }) {
      for (const m of merged) {
        await fence();
        await catalog.putPartitions(m.table, [{ values: m.values, location: m.location }]);
      }
      return { published: merged.length };
    },
    async collectGarbage() {
      return { deleted: 0 };
    },
  };
}

/** Records every named query instead of running it (the rollup SQL itself is tested in test/sql). */
export class RecordingEngine implements QueryEngine {
  readonly calls: { name: string; params: Readonly<Record<string, string>> }[] = [];
  async runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]> {
    this.calls.push({ name, params });
    return [];
  }
  async runSql(): Promise<QueryRow[]> {
    return [];
  }
}

export interface TestLake {
  readonly dir: string;
  readonly store: FsObjectStore;
  readonly catalog: StoreCatalog;
  readonly clock: TestClock;
  readonly engine: RecordingEngine;
  readonly deps: WorkflowDeps;
  cleanup(): void;
}

export function makeTestLake(now: string, config: Partial<WorkflowConfig> = {}): TestLake {
  const dir = mkdtempSync(join(tmpdir(), 'wf-lake-'));
  const store = new FsObjectStore(dir);
  const catalog = new StoreCatalog(store);
  const clock = new TestClock(new Date(now));
  const engine = new RecordingEngine();
  const deps: WorkflowDeps = {
    store,
    clock,
    config: { ...TEST_CONFIG, ...config },
    compaction: ndjsonCompaction(store, catalog),
    athena: athenaStepsOver({ engine, catalog, clock, registerRawPartitions: true }),
  };
  return { dir, store, catalog, clock, engine, deps, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let seq = 0;

/** Writes one gzip NDJSON raw object as Firehose would, with its mtime set to the arrival time. */
export async function putRawObject(
  lake: TestLake,
  arrivedAt: string,
  events: readonly { id: string; time: string; cluster?: string; logType?: string }[],
): Promise<string> {
  const logType = events[0]?.logType ?? 'kube-apiserver-audit';
  const iso = new Date(arrivedAt).toISOString();
  const key = `raw/log_type=${logType}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-logs-1-${iso.slice(0, 19).replace(/[-:T]/g, '')}-${seq++}.gz`;
  const lines = events.map((e) =>
    JSON.stringify({
      time: e.time,
      cwl_timestamp: Date.parse(e.time),
      event_id: e.id,
      account: '111122223333',
      region: 'eu-west-1',
      cluster: e.cluster ?? 'prod-eu-1',
      log_group: `/aws/eks/${e.cluster ?? 'prod-eu-1'}/cluster`,
      log_stream: `${logType}-0a1b2c`,
      log_type: logType,
      parse_status: 'ok',
      verb: 'get',
      stage: 'ResponseComplete',
    }),
  );
  await lake.store.put(key, gzipSync(`${lines.join('\n')}\n`));
  const t = new Date(arrivedAt);
  utimesSync(join(lake.dir, key), t, t);
  return key;
}

/** Every published row of a table, read through the catalog (what a reader would see). */
export async function publishedRows(lake: TestLake, table: CuratedTableName): Promise<Row[]> {
  const rows: Row[] = [];
  for (const p of await lake.catalog.listPartitions(table)) {
    const got = await lake.store.get(`${p.location}data.ndjson`);
    if (got)
      rows.push(
        ...Buffer.from(got.body)
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
  }
  return rows.sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
}
