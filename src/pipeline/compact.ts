import { gzipSync } from 'node:zlib';
import type { CuratedRow } from '../core/arrow/build.ts';
import { tableToRows } from '../core/arrow/rows.ts';
import {
  COMPACTED_TABLES,
  type CompactedTable,
  checkPartitionValues,
  checkPlanId,
  chunkOfStagedKey,
  DedupeSet,
  dedupeKey,
  generationPrefix,
  KEY_COLUMNS,
  MANIFEST_NAME,
  type ManifestFile,
  type MappedLine,
  mapRawLine,
  type PartitionManifest,
  parseManifest,
  parseRawKey,
  QUARANTINE_OBJECTS_PREFIX,
  QUARANTINE_RECORDS_PREFIX,
  type QuarantineReason,
  quarantineReasonKey,
  SortedBatch,
  serializeManifest,
  sha256Hex,
  stagingPrefix,
  type TimeBounds,
  timeBoundsFor,
} from '../core/compact/index.ts';
import { CommitConflictError, InvalidInputError, PreconditionFailedError } from '../core/errors.ts';
import { decodeParquet, encodeParquet } from '../core/parquet.ts';
import { type CuratedTableName, tableDef } from '../core/schema.ts';
import type { Catalog, Log, Metrics, ObjectInfo, ObjectStore } from '../ports.ts';
import { gunzipLines, RawObjectError } from './compact-lines.ts';
import { type PublishResult, publishPartitions } from './publish.ts';

export { type PublishResult, publishPartitions };

export interface CompactionDeps {
  store: ObjectStore;
  catalog: Catalog;
  log: Log;
  metrics?: Metrics;
  now: () => Date;
  /** How far before its arrival hour an event may be and still be curated (default 48 h). */
  lateHorizonHours?: number;
  /** NDJSON text held in memory before rows are written out (default 24 MiB); bounds peak RSS. */
  memoryBudgetBytes?: number;
  /**
   * Maps one raw line to a row or a quarantine reason (default `mapRawLine`, the only mapping
   * production code uses): a test seam standing in for an older or newer mapping, e.g. to stage
   * what a rebuild must then change. In this process only; worker stagers use the default.
   */
  mapLine?: (line: string, bounds: TimeBounds) => MappedLine;
}

/** A partition of a curated table. */
export interface PartitionRef {
  readonly table: CompactedTable;
  readonly values: string[];
}

/** Counters a stage reports and a whole compaction sums (one list, so the two cannot drift). */
export interface StageCounters {
  objects: number;
  emptyObjects: number;
  quarantinedObjects: number;
  /** Keys that are not Firehose raw objects (`raw/log_type=…/dt=…/hour=…/file`), left alone. */
  ignoredKeys: number;
  /** Keys listed in the plan but gone from the store. */
  missingObjects: number;
  /** Non-blank lines read from objects that were read to the end. */
  events: number;
  duplicates: number;
  quarantined: number;
  /** Events partitioned by their CloudWatch timestamp because their own time was unusable. */
  timeFallbacks: number;
  /** Secrets replaced by `[REDACTED:<kind>]` markers in curated rows (raw/ keeps them). */
  redactions: number;
  /**
   * Audit rows kept although an earlier row of this chunk has the same cluster, `auditID` and
   * `stage` under another CloudWatch id (matrix row 30, `semantic_dup`): both are kept.
   */
  semanticDuplicates: number;
  /** Events kept in unparsed_logs as `parse_status=truncated`: JSON cut short (matrix row 16). */
  truncated: number;
  bytesIn: number;
  bytesOut: number;
}

const COUNTER_KEYS = [
  'objects',
  'emptyObjects',
  'quarantinedObjects',
  'ignoredKeys',
  'missingObjects',
  'events',
  'duplicates',
  'quarantined',
  'timeFallbacks',
  'redactions',
  'semanticDuplicates',
  'truncated',
  'bytesIn',
  'bytesOut',
] as const satisfies readonly (keyof StageCounters)[];

function zeroCounters(): StageCounters {
  const c = {} as StageCounters;
  for (const k of COUNTER_KEYS) c[k] = 0;
  return c;
}

