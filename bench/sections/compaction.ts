// Compaction bench: raw gzip NDJSON → curated Parquet, beside DuckDB's own read_json → COPY
// on the same objects in the same run; peak RSS of a 1 GB partition in a child process.
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { createWorkerStager } from '../../src/adapters/local/stage-workers.ts';
import { MANIFEST_NAME, parseManifest, planIdFor } from '../../src/core/compact/index.ts';
import { generateTraffic } from '../../src/core/generate/traffic.ts';
import { decodeParquet, encodeParquet } from '../../src/core/parquet.ts';
import { toRawRecordLines } from '../../src/core/parse/index.ts';
import { RECORD_GZIP_LEVEL } from '../../src/core/transform/index.ts';
import { type ChunkStager, chunkKeys, compactObjects, IN_PROCESS_STAGER } from '../../src/pipeline/compact.ts';
import type { Log } from '../../src/ports.ts';
import type { BenchSection } from '../section.ts';

const MIB = 1024 * 1024;
const REGION = 'eu-west-1';
const START = Date.UTC(2026, 10, 27, 0, 0, 0);
/** Raw object size before gzip, about what a Firehose buffer of a busy stream holds. */
const OBJECT_TEXT_BYTES = 16 * MIB;
const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * Stage workers of both compaction runs: BENCH_COMPACTION_WORKERS, else in-process like
 * `compact`'s default (the bench's window is one chunk, which stays in-process anyway).
 */
function benchWorkers(): number {
  return Math.max(1, Number(process.env.BENCH_COMPACTION_WORKERS ?? 1));
}

function stagerFor(lakeDir: string, workers: number): ChunkStager {
  return workers > 1 ? createWorkerStager({ lakeDir, workers }) : IN_PROCESS_STAGER;
}

/** Generated traffic as raw NDJSON records (one per subscription message, as the transform writes), by log type. */
function rawLinesByType(sizeMb: number): Map<string, string[][]> {
  const byType = new Map<string, string[][]>();
  const traffic = generateTraffic({
    seed: 4242,
    start: new Date(START),
    durationMinutes: Math.max(10, Math.round(sizeMb / 5)),
    accounts: ['111122223333', '444455556666'],
    clustersPerAccount: 2,
    region: REGION,
    targetBytes: sizeMb * 1e6,
  });
  for (const d of traffic) {
    const lines = toRawRecordLines(d.message, { region: REGION });
    if (lines.length === 0) continue;
    const t = (JSON.parse(lines[0]!) as { log_type: string }).log_type;
    const list = byType.get(t) ?? [];
    list.push(lines);
    byType.set(t, list);
  }
  return byType;
}

/**
 * Writes raw objects as Firehose does with our transform: each record (one message's lines) its
 * own gzip member at the transform's level, members concatenated up to the buffer size.
 */
async function writeRawObjects(store: FsObjectStore, byType: Map<string, string[][]>, arrivalMs: number) {
  const iso = new Date(arrivalMs).toISOString();
  const keys: string[] = [];
  let textBytes = 0;
  let gzipBytes = 0;
  for (const [type, records] of byType) {
    let part: Buffer[] = [];
    let size = 0;
    const flush = async () => {
      if (part.length === 0) return;
      const gz = Buffer.concat(part);
      const key = `raw/log_type=${type}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/bench-${type}-${String(keys.length).padStart(4, '0')}.gz`;
      await store.put(key, gz);
      keys.push(key);
      textBytes += size;
      gzipBytes += gz.byteLength;
      part = [];
      size = 0;
    };
    for (const lines of records) {
      const text = `${lines.join('\n')}\n`;
      part.push(gzipSync(text, { level: RECORD_GZIP_LEVEL }));
      size += Buffer.byteLength(text);
      if (size >= OBJECT_TEXT_BYTES) await flush();
    }
    await flush();
  }
  return { keys, textBytes, gzipBytes };
}

