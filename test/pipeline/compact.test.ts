import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tableToRows } from '../../src/core/arrow/rows.ts';
import {
  generationPrefix,
  MANIFEST_NAME,
  parseManifest,
  planIdFor,
  rowComparator,
} from '../../src/core/compact/index.ts';
import { CommitConflictError, LeaseLostError } from '../../src/core/errors.ts';
import { decodeParquet } from '../../src/core/parquet.ts';
import { tableDef } from '../../src/core/schema.ts';
import type { KnownLogType } from '../../src/core/types.ts';
import { compactObjects, mergePartition, publishPartitions, stageObjects } from '../../src/pipeline/compact.ts';
import { collectGarbage } from '../../src/pipeline/gc.ts';
import type { ObjectStore } from '../../src/ports.ts';
import {
  ACCOUNT,
  ALL_TYPES,
  CLUSTER,
  gzipObject,
  message,
  rawKey,
  rawLines,
  sampleEvents,
} from '../unit/compact/raw-fixtures.ts';
import { clockedLake, countRows, type Lake, type LakeStores, lakePerTest, readPublished } from './compact-lake.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = T0 + 3 * HOUR;

const lake = lakePerTest();

/** Lines of `n` events per stream type starting at `startMs` (ids unique per type and second). */
function linesOf(types: readonly KnownLogType[], startMs: number, n: number, seq0 = 0): string[] {
  return types.flatMap((t) => rawLines(message(t, sampleEvents(t, startMs, n, seq0))));
}

async function putRaw(
  l: LakeStores,
  name: string,
  lines: string[],
  arrivalMs = T0 + HOUR,
  members = 1,
): Promise<string> {
  const key = rawKey('kube-apiserver-audit', arrivalMs, name);
  await l.store.put(key, gzipObject(lines, members));
  return key;
}

async function planOf(l: LakeStores, keys: string[]): Promise<string> {
  const infos = await Promise.all(keys.map((k) => l.store.head(k)));
  return planIdFor(infos.map((o, i) => ({ key: keys[i]!, etag: o?.etag ?? '' })));
}

async function compact(l: LakeStores, keys: string[], extra: Parameters<Lake['deps']>[1] = {}, chunkSize?: number) {
  return compactObjects(l.deps(NOW, extra), { planId: await planOf(l, keys), keys, chunkSize });
}

