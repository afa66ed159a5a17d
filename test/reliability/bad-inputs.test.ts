import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLog } from '../../functions/shared/logger.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { localTransformProcessor } from '../../src/adapters/local/local-firehose.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { RecordingReingester } from '../../src/adapters/local/recording-reingester.ts';
import { type CompactionSummary, compactObjects } from '../../src/pipeline/compact.ts';
import type { Log } from '../../src/ports.ts';
import { ACCOUNT, encodeMessage, firehoseEvent, message, SAMPLE_LINES, STREAMS } from '../unit/transform/builders.ts';
import { compactionDeps, keysUnder, planWindowFor, publishedRows } from './pipeline.ts';

// The bad-input rows of the reliability matrix that need the whole path to show their outcome:
// each bad event goes through the real transform handler, into a raw object as Firehose writes
// it, and through compaction and publish. Rows answered by one layer alone are tested there
// (docs/reliability.md maps every row to its test).

const T0 = Date.UTC(2026, 10, 27, 3, 0, 0);
const HOUR = 3600_000;
const BASE = JSON.parse(SAMPLE_LINES['kube-apiserver-audit'][0]!) as Record<string, unknown>;
const CANARIES = [
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Y2FuYXJ5LXNpZ25hdHVyZQ',
  'AKIAIOSFODNN7CANARY1',
  '-----BEGIN RSA PRIVATE KEY-----',
];

/** An audit event of this hour, with fields replaced or added. */
function audit(extra: Record<string, unknown>): string {
  return JSON.stringify({
    ...BASE,
    requestReceivedTimestamp: '2026-11-27T03:00:01.000000Z',
    stageTimestamp: '2026-11-27T03:00:01.100000Z',
    ...extra,
  });
}

