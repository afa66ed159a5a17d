import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { formatDuration, leaseCommand } from '../../src/cli/commands/lease.ts';
import { acquireLease, LEASE_KEY, type LeaseRecord, readLeaseRecord } from '../../src/pipeline/lease.ts';
import { captureIo } from '../helpers/cli-io.ts';

const NOW = new Date('2026-11-27T08:10:00.000Z');
const TTL_MS = 30 * 60 * 1000;
const HOLDER = 'local-mhx2k1ab-0';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lakeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lease-cli-'));
  dirs.push(dir);
  return dir;
}

/** A lake whose lease `HOLDER` took at `acquiredAt` with `token` (earlier grants by others before it). */
async function lakeWithLease(over: Partial<LeaseRecord> = {}): Promise<{ dir: string; record: LeaseRecord }> {
  const dir = lakeDir();
  const record: LeaseRecord = {
    holder: HOLDER,
    token: 3,
    acquiredAt: '2026-11-27T08:00:00.000Z',
    expiresAt: '2026-11-27T08:30:00.000Z',
    released: false,
    ...over,
  };
  await new FsObjectStore(dir).put(LEASE_KEY, `${JSON.stringify(record, null, 2)}\n`);
  return { dir, record };
}

/** Runs `eks-log-lake lease …args` at NOW and returns what it printed and its exit code. */
async function lease(...args: string[]): Promise<{ out: string[]; err: string[]; code: number | undefined }> {
  const c = captureIo(NOW);
  await leaseCommand(c.io).parseAsync(args, { from: 'user' });
  return { out: c.out, err: c.err, code: c.code() };
}

const leaseFile = (dir: string) => readFileSync(join(dir, LEASE_KEY), 'utf8');

