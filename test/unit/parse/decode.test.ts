import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, decodeSubscriptionPayload } from '../../../src/core/decode.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { toRawRecordLines } from '../../../src/core/parse/index.ts';
import { CTX, dataMessage, gzipJson } from './helpers.ts';

function decodeCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).name).toBe('DecodeError');
    return (err as DecodeError).code;
  }
  throw new Error('expected a DecodeError');
}

const MESSAGE = dataMessage('kube-apiserver-audit-0a1b', ['{"kind":"Event","auditID":"a"}']);

// Rows refer to the transform-layer bad inputs of the reliability matrix.
describe('decodeBase64Strict', () => {
  it.each([
    ['row 1: not base64 at all', '!!!!'],
    ['row 1: base64 with a stray character', 'H4sI!AAAAAAA'],
    ['row 1: base64 with embedded whitespace', 'H4sI AAAAAAA'],
    ['row 1: base64 with a bad length', 'H4sIAAA'],
    ['row 1: url-safe alphabet', 'H4sI-_AAAAAA'],
    ['row 1: padding in the middle', 'H4==AAAA'],
    ['row 1: too much padding', 'QUJDQ==='],
    ['row 1: padding only', '===='],
    ['row 1: a trailing newline', 'QUJDQUJ\n'],
  ])('rejects %s', (_, data) => {
    expect(decodeCode(() => decodeBase64Strict(data))).toBe('invalid_base64');
  });

  it('rejects empty data (row 2)', () => {
    expect(decodeCode(() => decodeBase64Strict(''))).toBe('empty');
  });

  it('accepts exactly padded standard base64, and decodes it as Node does', () => {
    const strict = /^[A-Za-z0-9+/]*={0,2}$/;
    const unit = fc.constantFrom(...'AQgw+/9z==-_ !\n.'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1, maxLength: 16 }), (data) => {
        const valid = data.length % 4 === 0 && strict.test(data);
        let got: Uint8Array | null = null;
        try {
          got = decodeBase64Strict(data);
        } catch (err) {
          expect((err as DecodeError).code).toBe('invalid_base64');
        }
        if (got) expect(Buffer.from(got)).toEqual(Buffer.from(data, 'base64'));
        expect(got !== null).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes standard padded base64 to the original bytes', () => {
    const gz = gzipJson(MESSAGE);
    expect(Buffer.from(decodeBase64Strict(gz.toString('base64')))).toEqual(gz);
    expect(Buffer.from(decodeBase64Strict('YQ=='))).toEqual(Buffer.from('a'));
  });
});

