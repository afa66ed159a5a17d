import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSubscriptionPayload } from '../../../src/core/decode.ts';
import {
  classifyLogStream,
  clusterFromLogGroup,
  toRawRecordLines,
  toRawRecords,
} from '../../../src/core/parse/index.ts';
import { ENVELOPE_FIELDS, type LogType } from '../../../src/core/types.ts';
import { CTX, cwlId, dataMessage } from './helpers.ts';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const sampleLines = (file: string) =>
  readFileSync(join(FIXTURES, 'samples', file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('classifyLogStream', () => {
  it.each([
    ['kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b', 'kube-apiserver-audit'],
    ['kube-apiserver-900118300c7497e54b1f844e21ac4f7b', 'kube-apiserver'],
    // The prefix trap: kube-apiserver- is a prefix of kube-apiserver-audit-.
    ['kube-apiserver-audit', 'kube-apiserver'],
    ['kube-apiserver-auditor-1', 'kube-apiserver'],
    ['kube-scheduler-2b8ea1c0b0c64fbd8a5e7bbd3f6d42a1', 'kube-scheduler'],
    ['kube-controller-manager-2b8ea1c0b0c64fbd8a5e7bbd3f6d42a1', 'kube-controller-manager'],
    ['cloud-controller-manager-2b8ea1c0b0c64fbd8a5e7bbd3f6d42a1', 'cloud-controller-manager'],
    ['authenticator-4f1c9e8d2a7b6c5d4e3f2a1b0c9d8e7f', 'authenticator'],
    ['kube-apiserver', 'unknown'],
    ['etcd-0', 'unknown'],
    ['Kube-apiserver-x', 'unknown'],
    ['', 'unknown'],
  ] as const)('classifies %s as %s', (stream, type) => {
    expect(classifyLogStream(stream)).toBe(type);
  });
});

describe('clusterFromLogGroup', () => {
  it.each([
    ['/aws/eks/prod-eu/cluster', 'prod-eu'],
    ['/aws/eks/my_cluster.1/cluster', 'my_cluster.1'],
    ['/aws/eks/prod/cluster/extra', null],
    ['/aws/eks//cluster', null],
    ['/aws/lambda/fn', null],
    ['aws/eks/prod/cluster', null],
  ] as const)('reads %s as %s', (group, cluster) => {
    expect(clusterFromLogGroup(group)).toBe(cluster);
  });
});

describe('raw record envelope', () => {
  it('puts the envelope fields first, in the design order, on every record', () => {
    const [r] = toRawRecordLines(dataMessage('kube-scheduler-1', ['I0520 04:14:53.795931 1 a.go:1] hi']), CTX);
    const keys = Object.keys(JSON.parse(r!));
    expect(keys.slice(0, 10)).toEqual(ENVELOPE_FIELDS.filter((f) => f !== 'parse_error'));
    expect(JSON.parse(r!)).toMatchObject({
      time: '2024-05-20T04:14:53.795931Z',
      cwl_timestamp: Date.UTC(2024, 4, 20, 4, 14, 54, 123),
      event_id: cwlId(0),
      account: '111122223333',
      region: 'eu-west-1',
      cluster: 'prod-eu',
      log_group: '/aws/eks/prod-eu/cluster',
      log_stream: 'kube-scheduler-1',
      log_type: 'kube-scheduler',
      parse_status: 'ok',
    });
  });

  it('keeps a 56-digit event id as the exact string', () => {
    const id = '37423840124017418512048230129312931234567890123456789012';
    const msg = { ...dataMessage('kube-scheduler-1', ['x']), logEvents: [{ id, timestamp: 1, message: 'x' }] };
    const line = toRawRecordLines(msg, CTX)[0]!;
    expect(line).toContain(`"event_id":"${id}"`);
    expect(JSON.parse(line).event_id).toBe(id);
  });

  it('emits one record per event, in order', () => {
    const msgs = Array.from({ length: 50 }, (_, i) => `I0520 04:14:53.795931 1 a.go:${i}] n`);
    const records = toRawRecords(dataMessage('kube-scheduler-1', msgs), CTX);
    expect(records.map((r) => r.source_line)).toEqual(msgs.map((_, i) => i));
    expect(records.map((r) => r.event_id)).toEqual(msgs.map((_, i) => cwlId(i)));
  });

  it('keeps events of unknown streams verbatim as unparsed', () => {
    const [r] = toRawRecords(dataMessage('etcd-0', ['some etcd line']), CTX);
    expect(r).toMatchObject({
      log_type: 'unknown',
      cluster: 'prod-eu',
      parse_status: 'unparsed',
      message: 'some etcd line',
    });
    expect(r!.parse_error).toMatch(/unknown/);
  });

  it('keeps events of non-EKS log groups as unknown with a null cluster', () => {
    const [r] = toRawRecords(
      dataMessage('kube-apiserver-audit-1', ['{"kind":"Event"}'], { logGroup: '/custom/logs' }),
      CTX,
    );
    expect(r).toMatchObject({
      log_type: 'unknown',
      cluster: null,
      log_group: '/custom/logs',
      parse_status: 'unparsed',
    });
    expect(r!.message).toBe('{"kind":"Event"}');
  });
});

describe('audit records', () => {
  const audit = (messages: string[], ts?: number) =>
    toRawRecordLines(dataMessage('kube-apiserver-audit-0a1b', messages, { timestamp: ts }), CTX);

  it('puts the audit fields unchanged at the top level, with no message copy', () => {
    const [event] = sampleLines('kube-apiserver-audit.ndjson');
    const [line] = audit([event!]);
    const r = JSON.parse(line!);
    const original = JSON.parse(event!);
    for (const [k, v] of Object.entries(original)) expect(r[k]).toEqual(v);
    expect(r.message).toBeUndefined();
    expect(r.time).toBe('2023-05-20T04:14:53.795931Z');
    // Byte-exact: the original text follows the envelope unchanged.
    expect(line!.endsWith(event!.slice(1))).toBe(true);
  });

  it('keeps integers beyond 2^53 exactly as they came in (row 25)', () => {
    const event =
      '{"kind":"Event","auditID":"x","requestObject":{"spec":{"replicas":9007199254740993,"big":123456789012345678901234567890,"neg":-9223372036854775809,"f":1.0000000000000000001e400}},"requestReceivedTimestamp":"2024-05-20T04:14:53.000001Z"}';
    const [line] = audit([event]);
    expect(line).toContain('"replicas":9007199254740993,');
    expect(line).toContain('"big":123456789012345678901234567890,');
    expect(line).toContain('"neg":-9223372036854775809,');
    expect(line).toContain('"f":1.0000000000000000001e400}');
    expect(line!.endsWith(event.slice(1))).toBe(true);
  });

  it('keeps duplicate keys as sent, and takes the time a last-wins reader sees (row 23)', () => {
    const event =
      '{"verb":"get","verb":"delete","requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","requestReceivedTimestamp":"2024-01-02T00:00:00.000000Z"}';
    const [line] = audit([event]);
    expect(line).toContain('"verb":"get","verb":"delete"');
    expect(JSON.parse(line!)).toMatchObject({ verb: 'delete', time: '2024-01-02T00:00:00.000000Z' });
  });

  it.each([
    [
      'requestReceivedTimestamp',
      '{"requestReceivedTimestamp":"2024-05-20T04:14:53.1Z","stageTimestamp":"2024-05-20T04:14:54Z"}',
      '2024-05-20T04:14:53.100000Z',
    ],
    [
      'stageTimestamp when requestReceivedTimestamp is missing',
      '{"stageTimestamp":"2024-05-20T04:14:54.5Z"}',
      '2024-05-20T04:14:54.500000Z',
    ],
    [
      'stageTimestamp when requestReceivedTimestamp is not a time',
      '{"requestReceivedTimestamp":"soon","stageTimestamp":"2024-05-20T04:14:54.5Z"}',
      '2024-05-20T04:14:54.500000Z',
    ],
    [
      'the CloudWatch time when neither is there (row 26)',
      '{"kind":"Event","timestamp":"2017-09-11T19:58:37Z"}',
      '2024-05-20T04:14:54.123000Z',
    ],
    [
      'the CloudWatch time when they are not strings',
      '{"requestReceivedTimestamp":17,"stageTimestamp":null}',
      '2024-05-20T04:14:54.123000Z',
    ],
    [
      'a UTC conversion of an offset time',
      '{"requestReceivedTimestamp":"2024-05-20T06:14:53.795931+02:00"}',
      '2024-05-20T04:14:53.795931Z',
    ],
  ])('takes time from %s', (_, event, time) => {
    expect(JSON.parse(audit([event])[0]!)).toMatchObject({ time, parse_status: 'ok' });
  });

  it.each([
    [
      'truncated JSON (CloudWatch cuts very large events)',
      '{"kind":"Event","auditID":"x","requestObject":{"data":"aaaa',
    ],
    ['not JSON', 'E0520 04:14:53.795931 1 audit.go:1] audit backend failed'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"event"'],
    ['an empty message', ''],
  ])('marks %s unparsed and keeps the original message', (_, event) => {
    const r = JSON.parse(audit([event])[0]!);
    expect(r).toMatchObject({ parse_status: 'unparsed', message: event, log_type: 'kube-apiserver-audit' });
    expect(r.parse_error).toMatch(/\w/);
    expect(r.time).toBe('2024-05-20T04:14:54.123000Z');
  });

  it.each(ENVELOPE_FIELDS.map((f) => [f]))(
    'falls back to unparsed when the event uses the reserved name %s',
    (field) => {
      const event = `{"kind":"Event",${JSON.stringify(field)}:"spoofed"}`;
      const line = audit([event])[0]!;
      const r = JSON.parse(line);
      expect(r.parse_status).toBe('unparsed');
      expect(r.message).toBe(event);
      expect(r.account).toBe('111122223333');
      expect(line.match(new RegExp(`"${field}":`, 'g'))!.length).toBe(1);
    },
  );

  it('emits an empty audit object as the envelope alone', () => {
    const line = audit([' { \n } '])[0]!;
    expect(JSON.parse(line).parse_status).toBe('ok');
    expect(line.endsWith('"parse_status":"ok"}')).toBe(true);
  });

  it('keeps pretty-printed audit JSON on one line (raw CR/LF are whitespace there)', () => {
    const event = '{\r\n  "kind": "Event",\n  "verb": "get",\n  "requestURI": "/a\\nb"\n}\n';
    const line = audit([event])[0]!;
    expect(line).not.toMatch(/[\r\n]/);
    expect(JSON.parse(line)).toMatchObject({ kind: 'Event', verb: 'get', requestURI: '/a\nb' });
  });

  it('escapes lone surrogates so the line is valid UTF-8 (row 19)', () => {
    const event = `{"kind":"Event","userAgent":"a\ud800b","requestURI":"/\udc00","ok":"\ud83d\ude00"}`;
    const line = audit([event])[0]!;
    expect(line).toContain('"userAgent":"a\\ud800b"');
    expect(line).toContain('"requestURI":"/\\udc00"');
    expect(line).toContain('"ok":"😀"');
    expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line);
    expect(JSON.parse(line).userAgent).toBe('a\ud800b');
  });

  it('keeps NUL, ANSI escapes, quotes and newlines in userAgent/requestURI escaped on one line (row 20)', () => {
    const ua = 'curl/8\u0000\u001b[31mred\u001b[0m "quoted"\r\nnext\u2028line\t\u007f';
    const event = JSON.stringify({ kind: 'Event', userAgent: ua, requestURI: '/api?q=\n' });
    const line = audit([event])[0]!;
    expect(line.split('\n')).toHaveLength(1);
    expect(line).not.toMatch(/[\u0000-\u001f]/);
    expect(JSON.parse(line)).toMatchObject({ userAgent: ua, requestURI: '/api?q=\n' });
  });

  it('cannot be polluted by __proto__ keys (row 24)', () => {
    const line = audit(['{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'])[0]!;
    expect(JSON.parse(line).parse_status).toBe('ok');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('control characters in text streams stay one escaped line', () => {
  it.each([
    ['kube-apiserver-1', 'I0520 04:14:53.795931 1 a.go:1] "msg\\x00" ua="\u001b[0m\u0000" x=\u0007'],
    ['authenticator-1', 'time="2024-05-20T04:14:53Z" level=info msg="a\u0000b" client="\u001b[31m"\r'],
    ['etcd-1', 'raw \u0000\u001b\r\n\u2028 \ud800 text'],
  ])('in %s', (stream, message) => {
    const [line] = toRawRecordLines(dataMessage(stream, [message]), CTX);
    expect(line).not.toMatch(/[\u0000-\u001f]/);
    expect(Buffer.from(line!, 'utf8').toString('utf8')).toBe(line);
    expect(JSON.parse(line!).message).toBe(message);
  });
});

describe('structured pairs in records', () => {
  it('writes kv keys such as __proto__ and toJSON as plain data in klog and authenticator lines', () => {
    const [klog] = toRawRecordLines(
      dataMessage('kube-scheduler-1', ['I0520 04:14:53.795931 1 a.go:1] "m" __proto__="x" toJSON=y']),
      CTX,
    );
    const [auth] = toRawRecordLines(dataMessage('authenticator-1', ['level=info msg=m __proto__=x toJSON=y']), CTX);
    expect(klog).toContain('"kv":{"__proto__":"x","toJSON":"y"}');
    expect(auth).toContain('"kv":{"__proto__":"x","toJSON":"y"}');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
  it('writes a structured klog line whose tail breaks as partial, with the message and the pairs read', () => {
    const line = 'I0520 04:14:53.795931 1 controller.go:88] "Starting" controller="foo" worker count=5';
    const [rec] = toRawRecords(dataMessage('kube-controller-manager-1', [line]), CTX);
    expect(rec).toMatchObject({
      parse_status: 'partial',
      parse_error: 'klog key/value tail not parsed from offset 70',
      time: '2024-05-20T04:14:53.795931Z',
      severity: 'INFO',
      msg: 'Starting',
      kv: { controller: 'foo' },
      message: line,
    });
    expect(line.slice(70)).toBe('worker count=5');
  });
});

describe('the public samples', () => {
  const CASES: readonly [string, string, LogType][] = [
    ['kube-apiserver-audit.ndjson', 'kube-apiserver-audit-900118300c7497e54b1f844e21ac4f7b', 'kube-apiserver-audit'],
    ['kube-apiserver.log', 'kube-apiserver-900118300c7497e54b1f844e21ac4f7b', 'kube-apiserver'],
    ['kube-scheduler.log', 'kube-scheduler-1', 'kube-scheduler'],
    ['kube-controller-manager.log', 'kube-controller-manager-1', 'kube-controller-manager'],
    ['cloud-controller-manager.log', 'cloud-controller-manager-1', 'cloud-controller-manager'],
    ['authenticator.log', 'authenticator-1', 'authenticator'],
  ];

  it.each(CASES)('parses every line of %s ok', (file, stream, logType) => {
    const lines = sampleLines(file);
    const records = toRawRecords(dataMessage(stream, lines), CTX);
    expect(records).toHaveLength(lines.length);
    for (const [i, r] of records.entries()) {
      expect(r.log_type).toBe(logType);
      expect(r.parse_status).toBe('ok');
      expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      if (logType !== 'kube-apiserver-audit') expect(r.message).toBe(lines[i]);
      if (logType !== 'kube-apiserver-audit' && logType !== 'authenticator') {
        expect(['INFO', 'WARNING', 'ERROR', 'FATAL']).toContain(r.severity);
        expect(typeof r.source_file).toBe('string');
        expect(Number.isInteger(r.source_line)).toBe(true);
      }
    }
  });

  it('parses the multi-line utiltrace records as one klog record each', () => {
    const lines = sampleLines('kube-apiserver.multiline.jsonl').map((l) => JSON.parse(l) as string);
    const records = toRawRecords(dataMessage('kube-apiserver-1', lines, { timestamp: Date.UTC(2019, 5, 1) }), CTX);
    for (const [i, r] of records.entries()) {
      expect(r).toMatchObject({ parse_status: 'ok', source_file: 'trace.go', message: lines[i] });
      expect(r.msg as string).toContain('\nTrace[');
    }
  });

  it.each([
    'kube-apiserver-audit',
    'kube-apiserver',
    'kube-scheduler',
    'kube-controller-manager',
    'cloud-controller-manager',
    'authenticator',
  ])('decodes the bundled gzip message for %s', (type) => {
    const bytes = readFileSync(join(FIXTURES, 'messages', `${type}.json.gz`));
    const records = toRawRecords(decodeSubscriptionPayload(bytes), CTX);
    expect(records.length).toBeGreaterThan(4);
    for (const r of records) expect(r).toMatchObject({ log_type: type, parse_status: 'ok', cluster: 'demo-cluster' });
  });
});
