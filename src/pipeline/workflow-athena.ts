import type { RetiredGeneration } from '../core/compact/retired.ts';
import type { Catalog, Clock, ObjectStore, QueryEngine } from '../ports.ts';
import { recordRetired } from './publish.ts';
import type { AthenaSteps } from './workflow-tasks.ts';

export interface AthenaStepsDeps {
  readonly engine: QueryEngine;
  readonly catalog: Catalog;
  /** False locally: DuckDB reads raw/ by glob, so there are no raw-table partitions to register. */
  readonly registerRawPartitions: boolean;
  /** Where the rollup switch records the generations it retires, for GC; its clock stamps them. */
  readonly store: ObjectStore;
  readonly clock: Clock;
}

/** The rollup table the workflow rebuilds for every touched hour. */
export const ROLLUP_TABLE = 'audit_hourly_summary';

/**
 * The Athena steps over a {@link QueryEngine} (Athena in AWS, DuckDB locally): `add-raw-partitions`
 * per arrival hour, `create-audit-hourly-summary` per touched (account, cluster, hour) into its
 * own generation, and the catalog switch of built rollups (the caller fences and batches by 100).
 */
export function athenaStepsOver(deps: AthenaStepsDeps): AthenaSteps {
  return {
    async registerRawPartitions(arrivalHours) {
      if (!deps.registerRawPartitions) return 0;
      for (const { dt, hour } of arrivalHours) await deps.engine.runNamed('add-raw-partitions', { dt, hour });
      return arrivalHours.length;
    },
    async buildRollup({ planId, generation, values }) {
      const [account, cluster, dt, hour] = values as [string, string, string, string];
      const location = `curated/${ROLLUP_TABLE}/account=${account}/cluster=${cluster}/dt=${dt}/hour=${hour}/gen=${generation}/`;
      await deps.engine.runNamed('create-audit-hourly-summary', { planId, account, cluster, dt, hour, location });
      return { values, location };
    },
    async switchRollups(partitions, planId) {
      // As for compacted tables: name what the switch moves away from, before it, so GC can
      // collect it one grace period later without a full sweep.
      const retired: RetiredGeneration[] = [];
      for (const p of partitions) {
        const current = (await deps.catalog.getPartition(ROLLUP_TABLE, p.values))?.location;
        if (current && current !== p.location)
          retired.push({ values: p.values, location: current, replacedBy: p.location });
      }
      if (retired.length > 0) {
        await recordRetired(
          { store: deps.store, now: () => deps.clock.now() },
          { planId, table: ROLLUP_TABLE, generations: retired },
        );
      }
      await deps.catalog.putPartitions(ROLLUP_TABLE, partitions);
    },
  };
}
