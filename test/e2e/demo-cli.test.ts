import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { DEFAULT_DEMO_LAKE, defaultDemoStart, demoCommand } from '../../src/cli/commands/demo.ts';
import { emptyLake } from '../../src/demo/demo.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function runCli(args: string[]): Promise<{ out: string; error?: string }> {
  let out = '';
  const cmd = demoCommand((t) => {
    out += t;
  }).exitOverride();
  cmd.configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (out += t) });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { out };
  } catch (err) {
    return { out, error: err instanceof Error ? err.message : String(err) };
  }
}

describe('eks-log-lake demo (CLI)', () => {
  it.each([
    ['2026-11-27T03:10:00Z', '2026-11-27T04:00:00.000Z'],
    ['2026-11-27T03:00:00Z', '2026-11-27T04:00:00.000Z'],
    ['2026-12-31T23:59:59Z', '2027-01-01T00:00:00.000Z'],
  ])('starts the traffic at the next whole hour after %s', (now, start) => {
    expect(defaultDemoStart(new Date(now)).toISOString()).toBe(start);
  });

  it('documents the lake folder, size, clusters, seed and the S3 options in --help', async () => {
    const { out } = await runCli(['--help']);
    for (const flag of [
      '--lake',
      '--minutes',
      '--events-per-minute',
      '--clusters',
      '--accounts',
      '--seed',
      '--s3-endpoint',
      '--bucket',
    ])
      expect(out).toContain(flag);
    expect(out).toContain(`(default: "${DEFAULT_DEMO_LAKE}")`);
  });

  it.each([
    [['--s3-endpoint', 'http://127.0.0.1:1'], /--s3-endpoint and --bucket go together/],
    [['--seed', 'x'], /--seed must be an integer/],
    [['--minutes', '0'], /--minutes must be an integer in \[1/],
    [['--start', 'yesterday'], /--start must be an ISO time/],
  ])('refuses %j before doing any work', async (args, message) => {
    const lake = mkdtempSync(join(tmpdir(), 'demo-cli-'));
    dirs.push(lake);
    const { error } = await runCli([...args, '--lake', join(lake, 'x')]);
    expect(error).toMatch(message);
  });

  it('refuses to empty a folder that holds something other than a lake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-cli-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'raw'));
    writeFileSync(join(dir, 'thesis.tex'), 'precious');
    const { error } = await runCli(['--lake', dir, '--minutes', '1']);
    expect(error).toMatch(/holds thesis\.tex/);
  });

  it('refuses to empty a store that holds keys outside the lake prefixes, deleting nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-cli-'));
    dirs.push(dir);
    const store = new FsObjectStore(dir);
    await store.put('raw/log_type=authenticator/dt=2026-11-27/hour=04/x.gz', 'a');
    await store.put('backups/db.dump', 'precious');
    await expect(emptyLake(store)).rejects.toThrow(/holds backups\/db\.dump/);
    expect(await store.head('raw/log_type=authenticator/dt=2026-11-27/hour=04/x.gz')).toBeDefined();
    await store.delete(['backups/db.dump']);
    expect(await emptyLake(store)).toBe(1);
    expect(await store.head('raw/log_type=authenticator/dt=2026-11-27/hour=04/x.gz')).toBeUndefined();
  });
});
