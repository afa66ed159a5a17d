import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRfc3339, parseKlogLine, toRawRecordLines } from '../../../src/core/parse/index.ts';
import { CTX, dataMessage } from './helpers.ts';

const STREAMS = [
  'kube-apiserver-audit-1',
  'kube-apiserver-1',
  'kube-scheduler-1',
  'kube-controller-manager-1',
  'cloud-controller-manager-1',
  'authenticator-1',
  'etcd-1',
];

// Any UTF-16 code unit, so lone surrogates, NUL, CR/LF and U+2028 all show up.
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const anyText = fc.string({ unit: anyUnit, maxLength: 200 });
// Text shaped like the real formats, so the parsers' deeper paths are reached.
const klogLike = fc
  .tuple(
    fc.constantFrom('I', 'W', 'E', 'F'),
    fc.constantFrom('0101', '1231', '0229', '1341', '0520'),
    fc.constantFrom(' "msg" k="v\\"x" m=map[a:1 b:2] ', ' plain text ', ' "m" d=<\n\tline\n >', ' "unterminated'),
    anyText,
  )
  .map(([s, d, mid, tail]) => `${s}${d} 23:59:59.999999    12 file.go:7]${mid}${tail}`);
const logfmtLike = fc
  .tuple(anyText, fc.constantFrom('time="2024-01-01T00:00:00Z"', 'level=info', 'msg="a \\" b"', 'k=', '=v', 'x="'))
  .map(([t, kv]) => `${kv} ${t} ${kv}`);
// JSON.stringify escapes lone surrogates; put them back raw, as a hand-written producer could send them.
function rawSurrogates(json: string): string {
  return json.replace(
    /(?<!\\)((?:\\\\)*)\\u(d[89a-f][0-9a-f]{2})/g,
    (_, bs: string, hex: string) => bs + String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
const auditLike = fc.tuple(fc.jsonValue({ stringUnit: anyUnit }), fc.nat(), fc.boolean()).map(([v, cut, truncate]) => {
  const event = { kind: 'Event', requestReceivedTimestamp: '2024-01-01T00:00:00.5Z', body: v };
  const text = rawSurrogates(JSON.stringify(event, null, cut % 3));
  return truncate ? text.slice(0, cut % (text.length + 1)) : text;
});
const message = fc.oneof(anyText, klogLike, logfmtLike, auditLike, fc.string({ unit: 'binary' }));

function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

describe('raw record invariants', () => {
  it('yields exactly one single-line, valid-JSON, well-formed record per event for any message', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STREAMS), fc.array(message, { minLength: 1, maxLength: 5 }), (stream, msgs) => {
        const lines = toRawRecordLines(dataMessage(stream, msgs), CTX);
        expect(lines).toHaveLength(msgs.length);
        for (const [i, line] of lines.entries()) {
          expect(line).not.toMatch(/[\n\r]/);
          expect(isWellFormed(line)).toBe(true);
          const r = JSON.parse(line);
          expect(typeof r.event_id).toBe('string');
          expect(['ok', 'partial', 'unparsed']).toContain(r.parse_status);
          expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
          // Nothing is lost: text streams and unparsed events keep the message verbatim.
          if (r.parse_status !== 'ok' || stream !== 'kube-apiserver-audit-1') expect(r.message).toBe(msgs[i]);
          if (r.parse_status !== 'ok') expect(typeof r.parse_error).toBe('string');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('writes the msg and kv that parseKlogLine reads, for any klog-shaped line', () => {
    const fileName = fc.string({ unit: anyUnit, minLength: 1, maxLength: 6 }).filter((f) => !/[ :\]\n]/.test(f));
    const line = fc
      .tuple(klogLike, fileName, fc.boolean())
      .map(([l, file, swap]) => (swap ? l.replace('file.go', file) : l));
    fc.assert(
      fc.property(fc.array(fc.oneof(line, anyText), { minLength: 1, maxLength: 4 }), (msgs) => {
        const ts = Date.UTC(2024, 4, 20, 4, 14, 54, 123);
        const lines = toRawRecordLines(dataMessage('kube-apiserver-1', msgs, { timestamp: ts }), CTX);
        for (const [i, l] of lines.entries()) {
          const want = parseKlogLine(msgs[i]!, ts);
          const r = JSON.parse(l);
          expect(r.msg).toBe(want.msg);
          expect(r.kv).toEqual({ ...want.kv });
          expect(r.source_file).toBe(want.sourceFile);
          expect(r.message).toBe(msgs[i]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('puts every field of a valid audit event at the top level unchanged', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: anyUnit }), fc.jsonValue({ stringUnit: anyUnit })), (event) => {
        const text = rawSurrogates(JSON.stringify(event));
        const r = JSON.parse(toRawRecordLines(dataMessage('kube-apiserver-audit-1', [text]), CTX)[0]!);
        if (r.parse_status !== 'ok') {
          // Only a reserved envelope name may push an event to the unparsed path.
          expect(r.parse_error).toMatch(/reserved/);
          return;
        }
        for (const [k, v] of Object.entries(JSON.parse(text))) expect(r[k]).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('time zone independence', () => {
  const messages = [
    dataMessage('kube-apiserver-1', ['I1231 23:59:59.999999 1 a.go:1] x', 'I0101 00:00:00.000001 1 a.go:1] y'], {
      timestamp: Date.UTC(2025, 0, 1, 0, 0, 1),
    }),
    dataMessage('kube-scheduler-1', ['I0310 02:30:00.000000 1 a.go:1] "dst gap" k=v'], {
      timestamp: Date.UTC(2024, 2, 10, 2, 30, 1),
    }),
    dataMessage('authenticator-1', ['time="2024-03-31T01:30:00Z" level=info msg=x', 'level=info msg=no-time']),
    dataMessage('kube-apiserver-audit-1', ['{"stageTimestamp":"2024-10-27T01:30:00.000001+01:00"}', '{}']),
  ];

  it.each(['America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Kiritimati', 'Australia/Lord_Howe'])(
    'gives the same records under TZ=%s as under UTC',
    (tz) => {
      const expected = messages.flatMap((m) => toRawRecordLines(m, { region: 'r' }));
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'tz-probe.ts')], {
        input: JSON.stringify(messages),
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
      const probe = JSON.parse(out);
      // The child really ran in that zone (none of these is UTC in January).
      expect(probe.offset).not.toBe(0);
      expect(probe.lines).toEqual(expected);
    },
  );
});

describe('normalizeRfc3339', () => {
  it('reads whole-second UTC times as it reads the same time with a +00:00 offset, valid or not', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1960, max: 2100 })),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (y, mo, d, h, mi, s) => {
          const local = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
          expect(normalizeRfc3339(`${local}Z`)).toBe(normalizeRfc3339(`${local}+00:00`));
        },
      ),
      { numRuns: 3000 },
    );
    expect(normalizeRfc3339('2024-02-29T23:59:59Z')).toBe('2024-02-29T23:59:59.000000Z');
    expect(normalizeRfc3339('2023-02-29T23:59:59Z')).toBeNull();
  });
});
