import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import {
  DEFAULT_MAX_DECODED_BYTES,
  DEFAULT_RESPONSE_BUDGET_BYTES,
  type TransformConfig,
} from '../../../functions/shared/config.ts';
import { createMemoryLog } from '../../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../../functions/shared/metrics.ts';
import { makeHandler } from '../../../functions/transform.ts';
import type { Log, Metrics, ObjectStore, RecordReingester } from '../../ports.ts';
import { type FirehoseProcessor, LocalFirehose, type LocalFirehoseOptions } from './firehose-delivery.ts';
import { RecordingReingester } from './recording-reingester.ts';

/** The delivery stream name the central stack gives Firehose, and so the local one. */
export const LOCAL_DELIVERY_STREAM_NAME = 'eks-log-lake-raw';

/** Settings of the real transform handler run locally; unset ones take the Lambda defaults. */
export interface LocalTransformOptions {
  /** Written into every raw record. */
  readonly region: string;
  /** Source accounts allowed through; empty or unset allows all. */
  readonly allowedAccounts?: readonly string[];
  readonly deliveryStreamName?: string;
  readonly responseBudgetBytes?: number;
  readonly maxDecodedBytes?: number;
  /** The handler's log and metrics; a fresh in-memory pair each when unset. */
  readonly log?: Log;
  readonly metrics?: Metrics;
}

/** Local composition root of the transform: the real handler, given the re-ingest port to use. */
export function localTransformProcessor(
  options: LocalTransformOptions,
): (reingester: RecordReingester) => FirehoseProcessor {
  const config: TransformConfig = {
    region: options.region,
    allowedAccounts: options.allowedAccounts ?? [],
    deliveryStreamName: options.deliveryStreamName ?? LOCAL_DELIVERY_STREAM_NAME,
    maxDecodedBytes: options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES,
    responseBudgetBytes: options.responseBudgetBytes ?? DEFAULT_RESPONSE_BUDGET_BYTES,
  };
  return (reingester) =>
    makeHandler({
      config,
      reingester,
      log: options.log ?? createMemoryLog(),
      metrics: options.metrics ?? createMemoryMetrics(),
    });
}

/**
 * A local Firehose delivery stream writing into `store`, whose processor is the real transform
 * handler and whose re-ingest port puts records back into the stream, as PutRecordBatch does.
 */
export function createLocalFirehose(
  options: LocalTransformOptions & { readonly store: ObjectStore } & Omit<
      LocalFirehoseOptions,
      'store' | 'processor' | 'region' | 'deliveryStreamName'
    >,
): LocalFirehose {
  const { allowedAccounts, responseBudgetBytes, maxDecodedBytes, log, metrics, ...stream } = options;
  return new LocalFirehose({
    ...stream,
    deliveryStreamName: options.deliveryStreamName ?? LOCAL_DELIVERY_STREAM_NAME,
    processor: localTransformProcessor(options),
  });
}

/**
 * One Firehose event through the real transform handler, outside any stream: what it answers,
 * the records it would re-ingest (recorded, not fed back) and its summary log line.
 */
export async function runLocalTransform(
  event: FirehoseTransformationEvent,
  options: Omit<LocalTransformOptions, 'log'>,
): Promise<{ response: FirehoseTransformationResult; reingested: Uint8Array[]; summary: Record<string, unknown> }> {
  const reingester = new RecordingReingester();
  const log = createMemoryLog();
  const response = await localTransformProcessor({ ...options, log })(reingester)(event);
  return { response, reingested: reingester.take(), summary: log.entries.at(-1)?.fields ?? {} };
}
