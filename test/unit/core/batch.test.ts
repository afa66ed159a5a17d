import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchBySize } from '../../../src/core/batch.ts';

describe('batchBySize', () => {
  it('closes a batch before the item that would pass the byte limit', () => {
    expect(batchBySize([3, 3, 3, 1], (n) => n, { maxBytes: 6 })).toEqual([
      [3, 3],
      [3, 1],
    ]);
  });

  it('closes a batch at the count limit even when bytes remain', () => {
    expect(batchBySize([1, 1, 1, 1, 1], (n) => n, { maxBytes: 100, maxCount: 2 })).toEqual([[1, 1], [1, 1], [1]]);
  });

  it('gives an oversized item a batch of its own instead of dropping it', () => {
    expect(batchBySize([2, 9, 2], (n) => n, { maxBytes: 5 })).toEqual([[2], [9], [2]]);
  });

  it('keeps every item once, in order, within both limits unless alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 })),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 5 }),
        (items, maxBytes, maxCount) => {
          const batches = batchBySize(items, (n) => n, { maxBytes, maxCount });
          expect(batches.flat()).toEqual(items);
          for (const b of batches) {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(maxCount);
            if (b.length > 1) expect(b.reduce((a, n) => a + n, 0)).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
    );
  });
});
