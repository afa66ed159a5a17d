import { afterEach, describe, expect, it } from 'vitest';
import { runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { type MappedLine, mapRawLine, type TimeBounds } from '../../src/core/compact/index.ts';
import { readOwedAthenaWork } from '../../src/pipeline/ledger.ts';
import { rebuildPartitions } from '../../src/pipeline/rebuild.ts';
import { makeTestLake, publishedRows, putRawObject, type TestLake } from '../statemachine/helpers/test-lake.ts';
import { SILENT } from './compact-lake.ts';

let lake: TestLake;
afterEach(() => lake?.cleanup());

const HOUR_10 = ['111122223333', 'prod-eu-1', '2025-01-03', '10'];

/** A redaction rule added after the hour was published: source IPs are masked. */
function maskSourceIps(line: string, bounds: TimeBounds): MappedLine {
  const m = mapRawLine(line, bounds);
  return m.kind === 'row' && m.table === 'audit_events' ? { ...m, row: { ...m.row, source_ips: ['[masked]'] } } : m;
}

describe('rebuild and the workflow', () => {
  it('leaves the rollups of rebuilt hours owed, and the next scheduled run rebuilds and switches them', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await putRawObject(lake, '2025-01-03T10:05:00Z', [
      { id: '1', time: '2025-01-03T10:01:00Z' },
      { id: '2', time: '2025-01-03T10:02:00Z' },
    ]);
    const first = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:15:00Z' }, { deps: lake.deps });
    expect(first.status).toBe('SUCCEEDED');
    const rollupBefore = await lake.catalog.getPartition('audit_hourly_summary', HOUR_10);
    expect(rollupBefore).toBeDefined();
    lake.engine.calls.length = 0;

    lake.clock.advance(5 * 60_000);
    const s = await rebuildPartitions(
      { store: lake.store, catalog: lake.catalog, log: SILENT, now: () => lake.clock.now(), mapLine: maskSourceIps },
      { from: '2025-01-03', to: '2025-01-04' },
    );
    expect(s.partitions.map((p) => [p.table, p.status])).toEqual([['audit_events', 'rebuilt']]);
    expect(s.rollupsOwed).toEqual([HOUR_10.join('/')]);
    expect((await publishedRows(lake, 'audit_events')).map((r) => r.source_ips)).toEqual([['[masked]'], ['[masked]']]);
    // Nothing ran a query: the rollup is owed, not built.
    expect(lake.engine.calls).toEqual([]);
    expect(Object.keys((await readOwedAthenaWork(lake.store)).rollups)).toEqual([HOUR_10.join('/')]);

    lake.clock.advance(10 * 60_000);
    const next = await runLocalWorkflow({ scheduledTime: '2025-01-03T10:30:00Z' }, { deps: lake.deps });
    expect(next.status).toBe('SUCCEEDED');
    expect(lake.engine.calls.filter((c) => c.name === 'create-audit-hourly-summary').map((c) => c.params.hour)).toEqual(
      ['10'],
    );
    const rollupAfter = await lake.catalog.getPartition('audit_hourly_summary', HOUR_10);
    expect(rollupAfter?.location).not.toBe(rollupBefore?.location);
    expect((await readOwedAthenaWork(lake.store)).rollups).toEqual({});
  });
});