describe('compactObjects', () => {
  it('writes every stream type to its table, partitioned by event time, sorted, with a manifest', async () => {
    const l = lake();
    const key = await putRaw(l, 'a', linesOf(ALL_TYPES, T0 + 30 * 60_000, 40), T0 + HOUR, 3);
    const sum = await compact(l, [key]);
    expect(sum).toMatchObject({
      objects: 1,
      events: 240,
      rows: { audit_events: 40, component_logs: 160, authenticator_logs: 40, unparsed_logs: 0 },
      duplicates: 0,
      quarantined: 0,
    });
    // 40 events one second apart from 01:30 stay in hour 01.
    const part = await l.catalog.getPartition('component_logs', [ACCOUNT, CLUSTER, '2026-11-27', '01']);
    // The plan's generation, named further by what it was merged from (base and staged files).
    const gen = generationPrefix('component_logs', [ACCOUNT, CLUSTER, '2026-11-27', '01'], sum.planId);
    expect(part?.location).toMatch(new RegExp(`^${gen.slice(0, -1)}-[0-9a-f]{12}/$`));
    const manifest = parseManifest(
      Buffer.from((await l.store.get(`${part!.location}${MANIFEST_NAME}`))!.body).toString(),
    );
    expect(manifest.sources).toEqual([key]);
    expect(manifest.rows).toBe(160);
    const def = tableDef('component_logs');
    for (const f of manifest.files) {
      const rows = tableToRows(def, decodeParquet((await l.store.get(f.key))!.body));
      expect([...rows].sort(rowComparator(def))).toEqual(rows);
    }
    expect(countRows(await readPublished(l.store, l.catalog))).toBe(240);
  });

  it('keeps one row per event when Firehose re-delivers it in the same and in later objects', async () => {
    const l = lake();
    const lines = linesOf(['kube-apiserver-audit', 'authenticator'], T0 + 60_000, 30);
    const a = await putRaw(l, 'a', [...lines, ...lines.slice(0, 10)]);
    const first = await compact(l, [a]);
    expect(first.duplicates).toBe(10);
    const b = await putRaw(l, 'b', lines.slice(5, 25), T0 + 2 * HOUR);
    const second = await compact(l, [a, b]);
    expect(second.rows).toMatchObject({ audit_events: 0, authenticator_logs: 0 });
    expect(countRows(await readPublished(l.store, l.catalog))).toBe(60);
  });

  it('adds a late object to the already-published event-time partition and keeps the old generation readable', async () => {
    const l = lake();
    const a = await putRaw(l, 'a', linesOf(['kube-scheduler'], T0 + 60_000, 20));
    const s1 = await compact(l, [a]);
    const values = [ACCOUNT, CLUSTER, '2026-11-27', '01'];
    const before = await l.catalog.getPartition('component_logs', values);
    // Same event hour, arriving five hours later.
    const late = await putRaw(l, 'late', linesOf(['kube-scheduler'], T0 + 120_000, 20, 1000), T0 + 5 * HOUR);
    const s2 = await compactObjects(l.deps(T0 + 6 * HOUR), { planId: await planOf(l, [late]), keys: [late] });
    expect(s2.rows.component_logs).toBe(20);
    const after = await l.catalog.getPartition('component_logs', values);
    expect(after?.location).not.toBe(before?.location);
    expect(after?.location).toContain(`/gen=${s2.planId}-`);
    expect((await readPublished(l.store, l.catalog)).component_logs).toHaveLength(40);
    expect(await l.store.head(`${before!.location}${MANIFEST_NAME}`)).toBeDefined();
    expect(s1.planId).not.toBe(s2.planId);
  });

  it('changes nothing when the same window is compacted again (same plan id)', async () => {
    const l = lake();
    const keys = [
      await putRaw(l, 'a', linesOf(ALL_TYPES, T0, 10)),
      await putRaw(l, 'b', linesOf(ALL_TYPES, T0, 10, 50)),
    ];
    const s1 = await compact(l, keys);
    const catalogBefore = (await l.store.get('control/catalog/audit_events.json'))!.etag;
    const published = await readPublished(l.store, l.catalog);
    for (let i = 0; i < 2; i++) {
      const again = await compact(l, keys);
      expect(again.published).toBe(0);
      expect(again.rows).toEqual(s1.rows);
    }
    expect((await l.store.get('control/catalog/audit_events.json'))!.etag).toBe(catalogBefore);
    expect(await readPublished(l.store, l.catalog)).toEqual(published);
  });

  it('quarantines objects that are not gzip NDJSON, counts empty ones, and processes the rest', async () => {
    const l = lake();
    const good = await putRaw(l, 'good', linesOf(['authenticator'], T0, 5));
    const plain = rawKey('authenticator', T0 + HOUR, 'plain');
    await l.store.put(plain, 'this is not gzip\n');
    const truncated = rawKey('authenticator', T0 + HOUR, 'truncated');
    const full = gzipObject(linesOf(['authenticator'], T0, 50, 100));
    await l.store.put(truncated, full.subarray(0, full.length - 20));
    const empty = rawKey('authenticator', T0 + HOUR, 'empty');
    await l.store.put(empty, new Uint8Array(0));
    const stray = 'raw/manual-upload.txt';
    await l.store.put(stray, 'x');
    const sum = await compact(l, [good, plain, truncated, empty, stray]);
    expect(sum).toMatchObject({ objects: 4, emptyObjects: 1, quarantinedObjects: 2, ignoredKeys: 1, events: 5 });
    expect(sum.rows.authenticator_logs).toBe(5);
    for (const k of [plain, truncated]) {
      expect((await l.store.get(`quarantine/objects/${k}`))?.body).toEqual((await l.store.get(k))?.body);
      const note = JSON.parse(Buffer.from((await l.store.get(`quarantine/objects/${k}.reason.json`))!.body).toString());
      expect(note.reason).toBe(k === plain ? 'not_gzip' : 'corrupt_gzip');
    }
  });

  it('quarantines bad lines with their reason and text, and keeps BOM, CRLF and unterminated lines', async () => {
    const l = lake();
    const lines = linesOf(['kube-apiserver-audit'], T0, 3);
    const body = `\ufeff${lines[0]}\r\nnot json\n\n${lines[1]}\n{"truncated":\n${JSON.stringify({ ...JSON.parse(lines[2]!), time: '2099-01-01T00:00:00Z', event_id: '9'.repeat(56) })}\n${lines[2]}`;
    const key = rawKey('kube-apiserver-audit', T0 + HOUR, 'mixed');
    await l.store.put(key, gzipSync(body));
    const sum = await compact(l, [key]);
    expect(sum).toMatchObject({ events: 6, quarantined: 3, rows: { audit_events: 3 } });
    expect(sum.quarantineReasons).toEqual({ non_json: 1, truncated_json: 1, time_out_of_range: 1 });
    const q: { key: string; items: Record<string, unknown>[] }[] = [];
    for await (const o of l.store.list('quarantine/records/')) {
      const text = (await import('node:zlib')).gunzipSync((await l.store.get(o.key))!.body).toString();
      q.push({
        key: o.key,
        items: text
          .trim()
          .split('\n')
          .map((x) => JSON.parse(x)),
      });
    }
    expect(q).toHaveLength(1);
    expect(q[0]!.items.map((i) => [i.reason, i.line, i.key])).toEqual([
      ['non_json', 2, key],
      ['truncated_json', 5, key],
      ['time_out_of_range', 6, key],
    ]);
    expect(q[0]!.items[0]!.text).toBe('not json');
  });

  it('quarantines a gzip bomb (100 MiB of zeros, one endless line) by reference', async () => {
    const l = lake();
    const key = rawKey('kube-apiserver-audit', T0 + HOUR, 'bomb');
    await l.store.put(key, gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 }));
    expect((await l.store.head(key))!.size).toBeLessThan(200_000);
    const sum = await compact(l, [key]);
    expect(sum).toMatchObject({ events: 1, quarantined: 1, quarantineReasons: { line_too_long: 1 } });
  });

  it('keeps memory bounded on a line far over the limit by quarantining it by reference', async () => {
    const l = lake();
    const good = linesOf(['kube-scheduler'], T0, 2);
    const key = await putRaw(l, 'big', [good[0]!, `{"x":"${'a'.repeat(600_000)}"}`, good[1]!]);
    const sum = await compact(l, [key], { memoryBudgetBytes: 1024 * 1024 });
    expect(sum).toMatchObject({ events: 3, quarantined: 1, quarantineReasons: { line_too_long: 1 } });
    expect(sum.rows.component_logs).toBe(2);
  });

  it('writes the same rows in several sorted files when the memory budget is small', async () => {
    const small = lake();
    const big = lake();
    const lines = linesOf(['kube-apiserver-audit', 'kube-apiserver'], T0, 300);
    const ks = await putRaw(small, 'a', lines);
    const kb = await putRaw(big, 'a', lines);
    await compact(small, [ks], { memoryBudgetBytes: 64 * 1024 });
    await compact(big, [kb]);
    expect(await readPublished(small.store, small.catalog)).toEqual(await readPublished(big.store, big.catalog));
    const part = await small.catalog.getPartition('audit_events', [ACCOUNT, CLUSTER, '2026-11-27', '01']);
    const manifest = parseManifest(
      Buffer.from((await small.store.get(`${part!.location}${MANIFEST_NAME}`))!.body).toString(),
    );
    expect(manifest.files.length).toBeGreaterThan(1);
  });

  it('never writes the catalog when the fence says the lease is lost', async () => {
    const l = lake();
    const key = await putRaw(l, 'a', linesOf(['authenticator'], T0, 3));
    const fence = async () => {
      throw new LeaseLostError('lease taken over');
    };
    await expect(compactObjects(l.deps(NOW), { planId: 'p1', keys: [key], fence })).rejects.toThrow(LeaseLostError);
    expect(await l.catalog.listPartitions('authenticator_logs')).toEqual([]);
    expect(await l.store.head('control/catalog/authenticator_logs.json')).toBeUndefined();
  });

  it('refuses to publish a merge whose base generation was replaced meanwhile, and a fresh merge keeps both', async () => {
    const l = lake();
    const a = await putRaw(l, 'a', linesOf(['authenticator'], T0, 5));
    const b = await putRaw(l, 'b', linesOf(['authenticator'], T0, 5, 50), T0 + 2 * HOUR);
    const deps = l.deps(NOW);
    const values = [ACCOUNT, CLUSTER, '2026-11-27', '01'];
    // Two overlapping runs (no lease) stage and merge from the same empty partition.
    const merged = [];
    for (const [planId, key] of [
      ['plan-a', a],
      ['plan-b', b],
    ] as const) {
      await stageObjects(deps, { planId, chunkId: 'c00000', keys: [key] });
      merged.push(await mergePartition(deps, { planId, table: 'authenticator_logs', values }));
    }
    const fence = async () => {};
    await publishPartitions(deps, { planId: 'plan-a', merged: [merged[0]!], fence });
    await expect(publishPartitions(deps, { planId: 'plan-b', merged: [merged[1]!], fence })).rejects.toThrow(
      CommitConflictError,
    );
    expect((await readPublished(l.store, l.catalog)).authenticator_logs).toHaveLength(5);
    // The retried run merges again, now from plan-a's generation.
    const again = await compactObjects(deps, { planId: 'plan-b2', keys: [b] });
    expect(again.rows.authenticator_logs).toBe(5);
    expect((await readPublished(l.store, l.catalog)).authenticator_logs).toHaveLength(10);
  });

  it('rejects a merge request for a partition with unsafe values', async () => {
    const l = lake();
    await expect(
      mergePartition(l.deps(NOW), {
        planId: 'p1',
        table: 'audit_events',
        values: [ACCOUNT, '../x', '2026-11-27', '01'],
      }),
    ).rejects.toThrow(/cluster/);
    await expect(stageObjects(l.deps(NOW), { planId: '../p', chunkId: 'c', keys: [] })).rejects.toThrow(/planId/);
  });
});

