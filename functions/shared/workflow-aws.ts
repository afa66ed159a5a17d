import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { GlueCatalog } from '../../src/adapters/aws/glue-catalog.ts';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { AthenaSteps, WorkflowDeps } from '../../src/pipeline/workflow-tasks.ts';
import { compactionStepsOver } from '../../src/pipeline/workflow-tasks.ts';
import { type Metrics, systemClock } from '../../src/ports.ts';
import { type EnvVars, requireEnv } from './config.ts';
import { ENV } from './env.ts';
import { createPowertoolsLog } from './logger.ts';
import { createEmfMetrics, METRICS_NAMESPACE } from './metrics.ts';
import { readWorkflowConfig } from './workflow-config.ts';

/** Builds the Athena steps for the function that runs them; the others never touch Athena. */
export type AthenaStepsFactory = (env: EnvVars, deps: Omit<WorkflowDeps, 'athena'>) => AthenaSteps;

const notWired = async (): Promise<never> => {
  throw new ConfigError('this function is not wired to run Athena steps');
};
const NO_ATHENA: AthenaSteps = { registerRawPartitions: notWired, buildRollup: notWired, switchRollups: notWired };

/** Lambda composition root of the workflow Task functions: S3 lake, Glue catalog, config, logger, EMF metrics. */
export function createAwsWorkflowDeps(
  env: EnvVars,
  service: string,
  athena?: AthenaStepsFactory,
): WorkflowDeps & { metrics: Metrics & { flush(): void } } {
  const config = readWorkflowConfig(env);
  const region = requireEnv(env, ENV.REGION);
  const bucket = requireEnv(env, ENV.LAKE_BUCKET);
  const store = new S3ObjectStore({ client: new S3Client({ region }), bucket });
  const catalog = new GlueCatalog({
    client: new GlueClient({ region }),
    database: requireEnv(env, ENV.GLUE_DATABASE),
    bucket,
  });
  const log = createPowertoolsLog(service);
  const metrics = createEmfMetrics(service, env[ENV.METRICS_NAMESPACE] || METRICS_NAMESPACE);
  const base = {
    store,
    clock: systemClock,
    config,
    log,
    metrics,
    // Compaction's QuarantinedObjects/QuarantinedRecords/PublishedPartitions go out through it too.
    compaction: compactionStepsOver({
      store,
      catalog,
      log,
      metrics,
      now: () => systemClock.now(),
      lateHorizonHours: config.lateHorizonHours,
    }),
  };
  return { ...base, athena: athena ? athena(env, base) : NO_ATHENA };
}

/**
 * A Lambda entry over `makeHandler`: AWS deps are built once, at the first (cold-start)
 * invocation, the event is the Task's `Payload`, and metrics are flushed after each invocation.
 */
export function workflowLambda<E, R>(
  service: string,
  makeHandler: (deps: WorkflowDeps) => (event: E) => Promise<R>,
  athena?: AthenaStepsFactory,
): (event: E) => Promise<R> {
  let wired: { run: (event: E) => Promise<R>; flush: () => void } | undefined;
  return async (event) => {
    if (!wired) {
      const deps = createAwsWorkflowDeps(process.env, service, athena);
      wired = { run: makeHandler(deps), flush: () => deps.metrics.flush() };
    }
    try {
      return await wired.run(event);
    } finally {
      wired.flush();
    }
  };
}
