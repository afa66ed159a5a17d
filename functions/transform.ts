import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import type { TransformInputRecord } from '../src/core/transform/index.ts';
import { planBatch, settleBatch, statsToMetrics } from '../src/core/transform/index.ts';
import type { Log, Metrics, RecordReingester } from '../src/ports.ts';
import { createAwsTransformDeps } from './shared/aws.ts';
import type { TransformConfig } from './shared/config.ts';

/** What the transform handler needs; the Lambda wires AWS, tests and the CLI wire local stand-ins. */
export interface TransformDeps {
  readonly config: TransformConfig;
  readonly reingester: RecordReingester;
  readonly log: Log;
  readonly metrics: Metrics;
  /** Monotonic milliseconds, for the duration in the summary line. */
  readonly elapsedMs?: () => number;
}

export type TransformHandler = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResult>;

const MAX_FAILED_IDS_LOGGED = 20;

/**
 * Firehose data-transformation handler for CloudWatch Logs subscription records: answers every
 * recordId once (Ok / Dropped / ProcessingFailed), keeps the response under the budget, and
 * never throws for bad data. Logs one summary line and emits the same figures as metrics.
 */
export function makeHandler(deps: TransformDeps): TransformHandler {
  const { config, reingester, log, metrics } = deps;
  const elapsedMs = deps.elapsedMs ?? (() => performance.now());
  return async (event) => {
    const started = elapsedMs();
    const records: readonly TransformInputRecord[] = Array.isArray(event?.records) ? event.records : [];
    const plan = planBatch(records, config);
    const reingestFailed = new Set<number>();
    for (const request of plan.reingest) {
      try {
        const { failed } = await reingester.reingest(request.chunks);
        if (failed > 0) reingestFailed.add(request.index);
      } catch {
        reingestFailed.add(request.index);
      }
    }
    const { records: answered, stats } = settleBatch(plan, reingestFailed);

    for (const [name, value] of Object.entries(statsToMetrics(stats))) metrics.count(name, value);
    const failedRecords: { recordId: string; reason: string }[] = [];
    for (let i = 0; i < plan.outcomes.length && failedRecords.length < MAX_FAILED_IDS_LOGGED; i++) {
      if (answered[i]!.result !== 'ProcessingFailed') continue;
      const o = plan.outcomes[i]!;
      const reason = reingestFailed.has(i) ? 'reingest_failed' : o.kind === 'failed' ? o.reason : 'unknown';
      failedRecords.push({ recordId: answered[i]!.recordId, reason });
    }
    log.info('transform batch', {
      invocationId: event?.invocationId,
      records: stats.records,
      records_ok: stats.recordsOk,
      records_dropped: stats.recordsDropped,
      records_failed: stats.recordsFailed,
      records_reingested: stats.recordsReingested,
      events_in: stats.eventsIn,
      events_out: stats.eventsOut,
      events_dropped: stats.eventsDropped,
      events_failed: stats.eventsFailed,
      events_reingested: stats.eventsReingested,
      records_non_eks_dropped: stats.recordsNonEksDropped,
      records_non_eks_quarantined: stats.recordsNonEksQuarantined,
      control_messages: stats.controlMessages,
      bytes_in: stats.bytesIn,
      bytes_out: stats.bytesOut,
      response_bytes: stats.responseBytes,
      duration_ms: Math.round((elapsedMs() - started) * 1000) / 1000,
      failures: stats.failures,
      failed_records: failedRecords,
    });
    return { records: answered as FirehoseTransformationResult['records'] };
  };
}

let wired: { run: TransformHandler; flush: () => void } | undefined;

/** Lambda entry: AWS deps (and config) are built once, at the first (cold-start) invocation. */
export const handler: TransformHandler = async (event) => {
  if (!wired) {
    const deps = createAwsTransformDeps(process.env);
    wired = { run: makeHandler(deps), flush: () => deps.metrics.flush() };
  }
  try {
    return await wired.run(event);
  } finally {
    wired.flush();
  }
};
