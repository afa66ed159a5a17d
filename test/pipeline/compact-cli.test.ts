import { afterEach, describe, expect, it } from 'vitest';
import { compactCommand, compactSummaryText, runLocalCompact } from '../../src/cli/commands/compact.ts';
import { ALL_TYPES, gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';
import { countRows, type Lake, makeLake, readPublished } from './compact-lake.ts';

const HOUR = 3600_000;
const OBJECTS = 34;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
let lake: Lake | undefined;
afterEach(() => lake?.dispose());

describe('eks-log-lake compact', () => {
  it('compacts only the raw objects that arrived in [from, to) and reports what it did', async () => {
    lake = makeLake();
    for (const [i, arrival] of [T0 + HOUR, T0 + 2 * HOUR].entries()) {
      const lines = ALL_TYPES.flatMap((t) => rawLines(message(t, sampleEvents(t, T0 + i * 600_000, 10, i * 100))));
      await lake.store.put(rawKey('kube-apiserver-audit', arrival, `obj-${i}`), gzipObject(lines));
    }
    await lake.store.put('raw/notes.txt', 'manual upload');
    const opts = {
      lake: lake.dir,
      from: '2026-11-27T02:00:00Z',
      to: '2026-11-27T03:00:00Z',
      now: new Date(T0 + 3 * HOUR),
    };
    const s = await runLocalCompact(opts);
    expect(s).toMatchObject({
      objects: 1,
      events: 60,
      duplicates: 0,
      quarantined: 0,
      ignoredUnderRaw: 1,
      truncated: 0,
      // The sample audit lines repeat, so one auditID comes back under a new CloudWatch id.
      semanticDuplicates: 1,
      // Authenticator lines log access key ids with no secret beside them: kept.
      redactions: 0,
    });
    expect(s.rows).toEqual({ audit_events: 10, component_logs: 40, authenticator_logs: 10, unparsed_logs: 0 });
    expect(countRows(await readPublished(lake.store, lake.catalog))).toBe(60);
    const staged: string[] = [];
    for await (const o of lake.store.list('control/staging/')) staged.push(o.key);
    expect(staged).toEqual([]);
    const again = await runLocalCompact(opts);
    expect(again.planId).toBe(s.planId);
    expect(again.published).toBe(0);
    // The plan's figures print the same; the rerun says it found nothing new.
    expect(compactSummaryText(s)).toContain('rows added\n  audit_events         10\n');
    expect(compactSummaryText(s)).not.toContain('nothing new to publish');
    expect(compactSummaryText(again)).toContain(
      'nothing new to publish: every row of this plan is already in curated/',
    );
  });

  it('publishes the same rows and summary with --workers 1 and --workers 2, and a rerun with the other count adds nothing', async () => {
    const runs = [];
    for (const workers of [1, 2]) {
      const l = makeLake();
      try {
        // 34 objects: two chunks, so the worker run stages them side by side.
        for (let i = 0; i < OBJECTS; i++) {
          const lines = ALL_TYPES.flatMap((t) => rawLines(message(t, sampleEvents(t, T0 + i * 60_000, 3, i * 50))));
          // Each object also re-delivers the previous object's first line (a duplicate across chunks).
          const prev =
            i === 0
              ? []
              : ALL_TYPES.flatMap((t) => rawLines(message(t, sampleEvents(t, T0 + (i - 1) * 60_000, 1, (i - 1) * 50))));
          const name = `obj-${String(i).padStart(2, '0')}`;
          await l.store.put(rawKey('kube-apiserver-audit', T0 + HOUR, name), gzipObject([...lines, ...prev]));
        }
        const opts = {
          lake: l.dir,
          from: '2026-11-27T02:00:00Z',
          to: '2026-11-27T03:00:00Z',
          now: new Date(T0 + 3 * HOUR),
        };
        const s = await runLocalCompact({ ...opts, workers });
        const published = await readPublished(l.store, l.catalog);
        const again = await runLocalCompact({ ...opts, workers: 3 - workers });
        expect(again.published).toBe(0);
        expect(await readPublished(l.store, l.catalog)).toEqual(published);
        runs.push({ s, published });
      } finally {
        l.dispose();
      }
    }
    expect(runs[0]!.s.duplicates).toBe((OBJECTS - 1) * ALL_TYPES.length);
    expect(countRows(runs[0]!.published)).toBe(OBJECTS * 3 * ALL_TYPES.length);
    expect(runs[1]).toEqual(runs[0]);
  });

  it('rejects a --workers count or --horizon-hours that is not a whole number of at least 1', async () => {
    lake = makeLake();
    const dir = lake.dir;
    await expect(
      runLocalCompact({ lake: dir, from: '2026-11-27T02:00:00Z', to: '2026-11-27T03:00:00Z', workers: 0 }),
    ).rejects.toThrow(/--workers/);
    const cmd = compactCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    expect(() =>
      cmd.parse(['--lake', dir, '--from', '2026-11-27T02:00:00Z', '--to', '2026-11-27T03:00:00Z', '--workers', '1.5'], {
        from: 'user',
      }),
    ).toThrow(/whole number/);
    // The late horizon too: NaN would silently drop the lower bound on event times.
    for (const hours of ['abc', '0', '2.5']) {
      expect(() =>
        compactCommand()
          .exitOverride()
          .configureOutput({ writeErr: () => {} })
          .parse(
            ['--lake', dir, '--from', '2026-11-27T02:00:00Z', '--to', '2026-11-27T03:00:00Z', '--horizon-hours', hours],
            {
              from: 'user',
            },
          ),
      ).toThrow(/whole number/);
    }
  });

  it('says in --help which options are required, their units, and gives an example', () => {
    let out = '';
    const cmd = compactCommand().configureOutput({ writeOut: (t) => (out += t) });
    cmd.outputHelp();
    for (const flag of ['--lake', '--from', '--to']) {
      expect(out).toMatch(new RegExp(`${flag} <[a-z]+>\\s+\\(required\\)`));
    }
    expect(out).toMatch(/ISO-8601 UTC/);
    expect(out).toMatch(/inclusive/);
    expect(out).toMatch(/exclusive/);
    expect(out).toMatch(/--horizon-hours <n>\s+hours/);
    expect(out).toMatch(
      /--workers <n>\s+worker threads[\s\S]*1, runs\s+everything\s+in\s+this\s+process[\s\S]*default: 1/,
    );
    expect(out).toMatch(/Examples:\n\s+\$ eks-log-lake compact --lake \S+ --from \S+ --to \S+/);
  });

  it('rejects a reversed or non-ISO window before doing any work', async () => {
    lake = makeLake();
    await expect(
      runLocalCompact({ lake: lake.dir, from: '2026-11-27T03:00:00Z', to: '2026-11-27T02:00:00Z' }),
    ).rejects.toThrow(/after/);
    await expect(runLocalCompact({ lake: lake.dir, from: 'yesterday', to: '2026-11-27T02:00:00Z' })).rejects.toThrow(
      /ISO/,
    );
  });
});