describe('decodeSubscriptionPayload', () => {
  const gz = gzipJson(MESSAGE);

  it('decodes a gzip payload into the message', () => {
    expect(decodeSubscriptionPayload(gz)).toEqual(MESSAGE);
  });

  it('decodes plain JSON text when asked to (with a BOM or leading whitespace)', () => {
    const text = JSON.stringify(MESSAGE);
    const plain = { allowPlainJson: true };
    expect(decodeSubscriptionPayload(Buffer.from(text), plain)).toEqual(MESSAGE);
    expect(decodeSubscriptionPayload(Buffer.from(`\ufeff \n${text}`), plain)).toEqual(MESSAGE);
  });

  it('rejects plain JSON text by default: CloudWatch Logs always gzips (row 3)', () => {
    expect(decodeCode(() => decodeSubscriptionPayload(Buffer.from(JSON.stringify(MESSAGE))))).toBe('not_gzip');
  });

  it('accepts a plain Uint8Array, not only a Buffer', () => {
    expect(decodeSubscriptionPayload(new Uint8Array(gz))).toEqual(MESSAGE);
  });

  it('rejects an empty payload (row 2)', () => {
    expect(decodeCode(() => decodeSubscriptionPayload(new Uint8Array(0)))).toBe('empty');
    expect(decodeCode(() => decodeSubscriptionPayload(gzipSync(Buffer.alloc(0))))).toBe('empty');
  });

  it('rejects bytes that are neither gzip nor JSON (row 3)', () => {
    expect(decodeCode(() => decodeSubscriptionPayload(Buffer.from('hello world')))).toBe('not_gzip');
  });

  it('rejects gzip magic followed by corrupt deflate data (row 3, Z_DATA_ERROR)', () => {
    const bad = Buffer.from(gz);
    bad.fill(0xff, 10, 20);
    expect(decodeCode(() => decodeSubscriptionPayload(bad))).toBe('not_gzip');
  });

  it.each([
    ['cut in the middle', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['missing its trailer', (b: Buffer) => b.subarray(0, b.length - 4)],
    ['only a header', (b: Buffer) => b.subarray(0, 10)],
  ])('rejects truncated gzip %s (row 4, Z_BUF_ERROR)', (_, cut) => {
    expect(decodeCode(() => decodeSubscriptionPayload(cut(gz)))).toBe('truncated_gzip');
  });

  it.each([
    ['text', Buffer.from('garbage')],
    ['zero padding', Buffer.alloc(16)],
  ])('rejects gzip followed by trailing %s (row 5)', (_, tail) => {
    expect(decodeCode(() => decodeSubscriptionPayload(Buffer.concat([gz, tail])))).toBe('trailing_garbage');
  });

  it('rejects a second gzip member that is cut short as truncated', () => {
    const cut = gzipSync('x').subarray(0, 5);
    expect(decodeCode(() => decodeSubscriptionPayload(Buffer.concat([gz, cut])))).toBe('truncated_gzip');
  });

  it('decodes every member of a multi-member gzip (row 6)', () => {
    const text = Buffer.from(JSON.stringify(MESSAGE));
    const cut = 17;
    const multi = Buffer.concat([gzipSync(text.subarray(0, cut)), gzipSync(text.subarray(cut))]);
    expect(decodeSubscriptionPayload(multi)).toEqual(MESSAGE);
  });

  it('decodes members of any size whatever the last member says about its own length', () => {
    // The last trailer sizes the output chunk; here it understates the total, or it is exact.
    const big = dataMessage('kube-apiserver-audit-0a1b', [`{"kind":"Event","pad":"${'x'.repeat(200_000)}"}`]);
    const text = Buffer.from(JSON.stringify(big));
    for (const cut of [text.length - 3, 40_000, 10]) {
      const multi = Buffer.concat([gzipSync(text.subarray(0, cut)), gzipSync(text.subarray(cut))]);
      expect(decodeSubscriptionPayload(multi)).toEqual(big);
    }
    expect(decodeSubscriptionPayload(gzipSync(text))).toEqual(big);
    expect(decodeCode(() => decodeSubscriptionPayload(gzipSync(text), { maxDecodedBytes: text.length - 1 }))).toBe(
      'too_large',
    );
    expect(decodeSubscriptionPayload(gzipSync(text), { maxDecodedBytes: text.length })).toEqual(big);
  });

  it('stops a gzip bomb at the output cap instead of inflating it (row 7)', () => {
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(decodeCode(() => decodeSubscriptionPayload(bomb, { maxDecodedBytes: 1024 * 1024 }))).toBe('too_large');
    // The default cap (64 MiB) stops it too; memory is measured by the bench, not here.
    expect(decodeCode(() => decodeSubscriptionPayload(bomb))).toBe('too_large');
  });

  it('applies the cap to plain JSON text as well', () => {
    const text = Buffer.from(JSON.stringify(MESSAGE));
    expect(decodeCode(() => decodeSubscriptionPayload(text, { maxDecodedBytes: 10, allowPlainJson: true }))).toBe(
      'too_large',
    );
  });

  it.each([
    ['truncated JSON', '{"messageType":"DATA_MESSAGE","owner":'],
    ['JSON with trailing text', '{"messageType":"CONTROL_MESSAGE"} x'],
    ['not JSON at all', '{not json}'],
  ])('rejects gzip of %s (row 8)', (_, text) => {
    expect(decodeCode(() => decodeSubscriptionPayload(gzipSync(text)))).toBe('invalid_json');
  });

  it('decodes a CONTROL_MESSAGE, which yields no records (row 9)', () => {
    const control = {
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [
        { id: '', timestamp: 1700000000000, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' },
      ],
    };
    const decoded = decodeSubscriptionPayload(gzipJson(control));
    expect(decoded.messageType).toBe('CONTROL_MESSAGE');
    expect(toRawRecordLines(decoded, CTX)).toEqual([]);
  });

  it('rejects an unknown messageType (row 10)', () => {
    const other = { ...MESSAGE, messageType: 'DATA_MESSAGE_V2' };
    expect(decodeCode(() => decodeSubscriptionPayload(gzipJson(other)))).toBe('unknown_message_type');
  });

  it('decodes a DATA_MESSAGE with empty logEvents into zero records (row 11)', () => {
    const empty = { ...MESSAGE, logEvents: [] };
    const decoded = decodeSubscriptionPayload(gzipJson(empty));
    expect(decoded.logEvents).toEqual([]);
    expect(toRawRecordLines(decoded, CTX)).toEqual([]);
  });

  it.each([
    ['a JSON array', []],
    ['no messageType', { owner: '1', logGroup: 'g', logStream: 's', logEvents: [] }],
    ['no owner', { ...MESSAGE, owner: undefined }],
    ['an empty logGroup', { ...MESSAGE, logGroup: '' }],
    ['a numeric logStream', { ...MESSAGE, logStream: 7 }],
    ['logEvents not an array', { ...MESSAGE, logEvents: {} }],
    ['subscriptionFilters not an array', { ...MESSAGE, subscriptionFilters: 'f' }],
  ])('rejects an envelope with %s', (_, value) => {
    expect(decodeCode(() => decodeSubscriptionPayload(gzipJson(value)))).toBe('bad_envelope');
  });

  it('leaves bad events to the parser, which emits bad_envelope records (row 12)', () => {
    const events = [
      { timestamp: 1700000000000, message: 'no id' },
      { id: '123', message: 'no timestamp' },
      { id: '12a4', timestamp: 1700000000000, message: 'id not digits' },
      { id: 1234, timestamp: 1700000000000, message: 'id is a number' },
      { id: '1', timestamp: '1700000000000', message: 'timestamp is a string' },
      { id: '2', timestamp: 1700000000000 },
      'not an object',
    ];
    const decoded = decodeSubscriptionPayload(gzipJson({ ...MESSAGE, logEvents: events }));
    const records = toRawRecordLines(decoded, CTX).map((l) => JSON.parse(l));
    expect(records).toHaveLength(events.length);
    for (const r of records) {
      expect(r.parse_status).toBe('bad_envelope');
      expect(typeof r.parse_error).toBe('string');
      expect(typeof r.event_id).toBe('string');
      expect(typeof r.message).toBe('string');
    }
    expect(records[0]).toMatchObject({ event_id: '', cwl_timestamp: 1700000000000, message: 'no id' });
    expect(records[1]).toMatchObject({ event_id: '123', cwl_timestamp: null, time: null });
    expect(records[3].event_id).toBe('1234');
    expect(records[5].message).toBe('{"id":"2","timestamp":1700000000000}');
    expect(records[6].message).toBe('"not an object"');
  });
});

describe('bad bytes inside messages', () => {
  it('keeps invalid UTF-8 as base64 with an unparsed record (row 18)', () => {
    const json = JSON.stringify(dataMessage('kube-apiserver-abc', ['I0101 00:00:00.000000 1 a.go:1] ok', 'XX']));
    const [before, after] = json.split('"XX"') as [string, string];
    const badBytes = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0xc3, 0xa9]); // "bad", invalid, " é"
    const payload = Buffer.concat([Buffer.from(`${before}"`), badBytes, Buffer.from(`"${after}`)]);
    const lines = toRawRecordLines(decodeSubscriptionPayload(gzipSync(payload)), CTX);
    expect(lines).toHaveLength(2);
    const good = JSON.parse(lines[0]!);
    const bad = JSON.parse(lines[1]!);
    expect(good.parse_status).toBe('ok');
    expect(good.msg).toBe('ok');
    expect(bad.parse_status).toBe('unparsed');
    expect(bad.parse_error).toMatch(/UTF-8/);
    expect(bad.message).toBe('bad\ufffd\ufffd é');
    expect(Buffer.from(bad.message_b64, 'base64')).toEqual(badBytes);
    for (const l of lines) expect(Buffer.from(l, 'utf8').toString('utf8')).toBe(l);
  });

  it('keeps JSON escapes above U+00FF intact when the payload had invalid bytes elsewhere', () => {
    const json = JSON.stringify(
      dataMessage('kube-apiserver-abc', ['I0101 00:00:00.000000 1 a.go:1] snow ☃ \\u2603', 'XX']),
    );
    const [before, after] = json.split('"XX"') as [string, string];
    const payload = Buffer.concat([Buffer.from(`${before}"`), Buffer.from([0xff]), Buffer.from(`"${after}`)]);
    const [first] = toRawRecordLines(decodeSubscriptionPayload(gzipSync(payload)), CTX).map((l) => JSON.parse(l));
    expect(first.msg).toBe('snow ☃ \\u2603');
    expect(first.parse_status).toBe('ok');
  });
});
