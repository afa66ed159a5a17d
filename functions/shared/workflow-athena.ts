import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { AthenaQueryEngine } from '../../src/adapters/aws/athena-query-engine.ts';
import { GlueCatalog } from '../../src/adapters/aws/glue-catalog.ts';
import { athenaStepsOver } from '../../src/pipeline/workflow-athena.ts';
import type { AthenaSteps, WorkflowDeps } from '../../src/pipeline/workflow-tasks.ts';
import { type EnvVars, requireEnv } from './config.ts';
import { ENV } from './env.ts';

/** Athena steps for the RunAthenaSteps function: Athena in the configured workgroup, Glue catalog. */
export function athenaStepsFor(env: EnvVars, deps: Omit<WorkflowDeps, 'athena'>): AthenaSteps {
  const region = requireEnv(env, ENV.REGION);
  const bucket = requireEnv(env, ENV.LAKE_BUCKET);
  const database = requireEnv(env, ENV.GLUE_DATABASE);
  return athenaStepsOver({
    engine: new AthenaQueryEngine({
      client: new AthenaClient({ region }),
      workGroup: requireEnv(env, ENV.ATHENA_WORKGROUP),
      database,
      lakeRoot: `s3://${bucket}/`,
    }),
    catalog: new GlueCatalog({ client: new GlueClient({ region }), database, bucket }),
    registerRawPartitions: true,
    store: deps.store,
    clock: deps.clock,
  });
}
