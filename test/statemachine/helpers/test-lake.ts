import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createMemoryMetrics } from '../../../functions/shared/metrics.ts';
import { FsObjectStore } from '../../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../../src/adapters/local/local-catalog.ts';
import { createLocalWorkflowDeps } from '../../../src/adapters/local/local-workflow-deps.ts';
import { tableToRows } from '../../../src/core/arrow/rows.ts';
import { decodeParquet } from '../../../src/core/parquet.ts';
import { type CuratedTableName, tableDef } from '../../../src/core/schema.ts';
import type { CompactionSteps, WorkflowConfig, WorkflowDeps } from '../../../src/pipeline/workflow-tasks.ts';
import type { Clock, Log, QueryEngine, QueryRow } from '../../../src/ports.ts';

export const TEST_CONFIG: WorkflowConfig = {
  lateHorizonHours: 6,
  maxBackfillDays: 100,
  childRangeHours: 24,
  leaseTtlSeconds: 900,
  gcGraceHours: 24,
  maxChunkBytes: 64 * 1024 * 1024,
  maxChunkObjects: 2,
  mergeGroupSize: 3,
  athenaStatementsPerInvocation: 240,
  athenaConcurrency: 2,
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
  readonly catalog: LocalCatalog;
  readonly clock: TestClock;
  readonly engine: RecordingEngine;
  readonly deps: WorkflowDeps;
  readonly compaction: CompactionSteps;
  cleanup(): void;
}

export function makeTestLake(now: string, config: Partial<WorkflowConfig> = {}): TestLake {
  const dir = mkdtempSync(join(tmpdir(), 'wf-lake-'));
  const store = new FsObjectStore(dir);
  const catalog = new LocalCatalog(store);
  const clock = new TestClock(new Date(now));
  const engine = new RecordingEngine();
  // The workflow's own local composition: compaction gets the config's late horizon, as in Lambda.
  const deps = createLocalWorkflowDeps({
    store,
    catalog,
    engine,
    clock,
    config: { ...TEST_CONFIG, ...config },
    registerRawPartitions: true,
  });
  return {
    dir,
    store,
    catalog,
    clock,
    engine,
    deps,
    compaction: deps.compaction,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let seq = 0;

/** A CloudWatch-style event id (56 decimal digits) that is stable for a test's short id. */
export function cwlId(shortId: string): string {
  return `3${shortId.padStart(55, '0')}`;
}

/** Writes one gzip NDJSON raw object as Firehose would, with its mtime set to the arrival time. */
export async function putRawObject(
  lake: TestLake,
  arrivedAt: string,
  events: readonly { id: string; time: string; cluster?: string; logType?: string }[],
): Promise<string> {
  const logType = events[0]?.logType ?? 'kube-apiserver-audit';
  const iso = new Date(arrivedAt).toISOString();
  const key = `raw/log_type=${logType}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-logs-1-${iso.slice(0, 19).replace(/[:T]/g, '-')}-${seq++}.gz`;
  const lines = events.map((e) => {
    const cluster = e.cluster ?? 'prod-eu-1';
    const micro = new Date(e.time).toISOString().replace('Z', '000Z');
    return JSON.stringify({
      time: micro,
      cwl_timestamp: Date.parse(e.time) + 800,
      event_id: cwlId(e.id),
      account: '111122223333',
      region: 'eu-west-1',
      cluster,
      log_group: `/aws/eks/${cluster}/cluster`,
      log_stream: 'kube-apiserver-audit-2b9c4f1e8d7a6b5c4d3e2f1a0b9c8d7e',
      log_type: logType,
      parse_status: 'ok',
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: `5f0c1a2b-3c4d-4e5f-8a9b-${e.id.padStart(12, '0')}`,
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/payments/secrets/db-password',
      verb: 'get',
      user: { username: 'system:serviceaccount:payments:api', uid: 'a1b2', groups: ['system:serviceaccounts'] },
      sourceIPs: ['10.0.12.34'],
      userAgent: 'payments-api/1.4.2 (linux/amd64) kubernetes/v1.30.2',
      objectRef: { resource: 'secrets', namespace: 'payments', name: 'db-password', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: micro,
      stageTimestamp: micro,
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
    });
  });
  await lake.store.put(key, gzipSync(`${lines.join('\n')}\n`));
  const t = new Date(arrivedAt);
  utimesSync(join(lake.dir, key), t, t);
  return key;
}

/** Every published row of a table, read through the catalog as a reader would see it. */
export async function publishedRows(lake: TestLake, table: CuratedTableName): Promise<Record<string, unknown>[]> {
  const def = tableDef(table);
  const rows: Record<string, unknown>[] = [];
  for (const p of await lake.catalog.listPartitions(table)) {
    for await (const o of lake.store.list(p.location)) {
      if (!o.key.endsWith('.parquet')) continue;
      const got = await lake.store.get(o.key);
      rows.push(...(tableToRows(def, decodeParquet(got!.body)) as Record<string, unknown>[]));
    }
  }
  return rows.sort((a, b) => (String(a.event_id) < String(b.event_id) ? -1 : 1));
}

/** The lake's deps with every LIST under raw/ recorded, a log that keeps its errors, and in-memory metrics. */
export function observeRun(l: TestLake) {
  const rawLists: string[] = [];
  const errors: { message: string; fields?: Record<string, unknown> }[] = [];
  const store = new Proxy(l.store, {
    get(target, prop, receiver) {
      if (prop === 'list') {
        return (prefix: string, options?: { startAfter?: string }) => {
          if (prefix.startsWith('raw/')) rawLists.push(prefix);
          return target.list(prefix, options);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const quiet = () => {};
  const log: Log = {
    debug: quiet,
    info: quiet,
    warn: quiet,
    error: (message, fields) => errors.push({ message, fields }),
  };
  const metrics = createMemoryMetrics();
  return { deps: { ...l.deps, store, log, metrics }, rawLists, errors, metrics };
}
