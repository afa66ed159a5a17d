import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompactedTable,
  MANIFEST_NAME,
  type MappedLine,
  mapRawLine,
  parseManifest,
  planIdFor,
  type TimeBounds,
} from '../../src/core/compact/index.ts';
import { RETIRED_PREFIX } from '../../src/core/compact/retired.ts';
import { CommitConflictError, LeaseHeldError, LeaseLostError } from '../../src/core/errors.ts';
import type { KnownLogType } from '../../src/core/types.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { collectGarbage } from '../../src/pipeline/gc.ts';
import { acquireLease, LEASE_KEY, readLeaseRecord } from '../../src/pipeline/lease.ts';
import { ATHENA_OWED_KEY, readOwedAthenaWork } from '../../src/pipeline/ledger.ts';
import { type RebuildDeps, type RebuildRequest, rebuildPartitions } from '../../src/pipeline/rebuild.ts';
import type { Catalog, ObjectStore } from '../../src/ports.ts';
import { FaultyCatalog, FaultyObjectStore, SimulatedCrash, transientError } from '../helpers/faults.ts';
import { ACCOUNT, CLUSTER, gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';
import { clockedLake, type LakeStores, lakePerTest, readPublished } from './compact-lake.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = T0 + 4 * HOUR;
const LATER = T0 + 6 * HOUR;
const DAY: RebuildRequest = { from: '2026-11-27', to: '2026-11-28' };
const H01 = [ACCOUNT, CLUSTER, '2026-11-27', '01'];
const H23 = [ACCOUNT, CLUSTER, '2026-11-26', '23'];

const lake = lakePerTest();

function linesOf(types: readonly KnownLogType[], startMs: number, n: number, seq0 = 0): string[] {
  return types.flatMap((t) => rawLines(message(t, sampleEvents(t, startMs, n, seq0))));
}

async function putRaw(l: LakeStores, type: string, name: string, lines: string[], arrivalMs: number) {
  const key = rawKey(type, arrivalMs, name);
  await l.store.put(key, gzipObject(lines, 2));
  return key;
}

async function compactKeys(l: LakeStores, keys: string[], now: number, extra: Partial<RebuildDeps> = {}) {
  const infos = await Promise.all(keys.map((k) => l.store.head(k)));
  const planId = planIdFor(infos.map((o, i) => ({ key: keys[i]!, etag: o!.etag })));
  return compactObjects(l.deps(now, extra), { planId, keys });
}

/**
 * A lake whose 27 Nov hour 01 partitions were published by two plans: object `a` (with events
 * delivered twice inside it), then the late object `b` (re-deliveries of `a`'s events and new
 * events of the same hour); plus 26 Nov hour 23 partitions outside the rebuilt range.
 */
async function publishedLake(l: LakeStores, extra: Partial<RebuildDeps> = {}) {
  const A = linesOf(['kube-apiserver-audit', 'kube-scheduler', 'authenticator'], T0 + 60_000, 20);
  const prev = await putRaw(
    l,
    'kube-apiserver-audit',
    'prev',
    linesOf(['kube-apiserver-audit', 'kube-scheduler'], T0 - 90 * 60_000, 10, 900),
    T0 - HOUR,
  );
  const a = await putRaw(l, 'kube-apiserver-audit', 'a', [...A, ...A.slice(0, 5)], T0 + HOUR);
  await compactKeys(l, [prev, a], T0 + 2 * HOUR, extra);
  const b = await putRaw(
    l,
    'kube-apiserver-audit',
    'b',
    [...A.slice(10, 30), ...linesOf(['kube-apiserver-audit', 'kube-scheduler'], T0 + 30 * 60_000, 10, 500)],
    T0 + 3 * HOUR,
  );
  await compactKeys(l, [b], NOW, extra);
  return { keys: { prev, a, b }, published: await readPublished(l.store, l.catalog) };
}

const rowsIn = (published: Record<string, string[]>, table: CompactedTable, values: readonly string[]) =>
  published[table]!.filter((r) => r.startsWith(`[${JSON.stringify(values)},`));

/** A mapping change as a later release might make: audit user agents are redacted. */
function redactUserAgents(line: string, bounds: TimeBounds): MappedLine {
  const m = mapRawLine(line, bounds);
  if (m.kind !== 'row' || m.table !== 'audit_events' || m.row.user_agent == null) return m;
  return { ...m, row: { ...m.row, user_agent: '[REDACTED:user_agent]' } };
}

/** A mapping fix that touches every table: the region column is written upper case. */
function upperRegion(line: string, bounds: TimeBounds): MappedLine {
  const m = mapRawLine(line, bounds);
  return m.kind === 'row' ? { ...m, row: { ...m.row, region: String(m.row.region).toUpperCase() } } : m;
}

function rebuildDeps(l: LakeStores, now: number, extra: Partial<RebuildDeps> = {}): RebuildDeps {
  return { ...l.deps(now), ...extra };
}

async function listAll(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(`${o.key} ${o.etag}`);
  return keys;
}

describe('rebuildPartitions', () => {
  it('finds the rows of the original publish with unchanged code and switches nothing', async () => {
    const l = lake();
    const { keys, published } = await publishedLake(l);
    expect(rowsIn(published, 'audit_events', H01)).toHaveLength(30);
    expect(rowsIn(published, 'component_logs', H01)).toHaveLength(30);
    expect(rowsIn(published, 'authenticator_logs', H01)).toHaveLength(20);

    const catalog = await listAll(l.store, 'control/catalog/');
    const curated = await listAll(l.store, 'curated/');
    const first = await rebuildPartitions(rebuildDeps(l, LATER), DAY);
    expect(await readPublished(l.store, l.catalog)).toEqual(published);
    expect(first.rollupsOwed).toEqual([]);
    expect(first.partitions.map((p) => [p.table, p.values[3], p.sources])).toEqual([
      ['audit_events', '01', 2],
      ['authenticator_logs', '01', 1],
      ['component_logs', '01', 2],
    ]);
    for (const p of first.partitions) {
      expect(p.status).toBe('unchanged');
      expect(p).toMatchObject({ droppedRows: 0, addedRows: 0, quarantined: 0 });
      expect(p.rowsAfter).toBe(p.rowsBefore);
    }
    // 5 events twice inside `a`, 10 audit and 10 scheduler events of `a` again in `b`: one row
    // each, the copies counted (while staging `a` and `b` together, or between chunks).
    expect(first.stagingDuplicates + first.partitions.reduce((n, p) => n + p.duplicates, 0)).toBe(25);
    expect(first.objects).toBe(2);
    expect(first.events).toBe(first.stagedRows + first.stagingDuplicates + first.quarantined);
    expect(first.sourcesNeeded.map((s) => s.key)).toEqual([keys.a, keys.b].sort());

    expect(await listAll(l.store, 'control/catalog/')).toEqual(catalog);
    expect(await listAll(l.store, 'curated/')).toEqual(curated);
    expect(await listAll(l.store, 'control/staging/rebuild-')).toEqual([]);
  });

  it('publishes the rows a changed mapping gives and leaves other dates and tables as they were', async () => {
    // Objects stamped by this clock, so GC sees the grace period pass.
    let clock = LATER;
    const l = clockedLake(() => new Date(clock));
    const { published } = await publishedLake(l);
    const componentBefore = await l.catalog.getPartition('component_logs', H01);
    const oldAudit = (await l.catalog.getPartition('audit_events', H01))!.location;

    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: redactUserAgents }), {
      ...DAY,
      tables: ['audit_events'],
    });
    expect(s.partitions).toHaveLength(1);
    expect(s.partitions[0]).toMatchObject({ status: 'rebuilt', rowsBefore: 30, rowsAfter: 30, droppedRows: 0 });
    expect(s.rebuilt).toBe(1);

    const after = await readPublished(l.store, l.catalog);
    const audit = rowsIn(after, 'audit_events', H01).map((r) => JSON.parse(r)[1] as Record<string, unknown>);
    expect(audit).toHaveLength(30);
    const agentsBefore = rowsIn(published, 'audit_events', H01).map((r) => JSON.parse(r)[1].user_agent);
    expect(audit.map((r) => r.user_agent)).toEqual(
      agentsBefore.map((a) => (a === null ? null : '[REDACTED:user_agent]')),
    );
    expect(agentsBefore.filter((a) => a !== null).length).toBeGreaterThan(10);
    // Everything else is the same rows, and the same catalog location.
    expect(rowsIn(after, 'audit_events', H23)).toEqual(rowsIn(published, 'audit_events', H23));
    for (const t of ['component_logs', 'authenticator_logs', 'unparsed_logs'] as const)
      expect(after[t]).toEqual(published[t]);
    expect(await l.catalog.getPartition('component_logs', H01)).toEqual(componentBefore);

    // The rollup of the rebuilt hour is owed to the next workflow run.
    expect(s.rollupsOwed).toEqual([H01.join('/')]);
    expect(Object.keys((await readOwedAthenaWork(l.store)).rollups)).toEqual([H01.join('/')]);
    // The old generation is retired for GC, which removes it after the grace period.
    const records = await listAll(l.store, `${RETIRED_PREFIX}${s.planId}/`);
    expect(records).toHaveLength(1);
    clock = LATER + 3 * HOUR;
    await collectGarbage(l.deps(clock), { graceHours: 1 });
    expect(await l.store.head(`${oldAudit}${MANIFEST_NAME}`)).toBeUndefined();
    expect(await readPublished(l.store, l.catalog)).toEqual(after);
  });

  it('rebuilds to the same files every time, and a second rebuild with the same code switches nothing', async () => {
    const files: string[][] = [];
    for (const _ of [1, 2]) {
      const l = lake();
      await publishedLake(l);
      const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY);
      expect(s.partitions.map((p) => p.status)).toEqual(['rebuilt', 'rebuilt', 'rebuilt']);
      const hashes: string[] = [];
      for (const p of s.partitions) {
        const m = parseManifest(Buffer.from((await l.store.get(`${p.location}${MANIFEST_NAME}`))!.body).toString());
        hashes.push(...m.files.map((f) => f.sha256));
      }
      files.push(hashes);

      const published = await readPublished(l.store, l.catalog);
      const catalog = await listAll(l.store, 'control/catalog/');
      const curated = await listAll(l.store, 'curated/');
      const again = await rebuildPartitions(rebuildDeps(l, LATER + HOUR, { mapLine: upperRegion }), DAY);
      expect(again.partitions.map((p) => p.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
      expect(again.rollupsOwed).toEqual([]);
      expect(await readPublished(l.store, l.catalog)).toEqual(published);
      expect(await listAll(l.store, 'control/catalog/')).toEqual(catalog);
      expect(await listAll(l.store, 'curated/')).toEqual(curated);
    }
    expect(files[1]).toEqual(files[0]);
  });

  it.each([
    ['no change', undefined, 'unchanged'],
    ['a changed column', upperRegion, 'rebuilt'],
  ] as const)('compares whole rows when the generations are filed differently (%s)', async (_, mapLine, status) => {
    const l = lake();
    // A small budget files each published partition in several Parquet files; the rebuild files it in one.
    const { published } = await publishedLake(l, { memoryBudgetBytes: 8 * 1024 });
    const files = async () => {
      const p = (await l.catalog.getPartition('audit_events', H01))!;
      return parseManifest(Buffer.from((await l.store.get(`${p.location}${MANIFEST_NAME}`))!.body).toString()).files
        .length;
    };
    const before = await files();
    expect(before).toBeGreaterThan(1);
    const s = await rebuildPartitions(rebuildDeps(l, LATER, mapLine ? { mapLine } : {}), {
      ...DAY,
      tables: ['audit_events'],
    });
    expect(s.partitions[0]).toMatchObject({ status, rowsAfter: 30, addedRows: 0, droppedRows: 0 });
    expect(await files()).toBe(status === 'unchanged' ? before : 1);
    if (status === 'unchanged') expect(await readPublished(l.store, l.catalog)).toEqual(published);
  });

  /** A time fix: scheduler events from 01:01:10 on are an hour later (or a day, with `ms`). */
  const shiftScheduler =
    (ms: number) =>
    (line: string, bounds: TimeBounds): MappedLine => {
      const m = mapRawLine(line, bounds);
      if (m.kind !== 'row' || m.table !== 'component_logs' || (m.row.time as number) < (T0 + 70_000) * 1000) return m;
      const t = (m.row.time as number) + ms * 1000;
      const iso = new Date(t / 1000).toISOString();
      return {
        ...m,
        values: [m.values[0], m.values[1], iso.slice(0, 10), iso.slice(11, 13)],
        row: { ...m.row, time: t },
      };
    };

  it('moves rows a changed mapping puts in another hour of the range there, creating its partition', async () => {
    const l = lake();
    const { published } = await publishedLake(l);
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: shiftScheduler(HOUR) }), DAY);
    const h02 = [ACCOUNT, CLUSTER, '2026-11-27', '02'];
    const byHour = Object.fromEntries(
      s.partitions.filter((p) => p.table === 'component_logs').map((p) => [p.values[3], p]),
    );
    // 10 of the 20 scheduler events of `a` and all 10 of `b` are from 01:01:10 on.
    expect(byHour['01']).toMatchObject({ status: 'rebuilt', rowsBefore: 30, rowsAfter: 10, droppedRows: 20 });
    expect(byHour['02']).toMatchObject({
      status: 'rebuilt',
      previous: null,
      rowsBefore: 0,
      rowsAfter: 20,
      addedRows: 20,
    });
    const after = await readPublished(l.store, l.catalog);
    expect(rowsIn(after, 'component_logs', H01)).toHaveLength(10);
    expect(rowsIn(after, 'component_logs', h02)).toHaveLength(20);
    expect(after.component_logs).toHaveLength(published.component_logs!.length);
    expect(after.audit_events).toEqual(published.audit_events);
  });

  it('switches nothing when a changed mapping moves rows out of the range, and says where from', async () => {
    const l = lake();
    const { published } = await publishedLake(l);
    const catalog = await listAll(l.store, 'control/catalog/');
    const curated = await listAll(l.store, 'curated/');
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: shiftScheduler(24 * HOUR) }), DAY);
    expect(s.partitions.map((p) => p.status)).toEqual(['refused', 'refused', 'refused']);
    expect(s.partitions[0]!.reason).toBe(
      `today's code moves 20 rows of the range out of it (first from component_logs ${H01.join('/')}); rebuild a range that holds where they go`,
    );
    expect(await readPublished(l.store, l.catalog)).toEqual(published);
    expect(await listAll(l.store, 'control/catalog/')).toEqual(catalog);
    expect(await listAll(l.store, 'curated/')).toEqual(curated);
    expect(await l.store.head(ATHENA_OWED_KEY)).toBeUndefined();
    // The wider range holds both days: the rows move, none is lost.
    const wide = await rebuildPartitions(rebuildDeps(l, LATER + HOUR, { mapLine: shiftScheduler(24 * HOUR) }), {
      from: '2026-11-27',
      to: '2026-11-29',
    });
    expect(wide.refused).toBe(0);
    expect((await readPublished(l.store, l.catalog)).component_logs).toHaveLength(published.component_logs!.length);
  });

  it('switches nothing when a changed mapping would leave a partition without rows', async () => {
    const l = lake();
    const { published } = await publishedLake(l);
    const noAuth = (line: string, bounds: TimeBounds): MappedLine => {
      const m = mapRawLine(line, bounds);
      return m.kind === 'row' && m.table === 'authenticator_logs'
        ? { kind: 'quarantine', reason: 'invalid_cluster', detail: 'stricter rule' }
        : m;
    };
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: noAuth }), DAY);
    expect(s.refused).toBe(3);
    expect(s.partitions[0]!.reason).toContain(`leaves authenticator_logs ${H01.join('/')} without rows`);
    expect(await readPublished(l.store, l.catalog)).toEqual(published);
  });

  it('counts old rows that a changed mapping now quarantines, and conserves the events read', async () => {
    const l = lake();
    await publishedLake(l);
    // A stricter parser: every other authenticator event (by sequence number) is refused.
    const strict = (line: string, bounds: TimeBounds): MappedLine => {
      const m = mapRawLine(line, bounds);
      if (m.kind === 'row' && m.table === 'authenticator_logs' && Number(String(m.row.event_id).slice(17, 25)) % 2)
        return { kind: 'quarantine', reason: 'invalid_cluster', detail: 'stricter rule' };
      return m;
    };
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: strict }), {
      ...DAY,
      tables: ['authenticator_logs'],
    });
    const p = s.partitions[0]!;
    expect(p.status).toBe('rebuilt');
    expect(p.quarantined).toBeGreaterThan(0);
    expect(p).toMatchObject({ droppedRows: p.quarantined, addedRows: 0, rowsAfter: 20 - p.quarantined });
    // Every line of the source is a staged row (of any partition), a duplicate or quarantined.
    expect(s.events).toBe(s.stagedRows + s.stagingDuplicates + s.quarantined);
    expect(s.quarantineReasons).toEqual({ invalid_cluster: s.quarantined });
  });

  it('refuses a partition whose source is gone unless told to drop its rows, and says how many', async () => {
    const l = lake();
    const { keys, published } = await publishedLake(l);
    await l.store.delete([keys.b]);

    const refused = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY);
    const byTable = Object.fromEntries(refused.partitions.map((p) => [p.table, p]));
    expect(byTable.audit_events).toMatchObject({ status: 'refused', missingSources: [keys.b], rowsAfter: 30 });
    expect(byTable.component_logs).toMatchObject({ status: 'refused', missingSources: [keys.b] });
    expect(byTable.authenticator_logs).toMatchObject({ status: 'rebuilt', missingSources: [] });
    expect(refused.refused).toBe(2);
    const after = await readPublished(l.store, l.catalog);
    expect(rowsIn(after, 'audit_events', H01)).toEqual(rowsIn(published, 'audit_events', H01));
    expect(rowsIn(after, 'component_logs', H01)).toEqual(rowsIn(published, 'component_logs', H01));

    const dropped = await rebuildPartitions(rebuildDeps(l, LATER + HOUR, { mapLine: upperRegion }), {
      ...DAY,
      tables: ['audit_events', 'component_logs'],
      allowMissingSources: true,
    });
    for (const p of dropped.partitions) {
      // `b` alone held 10 events of each partition (the other 10 it held are in `a` too).
      expect(p).toMatchObject({ status: 'rebuilt', missingSources: [keys.b], rowsBefore: 30, rowsAfter: 20 });
      expect(p.droppedRows).toBe(10);
    }
  });

  it('refuses a partition whose source can no longer be read as gzip NDJSON, like a gone one', async () => {
    const l = lake();
    const { keys, published } = await publishedLake(l);
    await l.store.put(keys.b, 'not gzip any more');
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY);
    expect(s.partitions.map((p) => [p.table, p.status, p.missingSources])).toEqual([
      ['audit_events', 'refused', [keys.b]],
      ['authenticator_logs', 'rebuilt', []],
      ['component_logs', 'refused', [keys.b]],
    ]);
    const after = await readPublished(l.store, l.catalog);
    expect(after.audit_events).toEqual(published.audit_events);
    expect(after.component_logs).toEqual(published.component_logs);
  });

  it.each([
    ['gone', null],
    ['not JSON', '{"version":1,'],
    ['of an unexpected shape', '{"version":2}'],
  ] as const)('refuses a partition whose manifest is %s and rebuilds the rest', async (_, body) => {
    const l = lake();
    await publishedLake(l);
    const location = (await l.catalog.getPartition('audit_events', H01))!.location;
    const manifestKey = `${location}${MANIFEST_NAME}`;
    if (body === null) await l.store.delete([manifestKey]);
    else await l.store.put(manifestKey, body);
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY);
    expect(s.partitions.map((p) => [p.table, p.status])).toEqual([
      ['audit_events', 'refused'],
      ['authenticator_logs', 'rebuilt'],
      ['component_logs', 'rebuilt'],
    ]);
    expect(s.partitions[0]!.reason).toMatch(/no readable manifest/);
    expect((await l.catalog.getPartition('audit_events', H01))!.location).toBe(location);
  });

  it('stops when a published manifest cannot be fetched instead of refusing its partition', async () => {
    const l = lake();
    await publishedLake(l);
    const store = new FaultyObjectStore(l.store);
    store.failOn({ op: 'get', match: /_manifest\.json$/, error: transientError('manifest get') });
    await expect(rebuildPartitions(rebuildDeps(l, LATER, { store }), { ...DAY, dryRun: true })).rejects.toThrow(
      /injected transient failure: manifest get/,
    );
  });

  it('lists the partitions and the raw objects a rebuild needs on a dry run, and writes nothing', async () => {
    const l = lake();
    const { keys } = await publishedLake(l);
    await l.store.delete([keys.b]);
    const before = await listAll(l.store);
    const s = await rebuildPartitions(rebuildDeps(l, LATER), { ...DAY, dryRun: true });
    expect(await listAll(l.store)).toEqual(before);
    expect(s.partitions.map((p) => [p.table, p.status])).toEqual([
      ['audit_events', 'refused'],
      ['authenticator_logs', 'planned'],
      ['component_logs', 'refused'],
    ]);
    const size = (await l.store.head(keys.a))!.size;
    expect(s.sourcesNeeded).toEqual([
      { key: keys.a, size },
      { key: keys.b, size: null },
    ]);
    expect(s.planId).toBeNull();
  });

  it('selects partitions by event date [from, to), table, account and cluster', async () => {
    const l = lake();
    await publishedLake(l);
    const pick = async (req: Partial<RebuildRequest>) =>
      (await rebuildPartitions(rebuildDeps(l, LATER), { ...DAY, dryRun: true, ...req })).partitions.map(
        (p) => `${p.table} ${p.values[2]} ${p.values[3]}`,
      );
    expect(await pick({ from: '2026-11-26', to: '2026-11-27' })).toEqual([
      'audit_events 2026-11-26 23',
      'component_logs 2026-11-26 23',
    ]);
    expect(await pick({ from: '2026-11-26', to: '2026-11-28', tables: ['component_logs'] })).toEqual([
      'component_logs 2026-11-26 23',
      'component_logs 2026-11-27 01',
    ]);
    expect(await pick({ account: '999988887777' })).toEqual([]);
    expect(await pick({ cluster: 'other-cluster' })).toEqual([]);
    expect(await pick({ account: ACCOUNT, cluster: CLUSTER })).toHaveLength(3);
    await expect(pick({ to: '2026-11-27' })).rejects.toThrow(/after --from/);
    await expect(pick({ from: '2026-11-31' })).rejects.toThrow(/YYYY-MM-DD/);
    await expect(pick({ cluster: '../x' })).rejects.toThrow(/cluster/);
  });
});

