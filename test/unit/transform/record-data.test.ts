import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toRawRecordLines, toRawRecordParts } from '../../../src/core/parse/index.ts';
import { encodeRecordData } from '../../../src/core/transform/index.ts';
import { CTX, dataMessage } from '../parse/helpers.ts';

const SAMPLES = join(__dirname, '..', '..', 'fixtures', 'samples');
const sampleLines = (file: string) =>
  readFileSync(join(SAMPLES, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('encodeRecordData with line parts', () => {
  it.each([
    ['kube-apiserver-audit-1', 'kube-apiserver-audit.ndjson'],
    ['kube-apiserver-audit-1', 'kube-apiserver.multiline.jsonl'],
    ['kube-apiserver-1', 'kube-apiserver.log'],
    ['authenticator-1', 'authenticator.log'],
  ])('writes the same gzip member as the joined lines for %s events from %s', (stream, file) => {
    const message = dataMessage(stream, sampleLines(file));
    const { heads, tails } = toRawRecordParts(message, CTX);
    const lines = toRawRecordLines(message, CTX);
    const data = encodeRecordData(heads, 1, tails);
    expect(Buffer.from(data)).toEqual(Buffer.from(encodeRecordData(lines, 1)));
    expect(gunzipSync(data).toString('utf8')).toBe(`${lines.join('\n')}\n`);
  });

  it('keeps an audit body apart from its envelope only when the line is ok', () => {
    const [event] = sampleLines('kube-apiserver-audit.ndjson');
    const { heads, tails } = toRawRecordParts(dataMessage('kube-apiserver-audit-1', [event!, '{"a":', '{}']), CTX);
    expect(tails[0]).toBe(event!.slice(1));
    expect(heads[0]!.endsWith('"parse_status":"ok",')).toBe(true);
    expect(tails.slice(1)).toEqual(['', '']);
  });

  it('writes any split of any lines as the UTF-8 of the joined lines', () => {
    // Well-formed text only: a writer sees JSON lines, which never hold lone surrogates.
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { maxLength: 20 }), (pairs) => {
        const heads = pairs.map(([h]) => h);
        const tails = pairs.map(([, t]) => t);
        const joined = pairs.map(([h, t]) => h + t);
        const expected = joined.length === 0 ? '' : `${joined.join('\n')}\n`;
        expect(gunzipSync(encodeRecordData(heads, 1, tails)).toString('utf8')).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('sizes a record beyond the kept scratch memory by its exact UTF-8 length', () => {
    const tail = 'é'.repeat(1_500_000);
    const data = encodeRecordData(['{"a":"', '"x"'], 1, [tail, '']);
    expect(gunzipSync(data).toString('utf8')).toBe(`{"a":"${tail}\n"x"\n`);
  });
});

describe('toRawRecordParts status counts', () => {
  const STREAM_NAMES = ['kube-apiserver-audit-1', 'kube-scheduler-1', 'authenticator-1', 'etcd-1'];
  const messageArb = fc.oneof(
    fc.constantFrom(...sampleLines('kube-scheduler.log'), ...sampleLines('kube-apiserver-audit.ndjson')),
    fc.constantFrom(
      'goroutine 1 [running]:',
      '{"kind":"Event","verb":"get',
      'I0520 04:14:53.795931 1 a.go:1] "m" k= x',
    ),
    fc.string(),
  );
  const eventArb = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^\d{1,56}$/), fc.string()),
      timestamp: fc.oneof(fc.constant(Date.UTC(2024, 4, 20, 4, 14, 54)), fc.integer(), fc.string()),
      message: messageArb,
    },
    { requiredKeys: ['message'] },
  );

  it('counts every line once, by the parse_status it was written with', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STREAM_NAMES), fc.array(eventArb, { maxLength: 12 }), (stream, logEvents) => {
        const message = { ...dataMessage(stream, []), logEvents } as unknown as ReturnType<typeof dataMessage>;
        const { heads, tails, statuses } = toRawRecordParts(message, CTX);
        const want = { ok: 0, partial: 0, unparsed: 0, bad_envelope: 0 } as Record<string, number>;
        for (let i = 0; i < heads.length; i++) want[JSON.parse(heads[i]! + tails[i]!).parse_status]++;
        expect(statuses).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
