import type { Catalog, Clock, QueryEngine } from '../ports.ts';
import type { AthenaSteps } from './workflow-tasks.ts';

export interface AthenaStepsDeps {
  readonly engine: QueryEngine;
  readonly catalog: Catalog;
  /** False locally: DuckDB reads raw/ by glob, so there are no raw-table partitions to register. */
  readonly registerRawPartitions: boolean;
  /** Not needed any more (RunAthenaSteps names the generations); accepted so older callers compile. */
  readonly clock?: Clock;
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
    async switchRollups(partitions) {
      await deps.catalog.putPartitions(ROLLUP_TABLE, partitions);
    },
  };
}
