import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { tableToRows } from '../core/arrow/rows.ts';
import {
  COMPACTED_TABLES,
  type CompactedTable,
  checkPartitionValues,
  dedupeKey,
  type ManifestFile,
  type PartitionManifest,
  QUARANTINE_RECORDS_PREFIX,
  quarantineReasonKey,
} from '../core/compact/index.ts';
import { CommitConflictError, InvalidInputError } from '../core/errors.ts';
import { decodeParquet } from '../core/parquet.ts';
import { tableDef } from '../core/schema.ts';
import type { ObjectStore } from '../ports.ts';
import {
  type CompactionDeps,
  chunkKeys,
  keyColumns,
  type MergeResult,
  mergePartition,
  type PartitionRef,
  publishPartitions,
  readManifest,
  stageObjects,
} from './compact.ts';
import { deleteStaging } from './gc.ts';
import { acquireLease, fenceLease, type LeaseDeps, releaseLease } from './lease.ts';
import { oweAthenaWork } from './ledger.ts';
import { DEFAULT_WORKFLOW_CONFIG } from './workflow-tasks.ts';

/** What a rebuild needs: compaction's deps plus how long its lease lasts without a renewal. */
export interface RebuildDeps extends CompactionDeps {
  /** Lease time-to-live in milliseconds (default 30 minutes, the workflow's). */
  readonly leaseTtlMs?: number;
}

/** Which published partitions to rebuild: event dates in [from, to), optionally narrowed. */
export interface RebuildRequest {
  /** First event date, `YYYY-MM-DD`, inclusive. */
  readonly from: string;
  /** Event date after the last one, `YYYY-MM-DD`, exclusive. */
  readonly to: string;
  /** Tables (default: every compacted table). */
  readonly tables?: readonly CompactedTable[];
  readonly account?: string;
  readonly cluster?: string;
  /** Rebuild a partition although some of its sources are gone (their rows are dropped and counted). */
  readonly allowMissingSources?: boolean;
  /** Only say what would be rebuilt and which raw objects it needs; writes nothing. */
  readonly dryRun?: boolean;
}

/** What happened to one partition. */
export type RebuildStatus = 'planned' | 'rebuilt' | 'unchanged' | 'refused';

export interface RebuildPartitionResult {
  readonly table: CompactedTable;
  readonly values: readonly string[];
  status: RebuildStatus;
  /** Why a partition was refused. */
  reason?: string;
  /** The generation the catalog pointed at before the rebuild; null for a partition today's code creates. */
  readonly previous: string | null;
  /** The generation it points at now (the new one when rebuilt). */
  location: string | null;
  readonly sources: number;
  /** Sources that are gone (raw retention) or could not be read as gzip NDJSON any more. */
  missingSources: string[];
  readonly rowsBefore: number;
  rowsAfter: number;
  /** Rows today's code staged for the partition that another source already held. */
  duplicates: number;
  /** Rows of the old generation whose events today's code quarantines. */
  quarantined: number;
  /** Rows of the old generation with no row in the new one (quarantined, moved to another rebuilt partition, or of a gone source). */
  droppedRows: number;
  /** Rows of the new generation with no row in the old one (moved in from another rebuilt partition, or newly mapped). */
  addedRows: number;
  bytesOut: number;
}

/** A raw object a rebuild reads, with its size (null when it is gone). */
export interface RebuildSource {
  readonly key: string;
  readonly size: number | null;
}

/** What `rebuild` did (or, with `dryRun`, would do). */
export interface RebuildSummary {
  readonly dryRun: boolean;
  readonly from: string;
  readonly to: string;
  planId: string | null;
  holder: string | null;
  partitions: RebuildPartitionResult[];
  /** Raw objects the selected partitions were built from (refused ones included). */
  sourcesNeeded: RebuildSource[];
  rebuilt: number;
  unchanged: number;
  refused: number;
  /** Raw objects read (in `chunks` stage calls), lines in them, and where those lines went (over every partition they touch). */
  objects: number;
  chunks: number;
  events: number;
  stagedRows: number;
  /**
   * Duplicates dropped while staging, inside one chunk of up to 32 raw objects; those found
   * between chunks are counted per partition.
   */
  stagingDuplicates: number;
  quarantined: number;
  quarantineReasons: Record<string, number>;
  redactions: number;
  rowsBefore: number;
  rowsAfter: number;
  bytesIn: number;
  bytesOut: number;
  /** Rollup hours (`account/cluster/dt/hour`) recorded as owed for the next workflow run. */
  rollupsOwed: string[];
}

