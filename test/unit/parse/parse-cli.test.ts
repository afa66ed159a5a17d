import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInputsToLines, readSubscriptionMessages } from '../../../src/cli/commands/parse.ts';
import { decodeSubscriptionPayload } from '../../../src/core/decode.ts';
import { toRawRecordLines } from '../../../src/core/parse/index.ts';
import { dataMessage } from './helpers.ts';

const ROOT = join(__dirname, '..', '..', '..');
const MESSAGES = join(ROOT, 'test', 'fixtures', 'messages');
const dir = mkdtempSync(join(tmpdir(), 'parse-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'parse', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, AWS_REGION: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const AUDIT = dataMessage('kube-apiserver-audit-1', ['{"kind":"Event","verb":"get"}', '{"kind":"Ev']);
const KLOG = dataMessage('kube-scheduler-1', ['I0520 04:14:53.795931 1 a.go:1] "hi" k=v']);

describe('readSubscriptionMessages', () => {
  it('reads one message from gzip, compact JSON or pretty-printed JSON', () => {
    for (const bytes of [
      gzipSync(JSON.stringify(AUDIT)),
      Buffer.from(JSON.stringify(AUDIT)),
      Buffer.from(JSON.stringify(AUDIT, null, 2)),
    ]) {
      expect(readSubscriptionMessages('f', bytes)).toEqual([AUDIT]);
    }
  });

  it('reads NDJSON with one message per line, plain or gzip’d, skipping blank lines', () => {
    const ndjson = `${JSON.stringify(AUDIT)}\n\n${JSON.stringify(KLOG)}\n`;
    expect(readSubscriptionMessages('f', Buffer.from(ndjson))).toEqual([AUDIT, KLOG]);
    expect(readSubscriptionMessages('f', gzipSync(ndjson))).toEqual([AUDIT, KLOG]);
  });

  it.each([
    ['plain text', Buffer.from('hello')],
    ['JSON that is not a message', Buffer.from('{"a":1}')],
    ['truncated gzip', gzipSync(JSON.stringify(AUDIT)).subarray(0, 30)],
    ['a broken NDJSON line', Buffer.from(`${JSON.stringify(AUDIT)}\n{"messageType":`)],
  ])('names the input when it holds %s', (_, bytes) => {
    expect(() => readSubscriptionMessages('input.gz', bytes)).toThrow(
      /^input\.gz.*not a CloudWatch Logs subscription message/,
    );
  });

  it('names the NDJSON line that is bad', () => {
    expect(() => readSubscriptionMessages('x.ndjson', Buffer.from(`${JSON.stringify(AUDIT)}\n[1]\n`))).toThrow(
      /^x\.ndjson line 2:/,
    );
  });
});

describe('eks-log-lake parse', () => {
  it('prints exactly the transform records of a gzip’d fixture, with --region', () => {
    const file = join(MESSAGES, 'kube-scheduler.json.gz');
    const { code, stdout } = cli(['--region', 'ap-south-2', file]);
    expect(code).toBe(0);
    const expected = toRawRecordLines(decodeSubscriptionPayload(readFileSync(file)), { region: 'ap-south-2' });
    expect(stdout).toBe(`${expected.join('\n')}\n`);
  });

  it('reads stdin when no file is given and keeps bad events as records', () => {
    const { code, stdout } = cli([], JSON.stringify(AUDIT));
    expect(code).toBe(0);
    const records = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.parse_status)).toEqual(['ok', 'unparsed']);
    expect(records[0].region).toBe('us-east-1');
  });

  it('exits non-zero naming the file that is not a subscription message', () => {
    const bad = join(dir, 'not-a-message.json');
    writeFileSync(bad, '{"hello":"world"}');
    const { code, stderr, stdout } = cli([bad]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('not-a-message.json');
    expect(stderr).toMatch(/not a CloudWatch Logs subscription message/);
    expect(stdout).toBe('');
  });

  it('documents itself in --help', () => {
    const { code, stdout } = cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: eks-log-lake parse');
    expect(stdout).toContain('--region');
  });

  it('prints nothing for a CONTROL_MESSAGE', () => {
    const control = { ...AUDIT, messageType: 'CONTROL_MESSAGE', logEvents: [] };
    expect(parseInputsToLines([{ name: 'c', bytes: Buffer.from(JSON.stringify(control)) }], { region: 'r' })).toEqual(
      [],
    );
  });
});
