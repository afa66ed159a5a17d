import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LOG_TYPES, type LogType } from '../../src/core/types.ts';
import { acknowledge, acknowledgeWildcardResource } from '../nag.ts';
import { LAKE_PREFIXES, type Storage } from './storage.ts';

/** Every raw partition Firehose can write, the `unknown` stream type included. */
export const SPLUNK_LOG_TYPES: readonly LogType[] = [...LOG_TYPES, 'unknown'];

/** Splunk sourcetype suggested for each raw prefix (audit keeps the one Splunk's EKS searches use). */
export const SPLUNK_SOURCETYPES: Readonly<Record<LogType, string>> = {
  'kube-apiserver-audit': 'aws:cloudwatchlogs:eks',
  'kube-apiserver': 'eks:kube-apiserver',
  'kube-scheduler': 'eks:kube-scheduler',
  'kube-controller-manager': 'eks:kube-controller-manager',
  'cloud-controller-manager': 'eks:cloud-controller-manager',
  authenticator: 'eks:authenticator',
  unknown: 'eks:unknown',
};

/**
 * Age of the oldest message on a source queue above which Splunk is taken to have stopped
 * consuming. Splunk's input polls continuously, and a message it fails on moves to the DLQ
 * after 5 receives × 5 minutes visibility = 25 minutes (that alarms there): an hour is neither.
 */
export const SPLUNK_QUEUE_MAX_AGE = Duration.hours(1);

/** The S3 key prefix of one log type's raw objects. */
export function rawPrefix(logType: LogType): string {
  return `${LAKE_PREFIXES.raw}log_type=${logType}/`;
}

export interface SplunkFeedProps {
  readonly prefix: string;
  readonly storage: Storage;
  /** IAM principal allowed to assume the read-only role (Splunk forwarder role or account root). */
  readonly principalArn: string;
  readonly externalId?: string;
}

/**
 * One SQS queue (with a DLQ) per log type fed by S3 ObjectCreated notifications on its raw prefix,
 * for the Splunk Add-on for AWS "SQS-based S3" input, and a read-only role scoped to exactly those
 * prefixes, queues and the key.
 */
export class SplunkFeed extends Construct {
  readonly queues: Record<string, sqs.Queue> = {};
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SplunkFeedProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { storage } = props;
    // Named, not referenced: the bucket's notification configuration must wait for these policies.
    const bucketArn = `arn:${stack.partition}:s3:::${storage.lakeBucketName}`;
    // CloudFormation property names: this goes in through an override of the L1 bucket.
    const notifications: Array<Record<string, unknown>> = [];
    const cfnBucket = storage.lake.node.defaultChild as s3.CfnBucket;

    for (const logType of SPLUNK_LOG_TYPES) {
      const dlq = new sqs.Queue(this, `Dlq-${logType}`, {
        queueName: `${props.prefix}-splunk-${logType}-dlq`,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: storage.key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const queue = new sqs.Queue(this, `Queue-${logType}`, {
        queueName: `${props.prefix}-splunk-${logType}`,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: storage.key,
        dataKeyReuse: Duration.hours(1), // fewer KMS calls per message
        enforceSSL: true,
        // Splunk's SQS-based S3 input recommends a visibility timeout above its object download time.
        visibilityTimeout: Duration.minutes(5),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
      });
      const allowS3 = queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'S3ObjectCreated',
          principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: {
            ArnEquals: { 'aws:SourceArn': bucketArn },
            StringEquals: { 'aws:SourceAccount': stack.account },
          },
        }),
      );
      if (allowS3.policyDependable) cfnBucket.node.addDependency(allowS3.policyDependable);
      notifications.push({
        Event: 's3:ObjectCreated:*',
        Queue: queue.queueArn,
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: rawPrefix(logType) }] } },
      });
      this.queues[logType] = queue;
      this.deadLetterQueues[logType] = dlq;
    }
    cfnBucket.addPropertyOverride('NotificationConfiguration.QueueConfigurations', notifications);

    this.role = new iam.Role(this, 'ReadOnlyRole', {
      roleName: `${props.prefix}-splunk-read`,
      description: 'Splunk Add-on for AWS: read raw/ objects announced on the eks-log-lake queues',
      assumedBy: new iam.ArnPrincipal(props.principalArn),
      externalIds: props.externalId ? [props.externalId] : undefined,
      maxSessionDuration: Duration.hours(1),
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ConsumeNotifications',
        actions: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
        ],
        resources: Object.values(this.queues).map((q) => q.queueArn),
      }),
    );
    // The add-on lists queues to offer them in its input form and to validate an input's queue URL.
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'ListQueues', actions: ['sqs:ListQueues'], resources: ['*'] }),
    );
    acknowledge(this.role, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'sqs:ListQueues has no resource-level permission; it returns queue URLs only, and the Splunk Add-on for AWS requires it for the SQS-based S3 input.',
    });
    const objectArns = SPLUNK_LOG_TYPES.map((t) => storage.lake.arnForObjects(`${rawPrefix(t)}*`));
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'ReadRawObjects', actions: ['s3:GetObject'], resources: objectArns }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LocateBucket',
        actions: ['s3:GetBucketLocation'],
        resources: [storage.lake.bucketArn],
      }),
    );
    // Only S3 (SSE-KMS raw objects) and SQS (KMS-encrypted queues) may use the key for this role.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptObjectsAndMessages',
        actions: ['kms:Decrypt'],
        resources: [storage.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': [`s3.${stack.region}.amazonaws.com`, `sqs.${stack.region}.amazonaws.com`],
          },
        },
      }),
    );
    for (const arn of objectArns) {
      acknowledgeWildcardResource(
        this.role,
        arn,
        'Read-only access to the raw objects of one log type, announced on its queue.',
      );
    }
  }
}