class Crash extends Error {}

/** The store, except that the n-th put under `prefix` throws before writing (a crashed worker). */
function crashingStore(inner: ObjectStore, prefix: string, n: number, onPut = () => {}): ObjectStore {
  let seen = 0;
  return {
    put: async (key, body, o) => {
      if (key.startsWith(prefix)) onPut();
      if (key.startsWith(prefix) && ++seen === n) throw new Crash(`crash before ${key}`);
      return inner.put(key, body, o);
    },
    get: (k) => inner.get(k),
    getStream: (k) => inner.getStream(k),
    head: (k) => inner.head(k),
    list: (p, o) => inner.list(p, o),
    delete: (k) => inner.delete(k),
  };
}

describe('crash and rerun', () => {
  async function scenario() {
    const l = lake();
    const old = await putRaw(l, 'old', linesOf(['kube-apiserver-audit', 'kube-scheduler'], T0, 30));
    await compact(l, [old]);
    const published = await readPublished(l.store, l.catalog);
    const late = await putRaw(
      l,
      'late',
      linesOf(['kube-apiserver-audit', 'kube-scheduler'], T0 + 10_000, 30, 500),
      T0 + 2 * HOUR,
    );
    return { l, keys: [old, late], published };
  }

  it('shows the old or the new version after a crash at every write of a merge, and a rerun publishes once', async () => {
    const clean = await scenario();
    await compact(clean.l, clean.keys, { memoryBudgetBytes: 16 * 1024 });
    const want = await readPublished(clean.l.store, clean.l.catalog);
    expect(countRows(want)).toBe(120);

    // Count the puts into curated/ of a clean run: every one is a crash point (files, manifests).
    let writes = 0;
    {
      const s = await scenario();
      const counting = crashingStore(s.l.store, 'curated/', Number.POSITIVE_INFINITY, () => writes++);
      await compact(s.l, s.keys, { memoryBudgetBytes: 16 * 1024, store: counting });
    }
    expect(writes).toBeGreaterThan(4);
    for (let n = 1; n <= writes; n++) {
      const s = await scenario();
      const crashing = crashingStore(s.l.store, 'curated/', n);
      await expect(compact(s.l, s.keys, { memoryBudgetBytes: 16 * 1024, store: crashing })).rejects.toThrow(Crash);
      expect(await readPublished(s.l.store, s.l.catalog), `crash at write ${n}`).toEqual(s.published);
      const rerun = await compact(s.l, s.keys, { memoryBudgetBytes: 16 * 1024 });
      expect(await readPublished(s.l.store, s.l.catalog), `rerun after crash at write ${n}`).toEqual(want);
      expect(rerun.rows.audit_events + rerun.rows.component_logs).toBe(60);
    }
  });

  it('publishes on rerun after a crash before the catalog switch, and is a no-op after one', async () => {
    for (const when of ['before', 'after'] as const) {
      const s = await scenario();
      const catalog = {
        getPartition: s.l.catalog.getPartition.bind(s.l.catalog),
        listPartitions: s.l.catalog.listPartitions.bind(s.l.catalog),
        putPartitions: async (t: string, p: Parameters<typeof s.l.catalog.putPartitions>[1]) => {
          if (when === 'after') await s.l.catalog.putPartitions(t, p);
          throw new Crash(`crash ${when} catalog switch`);
        },
      };
      await expect(compact(s.l, s.keys, { catalog })).rejects.toThrow(Crash);
      const mid = await readPublished(s.l.store, s.l.catalog);
      if (when === 'before') expect(mid).toEqual(s.published);
      await compact(s.l, s.keys);
      const end = await readPublished(s.l.store, s.l.catalog);
      expect(countRows(end)).toBe(120);
      // Every event once, whatever partition order the crash interrupted.
      expect(new Set(end.audit_events).size).toBe(end.audit_events!.length);
    }
  });
});

