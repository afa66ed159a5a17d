import { ArnFormat, Duration, Size, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/env.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { RAW_DESTINATION } from '../../src/core/transform/destination.ts';
import type { NonEksLogGroupMode } from '../../src/core/transform/types.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { bind, deliveryStreamPut, setting } from './bind.ts';
import { LakeFunction } from './lake-function.ts';
import { LAKE_PREFIXES, RETAIN_UNLESS_ROLLED_BACK, type Storage } from './storage.ts';

/** Name of the CloudWatch Logs Destination for a deployment prefix (member stacks build its ARN from it). */
export function destinationNameFor(prefix: string): string {
  return `${prefix}-eks-logs`;
}

/** Who may attach subscription filters to the Destination: an organization or a list of accounts. */
export type SourcePrincipals =
  | { readonly organizationId: string; readonly accounts?: readonly string[] }
  | { readonly organizationId?: undefined; readonly accounts: readonly string[] };

export interface IngestionProps {
  readonly prefix: string;
  readonly storage: Storage;
  readonly sources: SourcePrincipals;
  /** Owners the transform accepts; anything else is answered ProcessingFailed (lands under errors/). */
  readonly allowedSourceAccounts: readonly string[];
  /** What the transform does with records from non-EKS log groups; `keep` when unset. */
  readonly nonEksLogGroups?: NonEksLogGroupMode;
  readonly logRetention: logs.RetentionDays;
  /** Concurrency reserved for the transform; unset draws on the account's unreserved pool. */
  readonly transformReservedConcurrency?: number;
}

/**
 * CloudWatch Logs Destination → Firehose (Direct PUT, KMS) → transform Lambda → S3 `raw/`,
 * dynamically partitioned by the transform's `log_type` key; failures under `errors/`.
 */
export class Ingestion extends Construct {
  readonly transform: LakeFunction;
  readonly deliveryStream: firehose.DeliveryStream;
  readonly deliveryStreamName: string;
  readonly destination: logs.CfnDestination;
  readonly destinationName: string;
  /** ARN member stacks point their subscription filters at. */
  readonly destinationArn: string;
  /** The access policy document of the Destination (also asserted by tests). */
  readonly destinationPolicy: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { storage } = props;
    this.deliveryStreamName = `${props.prefix}-raw`;
    this.destinationName = destinationNameFor(props.prefix);

    this.transform = new LakeFunction(this, 'Transform', {
      entry: 'transform',
      functionName: `${props.prefix}-transform`,
      description: 'Firehose processor: CloudWatch Logs subscription payloads to gzip NDJSON records per log_type',
      // Decoding expands payloads 5-20x; 1 GiB keeps a 1 MB batch well inside memory and CPU time.
      memorySize: 1024,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logKey: storage.key,
      reservedConcurrentExecutions: props.transformReservedConcurrency,
    });
    bind(
      this.transform,
      setting(ENV.ALLOWED_ACCOUNTS, props.allowedSourceAccounts.join(',')),
      setting(ENV.METRICS_NAMESPACE, METRICS_NAMESPACE),
      // No grant of its own: quarantined records reach errors/ through the Firehose role, dropped ones nowhere.
      setting(ENV.TRANSFORM_NON_EKS_LOG_GROUPS, props.nonEksLogGroups ?? 'keep'),
      deliveryStreamPut(this.deliveryStreamName),
    );

    const firehoseLogs = new logs.LogGroup(this, 'FirehoseLogs', {
      logGroupName: `/aws/kinesisfirehose/${this.deliveryStreamName}`,
      retention: props.logRetention,
      encryptionKey: storage.key,
      removalPolicy: RETAIN_UNLESS_ROLLED_BACK,
    });

    // Our own role, kept immutable for the L2: its default grant is read-write on the whole bucket.
    const role = new iam.Role(this, 'FirehoseRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Firehose delivery to raw/ and errors/ of the lake bucket',
    });
    const objectArns = [LAKE_PREFIXES.raw, LAKE_PREFIXES.errors].map((p) => storage.lake.arnForObjects(`${p}*`));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [storage.lake.bucketArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        resources: objectArns,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [storage.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
          // With S3 Bucket Keys the context names the bucket, not the object.
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [storage.lake.bucketArn, ...objectArns] },
        },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        resources: [this.transform.fn.functionArn, this.transform.qualifiedArnPattern],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
        resources: [firehoseLogs.logGroupArn],
      }),
    );
    // Server-side encryption of the Direct PUT stream with the lake key.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [storage.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `firehose.${stack.region}.amazonaws.com` } },
      }),
    );
    for (const arn of objectArns) {
      acknowledgeWildcardResource(role, arn, 'Firehose writes generated object keys under raw/ and errors/ only.');
    }
    acknowledgeWildcardResource(
      role,
      this.transform.qualifiedArnPattern,
      'Firehose invokes the transform by qualified ARN; the pattern matches versions of that one function.',
    );
    acknowledgeWildcardResource(
      role,
      firehoseLogs.logGroupArn,
      'The log group ARN ends in :* by definition; it names our one Firehose error log group.',
    );

    const destination = new firehose.S3Bucket(storage.lake, {
      role: role.withoutPolicyUpdates(),
      dataOutputPrefix: RAW_DESTINATION.prefix,
      errorOutputPrefix: RAW_DESTINATION.errorOutputPrefix,
      compression: firehose.Compression.of(RAW_DESTINATION.compression),
      fileExtension: RAW_DESTINATION.fileExtension,
      bufferingInterval: Duration.seconds(RAW_DESTINATION.bufferIntervalSeconds),
      bufferingSize: Size.mebibytes(RAW_DESTINATION.bufferMb),
      encryptionKey: storage.key,
      dynamicPartitioning: { enabled: true, retryDuration: Duration.minutes(5) },
      loggingConfig: new firehose.EnableLogging(firehoseLogs),
      processors: [
        new firehose.LambdaFunctionProcessor(this.transform.fn, {
          bufferInterval: Duration.seconds(RAW_DESTINATION.processorBufferIntervalSeconds),
          bufferSize: Size.mebibytes(RAW_DESTINATION.processorBufferMb),
          retries: 3,
        }),
      ],
    });
    this.deliveryStream = new firehose.DeliveryStream(this, 'Raw', {
      deliveryStreamName: this.deliveryStreamName,
      destination,
      role: role.withoutPolicyUpdates(),
      encryption: firehose.StreamEncryption.customerManagedKey(storage.key),
    });
    // The log stream the L2 adds for the destination goes (and stays) with its log group.
    for (const c of firehoseLogs.node.findAll()) {
      if (c instanceof logs.CfnLogStream) c.applyRemovalPolicy(RETAIN_UNLESS_ROLLED_BACK);
    }
    // CloudWatch Logs → Firehose: the role the Logs service assumes to put records on the stream.
    const sourceAccounts = props.sources.accounts ?? [];
    const { organizationId } = props.sources;
    const logsRole = new iam.Role(this, 'LogsDestinationRole', {
      assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', {
        conditions: organizationId
          ? {
              // Any account of the organization, not the allow-list: an owner outside it must reach the
              // transform to be answered ProcessingFailed and counted, never be dropped unseen.
              StringLike: { 'aws:SourceArn': [`arn:${stack.partition}:logs:${stack.region}:*:*`] },
              // The role itself refuses delivery for log groups of accounts outside the organization,
              // so the Destination policy is not the only gate.
              StringEquals: { 'aws:SourceOrgID': organizationId },
            }
          : {
              StringLike: {
                'aws:SourceArn': [...new Set([stack.account, ...sourceAccounts])].map(
                  (a) => `arn:${stack.partition}:logs:${stack.region}:${a}:*`,
                ),
              },
            },
      }),
      description: 'Assumed by CloudWatch Logs to deliver subscribed EKS log events to Firehose',
    });
    logsRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        resources: [this.deliveryStream.deliveryStreamArn],
      }),
    );

    this.destinationArn = stack.formatArn({
      service: 'logs',
      resource: 'destination',
      resourceName: this.destinationName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const principalStatement = organizationId
      ? {
          Principal: { AWS: '*' },
          Condition: { StringEquals: { 'aws:PrincipalOrgID': [organizationId] } },
        }
      : { Principal: { AWS: [...new Set([stack.account, ...sourceAccounts])].sort() } };
    this.destinationPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AllowEksLogSubscriptions',
          Effect: 'Allow',
          ...principalStatement,
          Action: ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'],
          Resource: this.destinationArn,
        },
      ],
    };
    this.destination = new logs.CfnDestination(this, 'Destination', {
      destinationName: this.destinationName,
      roleArn: logsRole.roleArn,
      targetArn: this.deliveryStream.deliveryStreamArn,
      destinationPolicy: stack.toJsonString(this.destinationPolicy),
    });
    this.destination.node.addDependency(logsRole);
  }
}