/** What phase 1 did for one chunk of raw objects (small and JSON-serialisable). */
export interface StageResult extends StageCounters {
  planId: string;
  chunkId: string;
  rows: Record<CompactedTable, number>;
  quarantineReasons: Partial<Record<QuarantineReason | string, number>>;
  partitions: PartitionRef[];
}

/** What phase 2 did for one partition. */
export interface MergeResult {
  table: CompactedTable;
  values: string[];
  /** Where the catalog must point after publish (the new generation, or the unchanged current one). */
  location: string | null;
  /** True when `location` is a new generation that is not published yet. */
  changed: boolean;
  /** The generation the merge started from; publish refuses to switch if the catalog moved since. */
  baseLocation: string | null;
  /**
   * Chunk ids whose staged files of this partition `location` holds (merged, or all duplicates of
   * its rows); WriteLedger records a chunk's objects only when every partition it staged into has it.
   */
  chunks?: string[];
  rows: number;
  addedRows: number;
  duplicates: number;
  files: number;
  bytesOut: number;
}

/** Totals of a whole in-process compaction (CLI, tests). */
export interface CompactionSummary extends StageCounters {
  planId: string;
  /** Rows newly added per table (after dedupe against what was already published). */
  rows: Record<CompactedTable, number>;
  quarantineReasons: Record<string, number>;
  partitions: number;
  published: number;
}

const DEFAULT_HORIZON_HOURS = 48;
const DEFAULT_BUDGET = 24 * 1024 * 1024;
const MAX_OBJECT_BYTES = 8 * 1024 * 1024 * 1024;
/** Files below this many rows are rewritten into the next generation instead of carried over. */
const SMALL_FILE_ROWS = 20_000;
/** Share of the memory budget a large object's rows are committed in (96 KiB at the default). */
const COMMIT_SLICE = 1 / 256;
/** Quarantined lines above this size are kept by reference (object, line number, head). */
const MAX_QUARANTINE_LINE = 1024 * 1024;

const zeroRows = (): Record<CompactedTable, number> => ({
  audit_events: 0,
  component_logs: 0,
  authenticator_logs: 0,
  unparsed_logs: 0,
});

const budgetOf = (deps: CompactionDeps) => deps.memoryBudgetBytes ?? DEFAULT_BUDGET;
// Lines in memory cost about twice their UTF-8 size as rows of JS strings and objects.
const maxLineBytes = (deps: CompactionDeps) => Math.max(64 * 1024, Math.floor(budgetOf(deps) / 4));

function pad(n: number): string {
  return String(n).padStart(5, '0');
}

interface StagedBuffer {
  readonly table: CompactedTable;
  readonly values: readonly [string, string, string, string];
  batch: SortedBatch;
  readonly keys: DedupeSet;
  readonly sources: Set<string>;
  seq: number;
}

interface Mapped {
  readonly table: CompactedTable;
  readonly values: readonly [string, string, string, string];
  readonly row: CuratedRow;
  readonly bytes: number;
}

async function writeStaged(deps: CompactionDeps, planId: string, chunkId: string, buf: StagedBuffer): Promise<number> {
  if (buf.batch.length === 0) return 0;
  const bytes = encodeParquet(buf.batch.sortedTable());
  const base = `${stagingPrefix(planId, buf.table, buf.values)}${chunkId}-${pad(buf.seq)}`;
  const side = { rows: buf.batch.length, textBytes: buf.batch.textBytes, sources: [...buf.sources].sort() };
  await deps.store.put(`${base}.parquet`, bytes, { contentType: 'application/vnd.apache.parquet' });
  await deps.store.put(`${base}.json`, JSON.stringify(side), { contentType: 'application/json' });
  buf.seq++;
  buf.batch = new SortedBatch(buf.batch.def);
  buf.sources.clear();
  return bytes.byteLength;
}

/**
 * Phase 1: reads a chunk of raw objects, maps every line to a curated row or a quarantine
 * reason, drops duplicates inside the chunk and stages sorted Parquet per partition under
 * `control/staging/<planId>/…/<chunkId>-NNNNN.parquet`. Keys are deterministic, so a rerun
 * overwrites with the same content.
 */
