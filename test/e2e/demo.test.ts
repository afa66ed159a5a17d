import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { defaultDemoStart } from '../../src/cli/commands/demo.ts';
import { type DemoLake, type DemoReport, folderLake, runDemo } from '../../src/demo/demo.ts';
import { s3Lake } from '../../src/demo/s3-lake.ts';
import { type S3TestServer, startS3TestServer } from '../helpers/s3-server.ts';

const SMALL = {
  seed: 20261127,
  durationMinutes: 10,
  accounts: ['111122223333', '444455556666'],
  clustersPerAccount: 2,
  eventsPerMinute: 300,
};

/** What every demo run must show, whatever the lake: the guarantees, end to end. */
function expectEndToEnd(report: DemoReport): void {
  const { truth, conservation: c } = report;
  expect(report.runs.map((r) => [r.name, r.status, r.error])).toEqual([
    ['scheduled', 'SUCCEEDED', undefined],
    ['backfill', 'SUCCEEDED', undefined],
  ]);
  // No silent loss: every generated event is curated, quarantined, a dropped control message or a removed duplicate.
  expect(c.controlDropped).toBe(truth.events.control);
  expect(c.processingFailed).toBe(0);
  expect(c.curated + c.quarantined + c.duplicatesRemoved).toBe(truth.events.unique + truth.events.duplicate);
  expect(c.balanced).toBe(true);
  expect(c.duplicatesRemoved).toBe(truth.events.duplicate);
  // No duplicates: one row per (account, log_group, event_id) in every table.
  for (const [table, t] of Object.entries(report.tables)) expect(t.duplicateIds, table).toBe(0);
  expect(report.tables.audit_events!.rows).toBeGreaterThan(report.tables.component_logs!.rows);
  // Every line lands in its table: truncated audit JSON and unknown streams are kept in unparsed_logs,
  // header-less klog lines stay in component_logs (partial); late arrivals are within the horizon.
  const t = truth.events.byLogType;
  expect(c.quarantined).toBe(0);
  expect(report.tables.audit_events!.rows).toBe(t['kube-apiserver-audit'] - truth.malformed.truncated_audit);
  expect(report.tables.unparsed_logs!.rows).toBe(truth.malformed.truncated_audit + t.unknown);
  expect(report.tables.component_logs!.rows).toBe(
    t['kube-apiserver'] + t['kube-scheduler'] + t['kube-controller-manager'] + t['cloud-controller-manager'],
  );
  expect(report.tables.authenticator_logs!.rows).toBe(t.authenticator);
  expect(report.tables.audit_hourly_summary!.rows).toBeGreaterThan(0);
  // The investigation queries find what the generator planted.
  expect(report.checks.length).toBe(8);
  for (const check of report.checks) expect(check.found, `${check.query}: ${check.expected}`).toBe(true);
  expect(report.bytes.parquetBytes).toBeGreaterThan(0);
  expect(report.bytes.rawBytes).toBeLessThan(report.bytes.messageChars);
}

describe('demo, end to end', () => {
  const dirs: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('curates every generated event exactly once in a folder lake and answers the planted questions', async () => {
    const dir = tmp('demo-lake-');
    const store = new FsObjectStore(dir);
    const report = await runDemo({ ...SMALL, lake: folderLake(store, dir), start: defaultDemoStart(new Date()) });
    expectEndToEnd(report);
    expect(report.firehose.objects).toBe(report.bytes.rawObjects);
  });

  it('builds the same lake from the same seed and start', async () => {
    const dir = tmp('demo-rerun-');
    const lake = folderLake(new FsObjectStore(dir), dir);
    const start = defaultDemoStart(new Date());
    const first = await runDemo({ ...SMALL, durationMinutes: 3, lake, start });
    const second = await runDemo({ ...SMALL, durationMinutes: 3, lake, start });
    expect(second.tables).toEqual(first.tables);
    expect(second.bytes.rawObjects).toBe(first.bytes.rawObjects);
    expect(second.checks.map((c) => c.rows)).toEqual(first.checks.map((c) => c.rows));
  });

  describe('through the S3 adapter against an S3-compatible server on loopback', () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await startS3TestServer({ bucket: 'demo-lake' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('curates every generated event exactly once and answers the planted questions', async () => {
      const mirrorDir = tmp('demo-mirror-');
      const lake: DemoLake = s3Lake({
        endpoint: server.endpoint,
        bucket: server.bucket,
        client: server.client,
        mirrorDir,
      });
      const report = await runDemo({ ...SMALL, seed: 7, lake, start: defaultDemoStart(new Date()) });
      expectEndToEnd(report);
      const listed = await server.client.send(
        new ListObjectsV2Command({ Bucket: server.bucket, Prefix: 'curated/audit_events/' }),
      );
      expect(listed.KeyCount).toBeGreaterThan(0);
      expect(listed.Contents!.some((o) => o.Key!.endsWith('.parquet'))).toBe(true);
      // The local copy DuckDB read is itself a lake `eks-log-lake query --lake` can open.
      const mirror = new FsObjectStore(mirrorDir);
      const engine = new DuckDbQueryEngine({ lakeDir: mirrorDir, catalog: new LocalCatalog(mirror) });
      try {
        const [row] = await engine.runSql('SELECT count(*) AS n FROM audit_events');
        expect(Number(row!.n)).toBe(report.tables.audit_events!.rows);
      } finally {
        await engine.close();
      }
    });
  });
});