describe('properties', () => {
  const typeArb = fc.constantFrom<KnownLogType>(...ALL_TYPES);
  // A batch: events of some types over two event hours, some re-delivered, a few bad lines,
  // split into objects in any order.
  const batchArb = fc.record({
    groups: fc.array(
      fc.record({ type: typeArb, n: fc.integer({ min: 1, max: 12 }), minute: fc.integer({ min: 0, max: 110 }) }),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
    redeliver: fc.array(fc.nat(), { maxLength: 6 }),
    bad: fc.array(fc.constantFrom('garbage', '{"half":', '[]'), { maxLength: 3 }),
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    seed: fc.nat(),
  });

  type Batch = typeof batchArb extends fc.Arbitrary<infer B> ? B : never;

  function buildLines(b: Batch): string[] {
    const lines: string[] = [];
    b.groups.forEach((g, i) => {
      lines.push(...rawLines(message(g.type, sampleEvents(g.type, T0 + g.minute * 60_000, g.n, i * 100))));
    });
    for (const r of b.redeliver) if (lines.length) lines.push(lines[r % lines.length]!);
    lines.push(...b.bad);
    return lines;
  }

  function split(lines: string[], cuts: number[], seed: number): string[][] {
    const shuffled = [...lines];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = (seed * (i + 7)) % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const at = [...new Set(cuts.map((c) => c % (shuffled.length + 1)))].sort((a, b) => a - b);
    const out: string[][] = [];
    let prev = 0;
    for (const c of [...at, shuffled.length]) {
      if (c > prev) out.push(shuffled.slice(prev, c));
      prev = c;
    }
    return out;
  }

  it('conserves events: in = rows + duplicates + quarantined; rows are unique', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async (b) => {
        const l = lake();
        const lines = buildLines(b);
        const keys: string[] = [];
        for (const [i, part] of split(lines, b.cuts, b.seed).entries()) keys.push(await putRaw(l, `o${i}`, part));
        // One object per chunk, so duplicates across objects meet only in the merge.
        const sum = await compact(l, keys, { memoryBudgetBytes: 32 * 1024 }, 1);
        const rows = Object.values(sum.rows).reduce((n, x) => n + x, 0);
        expect(sum.events).toBe(lines.length);
        expect(rows + sum.duplicates + sum.quarantined).toBe(sum.events);
        const pub = await readPublished(l.store, l.catalog);
        expect(countRows(pub)).toBe(rows);
        for (const t of Object.values(pub)) {
          const ids = t.map((r) => JSON.stringify([JSON.parse(r)[1].log_group, JSON.parse(r)[1].event_id]));
          expect(new Set(ids).size).toBe(ids.length);
        }
        l.dispose();
      }),
      { numRuns: 12 },
    );
  });

  it('gives the same rows for any split and order of objects, in one run or many, and a rerun changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, fc.nat(), async (b, seed2) => {
        const lines = buildLines(b);
        const one = lake();
        await compact(one, [await putRaw(one, 'all', lines)]);
        const want = await readPublished(one.store, one.catalog);

        const many = lake();
        const parts = split(lines, [...b.cuts, seed2], b.seed + seed2);
        const keys: string[] = [];
        for (const [i, part] of parts.entries()) {
          keys.push(await putRaw(many, `o${i}`, part, T0 + HOUR + i * 60_000));
          // Every other object is compacted as it arrives (a later window), the rest together.
          if (i % 2 === 0) await compact(many, keys.slice(-1));
        }
        await compact(many, keys, {}, 1 + (seed2 % 2));
        const got = await readPublished(many.store, many.catalog);
        expect(got).toEqual(want);
        await compact(many, keys);
        expect(await readPublished(many.store, many.catalog)).toEqual(want);
        one.dispose();
        many.dispose();
      }),
      { numRuns: 10 },
    );
  });
});

