import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { LeaseHeldError } from '../../src/core/errors.ts';
import {
  acquireLease,
  describeLease,
  fenceLease,
  LEASE_KEY,
  type LeaseRecord,
  readLeaseEntry,
  readLeaseRecord,
  releaseHeldLease,
} from '../../src/pipeline/lease.ts';

const TTL_MS = 30 * 60 * 1000;
const T0 = Date.parse('2026-11-27T08:00:00.000Z');

function clockAt(ms: number) {
  return { now: () => new Date(ms) };
}

function record(over: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    holder: 'a3c9e1f2-2f43-4c55-9b0e-6d1f8e2a7b10',
    token: 7,
    acquiredAt: '2026-11-27T07:50:00.000Z',
    expiresAt: '2026-11-27T08:20:00.000Z',
    released: false,
    ...over,
  };
}

async function storeWith(r: LeaseRecord | undefined): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  if (r) await store.put(LEASE_KEY, `${JSON.stringify(r, null, 2)}\n`, { contentType: 'application/json' });
  return store;
}

describe('describeLease', () => {
  it.each([
    ['absent when there is no record', undefined, { state: 'absent', freesInMs: 0, nextToken: 1 }],
    ['live before expiresAt', record(), { state: 'live', freesInMs: 20 * 60 * 1000, nextToken: 8 }],
    [
      'expired exactly at expiresAt',
      record({ expiresAt: '2026-11-27T08:00:00.000Z' }),
      { state: 'expired', freesInMs: 0, nextToken: 8 },
    ],
    ['released even before expiresAt', record({ released: true }), { state: 'released', freesInMs: 0, nextToken: 8 }],
    [
      'released rather than expired when both hold',
      record({ released: true, expiresAt: '2026-11-27T07:55:00.000Z' }),
      { state: 'released', freesInMs: 0, nextToken: 8 },
    ],
  ])('reports %s', (_name, r, expected) => {
    expect(describeLease(r, new Date(T0))).toMatchObject(expected);
  });

  // The status an operator is shown must be what the next run finds: free ⇔ another holder gets it, with nextToken.
  it('calls a lease free exactly when another holder can take it, and predicts the token it gets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(
          fc.record({
            token: fc.integer({ min: 1, max: 1_000_000 }),
            expiresOffsetMs: fc.integer({ min: -3 * TTL_MS, max: 3 * TTL_MS }),
            released: fc.boolean(),
          }),
          { nil: undefined },
        ),
        async (shape) => {
          const r = shape
            ? record({
                token: shape.token,
                expiresAt: new Date(T0 + shape.expiresOffsetMs).toISOString(),
                released: shape.released,
              })
            : undefined;
          const status = describeLease(r, new Date(T0));
          const store = await storeWith(r);
          const taken = await acquireLease({ store, clock: clockAt(T0), ttlMs: TTL_MS }, 'next-run').then(
            (g) => g,
            (err: unknown) => {
              expect(err).toBeInstanceOf(LeaseHeldError);
              return undefined;
            },
          );
          expect(taken !== undefined).toBe(status.state !== 'live');
          if (taken) expect(taken.token).toBe(status.nextToken);
          else expect(status.freesInMs).toBe(Date.parse(r!.expiresAt) - T0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('releaseHeldLease', () => {
  it('marks the holder’s lease released with its token kept, so the next grant is token + 1', async () => {
    const r = record();
    const store = await storeWith(r);
    const entry = await readLeaseEntry(store);
    expect(await releaseHeldLease({ store, clock: clockAt(T0) }, r.holder, entry!.etag)).toEqual({
      outcome: 'released',
      record: { ...r, released: true, expiresAt: '2026-11-27T08:00:00.000Z' },
    });
    expect(await readLeaseRecord(store)).toEqual({ ...r, released: true, expiresAt: '2026-11-27T08:00:00.000Z' });
    const next = await acquireLease({ store, clock: clockAt(T0 + 1000), ttlMs: TTL_MS }, 'scheduled-run');
    expect(next).toEqual({ holder: 'scheduled-run', token: 8 });
  });

  it('fences out the released holder: its grant no longer passes', async () => {
    const r = record();
    const store = await storeWith(r);
    await releaseHeldLease({ store, clock: clockAt(T0) }, r.holder);
    await expect(
      fenceLease({ store, clock: clockAt(T0), ttlMs: TTL_MS }, { holder: r.holder, token: r.token }),
    ).rejects.toThrow(/was lost: now .* token 7 released/);
  });

  it.each([
    ['another holder', record({ holder: 'b7e0d4c2-91aa-4e0f-8c1d-2a3b4c5d6e7f' }), 'not-holder'],
    ['another holder’s released lease', record({ holder: 'b7e0d4c2', released: true }), 'not-holder'],
    ['the holder’s lease already released', record({ released: true }), 'already-released'],
  ])('leaves %s as it was', async (_name, r, outcome) => {
    const store = await storeWith(r);
    const before = await store.get(LEASE_KEY);
    const done = await releaseHeldLease({ store, clock: clockAt(T0) }, record().holder);
    expect(done).toEqual({ outcome, record: r });
    expect((await store.get(LEASE_KEY))!.etag).toBe(before!.etag);
  });

  it('finds nothing to release when there is no lease record, and writes none', async () => {
    const store = await storeWith(undefined);
    expect(await releaseHeldLease({ store, clock: clockAt(T0) }, 'x')).toEqual({
      outcome: 'not-holder',
      record: undefined,
    });
    expect(await store.get(LEASE_KEY)).toBeUndefined();
  });

  it('writes nothing when the record changed since the ETag it was checked at (a renewal or redrive meanwhile)', async () => {
    const r = record();
    const store = await storeWith(r);
    const checked = await readLeaseEntry(store);
    // The same execution redriven meanwhile: acquireLease extends its own lease, token kept.
    await acquireLease({ store, clock: clockAt(T0 + 5000), ttlMs: TTL_MS }, r.holder);
    const renewed = await readLeaseRecord(store);
    const done = await releaseHeldLease({ store, clock: clockAt(T0 + 6000) }, r.holder, checked!.etag);
    expect(done).toEqual({ outcome: 'changed', record: renewed });
    expect(await readLeaseRecord(store)).toEqual(renewed);
    expect(renewed).toMatchObject({ released: false, token: 7 });
  });
});