const DATE_RE = /^\d{4}-\d\d-\d\d$/;

function checkDate(name: string, s: string): void {
  if (
    !DATE_RE.test(s) ||
    Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ||
    new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) !== s
  )
    throw new InvalidInputError(`--${name} must be a date YYYY-MM-DD, got ${s}`);
}

/**
 * A published generation's manifest, undefined when it is absent or does not parse: the partition
 * is then refused (its sources are unknown) while the rest of the range is rebuilt.
 */
async function readPublishedManifest(store: ObjectStore, location: string): Promise<PartitionManifest | undefined> {
  try {
    return await readManifest(store, location);
  } catch (err) {
    if (err instanceof InvalidInputError) return undefined;
    throw err;
  }
}

/** The dedupe keys of a generation's files (a narrow projection of each file). */
async function keysOf(store: ObjectStore, table: CompactedTable, files: readonly ManifestFile[]): Promise<Set<string>> {
  const cols = keyColumns(table);
  const def = tableDef(table);
  const keys = new Set<string>();
  for (const f of files) {
    const o = await store.get(f.key);
    if (!o) throw new InvalidInputError(`published file ${f.key} is missing`);
    for (const r of tableToRows(def, decodeParquet(o.body, cols), cols)) keys.add(dedupeKey(r));
  }
  return keys;
}

