import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { LEDGER_PREFIX } from '../../src/pipeline/ledger.ts';
import { acknowledge } from '../nag.ts';

/**
 * Removal policy of every retained resource with a fixed name (buckets, keys, log groups): kept on
 * stack delete and replacement, but removed when the deployment that created it rolls back, so a
 * failed first `cdk deploy` leaves nothing behind that the next one would find "already exists".
 */
export const RETAIN_UNLESS_ROLLED_BACK = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

/**
 * Names of the log groups in `scope` encrypted with `key`, read from the synthesized resources so
 * the key policy and the teardown output name exactly what the stack creates.
 */
export function logGroupsEncryptedWith(scope: IConstruct, key: kms.IKey): string[] {
  const names: string[] = [];
  for (const c of scope.node.findAll()) {
    if (!(c instanceof logs.CfnLogGroup) || c.kmsKeyId !== key.keyArn) continue;
    if (c.logGroupName === undefined || Token.isUnresolved(c.logGroupName)) {
      throw new Error(`log group ${c.node.path} is encrypted with ${key.node.path} but has no fixed name`);
    }
    names.push(c.logGroupName);
  }
  return names.sort();
}

/** Lets CloudWatch Logs of this account and region use `key` for exactly these log groups. */
export function allowLogsToEncrypt(key: kms.Key, logGroupNames: readonly string[]): void {
  if (logGroupNames.length === 0) return;
  const stack = Stack.of(key);
  const arn = (name: string) => `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${name}`;
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsEncryptOwnLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:DescribeKey',
      ],
      resources: ['*'],
      // The encryption context CloudWatch Logs sends names the log group ARN (without `:*`).
      conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': logGroupNames.map(arn) } },
    }),
  );
}

/** Top-level prefixes of the lake bucket (design: lake layout). */
export const LAKE_PREFIXES = {
  raw: 'raw/',
  curated: 'curated/',
  errors: 'errors/',
  quarantine: 'quarantine/',
  control: 'control/',
} as const;

/**
 * Ledger indexes keyed by raw arrival hour (`processed/`, `attempts/`): they only describe raw
 * objects, so they may go once those are gone. The partition ledger, the watermark and the lease
 * describe curated data or live state and are never expired.
 */
export const LEDGER_INDEX_PREFIXES = [`${LEDGER_PREFIX}processed/`, `${LEDGER_PREFIX}attempts/`] as const;

/**
 * Days an arrival-hour ledger index outlives the raw retention. An index is written after the raw
 * objects it lists, and S3 removes expired objects asynchronously: the margin keeps a backfill of an
 * old hour from re-planning raw objects S3 has not removed yet.
 */
export const LEDGER_INDEX_MARGIN_DAYS = 30;

export interface StorageProps {
  /** Resource name prefix. */
  readonly prefix: string;
  readonly rawRetentionDays: number;
  readonly rawTransitionDays: number;
  /** Days quarantined objects and lines are kept (they hold the unredacted original); default rawRetentionDays. */
  readonly quarantineRetentionDays?: number;
  /** 0 keeps curated data forever. */
  readonly curatedRetentionDays: number;
  readonly athenaResultsRetentionDays: number;
  /** Destroy buckets and key with the stack (test and demo deployments only). */
  readonly destroyOnRemoval?: boolean;
}

/**
 * The customer-managed KMS key and the three buckets: the lake (raw/, curated/, errors/,
 * quarantine/, control/), Athena query results, and server access logs of both.
 */
export class Storage extends Construct {
  readonly key: kms.Key;
  readonly lake: s3.Bucket;
  readonly athenaResults: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  /** Bucket names are explicit so queue and role policies can name them without a dependency cycle. */
  readonly lakeBucketName: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // Access-log delivery by bucket policy, not ACLs: BucketOwnerEnforced buckets reject ACLs.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stack = Stack.of(this);
    const removalPolicy = props.destroyOnRemoval ? RemovalPolicy.DESTROY : RETAIN_UNLESS_ROLLED_BACK;
    const suffix = `${stack.account}-${stack.region}`;

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${props.prefix}`,
      description: 'eks-log-lake: lake objects, Firehose, SQS, SNS and our CloudWatch log groups',
      enableKeyRotation: true,
      removalPolicy,
    });
    // S3 event notifications into KMS-encrypted SQS queues; CloudWatch alarms into the KMS-encrypted topic.
    for (const [sid, service] of [
      ['S3NotificationsToEncryptedQueues', 's3.amazonaws.com'],
      ['CloudWatchAlarmsToEncryptedTopic', 'cloudwatch.amazonaws.com'],
    ] as const) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      bucketName: `${props.prefix}-access-logs-${suffix}`,
      // Server access log delivery supports SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: false,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'expire-access-logs', expiration: Duration.days(365) },
      ],
    });
    acknowledge(this.accessLogs, {
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log target bucket itself; logging it into itself would loop.',
    });

    this.lakeBucketName = `${props.prefix}-lake-${suffix}`;
    const rawRules: s3.LifecycleRule[] = [
      {
        id: 'raw-retention',
        prefix: LAKE_PREFIXES.raw,
        expiration: Duration.days(props.rawRetentionDays),
        transitions:
          props.rawTransitionDays < props.rawRetentionDays
            ? [
                {
                  storageClass: s3.StorageClass.INFREQUENT_ACCESS,
                  transitionAfter: Duration.days(props.rawTransitionDays),
                },
              ]
            : [],
      },
      { id: 'errors-retention', prefix: LAKE_PREFIXES.errors, expiration: Duration.days(props.rawRetentionDays) },
      {
        id: 'quarantine-retention',
        prefix: LAKE_PREFIXES.quarantine,
        expiration: Duration.days(props.quarantineRetentionDays ?? props.rawRetentionDays),
      },
      ...LEDGER_INDEX_PREFIXES.map((prefix) => ({
        id: `ledger-${prefix.split('/').at(-2)}-retention`,
        prefix,
        expiration: Duration.days(props.rawRetentionDays + LEDGER_INDEX_MARGIN_DAYS),
      })),
    ];
    this.lake = new s3.Bucket(this, 'Lake', {
      bucketName: this.lakeBucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true, // one data key per bucket-time window instead of one KMS call per object
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versions protect curated/ and control/ (ledger, manifests) from a bad run or a stray delete.
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'lake/',
      removalPolicy,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(7), expiredObjectDeleteMarker: true },
        ...rawRules,
        {
          id: 'curated-intelligent-tiering',
          prefix: LAKE_PREFIXES.curated,
          transitions: [{ storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(0) }],
          expiration: props.curatedRetentionDays > 0 ? Duration.days(props.curatedRetentionDays) : undefined,
        },
      ],
    });

    this.athenaResults = new s3.Bucket(this, 'AthenaResults', {
      bucketName: `${props.prefix}-athena-results-${suffix}`,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'athena-results/',
      removalPolicy,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'expire-results', expiration: Duration.days(props.athenaResultsRetentionDays) },
      ],
    });
  }
}
