import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EksLogLakeConfig } from '../config.ts';
import { Ingestion } from '../constructs/ingestion.ts';
import { Storage } from '../constructs/storage.ts';

export interface CentralStackProps extends StackProps {
  readonly config: EksLogLakeConfig;
  /** Destroy buckets and key with the stack (throw-away deployments only). */
  readonly destroyOnRemoval?: boolean;
}

/** The central (log archive) account: key, buckets, ingestion, workflow, catalog, Splunk feed, monitoring. */
export class CentralStack extends Stack {
  readonly storage: Storage;
  readonly ingestion: Ingestion;

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    super(scope, id, props);
    // Access-log delivery by bucket policy (not ACLs), which BucketOwnerEnforced buckets require.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.storage = new Storage(this, 'Storage', {
      prefix: config.prefix,
      rawRetentionDays: config.rawRetentionDays,
      rawTransitionDays: config.rawTransitionDays,
      curatedRetentionDays: config.curatedRetentionDays,
      athenaResultsRetentionDays: config.athenaResultsRetentionDays,
      destroyOnRemoval: props.destroyOnRemoval,
    });
    this.ingestion = new Ingestion(this, 'Ingestion', {
      prefix: config.prefix,
      storage: this.storage,
      sources: config.organizationId
        ? { organizationId: config.organizationId, accounts: config.allowedSourceAccounts }
        : { accounts: config.allowedSourceAccounts },
      allowedSourceAccounts: config.allowedSourceAccounts,
      logRetention,
    });
  }
}
