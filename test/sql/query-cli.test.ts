import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCsv, formatTable, parseParams, queryCommand } from '../../src/cli/commands/query.ts';
import { listNamedQueries } from '../../src/core/sql/catalogue.ts';
import { DT, plantLake } from './planted-lake.ts';

let lakeDir: string;

beforeAll(async () => {
  lakeDir = await mkdtemp(join(tmpdir(), 'sql-cli-'));
  await plantLake(lakeDir);
});

afterAll(async () => {
  await rm(lakeDir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<string> {
  let out = '';
  const cmd = queryCommand((t) => {
    out += t;
  }).exitOverride();
  await cmd.parseAsync(args, { from: 'user' });
  return out;
}

describe('eks-log-lake query', () => {
  it('lists one line per named query: name, then description', async () => {
    const lines = (await run('--list')).trimEnd().split('\n');
    const pack = listNamedQueries();
    expect(lines).toHaveLength(pack.length);
    lines.forEach((line, i) => {
      expect(line).toMatch(
        new RegExp(`^${pack[i]!.name} +${pack[i]!.description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
      );
    });
  });

  it('runs a named query with parameters and prints an array of row objects as json', async () => {
    const out = await run(
      '--lake',
      lakeDir,
      'find-secret-reads',
      '--param',
      `dtFrom=${DT}`,
      '--param',
      `dtTo=${DT}`,
      '--format',
      'json',
    );
    const rows = JSON.parse(out);
    expect(rows.map((r: any) => [r.username, r.name, r.reads])).toEqual([
      ['mallory', '', 3],
      ['eve', 'db-password', 1],
    ]);
  });

  it('prints a readable table by default and csv on request', async () => {
    const sql =
      "SELECT username, count(*) AS n FROM audit_events WHERE dt = '2026-03-14' AND username = 'mallory' GROUP BY username";
    expect(await run('--lake', lakeDir, '--sql', sql)).toBe('username  n\n--------  -\nmallory   5\n(1 row)\n');
    expect(await run('--lake', lakeDir, '--sql', sql, '--format', 'csv')).toBe('username,n\r\nmallory,5\r\n');
  });

  it('explains what is missing instead of running', async () => {
    await expect(run('--lake', lakeDir, 'find-secret-reads', '--param', `dtFrom=${DT}`)).rejects.toThrow(
      /missing parameter\(s\) dtTo/,
    );
    await expect(run('find-secret-reads')).rejects.toThrow(/--lake/);
    await expect(run('--lake', lakeDir)).rejects.toThrow(/either a query NAME or --sql/);
    await expect(run('--lake', lakeDir, 'no-such-query')).rejects.toThrow(/no duckdb statement named no-such-query/);
    expect(() => parseParams(['dtFrom'])).toThrow(/key=value/);
  });

  it('quotes csv cells and cuts long table cells', () => {
    expect(formatCsv([{ a: 'x,"y"', b: ['p', 'q'], c: null }])).toBe('a,b,c\r\n"x,""y""","[""p"",""q""]",\r\n');
    const table = formatTable([{ msg: 'z'.repeat(200) }]);
    expect(table.split('\n')[2]).toHaveLength(80);
    expect(formatTable([])).toBe('(no rows)\n');
  });

  it('works through the installed bin script', async () => {
    const bin = join(__dirname, '../../bin/eks-log-lake.cjs');
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      'query',
      '--lake',
      lakeDir,
      'list-authenticator-denials',
      '--param',
      `dtFrom=${DT}`,
      '--param',
      `dtTo=${DT}`,
      '--format',
      'json',
    ]);
    expect(JSON.parse(stdout).map((r: any) => r.denials)).toEqual([2, 1]);
  });
});
