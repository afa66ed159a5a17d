import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSection } from './section.ts';

export const DEFAULT_SIZE_MB = 200;

/** Every section in bench/sections/, in file-name order. */
export async function loadSections(dir: string = join(__dirname, 'sections')): Promise<BenchSection[]> {
  const sections: BenchSection[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const mod = (await import(join(dir, file))) as { section?: BenchSection; default?: BenchSection };
    const section = mod.section ?? mod.default;
    if (!section || typeof section.run !== 'function') throw new Error(`bench/sections/${file} exports no section`);
    sections.push(section);
  }
  return sections;
}

export interface BenchOptions {
  readonly only?: string;
  readonly sizeMb?: number;
  readonly log?: (s: string) => void;
}

/** Runs the sections (or just `only`) and nests their results by section name. */
export async function runBench(options: BenchOptions = {}): Promise<Record<string, Record<string, number>>> {
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const all = await loadSections();
  const chosen = options.only ? all.filter((s) => s.name === options.only) : all;
  if (chosen.length === 0) {
    throw new Error(`no bench section named '${options.only}' (have: ${all.map((s) => s.name).join(', ')})`);
  }
  const results: Record<string, Record<string, number>> = {};
  for (const section of chosen) {
    log(`== ${section.name}`);
    results[section.name] = await section.run({ sizeMb: options.sizeMb ?? DEFAULT_SIZE_MB, log });
  }
  return results;
}