export async function stageObjects(
  deps: CompactionDeps,
  input: { planId: string; chunkId: string; keys: string[] },
): Promise<StageResult> {
  checkPlanId(input.planId);
  checkPlanId(input.chunkId);
  const budget = budgetOf(deps);
  const horizonMs = (deps.lateHorizonHours ?? DEFAULT_HORIZON_HOURS) * 3600_000;
  const mapLine = deps.mapLine ?? mapRawLine;
  const res: StageResult = {
    planId: input.planId,
    chunkId: input.chunkId,
    ...zeroCounters(),
    rows: zeroRows(),
    quarantineReasons: {},
    partitions: [],
  };
  const buffers = new Map<string, StagedBuffer>();
  // account|cluster|auditID|stage of audit rows kept in this chunk, for the semantic_dup count.
  const auditStages = new Set<string>();
  let buffered = 0;
  const quarantineLines: string[] = [];
  let quarantineBytes = 0;
  let quarantineSeq = 0;

  const flushQuarantine = async () => {
    if (quarantineLines.length === 0) return;
    const key = `${QUARANTINE_RECORDS_PREFIX}plan=${input.planId}/chunk=${input.chunkId}-${pad(quarantineSeq++)}.ndjson.gz`;
    const body = gzipSync(`${quarantineLines.join('\n')}\n`);
    await deps.store.put(key, body, { contentType: 'application/x-ndjson' });
    res.bytesOut += body.byteLength;
    quarantineLines.length = 0;
    quarantineBytes = 0;
  };
  const addQuarantine = (reason: string, entry: Record<string, unknown>) => {
    res.quarantined++;
    res.quarantineReasons[reason] = (res.quarantineReasons[reason] ?? 0) + 1;
    const text = JSON.stringify({ reason, ...entry });
    quarantineLines.push(text);
    quarantineBytes += text.length;
  };

  // Writes the biggest partitions until the buffered text is back under half the budget.
  const spill = async (force: boolean) => {
    const all = [...buffers.values()].sort(
      (a, b) => b.batch.textBytes - a.batch.textBytes || keyOf(a).localeCompare(keyOf(b)),
    );
    for (const b of all) {
      if (!force && buffered <= budget / 2) break;
      buffered -= b.batch.textBytes;
      res.bytesOut += await writeStaged(deps, input.planId, input.chunkId, b);
    }
    if (force || quarantineBytes > budget / 4) await flushQuarantine();
  };

  const commit = (pending: Mapped[], source: string) => {
    for (const m of pending) {
      const k = `${m.table}|${m.values.join('|')}`;
      let b = buffers.get(k);
      if (!b) {
        const batch = new SortedBatch(tableDef(m.table));
        b = { table: m.table, values: m.values, batch, keys: new DedupeSet(), sources: new Set(), seq: 0 };
        buffers.set(k, b);
        res.partitions.push({ table: m.table, values: [...m.values] });
      }
      if (!b.keys.add(m.row)) {
        res.duplicates++;
        continue;
      }
      b.batch.add(m.row, dedupeKey(m.row), m.bytes);
      b.sources.add(source);
      buffered += m.bytes;
      res.rows[m.table]++;
      if (m.table === 'audit_events') {
        const sk = `${m.values[0]}|${m.values[1]}|${m.row.audit_id}|${m.row.stage}`;
        if (auditStages.has(sk)) res.semanticDuplicates++;
        else auditStages.add(sk);
      }
    }
  };

  for (const key of input.keys) {
    const raw = parseRawKey(key);
    if (!raw) {
      res.ignoredKeys++;
      deps.log.warn('ignoring a key that is not a raw object', { key });
      continue;
    }
    // No HEAD: the stream itself tells the size (one request less per object on S3).
    const body = await deps.store.getStream(key);
    if (!body) {
      res.missingObjects++;
      deps.log.warn('raw object listed in the plan is missing', { key });
      continue;
    }
    res.objects++;
    let objectBytes = 0;
    const stream = (async function* () {
      for await (const chunk of body) {
        objectBytes += chunk.length;
        yield chunk;
      }
    })();
    // From the object's arrival hour, not the clock: a rerun of the plan stages the same rows (F25).
    const bounds = timeBoundsFor(raw.arrivalMs, horizonMs);
    // Rows of a small object are committed together, so a corrupt one adds nothing half-read;
    // a bigger one is committed in slices of COMMIT_SLICE of the budget (what was read stays,
    // deduped later). Small slices let mapped rows die young: ~12 % less CPU than budget / 8.
    let pending: Mapped[] = [];
    let pendingBytes = 0;
    let events = 0;
    let objQuarantine: [string, Record<string, unknown>][] = [];
    try {
      for await (const line of gunzipLines(stream, {
        maxLineBytes: maxLineBytes(deps),
        maxObjectBytes: MAX_OBJECT_BYTES,
      })) {
        events++;
        if (line.kind === 'too_long') {
          objQuarantine.push([
            'line_too_long',
            { key, line: line.lineNo, bytes: line.bytes, head_b64: Buffer.from(line.head).toString('base64') },
          ]);
          continue;
        }
        if (line.kind === 'bad_utf8') {
          objQuarantine.push([
            'encoding_error',
            { key, line: line.lineNo, bytes: line.bytes, line_b64: Buffer.from(line.raw).toString('base64') },
          ]);
          continue;
        }
        const m = mapLine(line.text, bounds);
        if (m.kind === 'quarantine') {
          const keep = line.text.length <= MAX_QUARANTINE_LINE;
          objQuarantine.push([
            m.reason,
            { key, line: line.lineNo, detail: m.detail, bytes: line.bytes, ...(keep ? { text: line.text } : {}) },
          ]);
          continue;
        }
        if (m.timeFallback) res.timeFallbacks++;
        res.redactions += m.redactions;
        if (m.table === 'unparsed_logs' && m.row.parse_status === 'truncated') res.truncated++;
        pending.push({ table: m.table, values: m.values, row: m.row, bytes: line.bytes });
        pendingBytes += line.bytes;
        if (pendingBytes > budget * COMMIT_SLICE || pendingBytes + buffered > budget) {
          res.events += events;
          events = 0;
          commit(pending, key);
          for (const [r, e] of objQuarantine) addQuarantine(r, e);
          pending = [];
          objQuarantine = [];
          pendingBytes = 0;
          await spill(false);
        }
      }
    } catch (err) {
      if (!(err instanceof RawObjectError)) throw err;
      res.bytesIn += objectBytes;
      res.quarantinedObjects++;
      await quarantineObject(deps, key, err.reason, err.message, input.planId);
      deps.log.warn('raw object quarantined', { key, reason: err.reason });
      deps.metrics?.count('QuarantinedObjects', 1, { reason: err.reason });
      continue;
    }
    res.bytesIn += objectBytes;
    if (objectBytes === 0) res.emptyObjects++;
    res.events += events;
    commit(pending, key);
    for (const [r, e] of objQuarantine) addQuarantine(r, e);
    if (buffered > budget || quarantineBytes > budget / 4) await spill(false);
  }
  await spill(true);
  // Drop the key sets now: a caller that goes on to merge in this process needs the memory.
  buffers.clear();
  auditStages.clear();
  if (res.truncated > 0) deps.metrics?.count('TruncatedEvents', res.truncated);
  if (res.semanticDuplicates > 0) deps.metrics?.count('SemanticDuplicates', res.semanticDuplicates);
  if (res.quarantined > 0) deps.metrics?.count('QuarantinedRecords', res.quarantined);
  if (res.redactions > 0) deps.metrics?.count('RedactedSecrets', res.redactions);
  deps.log.info('staged raw objects', {
    planId: input.planId,
    chunkId: input.chunkId,
    objects: res.objects,
    events: res.events,
    duplicates: res.duplicates,
    quarantined: res.quarantined,
    partitions: res.partitions.length,
  });
  return res;
}