const CASES = {
  nonJson: 'E1127 03:00:00.000000 plain text where an audit event belongs',
  truncated: audit({ auditID: 'cut' }).slice(0, 300),
  // CloudWatch cuts an event over 256 KiB at the limit.
  truncatedAtLimit: audit({
    auditID: 'cut-big',
    responseObject: { kind: 'ConfigMap', data: { b: 'y'.repeat(300_000) } },
  }).slice(0, 256 * 1024 - 26),
  brokenInMiddle: audit({ auditID: 'broken' }).replace('"verb":', '"verb" '),
  notAnEvent: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500 }),
  bigResponse: audit({ auditID: 'big', responseObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(900_000) } } }),
  deep: audit({ auditID: 'deep', requestObject: 0 }).replace(
    '"requestObject":0',
    `"requestObject":${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  ),
  duplicateKeys: audit({ auditID: 'dupkeys', verb: 'get' }).replace('"verb":"get"', '"verb":"get","verb":"delete"'),
  bigInt: audit({ auditID: 'bigint', requestObject: 0 }).replace(
    '"requestObject":0',
    '"requestObject":{"spec":{"replicas":12345678901234567890123}}',
  ),
  noReceivedTime: JSON.stringify({
    ...BASE,
    auditID: 'notime',
    requestReceivedTimestamp: undefined,
    stageTimestamp: undefined,
  }),
  year2099: audit({ auditID: 'y2099', requestReceivedTimestamp: '2099-01-01T00:00:00.000000Z' }),
  epoch0: audit({ auditID: 'epoch', requestReceivedTimestamp: '1970-01-01T00:00:00.000000Z' }),
  nonIso: audit({ auditID: 'noniso', requestReceivedTimestamp: 'Fri, 27 Nov 2026 03:00:01 GMT' }),
  // `kubectl exec` held open for three days: its ResponseComplete is logged (and arrives) now.
  longRunning: audit({
    auditID: 'exec-long',
    verb: 'create',
    objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'debug', apiVersion: 'v1' },
    requestReceivedTimestamp: '2026-11-24T02:31:00.000000Z',
    stageTimestamp: '2026-11-27T03:00:01.100000Z',
  }),
  semanticA: audit({ auditID: 'same-audit-id', stage: 'ResponseComplete' }),
  semanticB: audit({ auditID: 'same-audit-id', stage: 'ResponseComplete' }),
  canary: audit({
    auditID: 'canary',
    requestObject: { token: CANARIES[0], accessKeyId: CANARIES[1], pem: `${CANARIES[2]}\nMIIcanary\n-----END` },
  }),
} as const;
type CaseName = keyof typeof CASES;
const NAMES = Object.keys(CASES) as CaseName[];
const idOf = (name: CaseName) => (36n * 10n ** 54n + BigInt(NAMES.indexOf(name))).toString();

interface Outcome {
  rows: Map<string, { table: string; values: string[]; row: Record<string, unknown> }>;
  quarantined: Map<string, string>;
  summary: CompactionSummary;
  logs: string;
}

function capture(into: string[]): Log {
  const push = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    into.push(JSON.stringify({ level, message, ...fields }));
  return { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

const rawKeyAt = (arrivalMs: number, name: string) => {
  const iso = new Date(arrivalMs).toISOString();
  return `raw/log_type=kube-apiserver-audit/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/eks-log-lake-raw-1-${name}.gz`;
};

let outcome: Outcome;

beforeAll(async () => {
  const transformLog = createMemoryLog();
  const handler = localTransformProcessor({
    region: 'eu-west-1',
    allowedAccounts: [ACCOUNT],
    deliveryStreamName: 'raw',
    log: transformLog,
  })(new RecordingReingester());
  const logEvents = NAMES.map((name, i) => ({ id: idOf(name), timestamp: T0 + i, message: CASES[name] }));
  const response = await handler(firehoseEvent([encodeMessage(message({ logEvents }))]));
  expect(response.records.map((r) => r.result)).toEqual(['Ok']);

  const store = new MemoryObjectStore();
  const catalog = new LocalCatalog(store);
  const key = rawKeyAt(T0 + 5 * 60_000, 'corpus');
  await store.put(key, Buffer.from(response.records[0]!.data!, 'base64'));
  const compactionLog: string[] = [];
  const summary = await compactObjects(compactionDeps(store, catalog, T0 + HOUR, capture(compactionLog)), {
    planId: 'corpus',
    keys: [key],
  });
  const rows: Outcome['rows'] = new Map();
  for (const line of await publishedRows(store, catalog)) {
    const [table, values, row] = JSON.parse(line) as [string, string[], Record<string, unknown>];
    rows.set(String(row.event_id), { table, values, row });
  }
  const quarantined = new Map<string, string>();
  for (const k of await keysUnder(store, 'quarantine/records/')) {
    for (const l of gunzipSync((await store.get(k))!.body)
      .toString('utf8')
      .trim()
      .split('\n')) {
      const q = JSON.parse(l) as { reason: string; text: string };
      quarantined.set(String(JSON.parse(q.text).event_id), q.reason);
    }
  }
  outcome = {
    rows,
    quarantined,
    summary,
    logs: [...transformLog.entries.map((e) => JSON.stringify(e)), ...compactionLog].join('\n'),
  };
});

const rowOf = (name: CaseName) => outcome.rows.get(idOf(name));

describe('bad audit events from the transform through compaction', () => {
  it('accounts for every event: each is one curated row or one quarantined record', () => {
    expect(outcome.summary.events).toBe(NAMES.length);
    for (const name of NAMES) {
      const where = (rowOf(name) ? 1 : 0) + (outcome.quarantined.has(idOf(name)) ? 1 : 0);
      expect(where, name).toBe(1);
    }
  });

  it('keeps a text line in the audit stream as an unparsed row with its message (row 15)', () => {
    expect(rowOf('nonJson')).toMatchObject({
      table: 'unparsed_logs',
      row: { parse_status: 'unparsed', message: CASES.nonJson },
    });
    expect(rowOf('nonJson')!.row.parse_error).toMatch(/JSON/);
  });

  it('keeps truncated audit JSON as a truncated row with the exact text, the reason and a count (row 16)', () => {
    expect(rowOf('truncated')).toMatchObject({
      table: 'unparsed_logs',
      row: { parse_status: 'truncated', message: CASES.truncated },
    });
    expect(rowOf('truncated')!.row.parse_error).toBe('truncated JSON: 300 bytes, ends before its closing bracket');
    expect(rowOf('truncatedAtLimit')).toMatchObject({
      table: 'unparsed_logs',
      row: { parse_status: 'truncated', message: CASES.truncatedAtLimit },
    });
    expect(rowOf('truncatedAtLimit')!.row.parse_error).toMatch(/cut at the CloudWatch event size limit/);
    expect(outcome.summary.truncated).toBe(2);
  });

  it('tells JSON broken in its middle apart from truncated JSON (row 16)', () => {
    expect(rowOf('brokenInMiddle')).toMatchObject({ table: 'unparsed_logs', row: { parse_status: 'unparsed' } });
  });

  it('keeps JSON that is not an audit Event as an unparsed row flagged not_audit_event (row 17)', () => {
    expect(rowOf('notAnEvent')).toMatchObject({
      table: 'unparsed_logs',
      row: { parse_status: 'not_audit_event' },
    });
    expect(String(rowOf('notAnEvent')!.row.message)).toContain('"kind":"Status"');
  });

  it('stores a 900 KB responseObject as its JSON string (row 21)', () => {
    const row = rowOf('bigResponse')!.row;
    expect(rowOf('bigResponse')!.table).toBe('audit_events');
    expect(String(row.response_object).length).toBeGreaterThan(900_000);
    expect(JSON.parse(String(row.response_object)).data.blob).toHaveLength(900_000);
  });

  it('carries a request object nested 100,000 deep through transform and compaction unchanged (row 22)', () => {
    expect(rowOf('deep')!.row.request_object).toBe(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  });

  it('takes the last of duplicate keys deterministically (row 23)', () => {
    expect(rowOf('duplicateKeys')!.row.verb).toBe('delete');
  });

  it('keeps integers above 2^53 inside objects exactly (row 25)', () => {
    expect(rowOf('bigInt')!.row.request_object).toBe('{"spec":{"replicas":12345678901234567890123}}');
  });

  it('partitions an event without requestReceivedTimestamp by its CloudWatch time, received time null (row 26)', () => {
    const { values, row } = rowOf('noReceivedTime')!;
    expect(values.slice(2)).toEqual(['2026-11-27', '03']);
    expect(row.request_received_time).toBeNull();
    expect(row.time).toBe((T0 + NAMES.indexOf('noReceivedTime')) * 1000);
  });

  it('quarantines event times in 2099 and at epoch 0 (row 27)', () => {
    expect(outcome.quarantined.get(idOf('year2099'))).toBe('time_out_of_range');
    expect(outcome.quarantined.get(idOf('epoch0'))).toBe('time_out_of_range');
    expect(rowOf('year2099')).toBeUndefined();
    expect(outcome.summary.quarantineReasons).toEqual({ time_out_of_range: 2, bad_time: 1 });
  });

  it('quarantines an audit event whose requestReceivedTimestamp is not RFC 3339 instead of guessing its time (row 27)', () => {
    expect(rowOf('nonIso')).toBeUndefined();
    expect(outcome.quarantined.get(idOf('nonIso'))).toBe('bad_time');
  });

  it('curates the ResponseComplete of a request open for three days under its received time (§5.8)', () => {
    expect(outcome.quarantined.has(idOf('longRunning'))).toBe(false);
    const { table, values, row } = rowOf('longRunning')!;
    expect(table).toBe('audit_events');
    expect(values.slice(2)).toEqual(['2026-11-24', '02']);
    expect(row).toMatchObject({
      subresource: 'exec',
      latency_ms: Date.UTC(2026, 10, 27, 3, 0, 1, 100) - Date.UTC(2026, 10, 24, 2, 31),
    });
  });

  it('keeps both events of one auditID and stage under different CloudWatch ids (row 30)', () => {
    expect(rowOf('semanticA')!.row.audit_id).toBe('same-audit-id');
    expect(rowOf('semanticB')!.row.audit_id).toBe('same-audit-id');
    expect(outcome.summary.duplicates).toBe(0);
    expect(outcome.summary.semanticDuplicates).toBe(1);
  });

  it('never writes canary secrets to the transform or compaction logs, nor to the curated row (row 40)', () => {
    expect(rowOf('canary')).toBeDefined();
    const body = String(rowOf('canary')!.row.request_object);
    for (const c of [CANARIES[0]!, CANARIES[1]!, 'MIIcanary']) expect(body).not.toContain(c);
    expect(JSON.parse(body)).toEqual({
      token: '[REDACTED:jwt]',
      accessKeyId: '[REDACTED:aws_access_key_id]',
      pem: '[REDACTED:private_key]',
    });
    expect(outcome.summary.redactions).toBe(3);
    expect(outcome.logs.length).toBeGreaterThan(0);
    for (const c of CANARIES) expect(outcome.logs).not.toContain(c);
  });
});

describe('events with a bad CloudWatch envelope (row 12)', () => {
  const line = (n: number) =>
    `I1127 03:00:0${n}.000000       1 leaderelection.go:258] successfully acquired lease ${n}`;
  const logEvents = [
    { id: 'xyz', timestamp: T0 + 1000, message: line(1) },
    { id: 'xyz', timestamp: T0 + 2000, message: line(2) },
    { id: '12a4', timestamp: T0 + 3000, message: line(3) },
    { timestamp: T0 + 4000, message: line(4) },
    { id: '5'.repeat(56), message: line(5) },
    { id: '6'.repeat(56), timestamp: T0 + 6000, message: line(6) },
  ];

  it('quarantines every bad_envelope event with its reason, keeps two events sharing id "xyz", and curates none', async () => {
    const handler = localTransformProcessor({
      region: 'eu-west-1',
      allowedAccounts: [ACCOUNT],
      deliveryStreamName: 'raw',
      log: createMemoryLog(),
    })(new RecordingReingester());
    const response = await handler(
      firehoseEvent([encodeMessage(message({ logStream: STREAMS['kube-scheduler'], logEvents }))]),
    );
    const data = response.records[0]!.data!;
    const statuses = gunzipSync(Buffer.from(data, 'base64'))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).parse_status);
    expect(statuses).toEqual(['bad_envelope', 'bad_envelope', 'bad_envelope', 'bad_envelope', 'bad_envelope', 'ok']);

    const store = new MemoryObjectStore();
    const catalog = new LocalCatalog(store);
    const key = rawKeyAt(T0 + 5 * 60_000, 'bad-envelopes').replace('=kube-apiserver-audit/', '=kube-scheduler/');
    await store.put(key, Buffer.from(data, 'base64'));
    const sum = await compactObjects(compactionDeps(store, catalog, T0 + HOUR), { planId: 'envelopes', keys: [key] });
    expect(sum).toMatchObject({
      events: 6,
      quarantined: 5,
      duplicates: 0,
      quarantineReasons: { bad_envelope: 5 },
      rows: { component_logs: 1, unparsed_logs: 0 },
    });
    const published = (await publishedRows(store, catalog)).map((l) => JSON.parse(l)[2].event_id);
    expect(published).toEqual(['6'.repeat(56)]);
    const notes = [];
    for (const k of await keysUnder(store, 'quarantine/records/')) {
      for (const l of gunzipSync((await store.get(k))!.body)
        .toString('utf8')
        .trim()
        .split('\n'))
        notes.push(JSON.parse(l));
    }
    expect(notes.map((q) => [q.reason, q.line, JSON.parse(q.text).message])).toEqual(
      [1, 2, 3, 4, 5].map((n) => ['bad_envelope', n, line(n)]),
    );
    expect(notes.map((q) => q.detail)).toEqual([
      'log event id is missing or not a decimal string',
      'log event id is missing or not a decimal string',
      'log event id is missing or not a decimal string',
      'log event id is missing or not a decimal string',
      'log event timestamp is missing or not epoch milliseconds',
    ]);
  });
});

describe('bad raw objects and keys', () => {
  const store = () => new MemoryObjectStore(() => new Date(T0 + 10 * 60_000));
  const deps = (s: MemoryObjectStore, log: Log = capture([])) => compactionDeps(s, new LocalCatalog(s), T0 + HOUR, log);
  const goodLine = (id: string) =>
    JSON.stringify({
      time: '2026-11-27T03:00:01.000000Z',
      cwl_timestamp: T0 + 1000,
      event_id: id,
      account: ACCOUNT,
      region: 'eu-west-1',
      cluster: 'prod-payments',
      log_group: '/aws/eks/prod-payments/cluster',
      log_stream: 'kube-scheduler-0f1e',
      log_type: 'kube-scheduler',
      parse_status: 'ok',
      severity: 'INFO',
      msg: 'ok',
      message: 'I1127 03:00:01.000000       1 x.go:1] ok',
    });

  it('quarantines a gzip bomb (100 MiB of zeros, one line) by reference and keeps the good lines (row 7)', async () => {
    const s = store();
    const key = rawKeyAt(T0 + 5 * 60_000, 'bomb');
    const body = Buffer.concat([
      gzipSync(`${goodLine('1'.repeat(56))}\n`),
      gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 }),
      gzipSync(`\n${goodLine('2'.repeat(56))}\n`),
    ]);
    expect(body.length).toBeLessThan(200_000);
    await s.put(key, body);
    const sum = await compactObjects(deps(s), { planId: 'bomb', keys: [key] });
    expect(sum).toMatchObject({ events: 3, quarantined: 1, quarantineReasons: { line_too_long: 1 } });
    expect(sum.rows.component_logs).toBe(2);
    const [q] = await keysUnder(s, 'quarantine/records/');
    const note = JSON.parse(gunzipSync((await s.get(q!))!.body).toString('utf8'));
    expect(note).toMatchObject({ reason: 'line_too_long', key, line: 2 });
    expect(note.text).toBeUndefined();
  });

  it('quarantines a raw line of invalid UTF-8 as encoding_error with its original bytes in base64 (row 18)', async () => {
    const s = store();
    const key = rawKeyAt(T0 + 5 * 60_000, 'bad-utf8');
    const bad = Buffer.concat([Buffer.from('{"message":"caf'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    await s.put(key, gzipSync(Buffer.concat([Buffer.from(`${goodLine('8'.repeat(56))}\n`), bad, Buffer.from('\n')])));
    const sum = await compactObjects(deps(s), { planId: 'utf8', keys: [key] });
    expect(sum).toMatchObject({ events: 2, quarantined: 1, quarantineReasons: { encoding_error: 1 } });
    const [q] = await keysUnder(s, 'quarantine/records/');
    const note = JSON.parse(gunzipSync((await s.get(q!))!.body).toString('utf8'));
    expect(Buffer.from(note.line_b64, 'base64').equals(bad)).toBe(true);
  });

  it('keeps one row for a CloudWatch id seen twice in one object and again in an object a day later (row 29)', async () => {
    let now = T0 + 10 * 60_000;
    const s = new MemoryObjectStore(() => new Date(now));
    const id = '6'.repeat(56);
    const first = rawKeyAt(T0 + 5 * 60_000, 'first');
    await s.put(first, gzipSync(`${goodLine(id)}\n${goodLine('7'.repeat(56))}\n${goodLine(id)}\n`));
    const day1 = await compactObjects(deps(s), { planId: 'day1', keys: [first] });
    expect(day1).toMatchObject({ events: 3, duplicates: 1, rows: { component_logs: 2 } });
    now = T0 + 24 * HOUR;
    const later = rawKeyAt(now, 'later');
    await s.put(later, gzipSync(`${goodLine(id)}\n`));
    const day2 = await compactObjects(
      { ...deps(s), catalog: new LocalCatalog(s), now: () => new Date(now + HOUR) },
      { planId: 'day2', keys: [later] },
    );
    expect(day2).toMatchObject({ events: 1, published: 0, rows: { component_logs: 0 } });
    const ids = (await publishedRows(s, new LocalCatalog(s))).map((l) => JSON.parse(l)[2].event_id);
    expect(ids.sort()).toEqual([id, '7'.repeat(56)]);
  });

  it('quarantines a single 50 MB line by reference and processes the rest of the object (row 34)', async () => {
    const s = store();
    const key = rawKeyAt(T0 + 5 * 60_000, 'long-line');
    const huge = `{"message":"${'a'.repeat(50 * 1024 * 1024)}"}`;
    await s.put(key, gzipSync(`${goodLine('3'.repeat(56))}\n${huge}\n${goodLine('4'.repeat(56))}\n`));
    const sum = await compactObjects(deps(s), { planId: 'long', keys: [key] });
    expect(sum).toMatchObject({ events: 3, quarantined: 1, quarantineReasons: { line_too_long: 1 } });
    expect(sum.rows.component_logs).toBe(2);
  });

  it('plans only Firehose-shaped raw keys: failed-record JSON, manual uploads and wrong extensions are listed as ignored and logged (rows 32, 35, 36)', async () => {
    const s = store();
    const hour = 'dt=2026-11-27/hour=03';
    const good = `raw/log_type=kube-scheduler/${hour}/eks-log-lake-raw-1-2026-11-27-03-05-00-abc.gz`;
    const strays = [
      `raw/log_type=kube-scheduler/${hour}/processing-failed/eks-log-lake-raw-1-2026-11-27-03-05-00-abc`,
      `raw/log_type=kube-scheduler/${hour}/eks-log-lake-raw-1-2026-11-27-03-05-00-def.json`,
      `raw/log_type=kube-scheduler/${hour}/notes.txt`,
    ];
    await s.put(good, gzipSync(`${goodLine('5'.repeat(56))}\n`));
    for (const k of strays) await s.put(k, '{"errorCode":"Lambda.FunctionError","rawData":"e30="}');
    // A manual upload of valid gzip NDJSON in the right folder: not named as Firehose names objects.
    const upload = `raw/log_type=kube-scheduler/${hour}/replay.gz`;
    await s.put(upload, gzipSync(`${goodLine('6'.repeat(56))}\n`));
    const logs: string[] = [];
    const plan = await planWindowFor(
      { store: s, limits: { maxChunkObjects: 10, maxChunkBytes: 1e9 }, log: capture(logs) },
      {
        mode: 'backfill',
        start: '2026-11-27T03:00:00.000Z',
        end: '2026-11-27T04:00:00.000Z',
        arrivalHours: [hour],
        arrivedBefore: null,
        childRanges: [],
      },
    );
    expect(plan.chunks.flatMap((c) => c.objects.map((o) => o.key))).toEqual([good]);
    expect([...plan.ignoredKeys].sort()).toEqual([...strays, upload].sort());
    expect(logs.join('\n')).toMatch(/unexpected keys under raw\/.*"count":4/);

    // Handed to compaction anyway (the compact CLI lists raw/ itself): a key off the pattern is
    // skipped; a file in the right place that is not gzip is quarantined whole, with its reason.
    const sum = await compactObjects(deps(s), { planId: 'strays', keys: [good, ...strays] });
    expect(sum).toMatchObject({ objects: 3, ignoredKeys: 1, quarantinedObjects: 2, events: 1 });
    expect(sum.rows.component_logs).toBe(1);
    for (const k of strays.slice(1)) {
      const note = JSON.parse(Buffer.from((await s.get(`quarantine/objects/${k}.reason.json`))!.body).toString());
      expect(note.reason).toBe('not_gzip');
    }
  });
});
