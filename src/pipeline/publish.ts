import type { CompactedTable } from '../core/compact/index.ts';
import { type RetiredGeneration, type RetiredRecord, retiredRecordKey } from '../core/compact/retired.ts';
import { CommitConflictError } from '../core/errors.ts';
import type { CatalogPartition } from '../ports.ts';
import type { CompactionDeps, MergeResult } from './compact.ts';

/** What phase 3 did. */
export interface PublishResult {
  planId: string;
  /** Partitions whose catalog location was written (new generations). */
  published: number;
  /** Partitions with nothing new (location unchanged), or already switched by an earlier attempt. */
  unchanged: number;
  catalogCalls: number;
}

/** Partitions per catalog call; Glue's BatchCreatePartition/BatchUpdatePartition take 100. */
const CATALOG_CHUNK = 100;

/**
 * Phase 3: points each merged partition's catalog location at its new generation. `fence`
 * is called right before every catalog write and must throw if the caller's lease is lost,
 * so a stalled run can never publish over a newer one. The generations a write moves away
 * from are recorded for GC first (`store` is needed only when a write retires one).
 */
export async function publishPartitions(
  deps: Pick<CompactionDeps, 'catalog' | 'log' | 'metrics'> & Partial<Pick<CompactionDeps, 'store' | 'now'>>,
  input: { planId: string; merged: MergeResult[]; fence: () => Promise<void> },
): Promise<PublishResult> {
  const byTable = new Map<CompactedTable, MergeResult[]>();
  let unchanged = 0;
  for (const m of input.merged) {
    if (!m.changed || m.location === null) {
      unchanged++;
      continue;
    }
    const list = byTable.get(m.table) ?? [];
    list.push(m);
    byTable.set(m.table, list);
  }
  let published = 0;
  let catalogCalls = 0;
  for (const [table, merged] of [...byTable.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (let i = 0; i < merged.length; i += CATALOG_CHUNK) {
      const chunk: CatalogPartition[] = [];
      const retired: RetiredGeneration[] = [];
      for (const m of merged.slice(i, i + CATALOG_CHUNK)) {
        // A generation holds its base's rows plus the plan's; switching from any other
        // location would drop rows another run published meanwhile.
        const current = (await deps.catalog.getPartition(table, m.values))?.location ?? null;
        if (current === m.location) {
          unchanged++;
          continue;
        }
        if (current !== (m.baseLocation ?? null)) {
          throw new CommitConflictError(
            `${table} ${m.values.join('/')} moved to ${current} after the merge from ${m.baseLocation}; merge again`,
          );
        }
        chunk.push({ values: m.values, location: m.location! });
        if (current !== null) retired.push({ values: m.values, location: current, replacedBy: m.location! });
      }
      if (chunk.length === 0) continue;
      if (retired.length > 0) await recordRetired(deps, { planId: input.planId, table, generations: retired });
      await input.fence();
      await deps.catalog.putPartitions(table, chunk);
      catalogCalls++;
      published += chunk.length;
    }
  }
  deps.metrics?.count('PublishedPartitions', published);
  deps.log.info('published partitions', { planId: input.planId, published, unchanged });
  return { planId: input.planId, published, unchanged, catalogCalls };
}

/**
 * Records generations a catalog write is about to move away from, for GC; call it right before
 * the write. A crash between the two leaves a record GC drops once it sees the old generation
 * still current; a record written after the switch could be lost and leak the old generation.
 */
export async function recordRetired(
  deps: Partial<Pick<CompactionDeps, 'store' | 'now'>>,
  input: { planId: string; table: string; generations: RetiredGeneration[] },
): Promise<void> {
  if (!deps.store) throw new Error('publishing over an existing generation needs a store to record it for GC');
  const record: RetiredRecord = {
    planId: input.planId,
    table: input.table,
    retiredAt: (deps.now?.() ?? new Date(0)).toISOString(),
    generations: input.generations,
  };
  await deps.store.put(retiredRecordKey(input.planId, input.table, input.generations), JSON.stringify(record), {
    contentType: 'application/json',
  });
}