describe('rebuildPartitions and the compaction lease', () => {
  it('does nothing while another run holds the lease', async () => {
    const l = lake();
    await publishedLake(l);
    await acquireLease({ store: l.store, clock: { now: () => new Date(LATER) }, ttlMs: HOUR }, 'scheduled-run');
    const before = await listAll(l.store);
    await expect(rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY)).rejects.toThrow(
      LeaseHeldError,
    );
    expect(await listAll(l.store)).toEqual(before);
  });

  it('holds the lease as rebuild-<time> and releases it at the end', async () => {
    const l = lake();
    await publishedLake(l);
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), DAY);
    expect(s.holder).toBe('rebuild-20261127T070000Z');
    expect(s.planId).toBe('rebuild-20261127T070000Z-t1');
    expect(await readLeaseRecord(l.store)).toMatchObject({ holder: s.holder, token: 1, released: true });
  });

  it('stops without switching when a partition moved during the rebuild (a writer that ignored the lease)', async () => {
    const l = lake();
    await publishedLake(l);
    const late = await putRaw(l, 'kube-scheduler', 'late', linesOf(['kube-scheduler'], T0 + 40 * 60_000, 5, 700), NOW);
    let moved = false;
    const catalog: Catalog = {
      listPartitions: (t) => l.catalog.listPartitions(t),
      putPartitions: (t, p) => l.catalog.putPartitions(t, p),
      getPartition: async (t, v) => {
        // The merge reads the partition it replaces: someone publishes a late object just before.
        if (!moved && t === 'component_logs') {
          moved = true;
          await compactKeys(l, [late], NOW);
        }
        return l.catalog.getPartition(t, v);
      },
    };
    await expect(
      rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion, catalog }), {
        ...DAY,
        tables: ['component_logs'],
      }),
    ).rejects.toThrow(CommitConflictError);
    const lateRows = rowsIn(await readPublished(l.store, l.catalog), 'component_logs', H01);
    // The late rows stay published; the rebuild switched nothing over them.
    expect(lateRows).toHaveLength(35);
    expect(await readLeaseRecord(l.store)).toMatchObject({ released: true });
  });

  it('keeps renewing the lease over a rebuild longer than its TTL, so a scheduled run cannot take it', async () => {
    const l = lake();
    await publishedLake(l);
    // Writing a generation takes six minutes; the lease lasts ten.
    let t = LATER;
    const now = () => new Date(t);
    const attempts: string[] = [];
    const store: ObjectStore = {
      put: async (key, body, opts) => {
        const out = await l.store.put(key, body, opts);
        if (key.endsWith(MANIFEST_NAME)) {
          t += 6 * 60_000;
          await acquireLease(
            { store: l.store, clock: { now: () => new Date(t) }, ttlMs: 10 * 60_000 },
            'scheduled',
          ).then(
            () => attempts.push('taken'),
            (err: Error) => attempts.push(err.name),
          );
        }
        return out;
      },
      get: (k) => l.store.get(k),
      getStream: (k) => l.store.getStream(k),
      head: (k) => l.store.head(k),
      list: (p, o) => l.store.list(p, o),
      delete: (k) => l.store.delete(k),
    };
    const s = await rebuildPartitions(
      { ...l.deps(LATER), store, now, leaseTtlMs: 10 * 60_000, mapLine: upperRegion },
      DAY,
    );
    expect(s.rebuilt).toBe(3);
    expect(t - LATER).toBe(18 * 60_000);
    expect(attempts).toEqual(['LeaseHeldError', 'LeaseHeldError', 'LeaseHeldError']);
    expect(await readLeaseRecord(l.store)).toMatchObject({ holder: s.holder, released: true });
  });

  it('publishes nothing once the lease was taken over mid-rebuild, and releases nothing it no longer holds', async () => {
    const l = lake();
    const { published } = await publishedLake(l);
    // Another run takes the lease over (ours expired) while the first new generation is written.
    let took = false;
    const stalling: ObjectStore = {
      put: async (key, body, opts) => {
        const out = await l.store.put(key, body, opts);
        if (!took && key.endsWith(MANIFEST_NAME)) {
          took = true;
          await acquireLease({ store: l.store, clock: { now: () => new Date(LATER + 2 * HOUR) }, ttlMs: HOUR }, 'next');
        }
        return out;
      },
      get: (k) => l.store.get(k),
      getStream: (k) => l.store.getStream(k),
      head: (k) => l.store.head(k),
      list: (p, o) => l.store.list(p, o),
      delete: (k) => l.store.delete(k),
    };
    await expect(
      rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion, store: stalling, leaseTtlMs: HOUR }), DAY),
    ).rejects.toThrow(LeaseLostError);
    expect(await readPublished(l.store, l.catalog)).toEqual(published);
    expect(await readLeaseRecord(l.store)).toMatchObject({ holder: 'next', released: false });
    expect(await l.store.head(ATHENA_OWED_KEY)).toBeUndefined();
    expect(await l.store.head(LEASE_KEY)).toBeDefined();
  });
});

