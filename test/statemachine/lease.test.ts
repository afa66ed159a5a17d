import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { LeaseHeldError, LeaseLostError, PreconditionFailedError, RetryableError } from '../../src/core/errors.ts';
import {
  acquireLease,
  fenceLease,
  LEASE_KEY,
  type LeaseClaim,
  type LeaseDeps,
  type LeaseGrant,
  readLeaseRecord,
  releaseLease,
} from '../../src/pipeline/lease.ts';
import { FaultyObjectStore } from '../helpers/faults.ts';
import { makeTestLake, TestClock, type TestLake } from './helpers/test-lake.ts';

const TTL_MS = 15 * 60 * 1000;
let lake: TestLake;
afterEach(() => lake?.cleanup());

function deps(): LeaseDeps {
  return { store: lake.store, clock: lake.clock, ttlMs: TTL_MS };
}

describe('compaction lease', () => {
  it('creates the lease with token 1 when none exists and records holder and expiry', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    expect(await acquireLease(deps(), 'exec-a')).toEqual({ holder: 'exec-a', token: 1 });
    expect(await readLeaseRecord(lake.store)).toEqual({
      holder: 'exec-a',
      token: 1,
      acquiredAt: '2025-01-03T10:20:00.000Z',
      expiresAt: '2025-01-03T10:35:00.000Z',
      released: false,
    });
  });

  // F6: schedule and backfill start at the same moment; conditional writes let exactly one win.
  it('grants the lease to exactly one of many concurrent acquirers (F6)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const results = await Promise.allSettled(
      ['sched-1', 'backfill-1', 'sched-2', 'redrive-1', 'sched-3'].map((h) => acquireLease(deps(), h)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LeaseHeldError);
    expect((await readLeaseRecord(lake.store))?.holder).toBe(
      (won[0] as PromiseFulfilledResult<{ holder: string }>).value.holder,
    );
  });

  it('refuses a live lease to another holder and names the holder and expiry', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await acquireLease(deps(), 'exec-a');
    lake.clock.advance(TTL_MS - 1);
    await expect(acquireLease(deps(), 'exec-b')).rejects.toThrow(
      /held by exec-a \(token 1\) until 2025-01-03T10:35:00.000Z/,
    );
  });

  // F7: the holder stalls past expiry, another run takes over, the first resumes and must not publish.
  it('fences out a stalled holder once another run took the expired lease (F7)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    lake.clock.advance(TTL_MS + 1);
    const b = await acquireLease(deps(), 'exec-b');
    expect(b.token).toBe(2);
    await expect(fenceLease(deps(), a)).rejects.toThrow(LeaseLostError);
    // The stalled holder's release finds the later grant and leaves it alone.
    expect(await releaseLease(deps(), a)).toEqual({ released: false, heldBy: { holder: 'exec-b', token: 2 } });
    await fenceLease(deps(), b);
    expect((await readLeaseRecord(lake.store))?.holder).toBe('exec-b');
  });

  it('lets an expired holder go on when nobody took over: nobody else can have published', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    lake.clock.advance(2 * TTL_MS);
    await fenceLease(deps(), a);
    expect((await readLeaseRecord(lake.store))?.expiresAt).toBe('2025-01-03T11:05:00.000Z');
  });

  it('gives a redriven execution (same name) its own lease back with the same token', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const first = await acquireLease(deps(), 'exec-a');
    lake.clock.advance(60_000);
    expect(await acquireLease(deps(), 'exec-a')).toEqual(first);
    await fenceLease(deps(), first);
  });

  it('hands out a higher token after a release, and a released grant cannot publish', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    await releaseLease(deps(), a);
    await releaseLease(deps(), a); // a repeat is harmless
    await expect(fenceLease(deps(), a)).rejects.toThrow(LeaseLostError);
    expect(await acquireLease(deps(), 'exec-b')).toEqual({ holder: 'exec-b', token: 2 });
  });

  it('fails a release loudly when the lease record is gone', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    await lake.store.delete([LEASE_KEY]);
    await expect(releaseLease(deps(), a)).rejects.toThrow(
      /lease record control\/leases\/compaction.json of exec-a is missing/,
    );
  });

  it('fails a release with a RetryableError when every conditional write loses, leaving nothing half-done', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const faulty = new FaultyObjectStore(lake.store);
    const d = { ...deps(), store: faulty };
    const a = await acquireLease(d, 'exec-a');
    faulty.failOn({
      op: 'put',
      match: LEASE_KEY,
      times: Number.POSITIVE_INFINITY,
      error: () => new PreconditionFailedError('412 Precondition Failed', LEASE_KEY),
    });
    await expect(releaseLease(d, a)).rejects.toThrow(RetryableError);
    expect(await readLeaseRecord(lake.store)).toMatchObject({ holder: 'exec-a', released: false });
  });

  it('survives many parallel renewals by the same holder (Map items fencing at once)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    await Promise.all(Array.from({ length: 4 }, () => fenceLease(deps(), a)));
    expect((await readLeaseRecord(lake.store))?.token).toBe(1);
  });
});

