import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', '..', 'bin', 'eks-log-lake.cjs');

describe('eks-log-lake bin', () => {
  it('lists every subcommand in --help when started through the bin script', () => {
    const out = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    for (const cmd of ['demo', 'parse', 'transform', 'compact', 'run', 'query', 'bench']) {
      expect(out).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
  });

  it('exits non-zero with a clear message on an unknown command', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [BIN, 'nonsense'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      const e = err as { status: number; stderr: string };
      status = e.status;
      stderr = e.stderr;
    }
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/unknown command 'nonsense'/);
  });
});