describe('rebuildPartitions after a crash', () => {
  const crashes: [string, (s: FaultyObjectStore, c: FaultyCatalog) => void][] = [
    ['after the first table is switched', (_s, c) => c.crashAfter('putPartitions', 'audit_events')],
    ['before the second table is switched', (_s, c) => c.crashOn('putPartitions', 'component_logs')],
    ['after the second manifest is written', (s) => s.crashAfter('put', /_manifest\.json$/, 2)],
    ['while a source is staged', (s) => s.crashOn('put', /^control\/staging\//, 3)],
    ['while the retirement record is written', (s) => s.crashOn('put', /^control\/gc\/retired\//, 1)],
  ];

  it.each(crashes)(
    'shows each partition old or new, never mixed, and a rerun completes it (crash %s)',
    async (_, arm) => {
      const clean = lake();
      await publishedLake(clean);
      await rebuildPartitions(rebuildDeps(clean, LATER, { mapLine: upperRegion }), DAY);
      const want = await readPublished(clean.store, clean.catalog);

      const l = lake();
      const { published } = await publishedLake(l);
      const store = new FaultyObjectStore(l.store);
      const catalog = new FaultyCatalog(l.catalog);
      arm(store, catalog);
      await expect(
        rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion, store, catalog }), DAY),
      ).rejects.toThrow(SimulatedCrash);

      const mid = await readPublished(l.store, l.catalog);
      for (const table of ['audit_events', 'component_logs', 'authenticator_logs'] as const) {
        for (const values of [H01, H23]) {
          const now = rowsIn(mid, table, values);
          const either = [rowsIn(published, table, values), rowsIn(want, table, values)];
          expect(either).toContainEqual(now);
        }
      }
      // The crashed run gave the lease back on its way out; a rerun later finishes the job.
      const rerun = await rebuildPartitions(rebuildDeps(l, LATER + HOUR, { mapLine: upperRegion }), DAY);
      const after = await readPublished(l.store, l.catalog);
      expect(after).toEqual(want);
      for (const rows of Object.values(after)) expect(new Set(rows).size).toBe(rows.length);
      expect(rerun.rebuilt + rerun.unchanged).toBe(3);
    },
  );
});

describe('manifest of a rebuilt generation', () => {
  it('names only the partition sources and replaces, not extends, the old generation', async () => {
    const l = lake();
    const { keys } = await publishedLake(l);
    const s = await rebuildPartitions(rebuildDeps(l, LATER, { mapLine: upperRegion }), {
      ...DAY,
      tables: ['authenticator_logs'],
    });
    const p = s.partitions[0]!;
    const m = parseManifest(Buffer.from((await l.store.get(`${p.location}${MANIFEST_NAME}`))!.body).toString());
    expect(m).toMatchObject({ sources: [keys.a], rows: 20, baseLocation: p.previous, addedRows: 20 });
    expect(p.location).toContain(`/gen=${s.planId}`);
  });
});

describe('rebuildPartitions with unchanged code (property)', () => {
  // 60 events from 01:50 on: two event hours, three tables.
  const pool = linesOf(['kube-apiserver-audit', 'kube-scheduler', 'authenticator'], T0 + 50 * 60_000, 20);
  const delivery = fc.record({
    picks: fc.uniqueArray(fc.nat(pool.length - 1), { minLength: 1, maxLength: 25 }),
    repeats: fc.nat(3),
    arrivalHour: fc.integer({ min: 2, max: 5 }),
    plan: fc.nat(2),
  });

  it('finds the published rows whatever deliveries, re-deliveries and plans built them, and switches nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 6 }), async (deliveries) => {
        const l = clockedLake(() => new Date(LATER));
        const plans: string[][] = [[], [], []];
        for (const [i, d] of deliveries.entries()) {
          const lines = d.picks.map((p) => pool[p]!);
          const key = await putRaw(
            l,
            'kube-apiserver-audit',
            `d${i}`,
            [...lines, ...lines.slice(0, d.repeats)],
            T0 + d.arrivalHour * HOUR,
          );
          plans[d.plan]!.push(key);
        }
        for (const keys of plans) if (keys.length > 0) await compactKeys(l, keys, NOW);
        const before = await readPublished(l.store, l.catalog);

        const catalogBefore = await listAll(l.store, 'control/catalog/');
        const s = await rebuildPartitions(rebuildDeps(l, LATER), DAY);
        expect(await readPublished(l.store, l.catalog)).toEqual(before);
        expect(await listAll(l.store, 'control/catalog/')).toEqual(catalogBefore);
        for (const p of s.partitions) {
          expect(p).toMatchObject({ status: 'unchanged', droppedRows: 0, addedRows: 0, quarantined: 0 });
          expect(p.rowsAfter).toBe(p.rowsBefore);
        }
        expect(s.events).toBe(s.stagedRows + s.stagingDuplicates + s.quarantined);
      }),
      { numRuns: 12 },
    );
  });
});