function keyOf(b: StagedBuffer): string {
  return `${b.table}|${b.values.join('|')}`;
}

async function quarantineObject(
  deps: CompactionDeps,
  key: string,
  reason: string,
  detail: string,
  planId: string,
): Promise<void> {
  const obj = await deps.store.get(key);
  if (obj) await deps.store.put(`${QUARANTINE_OBJECTS_PREFIX}${key}`, obj.body);
  const note = { reason, detail, key, etag: obj?.etag ?? null, planId };
  await deps.store.put(quarantineReasonKey(key), `${JSON.stringify(note)}\n`, {
    contentType: 'application/json',
  });
}

/** The JSON beside a staged Parquet file. */
interface StagedSidecar {
  readonly rows: number;
  readonly textBytes: number;
  readonly sources: string[];
}

interface MergeInput {
  readonly key: string;
  readonly rows: number;
  readonly textBytes: number;
  readonly sources: readonly string[];
  readonly fromBase: boolean;
}

/** Hex digits of a generation's content id (48 bits: collisions need ~16 M merges of one plan and partition). */
const CONTENT_ID_HEX = 12;

/**
 * Digest of a merge's staged inputs, from the listing alone: every staged file's key and the
 * ETags of its Parquet and sidecar, and whether it replaces the base. Equal digests, same rows.
 */
