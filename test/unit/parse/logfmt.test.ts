import { describe, expect, it } from 'vitest';
import { readGoQuoted } from '../../../src/core/parse/go-quote.ts';
import { parseLogfmt, toRawRecords } from '../../../src/core/parse/index.ts';
import { logfmtPairSpans } from '../../../src/core/parse/logfmt.ts';
import { CTX, dataMessage } from './helpers.ts';

// Lines imitate aws-iam-authenticator (logrus text formatter); "sample" rows are verbatim.
const ROWS: readonly { note: string; line: string; pairs: [string, string][]; error?: RegExp }[] = [
  {
    note: 'sample STS response: quoted and unquoted values',
    line: 'time="2023-03-23T15:00:41Z" level=info msg="STS response" accesskeyid=ASIAQ52MI263MY5EWZW2 accountid=064047601590 arn="arn:aws:sts::064047601590:assumed-role/test_node_group_role/i-0429e7bc1c0bb2932" client="127.0.0.1:52552" method=POST path=/authenticate session=i-0429e7bc1c0bb2932 userid=AROAQ52MI263K3VH2HACL',
    pairs: [
      ['time', '2023-03-23T15:00:41Z'],
      ['level', 'info'],
      ['msg', 'STS response'],
      ['accesskeyid', 'ASIAQ52MI263MY5EWZW2'],
      ['accountid', '064047601590'],
      ['arn', 'arn:aws:sts::064047601590:assumed-role/test_node_group_role/i-0429e7bc1c0bb2932'],
      ['client', '127.0.0.1:52552'],
      ['method', 'POST'],
      ['path', '/authenticate'],
      ['session', 'i-0429e7bc1c0bb2932'],
      ['userid', 'AROAQ52MI263K3VH2HACL'],
    ],
  },
  {
    note: 'sample access denied: escaped quotes inside a quoted value',
    line: 'time="2021-10-13T18:49:30Z" level=warning msg="access denied" client="127.0.0.1:34638" error="input token was not properly formatted: token is missing expected \\"k8s-aws-v1.\\" prefix" method=POST path=/authenticate',
    pairs: [
      ['time', '2021-10-13T18:49:30Z'],
      ['level', 'warning'],
      ['msg', 'access denied'],
      ['client', '127.0.0.1:34638'],
      ['error', 'input token was not properly formatted: token is missing expected "k8s-aws-v1." prefix'],
      ['method', 'POST'],
      ['path', '/authenticate'],
    ],
  },
  {
    note: 'sample access granted: groups="[]" and = inside quotes',
    line: 'level=info msg="access granted" groups="[system:masters a=b]" uid="aws-iam-authenticator:xxx1:x"',
    pairs: [
      ['level', 'info'],
      ['msg', 'access granted'],
      ['groups', '[system:masters a=b]'],
      ['uid', 'aws-iam-authenticator:xxx1:x'],
    ],
  },
  {
    note: 'bare keys, an empty value and a backslash escape',
    line: 'level=debug dryrun msg="path C:\\\\x" empty= verbose',
    pairs: [
      ['level', 'debug'],
      ['dryrun', ''],
      ['msg', 'path C:\\x'],
      ['empty', ''],
      ['verbose', ''],
    ],
  },
  {
    note: 'a quoted value with an escaped newline and tab',
    line: 'msg="line1\\nline2\\tend"',
    pairs: [['msg', 'line1\nline2\tend']],
  },
  {
    note: 'an unterminated quote keeps the rest as the value',
    line: 'level=info msg="cut off by truncation',
    pairs: [
      ['level', 'info'],
      ['msg', 'cut off by truncation'],
    ],
    error: /unterminated/,
  },
  {
    note: 'an empty key',
    line: '=orphan level=info',
    pairs: [
      ['', 'orphan'],
      ['level', 'info'],
    ],
    error: /empty key/,
  },
];

