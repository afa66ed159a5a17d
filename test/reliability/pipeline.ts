// Shared by the reliability tests: the generated traffic pushed through the local Firehose and
// the real transform handler into a lake, and a reader of what the catalog publishes.
import { gzipSync } from 'node:zlib';
import {
  encodeSubscriptionMessage,
  type FirehoseDeliveryStats,
  type LocalFirehose,
} from '../../src/adapters/local/firehose-delivery.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { createLocalFirehose } from '../../src/adapters/local/local-firehose.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { tableToRows } from '../../src/core/arrow/rows.ts';
import { COMPACTED_TABLES, MANIFEST_NAME, parseManifest, planIdFor } from '../../src/core/compact/index.ts';
import { collectTraffic, type Delivery, type GroundTruth } from '../../src/core/generate/traffic.ts';
import { decodeParquet } from '../../src/core/parquet.ts';
import { tableDef } from '../../src/core/schema.ts';
import type { SubscriptionMessage } from '../../src/core/types.ts';
import type { CompactionDeps } from '../../src/pipeline/compact.ts';
import { planWindow, type StoredPlan } from '../../src/pipeline/plan.ts';
import { DEFAULT_WORKFLOW_CONFIG } from '../../src/pipeline/workflow-tasks.ts';
import type { Catalog, CatalogPartition, Log, ObjectStore } from '../../src/ports.ts';

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

/**
 * A lake in memory with the traffic delivered into raw/ (and errors/). `failing` records are put
 * into the stream among the deliveries, each before the first delivery that arrives after it.
 */
export async function deliveredLake(
  traffic: Traffic,
  seed = 1,
  failing: readonly FailingRecord[] = [],
): Promise<{ store: MemoryObjectStore; catalog: LocalCatalog; stats: FirehoseDeliveryStats }> {
  const store = new MemoryObjectStore();
  const firehose = firehoseInto(store, seed);
  const bad = [...failing].sort((a, b) => a.arrival.getTime() - b.arrival.getTime());
  let next = 0;
  for (const d of traffic.deliveries) {
    while (next < bad.length && bad[next]!.arrival.getTime() <= d.arrival.getTime()) {
      await firehose.put(bad[next]!.data, bad[next]!.arrival);
      next++;
    }
    await firehose.put(encodeSubscriptionMessage(d.message), d.arrival);
  }
  for (const r of bad.slice(next)) await firehose.put(r.data, r.arrival);
  await firehose.flush();
  return { store, catalog: new LocalCatalog(store), stats: firehose.stats };
}

/** Ways a Firehose record can be broken so that the transform must answer it ProcessingFailed. */
export const FAILING_KINDS = [
  'not_gzip',
  'truncated_gzip',
  'trailing_garbage',
  'invalid_json',
  'unknown_message_type',
  'owner_not_allowed',
] as const;
export type FailingKind = (typeof FAILING_KINDS)[number];

/** A record the transform must fail, and how many CloudWatch events the message in it held. */
export interface FailingRecord {
  readonly kind: FailingKind;
  readonly data: Uint8Array;
  readonly events: number;
  readonly arrival: Date;
}

/** Log group of the events inside failing records: none of them may ever reach a curated table. */
export const FAILING_LOG_GROUP = '/aws/eks/failing-records/cluster';

/**
 * A data message (the events of `source`, moved to {@link FAILING_LOG_GROUP} so they cannot
 * pass for generated ones) packed into a Firehose record broken the `kind` way.
 */
export function failingRecord(kind: FailingKind, source: SubscriptionMessage, arrival: Date): FailingRecord {
  const message = { ...source, messageType: 'DATA_MESSAGE' as const, logGroup: FAILING_LOG_GROUP };
  const json = JSON.stringify(kind === 'owner_not_allowed' ? { ...message, owner: '999988887777' } : message);
  const gzip = (text: string) => new Uint8Array(gzipSync(text));
  const data: Record<FailingKind, () => Uint8Array> = {
    not_gzip: () => new Uint8Array(Buffer.from(json, 'utf8')),
    truncated_gzip: () => gzip(json).subarray(0, -12),
    trailing_garbage: () => new Uint8Array(Buffer.concat([gzip(json), Buffer.from('garbage after the gzip member')])),
    invalid_json: () => gzip(json.slice(0, Math.floor(json.length / 2))),
    unknown_message_type: () => gzip(JSON.stringify({ ...message, messageType: 'DATA_MESSAGE_V2' })),
    owner_not_allowed: () => gzip(json),
  };
  return { kind, data: data[kind](), events: source.logEvents.length, arrival };
}

/**
 * The records Firehose wrote under errors/ (its `processing-failed` output), as the bytes it was
 * given: one entry per failed record.
 */
export async function failedRecordData(store: ObjectStore): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const key of await keysUnder(store, 'errors/')) {
    const body = Buffer.from((await store.get(key))!.body).toString('utf8');
    for (const line of body.split('\n')) {
      if (line) out.push(new Uint8Array(Buffer.from((JSON.parse(line) as { rawData: string }).rawData, 'base64')));
    }
  }
  return out;
}

/** A copy of every object of `store` (keys, bodies and so ETags), to fork a lake. */
export async function copyStore(store: ObjectStore): Promise<MemoryObjectStore> {
  const copy = new MemoryObjectStore();
  for (const key of await keysUnder(store, '')) await copy.put(key, (await store.get(key))!.body);
  return copy;
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

/** One published partition as a reader sees it: where the catalog points and the rows there. */
export interface PublishedPartition extends CatalogPartition {
  readonly table: string;
  /** `[table, partition values, row]` JSON lines, sorted. */
  readonly rows: string[];
}

/**
 * Every published partition, keyed `table|values`, read the way a query engine would: catalog
 * location → manifest → files. Throws on a partition that is not whole.
 */
export async function publishedPartitions(
  store: ObjectStore,
  catalog: Catalog,
): Promise<Map<string, PublishedPartition>> {
  const out = new Map<string, PublishedPartition>();
  for (const table of COMPACTED_TABLES) {
    const def = tableDef(table);
    for (const p of await catalog.listPartitions(table)) {
      const m = await store.get(`${p.location}${MANIFEST_NAME}`);
      if (!m) throw new Error(`published ${p.location} has no manifest`);
      const manifest = parseManifest(Buffer.from(m.body).toString('utf8'));
      const rows: string[] = [];
      for (const f of manifest.files) {
        const o = await store.get(f.key);
        if (!o) throw new Error(`published file ${f.key} is missing`);
        for (const r of tableToRows(def, decodeParquet(o.body))) {
          rows.push(JSON.stringify([table, p.values, r], (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
        }
      }
      if (rows.length !== manifest.rows) {
        throw new Error(`${p.location}: ${rows.length} rows, manifest says ${manifest.rows}`);
      }
      out.set(`${table}|${p.values.join('|')}`, { table, values: p.values, location: p.location, rows: rows.sort() });
    }
  }
  return out;
}

/**
 * Every published row as `[table, partition values, row]` JSON, sorted, read the way a query
 * engine would: catalog location → manifest → files. Throws on a partition that is not whole.
 */
export async function publishedRows(store: ObjectStore, catalog: Catalog): Promise<string[]> {
  return [...(await publishedPartitions(store, catalog)).values()].flatMap((p) => p.rows).sort();
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
