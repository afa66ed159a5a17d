import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanAuditJson } from '../../../src/core/parse/json-scan.ts';
import { ENVELOPE_FIELDS } from '../../../src/core/types.ts';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');

type Answer = ReturnType<typeof scanAuditJson> | 'invalid' | 'not an object';

/** What JSON.parse says about a text, in the scanner's terms. */
function oracle(text: string): Answer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const obj = value as Record<string, unknown>;
  const str = (key: string) => (Object.hasOwn(obj, key) && typeof obj[key] === 'string' ? (obj[key] as string) : null);
  return {
    hasReservedKey: ENVELOPE_FIELDS.some((f) => Object.hasOwn(obj, f)),
    requestReceivedTimestamp: str('requestReceivedTimestamp'),
    stageTimestamp: str('stageTimestamp'),
  };
}

/** The scanner may be unsure of anything, but when it answers, JSON.parse must agree exactly. */
function expectSound(text: string): ReturnType<typeof scanAuditJson> {
  const facts = scanAuditJson(text);
  if (facts !== null) expect(facts).toEqual(oracle(text));
  return facts;
}

// Any UTF-16 code unit, so lone surrogates, NUL, CR/LF and U+2028 all show up.
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const TIMESTAMP_KEYS = ['requestReceivedTimestamp', 'stageTimestamp'];
const key = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 12 }),
  fc.constantFrom(...ENVELOPE_FIELDS, ...TIMESTAMP_KEYS, 'kind', 'auditID', '__proto__'),
);
// JSON.stringify escapes lone surrogates; put them back raw, as JSON.parse also accepts them.
function rawSurrogates(json: string): string {
  return json.replace(
    /(?<!\\)((?:\\\\)*)\\u(d[89a-f][0-9a-f]{2})/g,
    (_, bs: string, hex: string) => bs + String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
// Escapes every character of a JSON string literal's content as \uXXXX (same value, other bytes).
const unicodeEscaped = (s: string) =>
  `"${[...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`;
const timestampValue = fc.oneof(
  fc.constantFrom('2024-05-20T04:14:53.795931Z', '2024-05-20T04:14:53Z', 'not a time', ''),
  fc.jsonValue({ stringUnit: anyUnit }),
);
// Members written by hand, so keys repeat, appear escaped and timestamps nest below the top level.
const member = fc.oneof(
  fc.tuple(key, fc.jsonValue({ stringUnit: anyUnit })).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`),
  fc
    .tuple(fc.constantFrom(...TIMESTAMP_KEYS), timestampValue, fc.constantFrom('plain', 'escaped value', 'escaped key'))
    .map(([k, v, how]) => {
      const value = how === 'escaped value' && typeof v === 'string' ? unicodeEscaped(v) : JSON.stringify(v);
      return `${how === 'escaped key' ? unicodeEscaped(k) : JSON.stringify(k)}:${value}`;
    }),
  fc
    .tuple(fc.constantFrom(...TIMESTAMP_KEYS, ...ENVELOPE_FIELDS), timestampValue)
    .map(([k, v]) => `"nested":{${JSON.stringify(k)}:${JSON.stringify(v)}}`),
);
const SPACES = ['', ' ', '  ', '\n', '\r\n', '\t'];
const objectText = fc.oneof(
  fc
    .tuple(fc.dictionary(key, fc.jsonValue({ stringUnit: anyUnit })), fc.nat(4), fc.boolean())
    .map(([obj, indent, newlinesAsSpaces]) => {
      const text = rawSurrogates(JSON.stringify(obj, null, indent));
      // Raw newlines are only ever structural here (JSON.stringify escapes them in strings).
      return newlinesAsSpaces ? text.replace(/\n/g, ' ') : text;
    }),
  fc
    .tuple(fc.array(member, { maxLength: 8 }), fc.constantFrom(...SPACES), fc.constantFrom(...SPACES))
    .map(([members, outer, inner]) => `${outer}{${inner}${members.join(`${inner},${inner}`)}${inner}}${outer}`),
  fc.json({ stringUnit: anyUnit }),
);
// Characters that break JSON in the interesting ways: structure, escapes, numbers, control
// characters, lone surrogates and whitespace JSON does not allow.
const POISON = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  ' ',
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udc00',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '0',
  '-',
  '+',
  '.',
  'e',
  'u',
  'n',
  't',
  'f',
  'x',
];
const poison = fc.oneof(fc.constantFrom(...POISON), anyUnit);
const mutation = fc.tuple(fc.constantFrom('truncate', 'delete', 'insert', 'replace'), fc.nat(), poison);
function mutate(text: string, [kind, at, c]: [string, number, string]): string {
  const i = at % (text.length + 1);
  if (kind === 'truncate') return text.slice(0, i);
  if (kind === 'delete') return text.slice(0, i) + text.slice(i + 1);
  if (kind === 'insert') return text.slice(0, i) + c + text.slice(i);
  return text.slice(0, i) + c + text.slice(i + 1);
}

describe('scanAuditJson', () => {
  it('agrees with JSON.parse whenever it answers, for generated JSON texts', () => {
    fc.assert(
      fc.property(objectText, (text) => void expectSound(text)),
      { numRuns: 3000 },
    );
  });

  it('never answers for a text JSON.parse rejects, after random edits', () => {
    fc.assert(
      fc.property(objectText, fc.array(mutation, { minLength: 1, maxLength: 3 }), (text, edits) => {
        const edited = edits.reduce(mutate, text);
        const facts = expectSound(edited);
        if (oracle(edited) === 'invalid' || oracle(edited) === 'not an object') expect(facts).toBeNull();
      }),
      { numRuns: 5000 },
    );
  });

  it('answers for any object JSON.stringify writes whose top-level keys need no escapes', () => {
    const plainKey = key.filter((k) => JSON.stringify(k) === `"${k}"`);
    fc.assert(
      fc.property(fc.dictionary(plainKey, fc.jsonValue({ stringUnit: anyUnit })), fc.boolean(), (obj, spaced) => {
        const text = spaced ? JSON.stringify(obj, null, 1).replace(/\n/g, ' ') : JSON.stringify(obj);
        expect(scanAuditJson(text)).toEqual(oracle(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers for every sample line that is a JSON object, with JSON.parse facts', () => {
    const lines = ['kube-apiserver-audit.ndjson', 'kube-apiserver.multiline.jsonl']
      .flatMap((f) => readFileSync(join(FIXTURES, 'samples', f), 'utf8').split('\n'))
      .filter((l) => typeof oracle(l) === 'object');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(scanAuditJson(line)).toEqual(oracle(line));
  });

  it.each([
    ['{}', { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null }],
    [' {\u0020} ', { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null }],
    [
      '{"requestReceivedTimestamp":"a","stageTimestamp":"b","requestReceivedTimestamp":"c"}',
      { hasReservedKey: false, requestReceivedTimestamp: 'c', stageTimestamp: 'b' },
    ],
    [
      '{"requestReceivedTimestamp":"a","requestReceivedTimestamp":7}',
      { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null },
    ],
    [
      '{"stageTimestamp":"2024-05-20T04:14:53\\u002e1Z","x":"\\"\\\\\\/\\b\\f\\n\\r\\t"}',
      { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: '2024-05-20T04:14:53.1Z' },
    ],
    [
      '{"a":{"requestReceivedTimestamp":"x","time":1},"b":[{"stageTimestamp":"y"}]}',
      { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null },
    ],
    ['{"log_type":1}', { hasReservedKey: true, requestReceivedTimestamp: null, stageTimestamp: null }],
    ['{"kind":"x","parse_error":null}', { hasReservedKey: true, requestReceivedTimestamp: null, stageTimestamp: null }],
    ['{"times":1,"tim":2}', { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null }],
    [
      '{"n":[-0,0.5,-1.25e+10,1E-3,12,true,false,null,"\ud800"]}',
      { hasReservedKey: false, requestReceivedTimestamp: null, stageTimestamp: null },
    ],
  ])('reads %s', (text, facts) => {
    expect(scanAuditJson(text)).toEqual(facts);
    expect(oracle(text)).toEqual(facts);
  });

  it.each([
    ['', 'empty'],
    ['[]', 'not an object'],
    ['"x"', 'not an object'],
    ['\ufeff{}', 'byte order mark'],
    ['{}x', 'trailing text'],
    ['{}{}', 'two objects'],
    ['{"a":1,}', 'trailing comma'],
    ['{"a" 1}', 'missing colon'],
    ['{a:1}', 'bare key'],
    ["{'a':1}", 'single quotes'],
    ['{"a":01}', 'leading zero'],
    ['{"a":1.}', 'bare dot'],
    ['{"a":.5}', 'no integer part'],
    ['{"a":+1}', 'plus sign'],
    ['{"a":1e}', 'empty exponent'],
    ['{"a":-}', 'lone minus'],
    ['{"a":tru}', 'short literal'],
    ['{"a":nulll}', 'long literal'],
    ['{"a":"\\x"}', 'unknown escape'],
    ['{"a":"\\u12G4"}', 'bad hex'],
    ['{"a":"\\u123"}', 'short unicode escape'],
    ['{"a":"\\"}', 'escaped closing quote'],
    ['{"a":"x\u0001"}', 'raw control character'],
    ['{"a":[1,2}', 'mismatched bracket'],
    ['{"a":1\\}', 'backslash outside a string'],
    ['{"a":1}\u00a0', 'non-JSON whitespace'],
    ['{"ti\\u006de":1}', 'escaped top-level key'],
    ['{"a":1', 'truncated'],
  ])('is unsure of %j (%s)', (text) => {
    expect(scanAuditJson(text)).toBeNull();
  });

  it('leaves nesting deeper than it tracks to JSON.parse', () => {
    const nested = (n: number) => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(scanAuditJson(nested(63))).not.toBeNull();
    expect(scanAuditJson(nested(64))).toBeNull();
    expect(oracle(nested(64))).not.toBe('invalid');
  });
});