/** A sorted digest per row of a generation: equal lists mean the same rows, however filed. */
async function rowDigests(
  store: ObjectStore,
  table: CompactedTable,
  files: readonly ManifestFile[],
): Promise<string[]> {
  const def = tableDef(table);
  const out: string[] = [];
  for (const f of files) {
    const o = await store.get(f.key);
    if (!o) throw new InvalidInputError(`published file ${f.key} is missing`);
    for (const r of tableToRows(def, decodeParquet(o.body)))
      out.push(createHash('sha1').update(JSON.stringify(r)).digest('base64'));
  }
  return out.sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two generations hold the same rows; stops at the first difference when each is one file. */
async function sameRows(
  store: ObjectStore,
  table: CompactedTable,
  a: readonly ManifestFile[],
  b: readonly ManifestFile[],
): Promise<boolean> {
  if (a.length !== 1 || b.length !== 1)
    return sameList(await rowDigests(store, table, a), await rowDigests(store, table, b));
  // A file is sorted in a total order (ties end on the dedupe key): the same rows, the same order.
  const def = tableDef(table);
  const [x, y] = await Promise.all(
    [a[0]!, b[0]!].map(async (f) => {
      const o = await store.get(f.key);
      if (!o) throw new InvalidInputError(`published file ${f.key} is missing`);
      return tableToRows(def, decodeParquet(o.body));
    }),
  );
  if (x!.length !== y!.length) return false;
  for (let i = 0; i < x!.length; i++) if (JSON.stringify(x![i]) !== JSON.stringify(y![i])) return false;
  return true;
}

/** Keys (`log_group` NUL `event_id`) of the lines a plan quarantined, per raw object. */
async function quarantinedKeys(store: ObjectStore, planId: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for await (const o of store.list(`${QUARANTINE_RECORDS_PREFIX}plan=${planId}/`)) {
    const got = await store.get(o.key);
    if (!got) continue;
    for (const line of gunzipSync(got.body).toString('utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line) as { key?: string; text?: string };
      if (typeof entry.key !== 'string' || typeof entry.text !== 'string') continue;
      let rec: { log_group?: unknown; event_id?: unknown };
      try {
        rec = JSON.parse(entry.text) as typeof rec;
      } catch {
        continue;
      }
      if (typeof rec?.event_id !== 'string' || rec.event_id === '') continue;
      const set = out.get(entry.key) ?? new Set<string>();
      set.add(`${rec.log_group}\u0000${rec.event_id}`);
      out.set(entry.key, set);
    }
  }
  return out;
}

interface Selected {
  readonly result: RebuildPartitionResult;
  readonly manifest: PartitionManifest | undefined;
}

/** `20261127T093000Z` from a time: the part of holder and generation names a person reads. */
function stampOf(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function chunkId(n: number): string {
  return `s${String(n).padStart(5, '0')}`;
}

/** Keys of a staged chunk that were gone or quarantined as not gzip NDJSON by this plan. */
async function unreadableOf(store: ObjectStore, planId: string, keys: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const k of keys) {
    if (!(await store.head(k))) {
      out.push(k);
      continue;
    }
    const note = await store.get(quarantineReasonKey(k));
    if (note && (JSON.parse(Buffer.from(note.body).toString('utf8')) as { planId?: string }).planId === planId)
      out.push(k);
  }
  return out;
}

/**
 * Re-derives published partitions from raw: stages the raw objects the request's partitions list
 * as `sources` with today's code, gives each partition of the range the rows that land in it, and
 * publishes them as new generations that replace the old ones (not merged with them) through the
 * usual path: manifest, retirement record, fenced catalog switch. Holds the compaction lease
 * throughout. A partition with a source gone is refused unless `allowMissingSources`; one whose
 * rows come out the same is left as it is; rows that would leave the range refuse the whole run.
 */
export async function rebuildPartitions(deps: RebuildDeps, req: RebuildRequest): Promise<RebuildSummary> {
  checkDate('from', req.from);
  checkDate('to', req.to);
  if (req.to <= req.from) throw new InvalidInputError('--to must be after --from (dates are [from, to))');
  if (req.account !== undefined || req.cluster !== undefined) {
    checkPartitionValues([req.account ?? '000000000000', req.cluster ?? 'x', req.from, '00']);
  }
  const tables = req.tables ?? COMPACTED_TABLES;
  for (const t of tables) {
    if (!(COMPACTED_TABLES as readonly string[]).includes(t))
      throw new InvalidInputError(`${t} is not a compacted table`);
  }
  const summary: RebuildSummary = {
    dryRun: req.dryRun === true,
    from: req.from,
    to: req.to,
    planId: null,
    holder: null,
    partitions: [],
    sourcesNeeded: [],
    rebuilt: 0,
    unchanged: 0,
    refused: 0,
    objects: 0,
    chunks: 0,
    events: 0,
    stagedRows: 0,
    stagingDuplicates: 0,
    quarantined: 0,
    quarantineReasons: {},
    redactions: 0,
    rowsBefore: 0,
    rowsAfter: 0,
    bytesIn: 0,
    bytesOut: 0,
    rollupsOwed: [],
  };

  if (req.dryRun) {
    await selectPartitions(deps, req, tables, summary);
    return finish(summary);
  }
  const now = deps.now();
  const stamp = stampOf(now);
  const leaseDeps: LeaseDeps = {
    store: deps.store,
    clock: { now: () => deps.now() },
    ttlMs: deps.leaseTtlMs ?? DEFAULT_WORKFLOW_CONFIG.leaseTtlSeconds * 1000,
  };
  const holder = `rebuild-${stamp}`;
  const grant = await acquireLease(leaseDeps, holder);
  summary.holder = holder;
  // The token makes the name unique per grant, so a second rebuild in the same second still
  // writes new generations instead of finding the first one's.
  const planId = `rebuild-${stamp}-t${grant.token}`;
  summary.planId = planId;
  const fence = () => fenceLease(leaseDeps, grant);
  try {
    // Selected under the lease: no run can switch a partition between reading its manifest and
    // replacing it.
    const selection = await selectPartitions(deps, req, tables, summary);
    await rebuildSelected(deps, summary, selection, planId, fence);
  } catch (err) {
    // The rebuild's own error is the one to report; the lease then frees itself at its TTL.
    await releaseLease(leaseDeps, grant).catch((e: unknown) =>
      deps.log.warn('could not release the rebuild lease', { holder, error: (e as Error).name }),
    );
    throw err;
  }
  await releaseLease(leaseDeps, grant);
  return finish(summary);
}

/** What a rebuild found to do: the partitions, their sources' sizes (null: gone), and the refusal rule. */
interface Selection {
  readonly selected: Selected[];
  /** Whether a partition is in the request's range and filters. */
  readonly matches: (table: CompactedTable, values: readonly string[]) => boolean;
  readonly sizes: Map<string, number | null>;
  readonly checkMissing: (s: Selected, gone: (key: string) => boolean) => void;
}

/** Lists the published partitions of the request, reads their manifests and HEADs their sources. */
async function selectPartitions(
  deps: RebuildDeps,
  req: RebuildRequest,
  tables: readonly CompactedTable[],
  summary: RebuildSummary,
): Promise<Selection> {
  const matches = (table: CompactedTable, values: readonly string[]) => {
    const [account, cluster, dt] = values;
    return (
      tables.includes(table) &&
      dt! >= req.from &&
      dt! < req.to &&
      (req.account === undefined || account === req.account) &&
      (req.cluster === undefined || cluster === req.cluster)
    );
  };
  const selected: Selected[] = [];
  for (const table of [...tables].sort()) {
    const parts = (await deps.catalog.listPartitions(table))
      .filter((p) => matches(table, p.values))
      .sort((a, b) => (a.values.join('/') < b.values.join('/') ? -1 : 1));
    for (const p of parts) {
      const manifest = await readPublishedManifest(deps.store, p.location);
      const result: RebuildPartitionResult = {
        table,
        values: [...p.values],
        status: 'planned',
        previous: p.location,
        location: p.location,
        sources: manifest?.sources.length ?? 0,
        missingSources: [],
        rowsBefore: manifest?.rows ?? 0,
        rowsAfter: manifest?.rows ?? 0,
        duplicates: 0,
        quarantined: 0,
        droppedRows: 0,
        addedRows: 0,
        bytesOut: 0,
      };
      if (!manifest) refuse(result, 'the generation has no readable manifest, so its sources are unknown');
      else if (manifest.sources.length === 0) refuse(result, 'the manifest lists no source objects');
      selected.push({ result, manifest });
    }
  }

  // One HEAD per raw object, however many partitions share it.
  const sizes = new Map<string, number | null>();
  for (const s of selected) for (const k of s.manifest?.sources ?? []) sizes.set(k, null);
  for (const key of [...sizes.keys()].sort()) sizes.set(key, (await deps.store.head(key))?.size ?? null);
  summary.sourcesNeeded = [...sizes.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, size]) => ({ key, size }));
  const checkMissing = (s: Selected, gone: (key: string) => boolean) => {
    if (s.result.status === 'refused' || !s.manifest) return;
    s.result.missingSources = s.manifest.sources.filter(gone);
    if (s.result.missingSources.length > 0 && !req.allowMissingSources) {
      refuse(s.result, `${s.result.missingSources.length} of its ${s.result.sources} source objects are gone`);
    }
  };
  for (const s of selected) checkMissing(s, (k) => sizes.get(k) === null);

  summary.partitions = selected.map((s) => s.result);
  return { selected, matches, sizes, checkMissing };
}

