import { LeaseHeldError, LeaseLostError, PreconditionFailedError, RetryableError } from '../core/errors.ts';
import type { Clock, ObjectStore } from '../ports.ts';

/** The one lease object every compaction run (scheduled, backfill, redrive) must hold. */
export const LEASE_KEY = 'control/leases/compaction.json';

/** What a holder carries from state to state: who it is and its fencing token. */
export interface LeaseGrant {
  readonly holder: string;
  /** Monotonic: every change of holder increments it, so an old holder's token never matches again. */
  readonly token: number;
}

/** The stored lease record. */
export interface LeaseRecord extends LeaseGrant {
  readonly acquiredAt: string;
  readonly expiresAt: string;
  readonly released: boolean;
  /** The child execution acting for `holder` (its parent backfill); absent when the holder acts itself. */
  readonly execution?: string;
  /** Start of the range that child works on: children run one at a time, oldest range first. */
  readonly childFrom?: string;
}

/**
 * Which execution asks for the lease. A backfill child asks under its parent's name (`holder`)
 * with its own `execution` name and the start of its range (`childFrom`).
 */
export interface LeaseClaim {
  readonly execution: string;
  readonly childFrom?: string;
}

export interface LeaseDeps {
  readonly store: ObjectStore;
  readonly clock: Clock;
  /** How long a grant lasts without a renewal, in milliseconds. */
  readonly ttlMs: number;
}

const MAX_RACES = 5;

async function readLease(store: ObjectStore): Promise<{ record: LeaseRecord; etag: string } | undefined> {
  const got = await store.get(LEASE_KEY);
  if (!got) return undefined;
  return { record: JSON.parse(Buffer.from(got.body).toString('utf8')) as LeaseRecord, etag: got.etag };
}