describe('eks-log-lake lease show (folder lake)', () => {
  it.each([
    [
      'absent',
      undefined,
      ['  free: the next run creates it with token 1'],
      { state: 'absent', freesInSeconds: 0, nextToken: 1 },
    ],
    [
      'live',
      {},
      [
        `  holder      ${HOLDER}`,
        '  token       3',
        '  acquiredAt  2026-11-27T08:00:00.000Z',
        '  expiresAt   2026-11-27T08:30:00.000Z',
        '  released    false',
        '  frees in 20 min unless its holder renews it (a running execution does)',
      ],
      { state: 'live', holder: HOLDER, token: 3, released: false, freesInSeconds: 1200, nextToken: 4 },
    ],
    [
      'live',
      { execution: 'backfill-2-day-3', childFrom: '2026-11-20T00:00:00.000Z' },
      [
        `  holder      ${HOLDER}`,
        '  acting      backfill-2-day-3 (child from 2026-11-20T00:00:00.000Z)',
        '  token       3',
      ],
      { state: 'live', holder: HOLDER, execution: 'backfill-2-day-3', childFrom: '2026-11-20T00:00:00.000Z' },
    ],
    [
      'expired',
      { expiresAt: '2026-11-27T08:05:30.000Z' },
      [
        '  expiresAt   2026-11-27T08:05:30.000Z',
        '  free since 4 min 30 s ago (expired): the next run takes it with token 4',
      ],
      { state: 'expired', expiresAt: '2026-11-27T08:05:30.000Z', freesInSeconds: 0, nextToken: 4 },
    ],
    [
      'released',
      { released: true, expiresAt: '2026-11-27T08:09:15.000Z' },
      ['  released    true', '  free since 45 s ago (released): the next run takes it with token 4'],
      { state: 'released', released: true, freesInSeconds: 0, nextToken: 4 },
    ],
  ])('shows a lease that is %s, as text and as JSON', async (state, over, lines, json) => {
    const dir = over === undefined ? lakeDir() : (await lakeWithLease(over)).dir;
    const text = await lease('show', '--lake', dir);
    expect(text.code).toBe(0);
    expect(text.out[0]).toBe(`lease ${LEASE_KEY} in folder ${dir}: ${state}`);
    for (const l of lines) expect(text.out).toContain(l);
    // Only a child acting under its parent's name gets the line.
    expect(text.out.some((l) => l.startsWith('  acting'))).toBe(over !== undefined && 'execution' in over);
    const asJson = await lease('show', '--lake', dir, '--json');
    expect(asJson.code).toBe(0);
    expect(JSON.parse(asJson.out.join('\n'))).toMatchObject({
      key: LEASE_KEY,
      checkedAt: NOW.toISOString(),
      ...json,
    });
  });

  it.each([
    [0, '0 s'],
    [45_000, '45 s'],
    [44_001, '45 s'],
    [20 * 60_000, '20 min'],
    [12 * 60_000 + 30_000, '12 min 30 s'],
    [3_600_000 + 5 * 60_000 + 10_000, '1 h 5 min'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('eks-log-lake lease release (folder lake)', () => {
  it('releases the named holder’s lease with its token kept, and the next run gets token + 1', async () => {
    const { dir, record } = await lakeWithLease();
    const r = await lease('release', '--lake', dir, '--holder', HOLDER);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe(`released the lease of ${HOLDER} (token 3); the next run takes it with token 4`);
    const store = new FsObjectStore(dir);
    expect(await readLeaseRecord(store)).toEqual({ ...record, released: true, expiresAt: NOW.toISOString() });
    const next = await acquireLease(
      { store, clock: { now: () => new Date(NOW.getTime() + 1000) }, ttlMs: TTL_MS },
      'local-mhx2k9zz-1',
    );
    expect(next).toEqual({ holder: 'local-mhx2k9zz-1', token: 4 });
  });

  it('releases an expired lease of the named holder too (it is still theirs until another run takes it)', async () => {
    const { dir } = await lakeWithLease({ expiresAt: '2026-11-27T08:05:00.000Z' });
    expect((await lease('release', '--lake', dir, '--holder', HOLDER)).code).toBe(0);
    expect(await readLeaseRecord(new FsObjectStore(dir))).toMatchObject({ released: true, token: 3 });
  });

  it.each([
    ['another holder has it', { holder: 'local-mhx2k9zz-1', token: 4 }, /names local-mhx2k9zz-1 \(token 4\) as holder/],
    [
      'another holder released it',
      { holder: 'local-mhx2k9zz-1', token: 4, released: true },
      /names local-mhx2k9zz-1 \(token 4, released\) as holder/,
    ],
  ])('refuses with exit 2 and writes nothing when %s', async (_name, over, message) => {
    const { dir } = await lakeWithLease(over);
    const before = leaseFile(dir);
    const r = await lease('release', '--lake', dir, '--holder', HOLDER);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^refused: /);
    expect(r.err[0]).toMatch(message);
    expect(leaseFile(dir)).toBe(before);
  });

  it('refuses with exit 2 when there is no lease record, and creates none', async () => {
    const dir = lakeDir();
    const r = await lease('release', '--lake', dir, '--holder', HOLDER);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/no lease record .*nothing to release/);
    expect(await readLeaseRecord(new FsObjectStore(dir))).toBeUndefined();
  });

  it('succeeds without writing when the holder’s lease is already released', async () => {
    const { dir } = await lakeWithLease({ released: true, expiresAt: '2026-11-27T08:02:00.000Z' });
    const before = leaseFile(dir);
    const r = await lease('release', '--lake', dir, '--holder', HOLDER);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`the lease of ${HOLDER} (token 3) is already released; nothing to do`]);
    expect(leaseFile(dir)).toBe(before);
  });

  it.each([
    [['release', '--holder', HOLDER], /give --lake DIR \(local\) or --aws --bucket B/],
    [['release', '--lake', 'x', '--holder', HOLDER, '--force'], /--state-machine-arn and --force go with --aws/],
    [['release', '--lake', 'x', '--aws', '--bucket', 'b', '--holder', HOLDER, '--force'], /not both/],
    [['release', '--aws', '--holder', HOLDER, '--force'], /--aws needs --bucket/],
    [['release', '--aws', '--bucket', 'b', '--holder', HOLDER], /--aws needs --state-machine-arn.* or --force/],
    [
      ['release', '--aws', '--bucket', 'b', '--holder', HOLDER, '--force', '--state-machine-arn', 'arn:aws:states:x'],
      /not both/,
    ],
    [
      ['release', '--aws', '--bucket', 'b', '--holder', HOLDER, '--state-machine-arn', 'eks-log-lake-compaction'],
      /--state-machine-arn must look like arn:aws:states:<region>:<account>:stateMachine:<name>/,
    ],
    [['show', '--lake', 'x', '--region', 'eu-west-1'], /--bucket and --region go with --aws/],
  ])('rejects %j before touching any lease', async (args, message) => {
    await expect(lease(...args)).rejects.toThrow(message);
  });
});
