// Shared by the reliability tests: the generated traffic pushed through the local Firehose and
// the real transform handler into a lake, and a reader of what the catalog publishes.
import { deliverTraffic, type LocalFirehose } from '../../src/adapters/local/firehose-delivery.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { createLocalFirehose } from '../../src/adapters/local/local-firehose.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { tableToRows } from '../../src/core/arrow/rows.ts';
import { COMPACTED_TABLES, MANIFEST_NAME, parseManifest, planIdFor } from '../../src/core/compact/index.ts';
import { collectTraffic, type Delivery, type GroundTruth } from '../../src/core/generate/traffic.ts';
import { decodeParquet } from '../../src/core/parquet.ts';
import { tableDef } from '../../src/core/schema.ts';
import type { CompactionDeps } from '../../src/pipeline/compact.ts';
import { planWindow, type StoredPlan } from '../../src/pipeline/plan.ts';
import { DEFAULT_WORKFLOW_CONFIG } from '../../src/pipeline/workflow-tasks.ts';
import type { Catalog, Log, ObjectStore } from '../../src/ports.ts';

export const ACCOUNTS = ['111122223333', '444455556666'] as const;
export const REGION = 'eu-west-1';
export const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface Traffic {
  deliveries: Delivery[];
  truth: GroundTruth;
}

/** Small generated traffic: a few hundred events, with re-deliveries, late and control messages. */
export function smallTraffic(seed: number, start = new Date('2026-11-27T01:00:00Z')): Traffic {
  return collectTraffic({
    seed,
    start,
    durationMinutes: 10,
    accounts: ACCOUNTS,
    clustersPerAccount: 1,
    eventsPerMinute: 15,
    duplicateRate: 0.1,
    lateRate: 0.05,
    malformedRate: 0.02,
    controlMessageRate: 0.05,
    largeEventRate: 0,
  });
}

/** The local Firehose with the real transform handler, writing into `store`. */
export function firehoseInto(store: ObjectStore, seed = 1): LocalFirehose {
  return createLocalFirehose({ store, seed, region: REGION, allowedAccounts: ACCOUNTS });
}

/** A lake in memory with the traffic delivered into raw/ (and errors/). */
export async function deliveredLake(traffic: Traffic, seed = 1) {
  const store = new MemoryObjectStore();
  const firehose = firehoseInto(store, seed);
  const stats = await deliverTraffic(traffic.deliveries, firehose);
  return { store, catalog: new LocalCatalog(store), stats };
}

/** Every key under `prefix`, in key order. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

/** The plan id the planner would give these objects (key + ETag). */
export async function planIdOf(store: ObjectStore, keys: readonly string[]): Promise<string> {
  const infos = await Promise.all(keys.map((k) => store.head(k)));
  return planIdFor(infos.map((o, i) => ({ key: keys[i]!, etag: o?.etag ?? '' })));
}

/** Compaction over `store` at a fixed time, with the workflow's default late horizon. */
export function compactionDeps(store: ObjectStore, catalog: Catalog, nowMs: number, log: Log = QUIET): CompactionDeps {
  return {
    store,
    catalog,
    log,
    now: () => new Date(nowMs),
    lateHorizonHours: DEFAULT_WORKFLOW_CONFIG.lateHorizonHours,
  };
}

/**
 * Every published row as `[table, partition values, row]` JSON, sorted, read the way a query
 * engine would: catalog location → manifest → files. Throws on a partition that is not whole.
 */
export async function publishedRows(store: ObjectStore, catalog: Catalog): Promise<string[]> {
  const out: string[] = [];
  for (const table of COMPACTED_TABLES) {
    const def = tableDef(table);
    for (const p of await catalog.listPartitions(table)) {
      const m = await store.get(`${p.location}${MANIFEST_NAME}`);
      if (!m) throw new Error(`published ${p.location} has no manifest`);
      const manifest = parseManifest(Buffer.from(m.body).toString('utf8'));
      let n = 0;
      for (const f of manifest.files) {
        const o = await store.get(f.key);
        if (!o) throw new Error(`published file ${f.key} is missing`);
        for (const r of tableToRows(def, decodeParquet(o.body))) {
          out.push(JSON.stringify([table, p.values, r], (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
          n++;
        }
      }
      if (n !== manifest.rows) throw new Error(`${p.location}: ${n} rows, manifest says ${manifest.rows}`);
    }
  }
  return out.sort();
}

/** `account|log_group|event_id` of a published row line. */
export function identityOf(line: string): string {
  const [, values, row] = JSON.parse(line) as [string, string[], Record<string, unknown>];
  return `${values[0]}|${row.log_group}|${row.event_id}`;
}

/** The planner, called with a run holder whether or not its signature takes one yet (it is gaining a run-scoped claim-check prefix). */
export function planWindowFor(
  deps: Parameters<typeof planWindow>[0],
  window: Parameters<typeof planWindow>[1],
  holder = 'reliability-test',
): Promise<StoredPlan> {
  return (planWindow as (...args: unknown[]) => Promise<StoredPlan>)(deps, window, holder);
}
