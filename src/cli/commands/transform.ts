import { readFileSync, writeFileSync } from 'node:fs';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { Command } from 'commander';
import { DEFAULT_RESPONSE_BUDGET_BYTES, readTransformConfig } from '../../../functions/shared/config.ts';
import { ENV } from '../../../functions/shared/env.ts';
import { createMemoryLog } from '../../../functions/shared/logger.ts';
import { createMemoryMetrics } from '../../../functions/shared/metrics.ts';
import { makeHandler } from '../../../functions/transform.ts';
import { RecordingReingester } from '../../adapters/local/recording-reingester.ts';

export interface LocalTransformOptions {
  readonly region: string;
  readonly allowedAccounts?: string;
  readonly responseBudgetBytes?: number;
}

/** Runs one Firehose event through the real handler with local stand-ins (re-ingest is recorded). */
export async function runLocalTransform(
  event: FirehoseTransformationEvent,
  options: LocalTransformOptions,
): Promise<{
  response: FirehoseTransformationResult;
  reingested: Uint8Array[];
  summary: Record<string, unknown>;
}> {
  const config = readTransformConfig({
    [ENV.REGION]: options.region,
    [ENV.ALLOWED_ACCOUNTS]: options.allowedAccounts ?? '',
    [ENV.DELIVERY_STREAM_NAME]: 'local',
    [ENV.TRANSFORM_RESPONSE_BUDGET_BYTES]: options.responseBudgetBytes
      ? String(options.responseBudgetBytes)
      : undefined,
  });
  const reingester = new RecordingReingester();
  const log = createMemoryLog();
  const response = await makeHandler({ config, reingester, log, metrics: createMemoryMetrics() })(event);
  return { response, reingested: reingester.take(), summary: log.entries.at(-1)?.fields ?? {} };
}

/** `eks-log-lake transform FILE`: prints the Firehose response for a Firehose event. */
export function transformCommand(): Command {
  return new Command('transform')
    .description('print the Firehose response for a Firehose transformation event in FILE (- for stdin)')
    .argument('<file>', 'Firehose data-transformation event JSON, or - for stdin')
    .option('--region <region>', 'region written into every record', process.env.AWS_REGION || 'us-east-1')
    .option('--allowed-accounts <ids>', 'comma-separated source accounts to allow (empty: all)', '')
    .option(
      '--response-budget <bytes>',
      `response size to stay under, in bytes (default: ${DEFAULT_RESPONSE_BUDGET_BYTES}, under Lambda's 6 MB)`,
      (v) => Number(v),
    )
    .option('--reingest-out <file>', 'write the records that would be re-ingested to FILE, as a Firehose event JSON')
    .option('--quiet', 'do not print the summary line (counts and bytes) to stderr')
    .action(
      async (
        file: string,
        opts: {
          region: string;
          allowedAccounts: string;
          responseBudget?: number;
          reingestOut?: string;
          quiet?: boolean;
        },
      ) => {
        const text = readFileSync(file === '-' ? 0 : file, 'utf8');
        const event = JSON.parse(text) as FirehoseTransformationEvent;
        const { response, reingested, summary } = await runLocalTransform(event, {
          region: opts.region,
          allowedAccounts: opts.allowedAccounts,
          responseBudgetBytes: opts.responseBudget,
        });
        process.stdout.write(`${JSON.stringify(response)}\n`);
        if (opts.reingestOut) {
          const records = reingested.map((data, i) => ({
            recordId: `reingested-${i}`,
            approximateArrivalTimestamp: 0,
            data: Buffer.from(data).toString('base64'),
          }));
          writeFileSync(opts.reingestOut, `${JSON.stringify({ ...event, records })}\n`);
        }
        if (!opts.quiet)
          process.stderr.write(`${JSON.stringify({ ...summary, reingest_records: reingested.length })}\n`);
      },
    );
}
