import { describe, expect, it } from 'vitest';
import { loadSections } from '../../../bench/index.ts';
import { section } from '../../../bench/sections/transform.ts';

describe('transform bench section', () => {
  it('reports the agreed keys on a small generated mix, every response within the limit', async () => {
    const lines: string[] = [];
    const result = await section.run({ sizeMb: 1, log: (s) => lines.push(s) });
    const keys = ['mb_per_s', 'floor_mb_per_s', 'max_response_bytes', 'reingested_fraction', 'events_per_s'];
    for (const key of [...keys, 'batch_ms_p50', 'batch_ms_max']) {
      expect(result[key], key).toBeTypeOf('number');
      expect(Number.isFinite(result[key]), key).toBe(true);
    }
    expect(result.max_response_bytes).toBeGreaterThan(0);
    expect(result.batch_ms_max).toBeGreaterThanOrEqual(result.batch_ms_p50!);
    expect(result.max_response_bytes).toBeLessThanOrEqual(6_000_000);
    expect(result.reingested_fraction).toBe(0);
    expect(result.log_text_mb).toBeGreaterThan(0.5);
    expect(lines.some((l) => l.startsWith('transform '))).toBe(true);
  });

  it('is found by the harness under its name', async () => {
    expect((await loadSections()).map((s) => s.name)).toContain('transform');
  });
});