/** Keys and sizes of every published Parquet file (through the catalog, as a reader sees them). */
async function publishedFiles(store: FsObjectStore, catalog: LocalCatalog): Promise<{ key: string; bytes: number }[]> {
  const files: { key: string; bytes: number }[] = [];
  for (const table of ['audit_events', 'component_logs', 'authenticator_logs', 'unparsed_logs']) {
    for (const p of await catalog.listPartitions(table)) {
      const m = await store.get(`${p.location}${MANIFEST_NAME}`);
      if (m) for (const f of parseManifest(Buffer.from(m.body).toString()).files) files.push(f);
    }
  }
  return files;
}

/**
 * The floor of this stack on one thread: what gunzip of the raw objects, `JSON.parse` of every
 * line and parquet-wasm's encode of the published tables cost alone, with nothing mapped,
 * sorted, deduped or partitioned. Compaction cannot be faster than this without replacing one
 * of the three, so it bounds the ratio any tuning of the rest can reach.
 */
async function stackFloor(store: FsObjectStore, rawKeys: readonly string[], published: readonly { key: string }[]) {
  let gunzipMs = 0;
  let parseMs = 0;
  let encodeMs = 0;
  for (const key of rawKeys) {
    const gz = (await store.get(key))?.body;
    if (!gz) throw new Error(`raw object ${key} vanished`);
    let t = performance.now();
    const text = gunzipSync(gz).toString();
    gunzipMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < text.length; ) {
      const end = text.indexOf('\n', i);
      const j = end < 0 ? text.length : end;
      if (j > i) JSON.parse(text.slice(i, j));
      i = j + 1;
    }
    parseMs += performance.now() - t;
  }
  for (const f of published) {
    const table = decodeParquet((await store.get(f.key))!.body);
    const t = performance.now();
    encodeParquet(table);
    encodeMs += performance.now() - t;
  }
  return { gunzip: gunzipMs / 1000, parse: parseMs / 1000, encode: encodeMs / 1000 };
}

// DuckDB's own NDJSON → Parquet path over the same objects: typed columns, ZSTD, no dedupe.
const DUCK_COLUMNS = `{time: 'TIMESTAMPTZ', cwl_timestamp: 'BIGINT', event_id: 'VARCHAR', account: 'VARCHAR',
  region: 'VARCHAR', cluster: 'VARCHAR', log_group: 'VARCHAR', log_stream: 'VARCHAR', log_type: 'VARCHAR',
  parse_status: 'VARCHAR', parse_error: 'VARCHAR', auditID: 'VARCHAR', stage: 'VARCHAR', level: 'VARCHAR',
  verb: 'VARCHAR', requestURI: 'VARCHAR', userAgent: 'VARCHAR', sourceIPs: 'VARCHAR[]',
  "user": 'STRUCT(username VARCHAR, uid VARCHAR, groups VARCHAR[])', objectRef: 'STRUCT(resource VARCHAR,
  namespace VARCHAR, name VARCHAR, apiGroup VARCHAR, apiVersion VARCHAR, subresource VARCHAR)',
  responseStatus: 'STRUCT(code INTEGER, status VARCHAR, reason VARCHAR, message VARCHAR)',
  annotations: 'MAP(VARCHAR, VARCHAR)', requestReceivedTimestamp: 'TIMESTAMPTZ', stageTimestamp: 'TIMESTAMPTZ',
  requestObject: 'JSON', responseObject: 'JSON', severity: 'VARCHAR', thread_id: 'BIGINT', source_file: 'VARCHAR',
  source_line: 'INTEGER', msg: 'VARCHAR', kv: 'MAP(VARCHAR, VARCHAR)', message: 'VARCHAR'}`;

async function duckdbSeconds(
  lakeDir: string,
  outDir: string,
  threads: number,
): Promise<{ seconds: number; bytes: number }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await instance.connect();
  await con.run('SET autoinstall_known_extensions = false');
  const t = performance.now();
  await con.run(`COPY (SELECT * FROM read_json('${lakeDir}/raw/**/*.gz', format = 'newline_delimited',
      compression = 'gzip', columns = ${DUCK_COLUMNS}, ignore_errors = true))
    TO '${outDir}/duck.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)`);
  const seconds = (performance.now() - t) / 1000;
  const size = await con.runAndReadAll(
    `SELECT sum(total_compressed_size) AS b FROM parquet_metadata('${outDir}/duck.parquet')`,
  );
  const bytes = Number(size.getRowObjectsJson()[0]?.b ?? 0);
  con.closeSync();
  instance.closeSync();
  return { seconds, bytes };
}