describe('parseLogfmt', () => {
  it.each(ROWS.map((r) => [r.note, r] as const))('parses %s', (_, row) => {
    const got = parseLogfmt(row.line);
    expect(got.pairs).toEqual(row.pairs);
    if (row.error) expect(got.error).toMatch(row.error);
    else expect(got.error).toBeNull();
  });

  it.each(ROWS.map((r) => [r.note, r] as const))(
    'gives the exact span of each key and value it parses in %s',
    (_, row) => {
      const spans = logfmtPairSpans(row.line);
      const read: [string, string][] = [];
      for (let p = 0; p < spans.length; p += 3) {
        const [k, v, end] = [spans[p]!, spans[p + 1]!, spans[p + 2]!];
        expect(row.line[v - 1]).toBe('=');
        const text = row.line.slice(v, end);
        // A quoted value is read back with Go's rules; one cut short runs to the end of the line.
        const quoted = text.startsWith('"') ? readGoQuoted(text, 0) : null;
        const value = quoted?.end === text.length ? quoted.value : text.startsWith('"') ? text.slice(1) : text;
        read.push([row.line.slice(k, v - 1), value]);
      }
      // Bare keys (no `=`) have no value span.
      expect(read).toEqual(row.pairs.filter(([k]) => row.line.includes(`${k}=`)));
    },
  );

  it('keeps every value of a repeated key: first under the key, then key#2, key#3', () => {
    const got = parseLogfmt('a=1 b=x a=2 a="3 3"');
    expect({ ...got.kv }).toEqual({ a: '1', b: 'x', 'a#2': '2', 'a#3': '3 3' });
    expect(got.pairs.filter(([k]) => k === 'a')).toHaveLength(3);
  });

  it('stores a __proto__ key as data without touching any prototype', () => {
    const got = parseLogfmt('__proto__=polluted constructor=x');
    expect(JSON.stringify(got.kv)).toBe('{"__proto__":"polluted","constructor":"x"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('authenticator records', () => {
  const parse = (line: string) => toRawRecords(dataMessage('authenticator-8a1c', [line]), CTX)[0]!;

  it('takes time=, level and msg out and keeps every other key in kv', () => {
    const line =
      'time="2023-01-23T14:06:32Z" level=info msg="access granted" arn="arn:aws:iam::xxx1:role/AWSWesleyClusterManagerLambda-NodeManagerRole-13LW3Y484DKRN" client="127.0.0.1:51358" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:xxx1:xxxxxxxxxxxxxxxxxx" username="eks:node-manager"';
    const r = parse(line);
    expect(r).toMatchObject({
      time: '2023-01-23T14:06:32.000000Z',
      log_type: 'authenticator',
      parse_status: 'ok',
      level: 'info',
      msg: 'access granted',
      message: line,
    });
    expect(r.parse_error).toBeUndefined();
    expect(r.kv).toEqual({
      arn: 'arn:aws:iam::xxx1:role/AWSWesleyClusterManagerLambda-NodeManagerRole-13LW3Y484DKRN',
      client: '127.0.0.1:51358',
      groups: '[]',
      method: 'POST',
      path: '/authenticate',
      uid: 'aws-iam-authenticator:xxx1:xxxxxxxxxxxxxxxxxx',
      username: 'eks:node-manager',
    });
  });

  it('keeps fractional seconds and converts offsets to UTC', () => {
    expect(parse('time="2024-05-01T10:00:00.123456789+02:00" level=info msg=x').time).toBe(
      '2024-05-01T08:00:00.123456Z',
    );
  });

  it('falls back to the CloudWatch time and keeps the raw value when time= is unreadable', () => {
    const r = parse('time="yesterday" level=info msg=x');
    expect(r.parse_status).toBe('partial');
    expect(r.parse_error).toMatch(/time/);
    expect(r.time).toBe('2024-05-20T04:14:54.123000Z');
    expect(r.kv).toEqual({ time: 'yesterday' });
  });

  it('keeps repeated level and msg in kv as level#2 and msg#2', () => {
    const r = parse('time="2023-01-23T14:06:32Z" level=info msg=a level=debug msg=b');
    expect(r).toMatchObject({ level: 'info', msg: 'a', kv: { 'level#2': 'debug', 'msg#2': 'b' } });
  });

  it('marks a line that is not logfmt partial and keeps its text as msg', () => {
    const r = parse('E0101 aws-iam-authenticator starting up');
    expect(r).toMatchObject({
      parse_status: 'partial',
      level: null,
      msg: 'E0101 aws-iam-authenticator starting up',
      kv: {},
    });
  });
});
