import type { Catalog, Clock, QueryEngine } from '../ports.ts';
import type { AthenaSteps } from './workflow-tasks.ts';

export interface AthenaStepsDeps {
  readonly engine: QueryEngine;
  readonly catalog: Catalog;
  readonly clock: Clock;
  /** False locally: DuckDB reads raw/ by glob, so there are no raw-table partitions to register. */
  readonly registerRawPartitions: boolean;
}

/** The rollup table the workflow rebuilds for every touched hour. */
export const ROLLUP_TABLE = 'audit_hourly_summary';

/**
 * The Athena steps over a {@link QueryEngine} (Athena in AWS, DuckDB locally): `add-raw-partitions`
 * once per arrival hour, then `create-audit-hourly-summary` once per touched (account, cluster,
 * hour) into a fresh generation, then one catalog switch per batch of 100 under the fence.
 */
export function athenaStepsOver(deps: AthenaStepsDeps): AthenaSteps {
  return {
    async run({ planId, rawPartitions, touchedHours, fence }) {
      let statements = 0;
      const arrivalHours = new Set<string>();
      for (const p of rawPartitions) {
        const m = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/.exec(p);
        if (m) arrivalHours.add(`${m[1]}|${m[2]}`);
      }
      if (deps.registerRawPartitions) {
        for (const h of [...arrivalHours].sort()) {
          const [dt, hour] = h.split('|') as [string, string];
          await deps.engine.runNamed('add-raw-partitions', { dt, hour });
          statements++;
        }
      }
      // Athena refuses a non-empty UNLOAD target, so every attempt writes a new generation;
      // the catalog only ever points at a complete one and GC removes the rest.
      const attempt = deps.clock.now().getTime().toString(36);
      const switched: { values: readonly string[]; location: string }[] = [];
      for (const values of touchedHours) {
        const [account, cluster, dt, hour] = values as [string, string, string, string];
        const location = `curated/${ROLLUP_TABLE}/account=${account}/cluster=${cluster}/dt=${dt}/hour=${hour}/gen=${planId}-${attempt}/`;
        await deps.engine.runNamed('create-audit-hourly-summary', { planId, account, cluster, dt, hour, location });
        statements++;
        switched.push({ values, location });
      }
      for (let i = 0; i < switched.length; i += 100) {
        await fence();
        await deps.catalog.putPartitions(ROLLUP_TABLE, switched.slice(i, i + 100));
      }
      return {
        rawPartitions: deps.registerRawPartitions ? arrivalHours.size * 7 : 0,
        rollupPartitions: switched.length,
        statements,
      };
    },
  };
}