describe('the lease of a backfill child', () => {
  const DAY_1 = '2025-01-01T00:00:00.000Z';
  const DAY_2 = '2025-01-02T00:00:00.000Z';

  it('records which child acts for the parent, and gives a redrive of that child its token back', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'parent-1', { execution: 'child-a', childFrom: DAY_1 });
    expect(await readLeaseRecord(lake.store)).toMatchObject({
      holder: 'parent-1',
      token: 1,
      execution: 'child-a',
      childFrom: DAY_1,
    });
    lake.clock.advance(60_000);
    expect(await acquireLease(deps(), 'parent-1', { execution: 'child-a', childFrom: DAY_1 })).toEqual(a);
  });

  // The parent starts its next child, or its retry of a failed one, only after the previous one ended.
  it.each([
    ['the next child', DAY_2],
    ['the retry of the same range', DAY_1],
  ])(
    'lets %s take over a child that died holding it, with a new token that fences the old one out',
    async (_l, from) => {
      lake = makeTestLake('2025-01-03T10:20:00Z');
      const a = await acquireLease(deps(), 'parent-1', { execution: 'child-a', childFrom: DAY_1 });
      const b = await acquireLease(deps(), 'parent-1', { execution: 'child-b', childFrom: from });
      expect(b).toEqual({ holder: 'parent-1', token: 2 });
      await expect(fenceLease(deps(), a)).rejects.toThrow(LeaseLostError);
      await fenceLease(deps(), b);
      expect(await readLeaseRecord(lake.store)).toMatchObject({ execution: 'child-b', childFrom: from });
    },
  );

  it.each([
    ['a copy of an earlier child', { execution: 'operator-rerun', childFrom: DAY_1 }],
    ['an execution naming the parent without a range', { execution: 'operator-rerun' }],
    ['the parent itself', { execution: 'parent-1' }],
  ])('refuses %s while a child acts, before any work', async (_l, claim) => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const b = await acquireLease(deps(), 'parent-1', { execution: 'child-b', childFrom: DAY_2 });
    await expect(acquireLease(deps(), 'parent-1', claim)).rejects.toThrow(
      /held by parent-1 for execution child-b \(token 1\) until 2025-01-03T10:35:00.000Z/,
    );
    await fenceLease(deps(), b);
  });

  it('refuses a child claim on a lease its holder holds for itself (a scheduled run of that name)', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    await acquireLease(deps(), 'sched-a');
    await expect(acquireLease(deps(), 'sched-a', { execution: 'operator-rerun', childFrom: DAY_1 })).rejects.toThrow(
      LeaseHeldError,
    );
  });

  it('gives a released or expired child lease to the next claimant with a higher token', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'parent-1', { execution: 'child-a', childFrom: DAY_2 });
    await releaseLease(deps(), a);
    const sched = await acquireLease(deps(), 'sched-b');
    expect(sched.token).toBe(2);
    lake.clock.advance(TTL_MS + 1);
    expect(await acquireLease(deps(), 'parent-1', { execution: 'child-c', childFrom: DAY_1 })).toEqual({
      holder: 'parent-1',
      token: 3,
    });
  });
});

describe('lease exclusion', () => {
  const DAY_1 = '2025-01-01T00:00:00.000Z';
  const DAY_2 = '2025-01-02T00:00:00.000Z';
  /** Scheduled runs, a backfill's children (a retry among them), and a copy of a child's input run by hand. */
  const ACTORS: readonly { holder: string; claim: LeaseClaim }[] = [
    { holder: 'sched-a', claim: { execution: 'sched-a' } },
    { holder: 'sched-b', claim: { execution: 'sched-b' } },
    { holder: 'parent-1', claim: { execution: 'child-0', childFrom: DAY_1 } },
    { holder: 'parent-1', claim: { execution: 'child-1', childFrom: DAY_1 } },
    { holder: 'parent-1', claim: { execution: 'child-2', childFrom: DAY_2 } },
    { holder: 'parent-1', claim: { execution: 'operator-rerun', childFrom: DAY_1 } },
  ];
  const step = fc.oneof(
    fc.record({ op: fc.constant('acquire' as const), actor: fc.nat(ACTORS.length - 1) }),
    fc.record({ op: fc.constant('release' as const), actor: fc.nat(ACTORS.length - 1) }),
    fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: TTL_MS + 1 }) }),
  );

  it('never lets two executions pass the fence at once, whatever the claims, releases and time (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 24 }), async (steps) => {
        const clock = new TestClock(new Date('2025-01-03T10:20:00Z'));
        const d: LeaseDeps = { store: new MemoryObjectStore(() => clock.now()), clock, ttlMs: TTL_MS };
        const grants = new Map<number, LeaseGrant>();
        for (const s of steps) {
          if (s.op === 'advance') clock.advance(s.ms);
          else if (s.op === 'release') {
            const g = grants.get(s.actor);
            if (g) await releaseLease(d, g);
          } else {
            const a = ACTORS[s.actor]!;
            try {
              grants.set(s.actor, await acquireLease(d, a.holder, a.claim));
            } catch (err) {
              if (!(err instanceof LeaseHeldError)) throw err;
            }
          }
          const passing = new Set<string>();
          for (const [actor, g] of grants) {
            try {
              await fenceLease(d, g);
              passing.add(ACTORS[actor]!.claim.execution);
            } catch (err) {
              if (!(err instanceof LeaseLostError)) throw err;
            }
          }
          expect([...passing].length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('lease renewal', () => {
  it('only reads while more than half of the grant is left, and extends it after that', async () => {
    lake = makeTestLake('2025-01-03T10:20:00Z');
    const a = await acquireLease(deps(), 'exec-a');
    const etag = (await lake.store.head('control/leases/compaction.json'))?.etag;
    lake.clock.advance(TTL_MS / 2 - 1000);
    await fenceLease(deps(), a);
    expect((await lake.store.head('control/leases/compaction.json'))?.etag).toBe(etag);
    lake.clock.advance(2000);
    await Promise.all(Array.from({ length: 40 }, () => fenceLease(deps(), a)));
    expect((await readLeaseRecord(lake.store))?.expiresAt).toBe('2025-01-03T10:42:31.000Z');
  });
});