function refuse(r: RebuildPartitionResult, reason: string): void {
  r.status = 'refused';
  r.reason = reason;
  r.location = r.previous;
  r.rowsAfter = r.rowsBefore;
}

function finish(s: RebuildSummary): RebuildSummary {
  s.rebuilt = s.partitions.filter((p) => p.status === 'rebuilt').length;
  s.unchanged = s.partitions.filter((p) => p.status === 'unchanged').length;
  s.refused = s.partitions.filter((p) => p.status === 'refused').length;
  s.rowsBefore = s.partitions.reduce((n, p) => n + p.rowsBefore, 0);
  s.rowsAfter = s.partitions.reduce((n, p) => n + p.rowsAfter, 0);
  return s;
}

/**
 * Stages the sources of the selected partitions once, then gives every partition of the range the
 * rows today's code maps to it from them (a row that moves to another hour lands there; a
 * partition that did not exist is created), checks that no row leaves the range, and publishes.
 */
async function rebuildSelected(
  deps: RebuildDeps,
  summary: RebuildSummary,
  selection: Selection,
  planId: string,
  fence: () => Promise<void>,
): Promise<void> {
  const { selected, sizes, checkMissing, matches } = selection;
  const live = () => selected.filter((s) => s.result.status !== 'refused');
  const keys = [...new Set(live().flatMap((s) => s.manifest!.sources))].filter((k) => sizes.get(k) !== null).sort();
  const chunks = chunkKeys(keys);
  const unreadable = new Set<string>();
  const staged = new Map<string, PartitionRef>();
  summary.chunks = chunks.length;
  for (const [c, keys] of chunks.entries()) {
    await fence(); // also renews the lease over a long staging
    const r = await stageObjects(deps, { planId, chunkId: chunkId(c), keys });
    summary.objects += r.objects;
    summary.events += r.events;
    summary.stagedRows += Object.values(r.rows).reduce((n, v) => n + v, 0);
    summary.stagingDuplicates += r.duplicates;
    summary.quarantined += r.quarantined;
    summary.redactions += r.redactions;
    summary.bytesIn += r.bytesIn;
    summary.bytesOut += r.bytesOut;
    for (const [k, v] of Object.entries(r.quarantineReasons))
      summary.quarantineReasons[k] = (summary.quarantineReasons[k] ?? 0) + (v ?? 0);
    for (const p of r.partitions) staged.set(partitionId(p.table, p.values), p);
    if (r.missingObjects > 0 || r.quarantinedObjects > 0) {
      for (const k of await unreadableOf(deps.store, planId, keys)) unreadable.add(k);
    }
  }
  // Gone since the HEAD, or no longer gzip NDJSON: the partition would shrink just the same.
  for (const s of live()) checkMissing(s, (k) => sizes.get(k) === null || unreadable.has(k));
  // Partitions of the range that only today's code fills (rows moved there) are created.
  const known = new Set(selected.map((s) => partitionId(s.result.table, s.result.values)));
  const created = [...staged.entries()]
    .filter(([id, p]) => !known.has(id) && matches(p.table, p.values))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, p]): Selected => ({ result: newPartitionResult(p), manifest: undefined }));
  selected.push(...created);
  summary.partitions = selected.map((s) => s.result);
  const quarantine = summary.quarantined > 0 ? await quarantinedKeys(deps.store, planId) : new Map();

  const built: Built[] = [];
  const leaving = new Map<string, Set<string>>(); // rows each partition lost to no other partition of the range
  for (const s of live()) {
    await fence(); // renews the lease over many merges too
    const r = s.result;
    const m = await mergePartition(deps, {
      planId,
      table: r.table,
      values: [...r.values],
      replace: true,
    });
    if (m.baseLocation !== r.previous) {
      // Only a run without the lease could have moved it; its rows are not in these sources.
      throw new CommitConflictError(`${r.table} ${r.values.join('/')} moved to ${m.baseLocation} during the rebuild`);
    }
    const next = m.changed && m.location !== null ? (await readManifest(deps.store, m.location))! : undefined;
    const oldKeys = s.manifest ? await keysOf(deps.store, r.table, s.manifest.files) : new Set<string>();
    const newKeys = next ? await keysOf(deps.store, r.table, next.files) : new Set<string>();
    const quarantinedHere = new Set<string>();
    for (const k of s.manifest?.sources ?? []) for (const q of quarantine.get(k) ?? []) quarantinedHere.add(q);
    let dropped = 0;
    let quarantined = 0;
    const gone = new Set<string>();
    for (const k of oldKeys) {
      if (newKeys.has(k)) continue;
      dropped++;
      if (quarantinedHere.has(k)) quarantined++;
      else gone.add(k);
    }
    let added = 0;
    for (const k of newKeys) if (!oldKeys.has(k)) added++;
    Object.assign(r, {
      rowsAfter: m.rows,
      duplicates: m.duplicates,
      quarantined,
      droppedRows: dropped,
      addedRows: added,
    });
    if (gone.size > 0) {
      const set = leaving.get(r.values[0]!) ?? new Set<string>();
      for (const k of gone) set.add(k);
      leaving.set(r.values[0]!, set);
    }
    built.push({ s, merged: m, next, gone });
  }

  // A row that left its partition must be in another partition of the range: a rebuild that
  // moved rows out of it (another day, table, account or cluster) would lose them.
  const outside = await rowsLeavingRange(deps.store, built, leaving);
  if (outside.count > 0 || built.some((b) => !b.next)) {
    const reason =
      outside.count > 0
        ? `today's code moves ${outside.count} rows of the range out of it (first from ${outside.example}); rebuild a range that holds where they go`
        : `today's code leaves ${built
            .filter((b) => !b.next)
            .map((b) => `${b.s.result.table} ${b.s.result.values.join('/')}`)
            .join(', ')} without rows; an empty partition is not published`;
    for (const b of built) {
      if (b.merged.changed && b.merged.location) await deleteGeneration(deps.store, b.merged.location);
      refuse(b.s.result, reason);
    }
    await deleteStaging({ store: deps.store }, { planId });
    return;
  }

  const toPublish: MergeResult[] = [];
  for (const { s, merged: m, next } of built) {
    const r = s.result;
    const old = s.manifest?.files;
    // Same keys can still hide changed columns; only then are whole rows compared.
    const same =
      old !== undefined &&
      next !== undefined &&
      ((next.files.length === old.length && next.files.every((f, i) => f.sha256 === old[i]!.sha256)) ||
        (r.addedRows === 0 &&
          r.droppedRows === 0 &&
          m.rows === r.rowsBefore &&
          (await sameRows(deps.store, r.table, old, next.files))));
    if (same) {
      // Today's code gives the same rows: nothing to switch, and nothing points at the copy.
      await deleteGeneration(deps.store, m.location!);
      r.status = 'unchanged';
      continue;
    }
    r.status = 'rebuilt';
    r.location = m.location;
    r.bytesOut = m.bytesOut;
    summary.bytesOut += m.bytesOut;
    toPublish.push(m);
  }

  if (toPublish.length > 0) {
    // The rollups summarise audit_events: owed before the switch, so a failure after it cannot
    // lose them; the next workflow run's RunAthenaSteps takes them on.
    const rollups = toPublish.filter((m) => m.table === 'audit_events').map((m) => m.values);
    await fence();
    await oweAthenaWork(deps.store, { rawHours: [], rollups }, { executionName: planId, at: deps.now().toISOString() });
    summary.rollupsOwed = rollups.map((v) => v.join('/'));
    await publishPartitions(deps, { planId, merged: toPublish, fence });
  }
  await deleteStaging({ store: deps.store }, { planId });
}