/**
 * Child mode 1: writes raw objects whose events all fall in one partition (one account,
 * cluster and hour of audit_events) until `mb` MB of NDJSON, streaming so the writer stays small.
 */
async function prepareOnePartition(lakeDir: string, mb: number): Promise<void> {
  const pool = (rawLinesByType(40).get('kube-apiserver-audit') ?? [])
    .flat()
    .filter((l) => l.includes('"parse_status":"ok"'));
  if (pool.length === 0) throw new Error('generator produced no audit lines');
  const target = mb * MIB;
  const hour = START + 2 * 3600_000;
  let written = 0;
  let obj = 0;
  let seq = 0;
  while (written < target) {
    const key = `raw/log_type=kube-apiserver-audit/dt=2026-11-27/hour=02/one-${String(obj++).padStart(4, '0')}.gz`;
    const path = join(lakeDir, key);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(path, '..'), { recursive: true });
    const gz = createGzip({ level: RECORD_GZIP_LEVEL });
    const done = new Promise<void>((resolve, reject) =>
      gz
        .pipe(createWriteStream(path))
        .on('finish', () => resolve())
        .on('error', reject),
    );
    let inObj = 0;
    while (inObj < OBJECT_TEXT_BYTES * 4 && written < target) {
      const src = pool[seq % pool.length]!;
      const ms = hour + (Math.floor((seq * 3_599_000) / 800_000) % 3_599_000);
      const micros = String(seq % 1000).padStart(3, '0');
      const line = src
        .replace(/"event_id":"\d+"/, `"event_id":"${String(seq).padStart(20, '0')}${'7'.repeat(36)}"`)
        .replace(/"time":"[^"]+"/, `"time":"${new Date(ms).toISOString().slice(0, 23)}${micros}Z"`)
        .replace(/"account":"\d+"/, '"account":"111122223333"')
        .replace(/"cluster":"[^"]+"/, '"cluster":"bench-one"');
      if (!gz.write(`${line}\n`)) await new Promise((r) => gz.once('drain', r));
      written += line.length + 1;
      inObj += line.length + 1;
      seq++;
    }
    gz.end();
    await done;
  }
  process.stdout.write(`${JSON.stringify({ written, events: seq })}\n`);
}

