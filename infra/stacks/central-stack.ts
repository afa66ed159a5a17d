import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { namedQueryDefinitions } from '../../src/core/sql/catalogue.ts';
import { SCHEDULE_PERIOD_MS } from '../../src/core/workflow/window.ts';
import type { EksLogLakeConfig } from '../config.ts';
import { Catalog, type NamedQuerySpec } from '../constructs/catalog.ts';
import { Ingestion } from '../constructs/ingestion.ts';
import { Monitoring } from '../constructs/monitoring.ts';
import { SPLUNK_QUEUE_MAX_AGE, SplunkFeed } from '../constructs/splunk.ts';
import { allowLogsToEncrypt, logGroupsEncryptedWith, Storage } from '../constructs/storage.ts';
import { Workflow } from '../constructs/workflow.ts';

export interface CentralStackProps extends StackProps {
  readonly config: EksLogLakeConfig;
  /** Athena named queries to publish; defaults to the investigation pack under sql/athena/. */
  readonly namedQueries?: readonly NamedQuerySpec[];
  /** ASL file of the workflow; defaults to statemachine/compaction.asl.json. */
  readonly definitionPath?: string;
  /** Folder of the workflow Task entry points; defaults to functions/. */
  readonly functionsDir?: string;
  /** Destroy buckets and key with the stack (throw-away deployments only). */
  readonly destroyOnRemoval?: boolean;
}

/**
 * How stale the watermark may get before LedgerFreshness and NoSuccessfulRun alarm: two scheduled
 * windows (config admits no other cadence) plus half an hour for a run's compaction.
 */
export const LEDGER_MAX_LAG = Duration.millis(2 * SCHEDULE_PERIOD_MS + 30 * 60 * 1000);

/** `kube-apiserver-audit` → `SplunkQueueKubeApiserverAudit`: CloudFormation output names allow letters and digits only. */
export function splunkQueueOutputName(logType: string): string {
  return `SplunkQueue${logType
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}`;
}

/** Glue names allow lower-case letters, digits and underscores. */
export function glueName(prefix: string): string {
  return prefix.replaceAll('-', '_');
}

/** The central (log archive) account: key, buckets, ingestion, workflow, catalog, Splunk feed, monitoring. */
export class CentralStack extends Stack {
  readonly storage: Storage;
  readonly ingestion: Ingestion;
  readonly catalog: Catalog;
  readonly workflow: Workflow;
  readonly splunk?: SplunkFeed;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: CentralStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.storage = new Storage(this, 'Storage', {
      prefix: config.prefix,
      rawRetentionDays: config.rawRetentionDays,
      rawTransitionDays: config.rawTransitionDays,
      quarantineRetentionDays: config.quarantineRetentionDays,
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
      nonEksLogGroups: config.nonEksLogGroups,
      logRetention,
      transformReservedConcurrency: config.transformReservedConcurrency,
    });
    this.catalog = new Catalog(this, 'Catalog', {
      databaseName: glueName(config.prefix),
      workGroupName: config.prefix,
      storage: this.storage,
      bytesScannedCutoff: config.athenaBytesScannedCutoff,
      namedQueries: props.namedQueries ?? namedQueryDefinitions(),
    });
    this.workflow = new Workflow(this, 'Workflow', {
      prefix: config.prefix,
      storage: this.storage,
      databaseName: this.catalog.databaseName,
      workGroupName: this.catalog.workGroupName,
      schedule: config.schedule,
      settings: config.workflow,
      logRetention,
      definitionPath: props.definitionPath,
      functionsDir: props.functionsDir,
    });
    if (config.splunk.enabled && config.splunk.principalArn) {
      this.splunk = new SplunkFeed(this, 'Splunk', {
        prefix: config.prefix,
        storage: this.storage,
        principalArn: config.splunk.principalArn,
        externalId: config.splunk.externalId,
      });
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      prefix: config.prefix,
      key: this.storage.key,
      deliveryStreamName: this.ingestion.deliveryStreamName,
      transform: this.ingestion.transform,
      functions: [this.ingestion.transform, ...Object.values(this.workflow.functions)],
      stateMachine: this.workflow.stateMachine,
      deadLetterQueues: Object.values(this.splunk?.deadLetterQueues ?? {}),
      sourceQueues: Object.values(this.splunk?.queues ?? {}),
      sourceQueueMaxAge: SPLUNK_QUEUE_MAX_AGE,
      // The late horizon does not matter here: the watermark tracks arrivals.
      ledgerMaxLag: LEDGER_MAX_LAG,
      maxCatchUpHours: config.workflow.maxCatchUpHours,
      quietClusters: config.workflow.quietClusters,
      alarmEmail: config.alarmEmail,
    });

    new CfnOutput(this, 'DestinationArn', {
      value: this.ingestion.destinationArn,
      description: 'CloudWatch Logs Destination for member-account subscription filters',
    });
    // Our log groups only: CloudWatch Logs may use the key for nothing else in the account.
    const logGroupNames = logGroupsEncryptedWith(this, this.storage.key);
    allowLogsToEncrypt(this.storage.key, logGroupNames);

    new CfnOutput(this, 'LakeBucketName', { value: this.storage.lakeBucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.catalog.workGroupName });
    // What a teardown must name once the stack is gone (the key alias goes with the stack).
    new CfnOutput(this, 'KeyArn', {
      value: this.storage.key.keyArn,
      description: 'Retained KMS key of the lake, its buckets and log groups (for schedule-key-deletion)',
    });
    new CfnOutput(this, 'AthenaResultsBucketName', { value: this.storage.athenaResults.bucketName });
    new CfnOutput(this, 'AccessLogsBucketName', { value: this.storage.accessLogs.bucketName });
    new CfnOutput(this, 'LogGroupNames', {
      value: logGroupNames.join(','),
      description: 'Retained log groups, comma-separated',
    });
    if (this.splunk) {
      new CfnOutput(this, 'SplunkRoleArn', { value: this.splunk.role.roleArn });
      for (const [t, q] of Object.entries(this.splunk.queues)) {
        new CfnOutput(this, splunkQueueOutputName(t), {
          value: q.queueUrl,
          description: `SQS-based S3 input for log_type=${t}`,
        });
      }
    }
  }
}
