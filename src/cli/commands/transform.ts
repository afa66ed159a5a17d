import { readFileSync, writeFileSync } from 'node:fs';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { Command } from 'commander';
import { DEFAULT_RESPONSE_BUDGET_BYTES, readAccountList } from '../../../functions/shared/config.ts';
import { runLocalTransform } from '../../adapters/local/local-firehose.ts';

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
          allowedAccounts: readAccountList({ '--allowed-accounts': opts.allowedAccounts }, '--allowed-accounts'),
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