interface Built {
  readonly s: Selected;
  readonly merged: MergeResult;
  /** The new generation's manifest; none when today's code gives the partition no row. */
  readonly next: PartitionManifest | undefined;
  /** Keys of old rows neither kept nor quarantined: they must turn up in another partition. */
  readonly gone: Set<string>;
}

function partitionId(table: string, values: readonly string[]): string {
  return `${table}|${values.join('/')}`;
}

function newPartitionResult(p: PartitionRef): RebuildPartitionResult {
  return {
    table: p.table,
    values: [...p.values],
    status: 'planned',
    previous: null,
    location: null,
    sources: 0,
    missingSources: [],
    rowsBefore: 0,
    rowsAfter: 0,
    duplicates: 0,
    quarantined: 0,
    droppedRows: 0,
    addedRows: 0,
    bytesOut: 0,
  };
}

async function deleteGeneration(store: ObjectStore, location: string): Promise<void> {
  const keys: string[] = [];
  for await (const o of store.list(location)) keys.push(o.key);
  await store.delete(keys);
}

/**
 * Old rows (per account) that left their partition and are in no rebuilt partition of the range,
 * except those of partitions rebuilt without some gone sources (their loss is the one allowed).
 * Reads keys again only when some row left its partition.
 */
async function rowsLeavingRange(
  store: ObjectStore,
  built: readonly Built[],
  leaving: Map<string, Set<string>>,
): Promise<{ count: number; example: string }> {
  if (leaving.size === 0) return { count: 0, example: '' };
  for (const b of built) {
    const account = b.s.result.values[0]!;
    const want = leaving.get(account);
    if (!want || want.size === 0) continue;
    for (const k of await keysOf(store, b.s.result.table, b.next?.files ?? [])) want.delete(k);
  }
  let count = 0;
  let example = '';
  for (const b of built) {
    if (b.s.result.missingSources.length > 0) continue;
    const left = leaving.get(b.s.result.values[0]!)!;
    const lost = [...b.gone].filter((k) => left?.has(k)).length;
    if (lost > 0 && !example) example = `${b.s.result.table} ${b.s.result.values.join('/')}`;
    count += lost;
  }
  return { count, example };
}
