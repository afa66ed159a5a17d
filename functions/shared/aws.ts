import { FirehoseClient } from '@aws-sdk/client-firehose';
import { FirehoseRecordReingester } from '../../src/adapters/aws/firehose-reingester.ts';
import type { Log, Metrics, RecordReingester } from '../../src/ports.ts';
import { type EnvVars, readTransformConfig, type TransformConfig } from './config.ts';
import { ENV } from './env.ts';
import { createPowertoolsLog } from './logger.ts';
import { createEmfMetrics, METRICS_NAMESPACE } from './metrics.ts';

/** Lambda composition root for the transform: config, Firehose re-ingester, logger, EMF metrics. */
export function createAwsTransformDeps(env: EnvVars): {
  config: TransformConfig;
  reingester: RecordReingester;
  log: Log;
  metrics: Metrics & { flush(): void };
} {
  const config = readTransformConfig(env);
  const firehose = new FirehoseClient({ region: config.region });
  return {
    config,
    reingester: new FirehoseRecordReingester(firehose, config.deliveryStreamName),
    log: createPowertoolsLog('transform'),
    metrics: createEmfMetrics('transform', env[ENV.METRICS_NAMESPACE] || METRICS_NAMESPACE),
  };
}
