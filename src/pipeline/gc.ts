import { parseCuratedKey } from '../core/compact/index.ts';
import { TABLES } from '../core/schema.ts';
import type { Catalog, Log, ObjectStore } from '../ports.ts';

export interface GcDeps {
  store: ObjectStore;
  catalog: Catalog;
  log: Log;
  now: () => Date;
}

export interface GcResult {
  /** Superseded or never-published generations removed. */
  generations: number;
  /** Plans whose staging area was removed. */
  stagingPlans: number;
  objects: number;
}

const DELETE_BATCH = 1000;

/**
 * Deletes generations the catalog no longer points at, and staging areas, once their newest
 * object is older than the grace period. Readers that planned a query against an old
 * location keep working until then; the current generation is never touched.
 */
export async function collectGarbage(deps: GcDeps, input: { graceHours: number }): Promise<GcResult> {
  const cutoff = deps.now().getTime() - input.graceHours * 3600_000;
  const res: GcResult = { generations: 0, stagingPlans: 0, objects: 0 };
  const doomed: string[] = [];
  const flush = async (force: boolean) => {
    if (doomed.length === 0 || (!force && doomed.length < DELETE_BATCH)) return;
    res.objects += doomed.length;
    await deps.store.delete(doomed.splice(0));
  };

  // Every curated table lives in generations, the Athena rollups included (a failed UNLOAD
  // leaves part files in a generation the catalog never points at).
  for (const { name: table } of TABLES) {
    const current = new Set((await deps.catalog.listPartitions(table)).map((p) => p.location));
    const groups = new Map<string, { keys: string[]; newest: number; partition: string }>();
    const currentNewest = new Map<string, number>(); // partition prefix → newest object of its current generation
    for await (const o of deps.store.list(`curated/${table}/`)) {
      const parsed = parseCuratedKey(o.key);
      if (!parsed?.generation) continue; // not ours: leave it
      const partition = parsed.prefix.slice(0, parsed.prefix.length - `gen=${parsed.generation}/`.length);
      const g = groups.get(parsed.prefix) ?? { keys: [], newest: 0, partition };
      g.keys.push(o.key);
      g.newest = Math.max(g.newest, o.lastModified.getTime());
      groups.set(parsed.prefix, g);
      if (current.has(parsed.prefix))
        currentNewest.set(partition, Math.max(currentNewest.get(partition) ?? 0, g.newest));
    }
    for (const [prefix, g] of groups) {
      if (current.has(prefix) || g.newest >= cutoff) continue;
      // The grace runs from the switch away from this generation, which is no earlier than
      // the writing of the generation that replaced it.
      if ((currentNewest.get(g.partition) ?? 0) >= cutoff) continue;
      res.generations++;
      doomed.push(...g.keys);
      await flush(false);
    }
  }

  const plans = new Map<string, { keys: string[]; newest: number }>();
  for await (const o of deps.store.list('control/staging/')) {
    const plan = o.key.split('/')[2];
    if (!plan) continue;
    const g = plans.get(plan) ?? { keys: [], newest: 0 };
    g.keys.push(o.key);
    g.newest = Math.max(g.newest, o.lastModified.getTime());
    plans.set(plan, g);
  }
  for (const g of plans.values()) {
    if (g.newest >= cutoff) continue;
    res.stagingPlans++;
    doomed.push(...g.keys);
    await flush(false);
  }
  await flush(true);
  deps.log.info('garbage collected', { ...res, graceHours: input.graceHours });
  return res;
}

/** Removes one plan's staging area right away (after its partitions are published). */
export async function deleteStaging(deps: Pick<GcDeps, 'store'>, input: { planId: string }): Promise<number> {
  const keys: string[] = [];
  for await (const o of deps.store.list(`control/staging/${input.planId}/`)) keys.push(o.key);
  for (let i = 0; i < keys.length; i += DELETE_BATCH) await deps.store.delete(keys.slice(i, i + DELETE_BATCH));
  return keys.length;
}
