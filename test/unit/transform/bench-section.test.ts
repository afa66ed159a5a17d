import { describe, expect, it } from 'vitest';
import { loadSections } from '../../../bench/index.ts';
import { section } from '../../../bench/sections/transform.ts';

const MIB = 1024 * 1024;

describe('transform bench section', () => {
  it('reports the agreed keys on a small generated mix, every response within the limit', async () => {
    const lines: string[] = [];
    const result = await section.run({ sizeMb: 1, log: (s) => lines.push(s) });
    const keys = ['mb_per_s', 'floor_mb_per_s', 'max_response_bytes', 'reingested_fraction', 'events_per_s'];
    for (const key of [...keys, 'batch_ms_p50', 'batch_ms_max', 'vs_floor', 'cpu_vs_floor', 'batches_0_2mb']) {
      expect(result[key], key).toBeTypeOf('number');
      expect(Number.isFinite(result[key]), key).toBe(true);
    }
    expect(result.max_response_bytes).toBeGreaterThan(0);
    // The ratios the ADRs quote are the same run's throughputs divided (floor time / our time).
    expect(result.vs_floor).toBeCloseTo(result.mb_per_s! / result.floor_mb_per_s!, 1);
    expect(result.cpu_vs_floor).toBeCloseTo(result.cpu_mb_per_s! / result.floor_cpu_mb_per_s!, 1);
    // Firehose's buffer is simulated on the gzip'd input: greedy batches hold at most the buffer and
    // any two neighbours more than it. input_gzip_mb is rounded to 0.1 MB.
    for (const [batches, bufferBytes] of [
      [result.batches_1mb!, MIB],
      [result.batches_0_2mb!, 0.2 * MIB],
    ] as const) {
      const [low, high] = [(result.input_gzip_mb! - 0.05) * 1e6, (result.input_gzip_mb! + 0.05) * 1e6];
      expect(batches, `batches of ${bufferBytes} B`).toBeGreaterThanOrEqual(Math.ceil(low / bufferBytes));
      expect(batches, `batches of ${bufferBytes} B`).toBeLessThanOrEqual(Math.floor((2 * high) / bufferBytes) + 1);
    }
    expect(result.max_response_bytes).toBeLessThanOrEqual(6_000_000);
    expect(result.reingested_fraction).toBe(0);
    expect(result.log_text_mb).toBeGreaterThan(0.5);
    expect(lines.some((l) => l.startsWith('transform '))).toBe(true);
  });

  it('is found by the harness under its name', async () => {
    expect((await loadSections()).map((s) => s.name)).toContain('transform');
  });
});
