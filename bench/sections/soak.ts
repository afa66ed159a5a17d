// Soak: one target-production window (about 450,000 events, 0.9 GB of log text at --size-mb 900)
// through the local Firehose and the real transform handler, then compaction (stage, merge,
// publish) over a folder lake, in a child process so its peak RSS is the pipeline's alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { deliverTraffic } from '../../src/adapters/local/firehose-delivery.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { createLocalFirehose } from '../../src/adapters/local/local-firehose.ts';
import { createWorkerStager } from '../../src/adapters/local/stage-workers.ts';
import { planIdFor } from '../../src/core/compact/index.ts';
import { emptyGroundTruth, generateTraffic } from '../../src/core/generate/traffic.ts';
import { countFailedEvents } from '../../src/demo/demo.ts';
import { compactObjects, IN_PROCESS_STAGER } from '../../src/pipeline/compact.ts';
import type { Log } from '../../src/ports.ts';
import type { BenchSection } from '../section.ts';

const MIB = 1024 * 1024;
const REGION = 'eu-west-1';
const ACCOUNTS = ['111122223333', '444455556666'];
const START = Date.UTC(2026, 11, 1, 10, 0, 0);
const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Samples RSS every 100 ms and keeps the maximum of the current phase. */
function rssSampler() {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  return {
    phase(): number {
      sample();
      const p = peak;
      peak = 0;
      return p / MIB;
    },
    stop: () => clearInterval(timer),
  };
}

/** Child mode: the whole pipeline over a folder lake; prints one JSON line of figures. */
async function soak(lakeDir: string, sizeMb: number, workers: number): Promise<void> {
  const store = new FsObjectStore(lakeDir);
  const catalog = new LocalCatalog(store);
  const rss = rssSampler();
  const truth = emptyGroundTruth();
  const traffic = generateTraffic(
    {
      seed: 9001,
      start: new Date(START),
      durationMinutes: 15,
      accounts: ACCOUNTS,
      clustersPerAccount: 3,
      region: REGION,
      targetBytes: sizeMb * 1e6,
    },
    truth,
  );
  const transformLog = createMemoryLog();
  const firehose = createLocalFirehose({
    store,
    seed: 9001,
    region: REGION,
    allowedAccounts: ACCOUNTS,
    log: transformLog,
  });

  let t = performance.now();
  const delivered = await deliverTraffic(traffic, firehose);
  const deliverSeconds = (performance.now() - t) / 1000;
  transformLog.entries.length = 0;
  const deliverRss = rss.phase();

  const objects: { key: string; etag: string }[] = [];
  for await (const o of store.list('raw/')) objects.push({ key: o.key, etag: o.etag });
  t = performance.now();
  const sum = await compactObjects(
    {
      store,
      catalog,
      log: QUIET,
      now: () => new Date(truth.arrivalRange.last + 3600_000),
      lateHorizonHours: 48,
    },
    {
      planId: planIdFor(objects),
      keys: objects.map((o) => o.key),
      stager: workers > 1 ? createWorkerStager({ lakeDir, workers }) : IN_PROCESS_STAGER,
    },
  );
  const compactSeconds = (performance.now() - t) / 1000;
  const compactRss = rss.phase();
  rss.stop();

  let parquetBytes = 0;
  for await (const o of store.list('curated/')) if (o.key.endsWith('.parquet')) parquetBytes += o.size;
  const rows = Object.values(sum.rows).reduce((a, b) => a + b, 0);
  const generated = truth.events.unique + truth.events.duplicate + truth.events.control;
  const failedEvents = await countFailedEvents(store);
  const balanced = generated === rows + sum.quarantined + delivered.dropped + sum.duplicates + failedEvents;
  process.stdout.write(
    `${JSON.stringify({
      events: truth.events.unique,
      textMb: truth.messageChars / 1e6,
      deliverSeconds,
      compactSeconds,
      rawObjects: objects.length,
      rawMb: delivered.objectBytes / 1e6,
      invocations: delivered.invocations,
      reingested: delivered.recordsReingested,
      failedRecords: delivered.processingFailed,
      failedEvents,
      rows,
      duplicates: sum.duplicates,
      quarantined: sum.quarantined,
      partitions: sum.partitions,
      parquetMb: parquetBytes / 1e6,
      balanced,
      deliverRssMib: deliverRss,
      compactRssMib: compactRss,
      workers,
      maxRssMib: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

export const section: BenchSection = {
  name: 'soak',
  async run({ sizeMb, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-soak-'));
    // Stage workers of the compaction: BENCH_COMPACTION_WORKERS, else in-process like the CLI's default.
    const workers = Math.max(1, Number(process.env.BENCH_COMPACTION_WORKERS ?? 1));
    try {
      log(`soak: one 15-minute window of ~${sizeMb} MB log text through transform, delivery and compaction`);
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', __filename, '--child', join(dir, 'lake'), String(sizeMb), String(workers)],
        {
          cwd: join(__dirname, '..', '..'),
          encoding: 'utf8',
          maxBuffer: 16 * MIB,
          env: { ...process.env, NODE_OPTIONS: '' },
        },
      );
      if (r.status !== 0) throw new Error(`soak child failed: ${r.stderr}`);
      const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number | boolean>;
      const n = (k: string) => Number(s[k]);
      const total = n('deliverSeconds') + n('compactSeconds');
      log(
        `soak: ${n('events')} events, ${round(n('textMb'))} MB text → ${n('rawObjects')} raw objects (${round(n('rawMb'))} MB) ` +
          `in ${round(n('deliverSeconds'))} s → ${n('partitions')} partitions (${round(n('parquetMb'))} MB Parquet) ` +
          `in ${round(n('compactSeconds'))} s (${workers} workers); peak RSS ${round(n('maxRssMib'))} MiB; conservation ${s.balanced ? 'holds' : 'BROKEN'}`,
      );
      if (s.balanced !== true) throw new Error(`soak: events not conserved: ${r.stdout}`);
      return {
        events: n('events'),
        text_mb: round(n('textMb')),
        mb_per_s: round(n('textMb') / total),
        events_per_s: Math.round(n('events') / total),
        transform_mb_per_s: round(n('textMb') / n('deliverSeconds')),
        compaction_mb_per_s: round(n('textMb') / n('compactSeconds')),
        deliver_seconds: round(n('deliverSeconds')),
        compact_seconds: round(n('compactSeconds')),
        raw_objects: n('rawObjects'),
        transform_invocations: n('invocations'),
        reingested_records: n('reingested'),
        failed_records: n('failedRecords'),
        duplicates_removed: n('duplicates'),
        quarantined: n('quarantined'),
        partitions: n('partitions'),
        parquet_mb: round(n('parquetMb')),
        deliver_peak_rss_mib: round(n('deliverRssMib')),
        compact_peak_rss_mib: round(n('compactRssMib')),
        peak_rss_mib: round(n('maxRssMib')),
        compaction_workers: workers,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

if (require.main === module && process.argv[2] === '--child') {
  soak(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5] ?? 1)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
