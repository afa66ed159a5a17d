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
