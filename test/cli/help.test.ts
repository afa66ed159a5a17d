import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESPONSE_BUDGET_BYTES } from '../../functions/shared/config.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { DEFAULT_WORKFLOW_CONFIG } from '../../src/pipeline/workflow-tasks.ts';

const program = buildProgram();
const command = (name: string) => program.commands.find((c) => c.name() === name)!;

/** Full `--help` text of a subcommand, as commander prints it (wide, so lines do not wrap). */
function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => 400 });
  cmd.outputHelp();
  return text;
}

describe('eks-log-lake --help', () => {
  it('describes every subcommand and every option', () => {
    expect(program.commands.map((c) => c.name()).sort()).toEqual(
      ['bench', 'compact', 'demo', 'lease', 'parse', 'query', 'rebuild', 'run', 'transform'].sort(),
    );
    for (const c of program.commands) {
      expect(c.description(), c.name()).not.toBe('');
      for (const o of c.options) expect(o.description, `${c.name()} ${o.flags}`).not.toBe('');
    }
  });

  it.each([
    ['run', [`${DEFAULT_WORKFLOW_CONFIG.lateHorizonHours} hours`, 'stderr', 'Exit 0', '--from 2026-01-01T00:00:00Z']],
    ['transform', [`(default: ${DEFAULT_RESPONSE_BUDGET_BYTES}`, 'in bytes']],
    ['bench', ['MB (10^6 bytes)', '(default: 200)']],
    ['query', ['required to run a query', 'default: "table"']],
    ['demo', ['(default: ".lake")', '(default: 60)', 'Examples:']],
    ['rebuild', ['YYYY-MM-DD, inclusive', 'exclusive', 'Exit code 0', '2 when some were refused', 'rebuild-<time>']],
  ])('%s --help states defaults, units and what it prints', (name, phrases) => {
    const text = helpOf(command(name));
    for (const p of phrases) expect(text).toContain(p);
  });

  it('describes every lease subcommand and option, the exit codes and why not to delete the lease object', () => {
    const lease = command('lease');
    expect(lease.commands.map((c) => c.name()).sort()).toEqual(['release', 'show']);
    for (const c of lease.commands) {
      expect(c.description(), c.name()).not.toBe('');
      for (const o of c.options) expect(o.description, `lease ${c.name()} ${o.flags}`).not.toBe('');
    }
    const show = helpOf(lease.commands.find((c) => c.name() === 'show')!);
    for (const p of ['--json', 'Exit 0', 'token + 1']) expect(show).toContain(p);
    const release = helpOf(lease.commands.find((c) => c.name() === 'release')!);
    for (const p of [
      '(required)',
      'Never delete the',
      'fencing token at 1',
      "parent's execution name",
      '2 when refused',
    ])
      expect(release).toContain(p);
  });

  it('names every bench section that --only accepts', () => {
    const sections = readdirSync(join(__dirname, '..', '..', 'bench', 'sections')).map((f) => f.replace(/\.ts$/, ''));
    const only = command('bench').options.find((o) => o.long === '--only')!;
    for (const s of sections) expect(only.description).toContain(s);
  });
});