function write(store: ObjectStore, record: LeaseRecord, cond: { ifMatch: string } | { ifNoneMatch: '*' }) {
  return store.put(LEASE_KEY, `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json', ...cond });
}

/**
 * Takes the lease for `holder`. Free (absent, released or expired) ⇒ taken with token + 1;
 * already held by the same execution and not released (a redrive) ⇒ extended, token kept;
 * held for the same holder by an earlier child of the same backfill ⇒ taken over with token + 1
 * (that child has ended: the parent starts the next one only then, and a new token fences it out
 * if not); anything else live ⇒ LeaseHeldError. Conditional writes make a race lose with 412.
 */
export async function acquireLease(deps: LeaseDeps, holder: string, claim?: LeaseClaim): Promise<LeaseGrant> {
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + deps.ttlMs).toISOString();
  const execution = claim?.execution ?? holder;
  const child = execution === holder ? {} : { execution, ...(claim?.childFrom ? { childFrom: claim.childFrom } : {}) };
  const current = await readLease(deps.store);
  try {
    if (!current) {
      const record: LeaseRecord = {
        holder,
        token: 1,
        acquiredAt: now.toISOString(),
        expiresAt,
        released: false,
        ...child,
      };
      await write(deps.store, record, { ifNoneMatch: '*' });
      return { holder, token: 1 };
    }
    const c = current.record;
    const acting = c.execution ?? c.holder;
    const free = c.released || Date.parse(c.expiresAt) <= now.getTime();
    const ours = c.holder === holder && !c.released;
    const mineStill = ours && acting === execution;
    if (!mineStill && !free && !(ours && isLaterChild(c, execution, claim?.childFrom))) {
      const who = acting === c.holder ? c.holder : `${c.holder} for execution ${acting}`;
      throw new LeaseHeldError(`lease held by ${who} (token ${c.token}) until ${c.expiresAt}`);
    }
    const token = mineStill ? c.token : c.token + 1;
    const acquiredAt = mineStill ? c.acquiredAt : now.toISOString();
    await write(
      deps.store,
      { holder, token, acquiredAt, expiresAt, released: false, ...child },
      { ifMatch: current.etag },
    );
    return { holder, token };
  } catch (err) {
    if (err instanceof PreconditionFailedError) throw new LeaseHeldError(`lost the race for the lease to another run`);
    throw err;
  }
}

/**
 * Whether a different execution asking under the same holder is the parent's next child (or its
 * retry of the same range): both are children and its range starts no earlier. An execution
 * started from a pasted copy of an earlier child's input, or the holder's own, is not.
 */
function isLaterChild(c: LeaseRecord, execution: string, childFrom: string | undefined): boolean {
  if (execution === c.holder || c.execution === undefined || c.childFrom === undefined || childFrom === undefined) {
    return false;
  }
  return Date.parse(childFrom) >= Date.parse(c.childFrom);
}

/**
 * Proves `grant` still holds the lease and extends it once half of it has run out; call right before anything others
 * must not see twice (publishing, catalog switches, ledger). Throws LeaseLostError when
 * another holder took over (token changed) or the lease was released. An expired lease that
 * nobody took over is still ours: no one else can have published in between.
 */
export async function fenceLease(deps: LeaseDeps, grant: LeaseGrant): Promise<void> {
  for (let attempt = 0; attempt < MAX_RACES; attempt++) {
    const current = await readLease(deps.store);
    const c = current?.record;
    if (!current || !c || c.token !== grant.token || c.holder !== grant.holder || c.released) {
      throw new LeaseLostError(
        `lease of ${grant.holder} (token ${grant.token}) was lost: now ${c ? `${c.holder} token ${c.token}${c.released ? ' released' : ''}` : 'absent'}`,
      );
    }
    const nowMs = deps.clock.now().getTime();
    // Renew only in the second half of the grant: dozens of Map items fence at once, and most of
    // them then only read, instead of racing each other with conditional writes.
    if (Date.parse(c.expiresAt) - nowMs > deps.ttlMs / 2) return;
    const expiresAt = new Date(nowMs + deps.ttlMs).toISOString();
    try {
      await write(deps.store, { ...c, expiresAt }, { ifMatch: current.etag });
      return;
    } catch (err) {
      // Parallel Map items renew the same lease; a 412 means another renewal won, so look again.
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  throw new LeaseLostError(`lease of ${grant.holder} kept changing under ${MAX_RACES} renewals`);
}

/** What a release found: the lease given back (now or before), or held by a later grant. */
export type ReleaseOutcome = { readonly released: true } | { readonly released: false; readonly heldBy: LeaseGrant };

/**
 * Releases the lease if `grant` still holds it. A later grant holding it is not a failure: it is
 * theirs to give back. Anything else that leaves the lease held throws: a missing record
 * (LeaseLostError; nothing but an operator deletes it) or a record that keeps changing under the
 * conditional write (RetryableError), so a run never ends as if it had released the lease.
 */
export async function releaseLease(deps: LeaseDeps, grant: LeaseGrant): Promise<ReleaseOutcome> {
  for (let attempt = 0; attempt < MAX_RACES; attempt++) {
    const current = await readLease(deps.store);
    const c = current?.record;
    if (!current || !c) {
      throw new LeaseLostError(`cannot release: the lease record ${LEASE_KEY} of ${grant.holder} is missing`);
    }
    if (c.token !== grant.token || c.holder !== grant.holder) {
      return { released: false, heldBy: { holder: c.holder, token: c.token } };
    }
    if (c.released) return { released: true };
    try {
      await write(
        deps.store,
        { ...c, released: true, expiresAt: deps.clock.now().toISOString() },
        { ifMatch: current.etag },
      );
      return { released: true };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  throw new RetryableError(`lease of ${grant.holder} (token ${grant.token}) kept changing while releasing`);
}

/** The current lease record, for status displays and tests. */
export async function readLeaseRecord(store: ObjectStore): Promise<LeaseRecord | undefined> {
  return (await readLease(store))?.record;
}

/** The lease as the next run sees it: free when absent, released or expired (as acquireLease decides). */
export type LeaseState = 'absent' | 'live' | 'expired' | 'released';

/** A lease record read at `now`, for operators. */
export interface LeaseStatus {
  readonly state: LeaseState;
  readonly record?: LeaseRecord;
  /** Milliseconds until another run may take it: 0 when free; a running holder's renewals push it back. */
  readonly freesInMs: number;
  /** The token a run taking the lease from someone else gets next. */
  readonly nextToken: number;
}

/** What `record` means at `now`; `released` wins over `expired` when both hold. */
export function describeLease(record: LeaseRecord | undefined, now: Date): LeaseStatus {
  if (!record) return { state: 'absent', freesInMs: 0, nextToken: 1 };
  const left = Date.parse(record.expiresAt) - now.getTime();
  const state: LeaseState = record.released ? 'released' : left <= 0 ? 'expired' : 'live';
  return { state, record, freesInMs: state === 'live' ? left : 0, nextToken: record.token + 1 };
}

/** The lease record with the ETag it was read at, so a later write can be conditional on what was checked. */
export async function readLeaseEntry(store: ObjectStore): Promise<{ record: LeaseRecord; etag: string } | undefined> {
  return readLease(store);
}

/** What an operator's release found; `record` is the lease as last read. */
export type HolderReleaseOutcome =
  | { readonly outcome: 'released'; readonly record: LeaseRecord }
  | { readonly outcome: 'already-released'; readonly record: LeaseRecord }
  | { readonly outcome: 'not-holder'; readonly record: LeaseRecord | undefined }
  | { readonly outcome: 'changed'; readonly record: LeaseRecord | undefined };

/**
 * Marks the lease released for `holder` (an execution name), keeping its token so the next
 * grant is token + 1 and fencing stays monotonic. Writes only if `holder` still holds it and,
 * given `etag`, only if the record is unchanged since it was checked (else `changed`, no retry).
 */
export async function releaseHeldLease(
  deps: { readonly store: ObjectStore; readonly clock: Clock },
  holder: string,
  etag?: string,
): Promise<HolderReleaseOutcome> {
  const current = await readLease(deps.store);
  if (!current || current.record.holder !== holder) return { outcome: 'not-holder', record: current?.record };
  const c = current.record;
  if (c.released) return { outcome: 'already-released', record: c };
  if (etag !== undefined && current.etag !== etag) return { outcome: 'changed', record: c };
  const record: LeaseRecord = { ...c, released: true, expiresAt: deps.clock.now().toISOString() };
  try {
    await write(deps.store, record, { ifMatch: current.etag });
    return { outcome: 'released', record };
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    return { outcome: 'changed', record: (await readLease(deps.store))?.record };
  }
}
