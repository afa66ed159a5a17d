import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/transform.ts';
import { ConfigError } from '../../src/core/errors.ts';
import {
  decodeOkLines,
  encodeMessage,
  events,
  firehoseEvent,
  message,
  SAMPLE_LINES,
  STREAMS,
} from '../unit/transform/builders.ts';

const dir = mkdtempSync(join(tmpdir(), 'transform-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'transform', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, AWS_REGION: 'eu-west-1' },
  });
}

describe('eks-log-lake transform', () => {
  const event = firehoseEvent([
    encodeMessage(message({ logStream: STREAMS.authenticator, logEvents: events(SAMPLE_LINES.authenticator) })),
    '!!',
  ]);

  it('prints the Firehose response for an event read from stdin', () => {
    const out = cli(['-', '--quiet'], JSON.stringify(event));
    expect(out.status).toBe(0);
    const response = JSON.parse(out.stdout);
    expect(response.records.map((r: { result: string }) => r.result)).toEqual(['Ok', 'ProcessingFailed']);
    expect(response.records[0].metadata).toEqual({ partitionKeys: { log_type: 'authenticator' } });
    expect(decodeOkLines(response.records[0].data).map((l) => JSON.parse(l).region)).toEqual([
      'eu-west-1',
      'eu-west-1',
    ]);
  });

  it('records what the overflow path would re-ingest, as a Firehose event', () => {
    const file = join(dir, 'event.json');
    const reingestOut = join(dir, 'reingest.json');
    writeFileSync(file, JSON.stringify(event));
    const out = cli([file, '--response-budget', '300', '--reingest-out', reingestOut]);
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout).records.map((r: { result: string }) => r.result)).toEqual([
      'Dropped',
      'ProcessingFailed',
    ]);
    expect(JSON.parse(out.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      records_reingested: 1,
      reingest_records: 1,
    });
    const again = cli([reingestOut, '--quiet']);
    const lines = decodeOkLines(JSON.parse(again.stdout).records[0].data);
    expect(lines).toHaveLength(SAMPLE_LINES.authenticator.length);
  });

  it('fails with a clear message on a bad allow-list', () => {
    const out = cli(['-', '--allowed-accounts', 'not-an-account'], JSON.stringify(event));
    expect(out.status).toBe(1);
    expect(out.stderr).toContain("--allowed-accounts holds 'not-an-account'");
  });
});

describe('Lambda entry point', () => {
  it('throws a ConfigError at cold start when the environment is incomplete', async () => {
    const saved = process.env.DELIVERY_STREAM_NAME;
    delete process.env.DELIVERY_STREAM_NAME;
    try {
      await expect(handler(firehoseEvent([]))).rejects.toThrow(ConfigError);
    } finally {
      if (saved !== undefined) process.env.DELIVERY_STREAM_NAME = saved;
    }
  });
});
