import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkObjects, groupsOf, type PlannedObject, planIdOf, RAW_KEY } from '../../src/core/workflow/plan.ts';

const obj = (i: number, size: number): PlannedObject => ({
  key: `raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-${String(i).padStart(4, '0')}.gz`,
  etag: `"${i.toString(16).padStart(32, '0')}"`,
  size,
});

const objectsArb = fc.uniqueArray(
  fc.record({ i: fc.integer({ min: 0, max: 9999 }), size: fc.integer({ min: 0, max: 5000 }) }),
  {
    selector: (o) => o.i,
    maxLength: 60,
  },
);

describe('chunkObjects', () => {
  it('keeps every object exactly once, in key order, within both limits', () => {
    fc.assert(
      fc.property(
        objectsArb,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6000 }),
        (specs, maxObjects, maxBytes) => {
          const objects = specs.map((s) => obj(s.i, s.size));
          const chunks = chunkObjects(objects, { maxChunkObjects: maxObjects, maxChunkBytes: maxBytes });
          const flat = chunks.flatMap((c) => c.objects.map((o) => o.key));
          expect(flat).toEqual(objects.map((o) => o.key).sort());
          chunks.forEach((c, i) => {
            expect(c.chunkId).toBe(i);
            expect(c.objects.length).toBeGreaterThan(0);
            expect(c.objects.length).toBeLessThanOrEqual(maxObjects);
            // Only a single oversized object may exceed the byte limit, alone in its chunk.
            if (c.objects.length > 1) expect(c.bytes).toBeLessThanOrEqual(maxBytes);
            expect(c.bytes).toBe(c.objects.reduce((n, o) => n + o.size, 0));
          });
        },
      ),
    );
  });

  it('gives an object larger than the byte limit a chunk of its own', () => {
    const chunks = chunkObjects([obj(1, 10), obj(2, 500), obj(3, 10)], { maxChunkObjects: 10, maxChunkBytes: 100 });
    expect(chunks.map((c) => c.objects.length)).toEqual([1, 1, 1]);
  });

  it('returns no chunks for no objects', () => {
    expect(chunkObjects([], { maxChunkObjects: 10, maxChunkBytes: 100 })).toEqual([]);
  });
});

describe('planIdOf', () => {
  it('is the same for any order of the same objects and changes when an ETag changes', () => {
    fc.assert(
      fc.property(
        objectsArb.filter((a) => a.length > 0),
        (specs) => {
          const objects = specs.map((s) => obj(s.i, s.size));
          const id = planIdOf(objects);
          expect(planIdOf([...objects].reverse())).toBe(id);
          const changed = [{ ...objects[0]!, etag: '"ffff"' }, ...objects.slice(1)];
          expect(planIdOf(changed)).not.toBe(id);
          expect(id).toMatch(/^[0-9a-f]{20}$/);
        },
      ),
    );
  });
});

describe('groupsOf', () => {
  it('splits into consecutive groups of at most the size', () => {
    expect(groupsOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(groupsOf([], 3)).toEqual([]);
  });
});

describe('RAW_KEY', () => {
  it.each([
    ['raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-2025-01-03-10-00-00-abc.gz', true],
    ['raw/log_type=unknown/dt=2025-01-03/hour=10/eks-logs-12-2025-01-03-10-59-59-7f3e-41c2.gz', true],
    // A manual upload under the right folder, even gzip: not Firehose's name, so never planned (row 36).
    ['raw/log_type=unknown/dt=2025-01-03/hour=10/x.gz', false],
    ['raw/log_type=unknown/dt=2025-01-03/hour=10/replay-2025-01-03.gz', false],
    ['raw/log_type=unknown/dt=2025-01-03/hour=10/eks-logs-1-2025-01-03-10-00-00-abc.gz.json', false],
    ['raw/log_type=authenticator/dt=2025-01-03/hour=10/manual-upload.json', false],
    ['raw/processing-failed/2025/01/03/x.gz', false],
    ['raw/log_type=authenticator/dt=2025-01-03/x.gz', false],
  ])('matches %s: %s', (key, ok) => {
    expect(RAW_KEY.test(key)).toBe(ok);
  });
});
