import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_PARTLY_REFUSED, rebuildCommand } from '../../src/cli/commands/rebuild.ts';
import { type MappedLine, mapRawLine, planIdFor, type TimeBounds } from '../../src/core/compact/index.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import { acquireLease, readLeaseRecord } from '../../src/pipeline/lease.ts';
import { readOwedAthenaWork } from '../../src/pipeline/ledger.ts';
import type { RebuildSummary } from '../../src/pipeline/rebuild.ts';
import { captureIo } from '../helpers/cli-io.ts';
import { type Lake, makeLake, readPublished } from '../pipeline/compact-lake.ts';
import { ACCOUNT, CLUSTER, gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = new Date(T0 + 6 * HOUR);
let lake: Lake | undefined;
afterEach(() => lake?.dispose());

/** What an older release wrote: the region column upper case (today's code keeps it as delivered). */
function olderMapping(line: string, bounds: TimeBounds): MappedLine {
  const m = mapRawLine(line, bounds);
  return m.kind === 'row' ? { ...m, row: { ...m.row, region: String(m.row.region).toUpperCase() } } : m;
}

/** A lake whose 27 Nov hour 01 partitions (audit, scheduler) came from two objects, published by the older mapping. */
async function olderLake(): Promise<{ l: Lake; keys: string[] }> {
  const l = makeLake();
  const keys: string[] = [];
  for (const [i, arrival] of [T0 + HOUR, T0 + 3 * HOUR].entries()) {
    const lines = (['kube-apiserver-audit', 'kube-scheduler'] as const).flatMap((t) =>
      rawLines(message(t, sampleEvents(t, T0 + i * 600_000, 10, i * 100))),
    );
    const key = rawKey('kube-apiserver-audit', arrival, `obj-${i}`);
    await l.store.put(key, gzipObject(lines));
    keys.push(key);
    const etag = (await l.store.head(key))!.etag;
    await compactObjects(l.deps(arrival + HOUR, { mapLine: olderMapping }), {
      planId: planIdFor([{ key, etag }]),
      keys: [key],
    });
  }
  return { l, keys };
}

async function rebuild(...args: string[]): Promise<{ out: string; err: string[]; code: number | undefined }> {
  const c = captureIo(NOW);
  await rebuildCommand(c.io).parseAsync(args, { from: 'user' });
  return { out: c.out.join('\n'), err: c.err, code: c.code() };
}

describe('eks-log-lake rebuild', () => {
  it('rebuilds partitions an older mapping published, reports them and the owed rollup; a rerun changes nothing', async () => {
    const { l } = await olderLake();
    lake = l;
    const r = await rebuild('--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28');
    expect(r.code).toBe(0);
    expect(r.out).toContain('rebuild of event dates [2026-11-27, 2026-11-28), plan rebuild-20261127T070000Z-t1');
    expect(r.out).toContain('partitions         2 selected: 2 rebuilt, 0 unchanged, 0 refused');
    expect(r.out).toContain('objects read       2 in 1 chunk, events 40');
    expect(r.out).toContain('rows before/after  40 / 40');
    expect(r.out).toContain(
      `  rebuilt    audit_events ${ACCOUNT}/${CLUSTER}/2026-11-27/01: rows 20 → 20 (+0 −0), duplicates 0, quarantined 0`,
    );
    expect(r.out).toContain(
      `rollups owed       1 audit_hourly_summary hours (control/ledger/athena-owed.json): the next \`eks-log-lake run --lake ${l.dir}\` rebuilds them`,
    );
    const rows = Object.values(await readPublished(l.store, l.catalog)).flat();
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((x) => JSON.parse(x)[1].region))).toEqual(new Set(['eu-west-1']));
    expect(Object.keys((await readOwedAthenaWork(l.store)).rollups)).toEqual([`${ACCOUNT}/${CLUSTER}/2026-11-27/01`]);

    const again = await rebuild('--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28', '--json');
    expect(again.code).toBe(0);
    const s = JSON.parse(again.out) as RebuildSummary;
    expect(s).toMatchObject({ rebuilt: 0, unchanged: 2, refused: 0, rowsBefore: 40, rowsAfter: 40, rollupsOwed: [] });
  });

  it('lists what a dry run would rebuild and the raw objects needed, gone ones marked, and exits 2', async () => {
    const { l, keys } = await olderLake();
    lake = l;
    await l.store.delete([keys[1]!]);
    const r = await rebuild('--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28', '--dry-run');
    expect(r.code).toBe(EXIT_PARTLY_REFUSED);
    expect(r.out).toContain(': dry run, nothing written');
    expect(r.out).toContain(
      `  refused    audit_events ${ACCOUNT}/${CLUSTER}/2026-11-27/01: 1 of its 2 source objects are gone; old generation kept (20 rows)`,
    );
    expect(r.out).toContain('source objects     2 (');
    expect(r.out).toContain(`  ${keys[1]}  GONE`);
    expect(r.out).toContain('--allow-missing-sources rebuilds them');

    const allowed = await rebuild(
      '--lake',
      l.dir,
      '--from',
      '2026-11-27',
      '--to',
      '2026-11-28',
      '--table',
      'component_logs',
      '--allow-missing-sources',
    );
    expect(allowed.code).toBe(0);
    expect(allowed.out).toContain(
      `component_logs ${ACCOUNT}/${CLUSTER}/2026-11-27/01: rows 20 → 10 (+0 −10), duplicates 0, quarantined 0, 1 sources gone: 10 rows dropped`,
    );
  });

  it('reads the clock on every lease check, so a rebuild longer than the lease TTL keeps renewing it', async () => {
    const { l } = await olderLake();
    lake = l;
    // Every reading of the clock is 10 minutes later: the rebuild outlives the 30-minute TTL.
    let t = NOW.getTime();
    const c = captureIo(NOW);
    await rebuildCommand({
      ...c.io,
      now: () => {
        t += 10 * 60_000;
        return new Date(t);
      },
    }).parseAsync(['--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28'], { from: 'user' });
    expect(c.err).toEqual([]);
    expect(c.code()).toBe(0);
    const lease = await readLeaseRecord(l.store);
    // Released at the time the rebuild ended, well after it was taken (a frozen clock gives equal times).
    expect(lease).toMatchObject({ holder: expect.stringMatching(/^rebuild-/), released: true });
    expect(Date.parse(lease!.expiresAt) - Date.parse(lease!.acquiredAt)).toBeGreaterThan(30 * 60_000);
  });

  it.each(['abc', '0', '-3', '2.5'])('refuses --horizon-hours %s', async (value) => {
    const { l } = await olderLake();
    lake = l;
    const c = captureIo(NOW);
    const cmd = rebuildCommand(c.io)
      .exitOverride()
      .configureOutput({ writeErr: (t) => c.err.push(t) });
    await expect(
      cmd.parseAsync(['--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28', '--horizon-hours', value], {
        from: 'user',
      }),
    ).rejects.toThrow(/must be a whole number/);
    expect(await readLeaseRecord(l.store)).toBeUndefined();
  });

  it('exits 1 and says why when a workflow run holds the lease', async () => {
    const { l } = await olderLake();
    lake = l;
    await acquireLease({ store: l.store, clock: { now: () => NOW }, ttlMs: HOUR }, 'scheduled-exec');
    const r = await rebuild('--lake', l.dir, '--from', '2026-11-27', '--to', '2026-11-28');
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toContain('not rebuilt: lease held by scheduled-exec');
  });
});