/** Child mode 2: compacts every raw object of the lake with `workers` stage workers and reports peak RSS. */
async function compactAll(lakeDir: string, workers: number): Promise<void> {
  const store = new FsObjectStore(lakeDir);
  // Keys from the folder itself: the folder store's list would hash every object for its
  // ETag, and that memory is the adapter's, not the compaction's.
  const { readdirSync, statSync } = await import('node:fs');
  const objects = (readdirSync(join(lakeDir, 'raw'), { recursive: true }) as string[])
    .filter((p) => p.endsWith('.gz'))
    .map((p) => ({ key: `raw/${p}`, etag: String(statSync(join(lakeDir, 'raw', p)).size) }));
  const t = performance.now();
  const sum = await compactObjects(
    { store, catalog: new LocalCatalog(store), log: QUIET, now: () => new Date(START + 3 * 3600_000) },
    { planId: planIdFor(objects), keys: objects.map((o) => o.key), stager: stagerFor(lakeDir, workers) },
  );
  const seconds = (performance.now() - t) / 1000;
  const maxRssMib = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMib, rows: sum.rows, partitions: sum.partitions })}\n`);
}

function runChild(mode: string, lakeDir: string, arg = ''): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, mode, lakeDir, arg], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    maxBuffer: 16 * MIB,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

export const section: BenchSection = {
  name: 'compaction',
  async run({ sizeMb, log }) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-compaction-'));
    try {
      const lakeDir = join(dir, 'lake');
      const store = new FsObjectStore(lakeDir);
      const catalog = new LocalCatalog(store);
      log(`generating ~${sizeMb} MB of raw NDJSON`);
      const raw = await writeRawObjects(store, rawLinesByType(sizeMb), START + 3600_000);
      const mb = raw.textBytes / 1e6;
      log(`${raw.keys.length} raw objects, ${round(mb)} MB NDJSON, ${round(raw.gzipBytes / 1e6)} MB gzip`);

      const workers = benchWorkers();
      const stager = stagerFor(lakeDir, workers);
      const t = performance.now();
      // Process-wide: includes the stage workers' threads and the libuv pool.
      const cpu = process.cpuUsage();
      const sum = await compactObjects(
        { store, catalog, log: QUIET, now: () => new Date(START + 4 * 3600_000) },
        {
          planId: 'bench',
          keys: raw.keys,
          stager,
        },
      );
      const seconds = (performance.now() - t) / 1000;
      const cpuSeconds = process.cpuUsage(cpu).user / 1e6;
      const published = await publishedFiles(store, catalog);
      const parquet = published.reduce((n, f) => n + f.bytes, 0);
      log(
        `compaction (${workers} workers, ${chunkKeys(raw.keys).length} chunks): ${round(seconds)} s, ` +
          `${sum.events} events, ${sum.partitions} partitions, ${sum.duplicates} duplicates`,
      );

      const duck = await duckdbSeconds(lakeDir, dir, 2);
      const duck1 = await duckdbSeconds(lakeDir, dir, 1);
      log(
        `duckdb read_json → COPY parquet zstd: ${round(duck.seconds)} s (2 threads), ${round(duck1.seconds)} s (1 thread)`,
      );

      const floor = await stackFloor(store, raw.keys, published);
      const floorSeconds = floor.gunzip + floor.parse + floor.encode;
      log(
        `floor of the stack, one thread: gunzip ${round(floor.gunzip)} s + JSON.parse ${round(floor.parse)} s + ` +
          `parquet-wasm encode ${round(floor.encode)} s = ${round(floorSeconds)} s`,
      );

      const oneMb = Number(process.env.BENCH_PARTITION_MB ?? 1024);
      const oneDir = join(dir, 'one');
      log(`writing one ${oneMb} MB partition in a child process`);
      const prep = runChild('--prepare', oneDir, String(oneMb));
      const rss = runChild('--compact', oneDir, String(workers));
      log(
        `1 partition of ${round(Number(prep.written) / 1e6)} MB (${workers} workers): ${round(Number(rss.seconds))} s, peak RSS ${round(Number(rss.maxRssMib))} MiB`,
      );

      return {
        mb_per_s: round(mb / seconds),
        duckdb_mb_per_s: round(mb / duck.seconds),
        duckdb_1thread_mb_per_s: round(mb / duck1.seconds),
        cpu_mb_per_s: round(mb / cpuSeconds),
        vs_duckdb: round(duck.seconds / seconds, 3),
        floor_mb_per_s: round(mb / floorSeconds),
        floor_vs_duckdb: round(duck.seconds / floorSeconds, 3),
        floor_gunzip_s: round(floor.gunzip, 3),
        floor_json_parse_s: round(floor.parse, 3),
        floor_encode_s: round(floor.encode, 3),
        peak_rss_mib: round(Number(rss.maxRssMib)),
        parquet_to_gzip_ratio: round(parquet / raw.gzipBytes, 3),
        duckdb_parquet_to_gzip_ratio: round(duck.bytes / raw.gzipBytes, 3),
        one_partition_mb: round(Number(prep.written) / 1e6),
        one_partition_mb_per_s: round(Number(prep.written) / 1e6 / Number(rss.seconds)),
        events: sum.events,
        workers,
        // A lone chunk is staged in-process whatever the worker count (see compactObjects).
        chunks: chunkKeys(raw.keys).length,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

if (require.main === module) {
  const [mode, lakeDir, arg] = process.argv.slice(2);
  const run = mode === '--prepare' ? prepareOnePartition(lakeDir!, Number(arg)) : compactAll(lakeDir!, Number(arg));
  run.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