describe('collectGarbage', () => {
  it('removes superseded generations and staging after the grace period, never the current one', async () => {
    // Objects are stamped by this clock, and GC reads the same one: no host time involved.
    let clock = NOW;
    const l = clockedLake(() => new Date(clock));
    const gc = () => collectGarbage(l.deps(clock), { graceHours: 1 });
    const a = await putRaw(l, 'a', linesOf(['authenticator'], T0, 5));
    await compact(l, [a]);
    const values = [ACCOUNT, CLUSTER, '2026-11-27', '01'];
    const first = (await l.catalog.getPartition('authenticator_logs', values))!.location;
    clock = NOW + HOUR / 2;
    const b = await putRaw(l, 'b', linesOf(['authenticator'], T0, 5, 50));
    await compact(l, [a, b]);
    const second = (await l.catalog.getPartition('authenticator_logs', values))!.location;
    expect(await gc()).toMatchObject({ generations: 0, stagingPlans: 0 });
    // An hour after the first run only its staging has aged out; the first generation's grace
    // runs from its replacement, half an hour later.
    clock = NOW + HOUR + 60_000;
    expect(await gc()).toMatchObject({ generations: 0, stagingPlans: 1 });
    expect(await l.store.head(`${first}${MANIFEST_NAME}`)).toBeDefined();
    clock = NOW + HOUR / 2 + HOUR + 60_000;
    expect(await gc()).toMatchObject({ generations: 1, stagingPlans: 1 });
    expect(await l.store.head(`${first}${MANIFEST_NAME}`)).toBeUndefined();
    expect(await l.store.head(`${second}${MANIFEST_NAME}`)).toBeDefined();
    expect((await readPublished(l.store, l.catalog)).authenticator_logs).toHaveLength(10);
    clock = NOW + 10 * HOUR;
    expect(await gc()).toMatchObject({ generations: 0, stagingPlans: 0 });
    expect((await readPublished(l.store, l.catalog)).authenticator_logs).toHaveLength(10);
  });
});

describe('row order', () => {
  it('sorts audit rows by object then time so row groups prune "who touched X" queries', () => {
    const def = tableDef('audit_events');
    const rows = [
      { resource: 'secrets', namespace: 'b', name: 'x', time: 2, event_id: '1' },
      { resource: 'pods', namespace: 'a', name: 'y', time: 1, event_id: '2' },
      { resource: 'secrets', namespace: 'a', name: 'x', time: 3, event_id: '3' },
    ];
    const sorted = [...rows].sort(rowComparator(def));
    expect(sorted.map((r) => r.event_id)).toEqual(['2', '3', '1']);
  });
});