function stagedDigest(sidecars: readonly ObjectInfo[], parquetEtags: ReadonlyMap<string, string>, replace: boolean) {
  const lines = sidecars.map((o) => {
    const parquet = o.key.replace(/\.json$/, '.parquet');
    return `${parquet}\t${parquetEtags.get(parquet) ?? ''}\t${o.etag}`;
  });
  return sha256Hex(`${replace ? 'replace' : 'add'}\n${lines.join('\n')}\n`);
}

/**
 * Writes a file of a new generation only if absent: a stale or concurrent merge must never change
 * one another run may have published. An existing object with the same bytes is the same write
 * done earlier (a rerun after a crash); anything else is a conflict, never overwritten.
 */
async function putOnce(store: ObjectStore, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
  try {
    await store.put(key, body, { contentType, ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const have = await store.get(key);
    if (have && sha256Hex(have.body) === sha256Hex(body)) return;
    throw new CommitConflictError(`${key} already exists with other content; merge again`);
  }
}

async function mustGet(store: ObjectStore, key: string): Promise<Uint8Array> {
  const o = await store.get(key);
  if (!o) throw new InvalidInputError(`object ${key} is missing`);
  return o.body;
}

/** A generation's manifest; undefined when it has none, InvalidInputError when it does not parse. */
export async function readManifest(store: ObjectStore, location: string): Promise<PartitionManifest | undefined> {
  const o = await store.get(`${location}${MANIFEST_NAME}`);
  return o ? parseManifest(Buffer.from(o.body).toString('utf8')) : undefined;
}

/** Files of a generation: from its manifest, or (for a location we did not write) by listing. */
async function baseInputs(
  store: ObjectStore,
  location: string,
  m: PartitionManifest | undefined,
): Promise<{ inputs: MergeInput[]; sources: string[] }> {
  if (m) {
    return {
      inputs: m.files.map((f) => ({ key: f.key, rows: f.rows, textBytes: f.textBytes, sources: [], fromBase: true })),
      sources: [...m.sources],
    };
  }
  const inputs: MergeInput[] = [];
  for await (const o of store.list(location)) {
    if (o.key.endsWith('.parquet'))
      inputs.push({ key: o.key, rows: -1, textBytes: o.size * 8, sources: [], fromBase: true });
  }
  return { inputs, sources: [] };
}

function resultOf(m: PartitionManifest, changed: boolean): MergeResult {
  return {
    table: m.table as CompactedTable,
    values: [...m.values],
    location: m.location,
    changed,
    baseLocation: m.baseLocation,
    chunks: [...(m.staged?.chunks ?? [])],
    rows: m.rows,
    addedRows: m.addedRows,
    duplicates: m.duplicates,
    files: m.files.length,
    bytesOut: changed ? m.files.reduce((n, f) => n + f.bytes, 0) : 0,
  };
}

/**
 * Phase 2: merges the partition's published generation with everything staged for it under
 * `planId` into a new generation `…/gen=<planId>-<content id>/part-NNNNN.parquet` plus
 * `_manifest.json`, named after its base and staged files and written only where absent. Rows
 * already published win over staged copies. A no-op when the current generation already merged
 * these staged files, or a manifest of this base and these files exists (crash and rerun safe).
 */
export async function mergePartition(
  deps: CompactionDeps,
  input: {
    planId: string;
    table: CuratedTableName;
    values: string[];
    /**
     * Rebuild: the generation holds only what is staged under `planId` and replaces the current
     * one instead of adding to it (which stays its base, for publish's conflict check).
     */
    replace?: boolean;
  },
): Promise<MergeResult> {
  const { planId, values } = input;
  if (!(COMPACTED_TABLES as readonly string[]).includes(input.table)) {
    throw new InvalidInputError(`${input.table} is not written by compaction`);
  }
  const table = input.table as CompactedTable;
  checkPartitionValues(values);
  const def = tableDef(table);
  const current = await deps.catalog.getPartition(table, values);
  const baseLocation = current?.location ?? null;

  const replace = input.replace === true;
  const parquetEtags = new Map<string, string>();
  const sidecars: ObjectInfo[] = [];
  for await (const o of deps.store.list(stagingPrefix(planId, table, values))) {
    if (o.key.endsWith('.parquet')) parquetEtags.set(o.key, o.etag);
    else if (o.key.endsWith('.json')) sidecars.push(o);
  }
  sidecars.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const chunks = new Set(sidecars.map((o) => chunkOfStagedKey(o.key)));
  const stagedInputs = { digest: stagedDigest(sidecars, parquetEtags, replace), chunks: [...chunks].sort() };

  // The current generation already holds exactly these staged files (a rerun after the switch).
  const currentManifest = baseLocation ? await readManifest(deps.store, baseLocation) : undefined;
  if (currentManifest?.planId === planId && currentManifest.staged?.digest === stagedInputs.digest) {
    return resultOf(currentManifest, false);
  }
  // Named after its base and its staged files: a merge of other inputs (a chunk that failed
  // before, staged since) or over another base never finds, reuses or writes this generation.
  const budget = budgetOf(deps);
  const contentId = sha256Hex(`${baseLocation ?? ''}\n${stagedInputs.digest}\n${budget}`).slice(0, CONTENT_ID_HEX);
  const location = generationPrefix(table, values, planId, contentId);
  const existing = await readManifest(deps.store, location).catch(() => undefined);
  if (existing && existing.baseLocation === baseLocation && existing.staged?.digest === stagedInputs.digest) {
    return resultOf(existing, true);
  }
  const base =
    baseLocation && !replace
      ? await baseInputs(deps.store, baseLocation, currentManifest)
      : { inputs: [], sources: [] as string[] };
  const staged: MergeInput[] = [];
  for (const o of sidecars) {
    // Listed a moment ago: gone now means another run is cleaning up this plan, so no result.
    const side = JSON.parse(Buffer.from(await mustGet(deps.store, o.key)).toString('utf8')) as StagedSidecar;
    const key = o.key.replace(/\.json$/, '.parquet');
    staged.push({ key, rows: side.rows, textBytes: side.textBytes, sources: side.sources, fromBase: false });
  }

  // Pass 1: keys only (a narrow projection), to find duplicates before reading whole files.
  const seen = new DedupeSet();
  const keep = new Map<string, boolean[] | null>(); // null: keep every row
  let duplicates = 0;
  let addedRows = 0;
  // A single chunk's files were deduped against each other while staging; with nothing
  // published yet there is nothing else to compare them with.
  const skipKeys = base.inputs.length === 0 && chunks.size <= 1;
  for (const f of [...base.inputs, ...staged]) {
    if (skipKeys) {
      keep.set(f.key, null);
      addedRows += f.rows;
      continue;
    }
    const bytes = await mustGet(deps.store, f.key);
    const keyRows = tableToRows(def, decodeParquet(bytes, keyColumns(table)), keyColumns(table));
    let mask: boolean[] | null = null;
    keyRows.forEach((r, i) => {
      if (!seen.add(r)) {
        duplicates++;
        mask ??= keyRows.map(() => true);
        mask[i] = false;
      } else if (!f.fromBase) addedRows++;
    });
    keep.set(f.key, mask);
    if (f.rows < 0) (f as { rows: number }).rows = keyRows.length;
  }

  if (addedRows === 0) {
    // Everything staged is already published: keep the current generation.
    const rows = base.inputs.reduce((n, f) => n + f.rows, 0);
    return {
      table,
      values: [...values],
      location: baseLocation,
      changed: false,
      baseLocation,
      rows,
      addedRows: 0,
      duplicates,
      files: base.inputs.length,
      bytesOut: 0,
      chunks: [...stagedInputs.chunks],
    };
  }

  // Pass 2: big clean files are carried over byte for byte; small or filtered ones are merged.
  const files: ManifestFile[] = [];
  let pending = new SortedBatch(def);
  const put = async (body: Uint8Array, rows: number, textBytes: number) => {
    const key = `${location}part-${pad(files.length)}.parquet`;
    await putOnce(deps.store, key, body, 'application/vnd.apache.parquet');
    files.push({ key, rows, bytes: body.byteLength, sha256: sha256Hex(body), textBytes });
  };
  const flush = async () => {
    if (pending.length === 0) return;
    await put(encodeParquet(pending.sortedTable()), pending.length, Math.round(pending.textBytes));
    pending = new SortedBatch(def);
  };
  const inputs = [...base.inputs, ...staged];
  // Small or filtered files are merged; a lone small clean file is as good copied.
  const rewrite = inputs.filter((f) => keep.get(f.key) != null || f.rows < SMALL_FILE_ROWS);
  // One chunk's files (no base) are already deduped and sorted: carried over as they are.
  const mergeSmall = !skipKeys && (rewrite.length > 1 || rewrite.some((f) => keep.get(f.key) != null));
  for (const f of inputs) {
    const mask = keep.get(f.key) ?? null;
    const bytes = await mustGet(deps.store, f.key);
    if (mask === null && (f.rows >= SMALL_FILE_ROWS || !mergeSmall)) {
      await put(bytes, f.rows, f.textBytes);
      continue;
    }
    const rows = tableToRows(def, decodeParquet(bytes));
    const perRow = rows.length ? f.textBytes / rows.length : 0;
    for (let i = 0; i < rows.length; i++) {
      if (mask && !mask[i]) continue;
      pending.add(rows[i]!, dedupeKey(rows[i]!), perRow);
      if (pending.textBytes >= budget) await flush();
    }
  }
  await flush();

  const sources = new Set(base.sources);
  for (const f of staged) for (const s of f.sources) sources.add(s);
  const manifest: PartitionManifest = {
    version: 1,
    table,
    values: [...values],
    planId,
    location,
    baseLocation,
    rows: files.reduce((n, f) => n + f.rows, 0),
    addedRows,
    duplicates,
    files,
    sources: [...sources].sort(),
    staged: stagedInputs,
  };
  // The manifest is the commit record of the generation: written last, read by publish and GC.
  await putOnce(deps.store, `${location}${MANIFEST_NAME}`, serializeManifest(manifest), 'application/json');
  return resultOf(manifest, true);
}

/** The columns a table's dedupe key is read from (a narrow Parquet projection). */
export function keyColumns(table: CompactedTable): string[] {
  return table === 'unparsed_logs' ? [...KEY_COLUMNS] : ['log_group', 'event_id'];
}

/** One chunk of raw objects to stage: its chunk id names the staged files. */
export interface StageInput {
  planId: string;
  chunkId: string;
  keys: string[];
}

/** One partition to merge under a plan. */
export interface MergeRequest {
  planId: string;
  table: CuratedTableName;
  values: string[];
}

/**
 * Stages chunks for {@link compactObjects}: in this process by default, or elsewhere (worker
 * threads) as long as the staged files land in the same store; with `merge`, it merges
 * partitions too. `close` is called once both phases are over, also after a failure.
 */
export interface ChunkStager {
  /** How many chunks (and partitions) it works on at once (at least 1). */
  readonly concurrency: number;
  stage(deps: CompactionDeps, input: StageInput): Promise<StageResult>;
  merge?(deps: CompactionDeps, input: MergeRequest): Promise<MergeResult>;
  close?(): Promise<void>;
}

/** Stages one chunk at a time in this process (what the workflow's Task Lambdas do per item). */
export const IN_PROCESS_STAGER: ChunkStager = { concurrency: 1, stage: stageObjects };

/** Keys a chunk holds at most: about what one stage call keeps its dedupe set and buffers for. */
const MAX_CHUNK_KEYS = 32;

/**
 * Splits keys into chunks that depend on the keys alone (sorted; never on the worker count), so
 * a rerun anywhere stages the same chunk files: as few chunks of at most 32 keys as will do,
 * of even sizes; `chunkSize` instead cuts fixed-size chunks.
 */
export function chunkKeys(keys: readonly string[], chunkSize?: number): string[][] {
  if (chunkSize !== undefined && !(Number.isInteger(chunkSize) && chunkSize >= 1)) {
    throw new InvalidInputError(`chunk size must be a whole number ≥ 1, got ${chunkSize}`);
  }
  const sorted = [...keys].sort();
  const n = sorted.length;
  const count = Math.ceil(n / (chunkSize ?? MAX_CHUNK_KEYS));
  const cut = (i: number) => (chunkSize ? Math.min(n, i * chunkSize) : Math.floor((i * n) / count));
  return Array.from({ length: count }, (_, i) => sorted.slice(cut(i), cut(i + 1)));
}

/** Runs `run` over items with at most `limit` in flight; on failure starts nothing new and rethrows the first. */
async function runLimited<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await run(items[i]!, i);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failed.error;
  return out;
}

/**
 * Convenience for the CLI and tests: stage in chunks, merge every touched partition, publish.
 * With more than one chunk, `stager` runs up to its `concurrency` chunks (and merges) at once.
 */
export async function compactObjects(
  deps: CompactionDeps,
  input: { planId: string; keys: string[]; fence?: () => Promise<void>; chunkSize?: number; stager?: ChunkStager },
): Promise<CompactionSummary> {
  const chunks = chunkKeys(input.keys, input.chunkSize);
  // A lone chunk stays in this process: splitting a window only to feed workers makes every
  // partition it touches a cross-chunk merge (key pass, small files rewritten), which cost more
  // CPU than a second core gives back, and a worker's heap adds to peak RSS.
  const stager = chunks.length > 1 ? (input.stager ?? IN_PROCESS_STAGER) : IN_PROCESS_STAGER;
  const sum: CompactionSummary = {
    planId: input.planId,
    ...zeroCounters(),
    rows: zeroRows(),
    quarantineReasons: {},
    partitions: 0,
    published: 0,
  };
  let merged: MergeResult[];
  try {
    const staged = await runLimited(chunks, stager.concurrency, (keys, c) =>
      stager.stage(deps, { planId: input.planId, chunkId: `c${pad(c)}`, keys }),
    );
    // Summed in chunk order, so the summary does not depend on which chunk finished first.
    const touched = new Map<string, PartitionRef>();
    for (const r of staged) {
      for (const k of COUNTER_KEYS) sum[k] += r[k];
      for (const [k, v] of Object.entries(r.quarantineReasons))
        sum.quarantineReasons[k] = (sum.quarantineReasons[k] ?? 0) + (v ?? 0);
      for (const p of r.partitions) touched.set(`${p.table}|${p.values.join('|')}`, p);
    }
    const parts = [...touched.values()].sort((a, b) =>
      `${a.table}|${a.values}`.localeCompare(`${b.table}|${b.values}`),
    );
    const merge = stager.merge?.bind(stager);
    merged = merge
      ? await runLimited(parts, stager.concurrency, (p) =>
          merge(deps, { planId: input.planId, table: p.table, values: p.values }),
        )
      : await runLimited(parts, 1, (p) =>
          mergePartition(deps, { planId: input.planId, table: p.table, values: p.values }),
        );
  } finally {
    await input.stager?.close?.();
  }
  for (const m of merged) {
    sum.rows[m.table] += m.addedRows;
    sum.duplicates += m.duplicates;
    sum.bytesOut += m.bytesOut;
  }
  sum.partitions = merged.length;
  const pub = await publishPartitions(deps, { planId: input.planId, merged, fence: input.fence ?? (async () => {}) });
  sum.published = pub.published;
  return sum;
}
