import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/env.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { firesEverySchedulePeriod, LONGEST_TASK_SECONDS, MIN_LEASE_TTL_SECONDS } from '../../infra/config.ts';
import { REPO_ROOT } from '../../infra/constructs/lake-function.ts';
import { SUBSCRIPTION_DELIVERY } from '../../infra/constructs/monitoring-delivery.ts';
import { SPLUNK_QUEUE_MAX_AGE } from '../../infra/constructs/splunk.ts';
import {
  LAKE_PREFIXES,
  LEDGER_INDEX_MARGIN_DAYS,
  LEDGER_INDEX_PREFIXES,
  Storage,
} from '../../infra/constructs/storage.ts';
import {
  aslPlaceholders,
  DEFAULT_DEFINITION_PATH,
  FUNCTION_PROFILES,
  kebabCase,
  Workflow,
} from '../../infra/constructs/workflow.ts';
import { LEDGER_MAX_LAG, splunkQueueOutputName } from '../../infra/stacks/central-stack.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { TABLES } from '../../src/core/schema.ts';
import { getStatement, namedQueryDefinitions } from '../../src/core/sql/catalogue.ts';
import { RAW_COLUMNS, RAW_TABLE } from '../../src/core/sql/ddl.ts';
import { RAW_DESTINATION } from '../../src/core/transform/destination.ts';
import { LOG_TYPES } from '../../src/core/types.ts';
import { SCHEDULE_PERIOD_MS } from '../../src/core/workflow/window.ts';
import { LEASE_KEY } from '../../src/pipeline/lease.ts';
import {
  ATHENA_OWED_KEY,
  attemptsKey,
  CLUSTER_SIGHTINGS_KEY,
  partitionLedgerKey,
  processedIndexKey,
  QUIET_CLUSTERS_METRIC,
  WATERMARK_KEY,
  WATERMARK_LAG_METRIC,
} from '../../src/pipeline/ledger.ts';
import { RUNS_PREFIX } from '../../src/pipeline/plan.ts';
import { athenaStepsOver, ROLLUP_TABLE } from '../../src/pipeline/workflow-athena.ts';
import { COMPACTION_METRICS } from '../../src/pipeline/workflow-tasks.ts';
import type { Catalog, CatalogPartition, QueryEngine } from '../../src/ports.ts';
import { asArray, CONFIG, FIXTURES, flat, iamStatements, roleStatements, synthAll, testApp } from './support.ts';

const PLACEHOLDERS = aslPlaceholders(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8'));
const TASK_ENTRIES = PLACEHOLDERS.filter((p) => p.endsWith('FunctionArn')).map((p) =>
  kebabCase(p.slice(0, -'FunctionArn'.length)),
);

let app: App;
let t: Template;
let synthError: unknown;

beforeAll(() => {
  const built = synthAll();
  app = built.app;
  try {
    app.synth(); // runs cdk-nag; Template.fromStack reuses this assembly
  } catch (err) {
    synthError = err;
  }
  t = built.centralTemplate;
});

const resources = (type: string) => Object.entries(t.findResources(type));

/** Logical id of the single resource of a type whose properties match. */
function logicalId(type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(t.findResources(type, { Properties: Match.objectLike(props) }));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

describe('cdk-nag', () => {
  it('synthesizes the whole app with zero unacknowledged AwsSolutions findings', () => {
    expect(synthError).toBeUndefined();
  });
});

describe('storage', () => {
  it('blocks public access and enforces bucket-owner object ownership on every bucket', () => {
    const buckets = resources('AWS::S3::Bucket');
    expect(buckets).toHaveLength(3);
    for (const [, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    }
  });

  it('aborts incomplete multipart uploads on every bucket', () => {
    for (const [, b] of resources('AWS::S3::Bucket')) {
      const rules = b.Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
      expect(rules.some((r) => r.AbortIncompleteMultipartUpload?.DaysAfterInitiation === 1 && !r.Prefix)).toBe(true);
    }
  });

  it('denies every request without TLS in every bucket policy', () => {
    const bucketIds = resources('AWS::S3::Bucket').map(([id]) => id);
    const policies = resources('AWS::S3::BucketPolicy');
    for (const id of bucketIds) {
      const policy = policies.find(([, p]) => p.Properties.Bucket.Ref === id);
      expect(policy, `bucket ${id} has a policy`).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('rotates the KMS key', () => {
    const keys = resources('AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    for (const [, k] of keys) expect(k.Properties.EnableKeyRotation).toBe(true);
  });

  it('keeps raw for its retention with a transition, and moves curated to Intelligent-Tiering at once', () => {
    const lake = t.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: `eks-log-lake-lake-${CONFIG.central.account}-${CONFIG.central.region}` },
    });
    const rules = (Object.values(lake)[0] as any).Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
    const raw = rules.find((r) => r.Prefix === LAKE_PREFIXES.raw)!;
    expect(raw.ExpirationInDays).toBe(CONFIG.rawRetentionDays);
    expect(raw.Transitions).toEqual([{ StorageClass: 'STANDARD_IA', TransitionInDays: CONFIG.rawTransitionDays }]);
    const curated = rules.find((r) => r.Prefix === LAKE_PREFIXES.curated)!;
    expect(curated.Transitions).toEqual([{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }]);
    expect(curated.ExpirationInDays).toBeUndefined();
  });

  it.each([
    ['a raw object', 'raw/log_type=kube-apiserver-audit/dt=2026-01-01/hour=00/eks-raw-1.gz', CONFIG.rawRetentionDays],
    ['a Firehose error object', 'errors/processing-failed/2026/01/01/00/eks-raw-1.gz', CONFIG.rawRetentionDays],
    [
      'a poison object copy',
      'quarantine/objects/raw/log_type=authenticator/dt=2026-01-01/hour=00/eks-raw-1.gz',
      CONFIG.quarantineRetentionDays,
    ],
    [
      'quarantined lines',
      'quarantine/records/p20260101t0000/account=unknown/chunk-00000.ndjson.gz',
      CONFIG.quarantineRetentionDays,
    ],
    [
      'a processed index',
      processedIndexKey('dt=2026-01-01/hour=00'),
      CONFIG.rawRetentionDays + LEDGER_INDEX_MARGIN_DAYS,
    ],
    [
      'a failed-attempts index',
      attemptsKey('dt=2026-01-01/hour=00'),
      CONFIG.rawRetentionDays + LEDGER_INDEX_MARGIN_DAYS,
    ],
    ['a partition ledger entry', partitionLedgerKey(['222222222222', 'prod-eu-1', '2026-01-01', '00']), undefined],
    ['the watermark', WATERMARK_KEY, undefined],
    ['the Athena steps runs still owe', ATHENA_OWED_KEY, undefined],
    ['the cluster sightings index', CLUSTER_SIGHTINGS_KEY, undefined],
    ['the lease', LEASE_KEY, undefined],
    ['a run file (CollectGarbage removes them)', `${RUNS_PREFIX}exec-1/p20260101t0000/plan.json`, undefined],
    [
      'a curated object (curatedRetentionDays 0)',
      'curated/audit_events/account=1/gen=p1/part-00000.parquet',
      undefined,
    ],
  ])('expires %s after the configured days, or never', (_name, key, days) => {
    const lake = t.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: `eks-log-lake-lake-${CONFIG.central.account}-${CONFIG.central.region}` },
    });
    const rules = (Object.values(lake)[0] as any).Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
    const expiries = rules
      .filter((r) => r.ExpirationInDays !== undefined && (r.Prefix === undefined || key.startsWith(r.Prefix)))
      .map((r) => r.ExpirationInDays as number);
    expect(expiries.length > 0 ? Math.min(...expiries) : undefined).toBe(days);
  });

  it('expires of control/ only the arrival-hour ledger indexes, at least a week after the raw objects they list', () => {
    const lake = t.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: `eks-log-lake-lake-${CONFIG.central.account}-${CONFIG.central.region}` },
    });
    const rules = (Object.values(lake)[0] as any).Properties.LifecycleConfiguration.Rules as Array<Record<string, any>>;
    const raw = rules.find((r) => r.Prefix === LAKE_PREFIXES.raw)!;
    const control = rules.filter(
      (r) => r.ExpirationInDays !== undefined && r.Prefix?.startsWith(LAKE_PREFIXES.control),
    );
    expect(control.map((r) => r.Prefix).sort()).toEqual([...LEDGER_INDEX_PREFIXES].sort());
    for (const r of control) expect(r.ExpirationInDays - raw.ExpirationInDays, r.Prefix).toBeGreaterThanOrEqual(7);
    // The quarantine rows above only prove the config reaches the bucket if it differs from raw.
    expect(CONFIG.quarantineRetentionDays).not.toBe(CONFIG.rawRetentionDays);
  });

  it('expires Athena results', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.stringLikeRegexp('athena-results'),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ ExpirationInDays: CONFIG.athenaResultsRetentionDays, Status: 'Enabled' }),
        ]),
      },
    });
  });
});

describe('Firehose', () => {
  const stream = () => resources('AWS::KinesisFirehose::DeliveryStream')[0]![1].Properties;

  it('writes to the prefixes, compression and extension the transform ADR chose', () => {
    const s3 = stream().ExtendedS3DestinationConfiguration;
    expect(s3.Prefix).toBe(RAW_DESTINATION.prefix);
    expect(s3.Prefix).toContain('!{partitionKeyFromLambda:log_type}');
    expect(s3.ErrorOutputPrefix).toBe(RAW_DESTINATION.errorOutputPrefix);
    expect(s3.CompressionFormat).toBe(RAW_DESTINATION.compression);
    expect(s3.FileExtension).toBe(RAW_DESTINATION.fileExtension);
    expect(s3.BufferingHints).toEqual({ IntervalInSeconds: 60, SizeInMBs: RAW_DESTINATION.bufferMb });
  });

  it('partitions dynamically on the key the transform returns', () => {
    const s3 = stream().ExtendedS3DestinationConfiguration;
    expect(s3.DynamicPartitioningConfiguration).toEqual({ Enabled: true, RetryOptions: { DurationInSeconds: 300 } });
  });

  it('runs the transform as its only processor with a 1 MB, 60 s processor buffer', () => {
    const pc = stream().ExtendedS3DestinationConfiguration.ProcessingConfiguration;
    expect(pc.Enabled).toBe(true);
    expect(pc.Processors).toHaveLength(1);
    const p = pc.Processors[0];
    expect(p.Type).toBe('Lambda');
    const params = Object.fromEntries(
      (p.Parameters as Array<{ ParameterName: string; ParameterValue: unknown }>).map((x) => [
        x.ParameterName,
        x.ParameterValue,
      ]),
    );
    expect(params.BufferSizeInMBs).toBe(String(RAW_DESTINATION.processorBufferMb));
    expect(params.BufferIntervalInSeconds).toBe(String(RAW_DESTINATION.processorBufferIntervalSeconds));
    const transformId = logicalId('AWS::Lambda::Function', { FunctionName: 'eks-log-lake-transform' });
    expect(flat(params.LambdaArn)).toBe(`<${transformId}.Arn>`);
  });

  it('encrypts the stream and the objects with the customer-managed key', () => {
    const keyId = resources('AWS::KMS::Key')[0]![0];
    const props = stream();
    expect(props.DeliveryStreamEncryptionConfigurationInput.KeyType).toBe('CUSTOMER_MANAGED_CMK');
    expect(flat(props.DeliveryStreamEncryptionConfigurationInput.KeyARN)).toBe(`<${keyId}.Arn>`);
    expect(
      flat(props.ExtendedS3DestinationConfiguration.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN),
    ).toBe(`<${keyId}.Arn>`);
  });

  it('lets Firehose write only under raw/ and errors/', () => {
    const statements = roleStatements(t, 'IngestionFirehoseRole');
    const writes = statements.filter((s) => asArray(s.Action).includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    const lakeId = logicalId('AWS::S3::Bucket', { BucketName: Match.stringLikeRegexp('-lake-lake-') });
    expect(asArray(writes[0]!.Resource).map(flat).sort()).toEqual([
      `<${lakeId}.Arn>/errors/*`,
      `<${lakeId}.Arn>/raw/*`,
    ]);
    // Bucket keys put the bucket ARN in the encryption context: the condition must admit it.
    const kms = statements.find((x) => asArray(x.Action).includes('kms:GenerateDataKey') && x.Condition?.StringLike)!;
    expect(kms.Condition.StringLike['kms:EncryptionContext:aws:s3:arn'].map(flat)).toContain(`<${lakeId}.Arn>`);
  });

  it('gives the transform its allow-list and the stream name with PutRecordBatch on that stream only', () => {
    const fn = t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: 'eks-log-lake-transform' } });
    const env = (Object.values(fn)[0] as any).Properties.Environment.Variables;
    expect(env.ALLOWED_ACCOUNTS).toBe(CONFIG.allowedSourceAccounts.join(','));
    expect(env.DELIVERY_STREAM_NAME).toBe('eks-log-lake-raw');
    const puts = iamStatements(t).filter(({ statement }) =>
      asArray(statement.Action).includes('firehose:PutRecordBatch'),
    );
    const resourcesOf = puts.map(({ statement }) => asArray(statement.Resource).map(flat));
    expect(resourcesOf).toContainEqual([
      `arn:<AWS::Partition>:firehose:${CONFIG.central.region}:${CONFIG.central.account}:deliverystream/eks-log-lake-raw`,
    ]);
  });
});

describe('CloudWatch Logs Destination', () => {
  it('targets the stream through a role only CloudWatch Logs of the source accounts can assume', () => {
    const [, dest] = resources('AWS::Logs::Destination')[0]!;
    const streamId = resources('AWS::KinesisFirehose::DeliveryStream')[0]![0];
    expect(flat(dest.Properties.TargetArn)).toBe(`<${streamId}.Arn>`);
    const roleId = dest.Properties.RoleArn['Fn::GetAtt'][0] as string;
    const role = t.findResources('AWS::IAM::Role')[roleId]!;
    const trust = role.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'logs.amazonaws.com' });
    expect(Object.keys(trust.Condition)).toEqual(['StringLike']);
    expect(trust.Condition.StringLike['aws:SourceArn'].map(flat).sort()).toEqual(
      ['111111111111', '222222222222', '333333333333'].map((a) => `arn:<AWS::Partition>:logs:eu-west-1:${a}:*`),
    );
  });

  it('is scoped to the explicit account list', () => {
    const [, dest] = resources('AWS::Logs::Destination')[0]!;
    const policy = JSON.parse(flat(dest.Properties.DestinationPolicy));
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0].Principal).toEqual({ AWS: ['111111111111', '222222222222', '333333333333'] });
    expect(policy.Statement[0].Action).toEqual(['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy']);
    expect(policy.Statement[0].Condition).toBeUndefined();
  });
});

describe('Lambdas', () => {
  it('gives every function explicit memory, timeout, arm64, Node 24 and its own log group with retention', () => {
    const logGroups = t.findResources('AWS::Logs::LogGroup');
    const fns = resources('AWS::Lambda::Function');
    expect(fns.length).toBe(1 + TASK_ENTRIES.length); // the transform and one per workflow Task
    for (const [id, fn] of fns) {
      const p = fn.Properties;
      expect(p.MemorySize, id).toBeGreaterThanOrEqual(128);
      expect(p.Timeout, id).toBeGreaterThan(3);
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.Runtime).toBe('nodejs24.x');
      const lgId = p.LoggingConfig.LogGroup.Ref as string;
      expect(logGroups[lgId]?.Properties.RetentionInDays, id).toBe(CONFIG.logRetentionDays);
      expect(logGroups[lgId]?.Properties.KmsKeyId, id).toBeDefined();
    }
    expect(t.findResources('Custom::LogRetention')).toEqual({});
  });

  it('gives WriteLedger 15 minutes: a 1,200-hour backfill day took 2, and a 4-day catch-up writes 3-4 times that', () => {
    const [ledger] = resources('AWS::Lambda::Function').filter(
      ([, f]) => f.Properties.FunctionName === `${CONFIG.prefix}-write-ledger`,
    );
    expect(ledger?.[1].Properties.Timeout).toBe(900);
  });

  it('uses no AWS managed policy on any role', () => {
    for (const [id, r] of resources('AWS::IAM::Role')) expect(r.Properties.ManagedPolicyArns, id).toBeUndefined();
  });
});

describe('IAM', () => {
  it('has no statement allowing every action of a service or of all services', () => {
    for (const { logicalId, statement } of iamStatements(t)) {
      for (const a of asArray(statement.Action)) {
        expect(a === '*' || a.endsWith(':*'), `${logicalId} allows ${a}`).toBe(false);
      }
    }
  });

  it('uses Resource "*" only for the APIs that have no resource-level permissions', () => {
    const allowed = new Set([
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'sqs:ListQueues',
    ]);
    for (const { logicalId, statement } of iamStatements(t)) {
      if (!asArray(statement.Resource).includes('*')) continue;
      for (const a of asArray(statement.Action)) expect(allowed.has(a), `${logicalId}: ${a} on *`).toBe(true);
    }
  });

  it('scopes lake object access to prefixes: merge writes curated/, validate touches no S3', () => {
    const lakeId = logicalId('AWS::S3::Bucket', { BucketName: Match.stringLikeRegexp('-lake-lake-') });
    const merge = roleStatements(t, 'WorkflowMergePartitionRole');
    const puts = merge.filter((s) => asArray(s.Action).includes('s3:PutObject')).flatMap((s) => asArray(s.Resource));
    expect(puts.map(flat).sort()).toEqual(
      ['control', 'curated', 'quarantine'].map((p) => `<${lakeId}.Arn>/${p}/*`).sort(),
    );
    const gets = merge.filter((s) => asArray(s.Action).includes('s3:GetObject')).flatMap((s) => asArray(s.Resource));
    expect(gets.map(flat)).not.toContain(`<${lakeId}.Arn>/raw/*`);
    expect(merge.some((s) => asArray(s.Action).includes('s3:DeleteObject'))).toBe(false);
    const validate = roleStatements(t, 'WorkflowValidateInputRole');
    expect(validate.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });

  it('lets no role create, change or drop a Glue table or database: CloudFormation owns them', () => {
    const ddl = /^glue:(Create|Update|Delete|BatchDelete)(Table|Database)/;
    for (const { logicalId, statement } of iamStatements(t)) {
      for (const a of asArray(statement.Action)) expect(ddl.test(a), `${logicalId} allows ${a}`).toBe(false);
    }
  });

  it('lets RunAthenaSteps add and repoint partitions of raw_events and the rollup only, never delete one', () => {
    const athena = roleStatements(t, 'WorkflowRunAthenaStepsRole');
    const glue = athena.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('glue:'));
    for (const a of ['glue:CreateTable', 'glue:DeleteTable', 'glue:UpdateTable']) expect(glue).not.toContain(a);
    expect(glue.filter((a) => a.includes('Delete'))).toEqual([]);
    const writes = athena.filter((s) => asArray(s.Action).includes('glue:BatchCreatePartition'));
    expect(writes).toHaveLength(1);
    expect(asArray(writes[0]!.Action).sort()).toEqual(
      ['glue:BatchCreatePartition', 'glue:BatchUpdatePartition', 'glue:CreatePartition', 'glue:UpdatePartition'].sort(),
    );
    const glueArn = 'arn:<AWS::Partition>:glue:eu-west-1:111111111111';
    expect(asArray(writes[0]!.Resource).map(flat).sort()).toEqual(
      [
        `${glueArn}:catalog`,
        `${glueArn}:database/eks_log_lake`,
        `${glueArn}:table/eks_log_lake/${RAW_TABLE}`,
        `${glueArn}:table/eks_log_lake/${ROLLUP_TABLE}`,
      ].sort(),
    );
  });

  it('lets RunAthenaSteps read audit_events and write only its rollup and control/, with no raw/ access', () => {
    const lakeId = logicalId('AWS::S3::Bucket', { BucketName: Match.stringLikeRegexp('-lake-lake-') });
    const athena = roleStatements(t, 'WorkflowRunAthenaStepsRole');
    const on = (action: string) =>
      athena
        .filter((s) => asArray(s.Action).includes(action))
        .flatMap((s) => asArray(s.Resource).map(flat))
        .filter((r) => r.startsWith(`<${lakeId}.Arn>/`))
        .sort();
    expect(on('s3:PutObject')).toEqual([`<${lakeId}.Arn>/control/*`, `<${lakeId}.Arn>/curated/${ROLLUP_TABLE}/*`]);
    expect(on('s3:GetObject')).toEqual([`<${lakeId}.Arn>/control/*`, `<${lakeId}.Arn>/curated/audit_events/*`]);
    expect(on('s3:DeleteObject')).toEqual([]);
  });

  it.each([
    ['every workflow Task', /^Workflow[A-Za-z]+RoleDefaultPolicy/, [['s3']]],
    ['Firehose (S3 delivery, then stream encryption)', /^IngestionFirehoseRoleDefaultPolicy/, [['s3'], ['firehose']]],
    ['the Splunk reader (raw objects and queue messages)', /^SplunkReadOnlyRoleDefaultPolicy/, [['s3', 'sqs']]],
  ])('lets %s use the lake key only through the services that need it', (_name, holder, services) => {
    const viaServices = iamStatements(t)
      .filter(
        ({ logicalId, statement }) =>
          holder.test(logicalId) && asArray(statement.Action).some((a) => a.startsWith('kms:')),
      )
      .map(({ statement }) =>
        asArray(statement.Condition?.StringEquals?.['kms:ViaService'] as string | string[]).sort(),
      );
    const expected = services.map((list) => list.map((s) => `${s}.eu-west-1.amazonaws.com`).sort());
    expect([...new Set(viaServices.map((v) => v.join(',')))].sort()).toEqual(expected.map((v) => v.join(',')).sort());
  });

  it('has no KMS statement without a kms:ViaService condition in any role', () => {
    const kms = iamStatements(t).filter(({ statement }) => asArray(statement.Action).some((a) => a.startsWith('kms:')));
    expect(kms.length).toBeGreaterThan(TASK_ENTRIES.length);
    for (const { logicalId, statement } of kms) {
      expect(statement.Condition?.StringEquals?.['kms:ViaService'], logicalId).toBeDefined();
    }
  });

  it('lets only the Athena step use the workgroup, and only that workgroup', () => {
    const athena = iamStatements(t).filter(({ statement }) =>
      asArray(statement.Action).includes('athena:StartQueryExecution'),
    );
    expect(athena).toHaveLength(1);
    expect(athena[0]!.logicalId).toMatch(/^WorkflowRunAthenaSteps/);
    expect(asArray(athena[0]!.statement.Resource).map(flat)).toEqual([
      `arn:<AWS::Partition>:athena:eu-west-1:111111111111:workgroup/${CONFIG.prefix}`,
    ]);
  });
});

describe('workflow', () => {
  it('creates one Lambda per XxxFunctionArn placeholder of the ASL and substitutes every placeholder', () => {
    const [, sm] = resources('AWS::StepFunctions::StateMachine')[0]!;
    const subs = sm.Properties.DefinitionSubstitutions;
    expect(Object.keys(subs).sort()).toEqual([...PLACEHOLDERS].sort());
    const names = resources('AWS::Lambda::Function').map(([, f]) => f.Properties.FunctionName);
    for (const entry of TASK_ENTRIES) {
      expect(names).toContain(`eks-log-lake-${entry}`);
      expect(existsSync(join(REPO_ROOT, 'functions', `${entry}.ts`)), entry).toBe(true);
    }
    const mergeId = logicalId('AWS::Lambda::Function', { FunctionName: 'eks-log-lake-merge-partition' });
    expect(flat(subs.MergePartitionFunctionArn)).toBe(`<${mergeId}.Arn>`);
  });

  it('runs only Athena SQL that changes no table, and only partitions of the tables its profile may write', async () => {
    const names: string[] = [];
    const engine: QueryEngine = {
      runNamed: async (name) => {
        names.push(name);
        return [];
      },
      runSql: async () => [],
    };
    const switched: string[] = [];
    const previous = `${LAKE_PREFIXES.curated}${ROLLUP_TABLE}/account=222222222222/cluster=prod-eu-1/dt=2026-01-01/hour=00/gen=p20251231t2300-0/`;
    const catalog: Catalog = {
      // The hour was built before, so the switch retires a generation (recorded for GC).
      getPartition: async (_t, values) => ({ values: [...values], location: previous }),
      listPartitions: async () => [],
      putPartitions: async (table: string, _p: readonly CatalogPartition[]) => {
        switched.push(table);
      },
    };
    const store = new MemoryObjectStore(() => new Date(Date.UTC(2026, 0, 1, 1)));
    const clock = { now: () => new Date(Date.UTC(2026, 0, 1, 1)) };
    const steps = athenaStepsOver({ engine, catalog, registerRawPartitions: true, store, clock });
    await steps.registerRawPartitions([{ dt: '2026-01-01', hour: '00' }]);
    const built = await steps.buildRollup({
      planId: 'p20260101t0000',
      generation: 'p20260101t0000-0',
      values: ['222222222222', 'prod-eu-1', '2026-01-01', '00'],
    });
    await steps.switchRollups([built], 'p20260101t0000');
    expect(names.sort()).toEqual(['add-raw-partitions', 'create-audit-hourly-summary']);

    const profile = FUNCTION_PROFILES['run-athena-steps']!;
    const altered = new Set(switched);
    for (const name of names) {
      const sql = getStatement('athena', name).body.replace(/--.*$/gm, '');
      expect(sql, name).not.toMatch(/\b(CREATE|DROP)\s+(EXTERNAL\s+)?TABLE\b/i);
      for (const m of sql.matchAll(/\bALTER\s+TABLE\s+(\w+)\s+(\w+)/gi)) {
        expect(m[2]!.toUpperCase(), name).toBe('ADD');
        altered.add(m[1]!);
      }
      for (const m of sql.matchAll(/\bFROM\s+(\w+)/gi)) {
        expect(profile.lake?.read, name).toContain(`${LAKE_PREFIXES.curated}${m[1]}/`);
      }
    }
    expect([...altered].sort()).toEqual([...(profile.glueUpsertTables ?? [])].sort());
    expect(profile.lake?.write).toContain(built.location.split('/').slice(0, 2).join('/') + '/');
    // What it writes to the lake itself (the GC record of the retired generation) is in its profile.
    const written: string[] = [];
    for await (const o of store.list('')) written.push(o.key);
    expect(written.length).toBeGreaterThan(0);
    for (const key of written)
      expect(
        profile.lake?.write?.some((w) => key.startsWith(w)),
        key,
      ).toBe(true);
  });

  it('has a reviewed least-privilege profile for every Task Lambda', () => {
    for (const entry of TASK_ENTRIES) expect(Object.keys(FUNCTION_PROFILES), entry).toContain(entry);
  });

  it('gives every Task the bucket and database names its composition root requires', () => {
    const lakeId = logicalId('AWS::S3::Bucket', { BucketName: Match.stringLikeRegexp('-lake-lake-') });
    for (const entry of TASK_ENTRIES) {
      const fn = t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: `eks-log-lake-${entry}` } });
      const env = (Object.values(fn)[0] as any).Properties.Environment.Variables;
      expect(flat(env.LAKE_BUCKET), entry).toBe(`<${lakeId}>`);
      expect(env.GLUE_DATABASE, entry).toBe('eks_log_lake');
    }
  });

  it('sets the poison limit from the typed config on WriteLedger only', () => {
    const envOf = (template: Template, name: string) =>
      (Object.values(template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: name } }))[0] as any)
        .Properties.Environment.Variables;
    const withLimit = TASK_ENTRIES.filter((e) => envOf(t, `eks-log-lake-${e}`)[ENV.POISON_AFTER_FAILED_RUNS]);
    expect(withLimit).toEqual(['write-ledger']);
    expect(envOf(t, 'eks-log-lake-write-ledger')[ENV.POISON_AFTER_FAILED_RUNS]).toBe(
      String(CONFIG.workflow.poisonAfterFailedRuns),
    );

    const dir = mkdtempSync(join(tmpdir(), 'asl-'));
    const file = join(dir, 'ledger.asl.json');
    const task = (name: string) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '$' + `{${name}FunctionArn}` },
    });
    writeFileSync(
      file,
      JSON.stringify({
        StartAt: 'S',
        States: { S: { ...task('StageObjects'), Next: 'L' }, L: { ...task('WriteLedger'), End: true } },
      }),
    );
    const stack = new Stack(testApp(), 'Poison', { env: { account: '111111111111', region: 'eu-west-1' } });
    const storage = new Storage(stack, 'S', {
      prefix: 'x',
      rawRetentionDays: 90,
      rawTransitionDays: 30,
      curatedRetentionDays: 0,
      athenaResultsRetentionDays: 7,
    });
    new Workflow(stack, 'W', {
      prefix: 'x',
      storage,
      databaseName: 'x',
      workGroupName: 'x',
      schedule: 'rate(1 hour)',
      settings: { ...CONFIG.workflow, poisonAfterFailedRuns: 5 },
      logRetention: 30,
      definitionPath: file,
    });
    const custom = Template.fromStack(stack);
    expect(envOf(custom, 'x-write-ledger')[ENV.POISON_AFTER_FAILED_RUNS]).toBe('5');
    expect(envOf(custom, 'x-stage-objects')[ENV.POISON_AFTER_FAILED_RUNS]).toBeUndefined();
  });

  it('gives a Task the table does not know the default profile and a synth warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asl-'));
    const file = join(dir, 'new.asl.json');
    const task = { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true };
    const arn = '$' + '{BrandNewStepFunctionArn}';
    writeFileSync(
      file,
      JSON.stringify({ StartAt: 'N', States: { N: { ...task, Parameters: { FunctionName: arn } } } }),
    );
    const stack = new Stack(testApp(), 'New', { env: { account: '111111111111', region: 'eu-west-1' } });
    const storage = new Storage(stack, 'S', {
      prefix: 'x',
      rawRetentionDays: 90,
      rawTransitionDays: 30,
      curatedRetentionDays: 0,
      athenaResultsRetentionDays: 7,
    });
    const wf = new Workflow(stack, 'W', {
      prefix: 'x',
      storage,
      databaseName: 'x',
      workGroupName: 'x',
      schedule: 'rate(1 hour)',
      settings: CONFIG.workflow,
      logRetention: 30,
      definitionPath: file,
      functionsDir: join(FIXTURES, 'functions'),
    });
    expect(Object.keys(wf.functions)).toEqual(['brand-new-step']);
    Annotations.fromStack(stack).hasWarning(
      '/New/W/BrandNewStep',
      Match.stringLikeRegexp('no entry in FUNCTION_PROFILES'),
    );
  });

  it('refuses a placeholder it has no value for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asl-'));
    const file = join(dir, 'bad.asl.json');
    writeFileSync(
      file,
      JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', Result: '$' + '{MysteryName}', End: true } } }),
    );
    const stack = new Stack(testApp(), 'Bad', { env: { account: '111111111111', region: 'eu-west-1' } });
    const storage = new Storage(stack, 'S', {
      prefix: 'x',
      rawRetentionDays: 90,
      rawTransitionDays: 30,
      curatedRetentionDays: 0,
      athenaResultsRetentionDays: 7,
    });
    expect(
      () =>
        new Workflow(stack, 'W', {
          prefix: 'x',
          storage,
          databaseName: 'x',
          workGroupName: 'x',
          schedule: 'rate(15 minutes)',
          settings: CONFIG.workflow,
          logRetention: 30,
          definitionPath: file,
        }),
    ).toThrow(/placeholder \$\{MysteryName\} has no value/);
  });

  it('logs every state without execution data and traces with X-Ray', () => {
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('may start and follow child executions of itself only', () => {
    const starts = iamStatements(t).filter(({ statement }) =>
      asArray(statement.Action).includes('states:StartExecution'),
    );
    const resourcesOf = starts.map(({ statement }) => asArray(statement.Resource).map(flat));
    expect(resourcesOf).toContainEqual([
      'arn:<AWS::Partition>:states:eu-west-1:111111111111:stateMachine:eks-log-lake-compaction',
    ]);
  });

  it('is started every 15 minutes with the scheduled time as input', () => {
    const [, schedule] = resources('AWS::Scheduler::Schedule')[0]!;
    expect(schedule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    const smId = resources('AWS::StepFunctions::StateMachine')[0]![0];
    expect(flat(schedule.Properties.Target.Arn)).toBe(`<${smId}>`);
    expect(JSON.parse(schedule.Properties.Target.Input)).toEqual({ scheduledTime: '<aws.scheduler.scheduled-time>' });
  });
});

describe('catalog', () => {
  it('registers every schema table plus the raw table, without partition projection', () => {
    const tables = resources('AWS::Glue::Table').map(([, r]) => r.Properties.TableInput);
    expect(tables.map((x) => x.Name).sort()).toEqual([...TABLES.map((x) => x.name), RAW_TABLE].sort());
    for (const x of tables) expect(x.Parameters?.['projection.enabled']).toBeUndefined();
  });

  it('uses the Parquet SerDe with the schema columns for curated tables and the JSON SerDe for raw', () => {
    const byName = new Map(
      resources('AWS::Glue::Table').map(([, r]) => [r.Properties.TableInput.Name, r.Properties.TableInput]),
    );
    const audit = byName.get('audit_events');
    expect(audit.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    );
    const auditDef = TABLES.find((x) => x.name === 'audit_events')!;
    expect(audit.StorageDescriptor.Columns.map((c: any) => c.Name)).toEqual(auditDef.columns.map((c) => c.name));
    expect(audit.PartitionKeys.map((c: any) => c.Name)).toEqual(['account', 'cluster', 'dt', 'hour']);
    const raw = byName.get(RAW_TABLE);
    expect(raw.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(raw.StorageDescriptor.Columns).toHaveLength(RAW_COLUMNS.length);
    expect(raw.PartitionKeys.map((c: any) => c.Name)).toEqual(['log_type', 'dt', 'hour']);
  });

  it('enforces the Athena workgroup, encrypts results with KMS and caps bytes scanned', () => {
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: CONFIG.athenaBytesScannedCutoff,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' } },
      },
    });
  });

  it('publishes every investigation query as a named query in the workgroup', () => {
    const queries = resources('AWS::Athena::NamedQuery').map(([, r]) => r.Properties);
    expect(queries.map((q) => q.Name).sort()).toEqual(
      namedQueryDefinitions()
        .map((q) => q.name)
        .sort(),
    );
    for (const q of queries) expect(q.WorkGroup).toBe(CONFIG.prefix);
  });
});

describe('Splunk feed', () => {
  const splunkTypes = [...LOG_TYPES, 'unknown'];

  it('sends ObjectCreated under each raw log_type prefix to its own queue', () => {
    const lake = t.findResources('AWS::S3::Bucket', {
      Properties: { BucketName: Match.stringLikeRegexp('-lake-lake-') },
    });
    const configs = (Object.values(lake)[0] as any).Properties.NotificationConfiguration.QueueConfigurations;
    expect(configs.map((c: any) => c.Filter.S3Key.Rules[0].Value).sort()).toEqual(
      splunkTypes.map((x) => `raw/log_type=${x}/`).sort(),
    );
    const queueIds = new Set(configs.map((c: any) => c.Queue['Fn::GetAtt'][0]));
    expect(queueIds.size).toBe(splunkTypes.length);
  });

  it('encrypts every queue with the key, gives each a dead-letter queue and denies non-TLS access', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues).toHaveLength(splunkTypes.length * 2);
    for (const [, q] of queues) expect(q.Properties.KmsMasterKeyId).toBeDefined();
    expect(queues.filter(([, q]) => q.Properties.RedrivePolicy?.maxReceiveCount === 5)).toHaveLength(
      splunkTypes.length,
    );
    for (const [, p] of resources('AWS::SQS::QueuePolicy')) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('has a read-only role for the configured principal, scoped to the raw prefixes, queues and key', () => {
    const roles = t.findResources('AWS::IAM::Role', { Properties: { RoleName: 'eks-log-lake-splunk-read' } });
    const [roleId, role] = Object.entries(roles)[0] as [string, any];
    const trust = role.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ AWS: CONFIG.splunk.principalArn });
    expect(trust.Condition).toEqual({ StringEquals: { 'sts:ExternalId': CONFIG.splunk.externalId } });
    const statements = roleStatements(t, roleId);
    const actions = statements.flatMap((s) => asArray(s.Action)).sort();
    expect(actions).toEqual(
      [
        'kms:Decrypt',
        's3:GetBucketLocation',
        's3:GetObject',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ListQueues',
        'sqs:ReceiveMessage',
      ].sort(),
    );
    // Splunk's documented permissions for the SQS-based S3 input include sqs:ListQueues, which has no resource.
    const onAnyResource = statements.filter((s) => asArray(s.Resource).includes('*'));
    expect(onAnyResource.map((s) => s.Action)).toEqual(['sqs:ListQueues']);
    const consume = statements.find((s) => asArray(s.Action).includes('sqs:ReceiveMessage'))!;
    const sourceQueueIds = resources('AWS::SQS::Queue')
      .filter(([, q]) => q.Properties.RedrivePolicy)
      .map(([id]) => `<${id}.Arn>`);
    expect(asArray(consume.Resource).map(flat).sort()).toEqual(sourceQueueIds.sort());
    const lakeId = logicalId('AWS::S3::Bucket', { BucketName: Match.stringLikeRegexp('-lake-lake-') });
    const reads = statements.find((s) => asArray(s.Action).includes('s3:GetObject'))!;
    expect(asArray(reads.Resource).map(flat).sort()).toEqual(
      splunkTypes.map((x) => `<${lakeId}.Arn>/raw/log_type=${x}/*`).sort(),
    );
  });
});

describe('stack outputs', () => {
  it('names one Splunk queue URL output per raw log type, letters only, in PascalCase', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    const names = Object.keys(outputs).filter((k) => k.startsWith('SplunkQueue'));
    expect(names.sort()).toEqual(splunkTypes().map(splunkQueueOutputName).sort());
    expect(names).toContain('SplunkQueueKubeApiserverAudit');
    expect(names).toContain('SplunkQueueUnknown');
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9]+$/);
    const sourceQueueIds = resources('AWS::SQS::Queue')
      .filter(([, q]) => q.Properties.RedrivePolicy)
      .map(([id]) => `<${id}>`);
    expect(names.map((n) => flat(outputs[n]!.Value)).sort()).toEqual(sourceQueueIds.sort());
  });

  it.each([
    ['kube-apiserver-audit', 'SplunkQueueKubeApiserverAudit'],
    ['cloud-controller-manager', 'SplunkQueueCloudControllerManager'],
    ['authenticator', 'SplunkQueueAuthenticator'],
  ])('names the %s queue output %s', (logType, name) => {
    expect(splunkQueueOutputName(logType)).toBe(name);
  });

  it('exposes the Destination, bucket, state machine, workgroup and Splunk role', () => {
    const outputs = Object.keys(t.toJSON().Outputs);
    for (const n of ['DestinationArn', 'LakeBucketName', 'StateMachineArn', 'AthenaWorkGroup', 'SplunkRoleArn']) {
      expect(outputs).toContain(n);
    }
  });
});

describe('monitoring', () => {
  const alarmOn = (metricName: string) =>
    resources('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === metricName);

  it('alarms on Firehose freshness and delivery and processing failures', () => {
    expect(alarmOn('DeliveryToS3.DataFreshness')).toHaveLength(1);
    expect(alarmOn('DeliveryToS3.Success')).toHaveLength(1);
    expect(alarmOn('ExecuteProcessing.Success')).toHaveLength(1);
  });

  it('alarms on transform errors, failed records, rejected owners and every function throttling', () => {
    expect(alarmOn('Errors')).toHaveLength(1);
    const failed = resources('AWS::CloudWatch::Alarm').filter(([, a]) =>
      (a.Properties.Metrics ?? []).some((m: any) => m.Expression === 'FILL(failed, 0) - FILL(nonEks, 0)'),
    );
    expect(failed).toHaveLength(1);
    // Non-EKS records quarantined by choice (nonEksLogGroups: quarantine) do not count as failures.
    const used = failed[0]![1].Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [
      m.Id,
      m.MetricStat.Metric.MetricName,
    ]);
    expect(used.sort()).toEqual([
      ['failed', 'records_failed'],
      ['nonEks', 'records_non_eks_quarantined'],
    ]);
    const owner = alarmOn('owner_not_allowed');
    expect(owner).toHaveLength(1);
    expect(owner[0]![1].Properties.Dimensions).toEqual([{ Name: 'service', Value: 'transform' }]);
    expect(alarmOn('Throttles')).toHaveLength(resources('AWS::Lambda::Function').length);
  });

  it('alarms on state machine failures, a stale ledger, no successful run and dead-letter depth', () => {
    const sm = resources('AWS::CloudWatch::Alarm').filter(([, a]) =>
      (a.Properties.Metrics ?? []).some(
        (m: any) => m.Expression === 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
      ),
    );
    expect(sm).toHaveLength(1);
    // The metric WriteLedger emits (src/pipeline/ledger.ts): name, namespace and the EMF service dimension.
    const lag = alarmOn(WATERMARK_LAG_METRIC.metricName);
    expect(lag).toHaveLength(1);
    expect(lag[0]![1].Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: WATERMARK_LAG_METRIC.service }],
      Statistic: 'Maximum',
      // No lag reported (runs skipped behind a held lease, or failing early) is not freshness.
      TreatMissingData: 'breaching',
      EvaluationPeriods: 2,
    });
    // Runs WriteLedger completed, not ExecutionsSucceeded: a skip behind a held lease succeeds too.
    const noRun = alarmOn(COMPACTION_METRICS.completedRuns.metricName);
    expect(noRun).toHaveLength(1);
    expect(noRun[0]![1].Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: COMPACTION_METRICS.completedRuns.service }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(alarmOn('ExecutionsSucceeded')).toEqual([]);
    expect(alarmOn('ApproximateNumberOfMessagesVisible')).toHaveLength(splunkTypes().length);
  });

  it('alarms on any quarantined object or record over an hour, under the service that counts them', () => {
    for (const m of [COMPACTION_METRICS.quarantinedObjects, COMPACTION_METRICS.quarantinedRecords]) {
      const alarms = alarmOn(m.metricName);
      expect(alarms, m.metricName).toHaveLength(1);
      expect(alarms[0]![1].Properties).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        Dimensions: [{ Name: 'service', Value: m.service }],
        Statistic: 'Sum',
        Period: 3600,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it.each([
    ['poisoned raw object', COMPACTION_METRICS.poisonedObjects],
    ['ignored raw key (rows 35, 36)', COMPACTION_METRICS.ignoredRawKeys],
    ['abandoned Athena step (F20)', COMPACTION_METRICS.abandonedAthenaSteps],
    ['backfill the scheduled runs cannot catch up by themselves (F27a)', COMPACTION_METRICS.backfillRequiredHours],
  ])('alarms on any %s over an hour, under the service that counts it', (_what, m) => {
    const alarms = alarmOn(m.metricName);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]![1].Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: m.service }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("alarms when any cluster went quiet, on the hour's maximum of the gauge WriteLedger emits, one metric for the fleet", () => {
    const alarms = alarmOn(QUIET_CLUSTERS_METRIC.metricName);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]![1].Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      // Only the service: a dimension per cluster would be a billed metric per cluster.
      Dimensions: [{ Name: 'service', Value: QUIET_CLUSTERS_METRIC.service }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      // Runs that stop reporting are LedgerFreshness's to alarm on, not a quiet cluster.
      TreatMissingData: 'notBreaching',
    });
    expect(alarms[0]![1].Properties.AlarmDescription).toContain('clusters went quiet');
    const widgets = JSON.stringify(resources('AWS::CloudWatch::Dashboard')[0]![1].Properties.DashboardBody);
    expect(widgets).toContain(QUIET_CLUSTERS_METRIC.metricName);
  });

  it('alarms when Firehose receives nothing for an hour, treating no data as breaching (F30)', () => {
    const { namespace, incoming, dimension } = SUBSCRIPTION_DELIVERY.receiver;
    const alarms = alarmOn(incoming);
    expect(alarms).toHaveLength(1);
    const p = alarms[0]![1].Properties;
    expect(p).toMatchObject({
      Namespace: namespace,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(p.Dimensions).toHaveLength(1);
    expect(p.Dimensions[0].Name).toBe(dimension);
    const streams = resources('AWS::KinesisFirehose::DeliveryStream').map(([, r]) => r.Properties.DeliveryStreamName);
    expect(streams).toContain(p.Dimensions[0].Value);
  });

  it('alarms when a Splunk source queue holds a message older than an hour, one alarm per queue', () => {
    const alarms = alarmOn('ApproximateAgeOfOldestMessage');
    const sourceQueueIds = resources('AWS::SQS::Queue')
      .filter(([, q]) => q.Properties.RedrivePolicy)
      .map(([id]) => id);
    expect(sourceQueueIds).toHaveLength(splunkTypes().length);
    const watched = alarms.map(([, a]) => flat(a.Properties.Dimensions[0].Value)).sort();
    expect(watched).toEqual(sourceQueueIds.map((id) => `<${id}.QueueName>`).sort());
    expect(SPLUNK_QUEUE_MAX_AGE.toSeconds()).toBe(3600);
    for (const [id, a] of alarms) {
      expect(a.Properties, id).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: SPLUNK_QUEUE_MAX_AGE.toSeconds(),
        ComparisonOperator: 'GreaterThanThreshold',
        // An empty queue reports nothing; that is no backlog.
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('derives the staleness alarms from the one cadence the config admits', () => {
    expect(firesEverySchedulePeriod(CONFIG.schedule)).toBe(true);
    expect(LEDGER_MAX_LAG.toMilliseconds()).toBe(2 * SCHEDULE_PERIOD_MS + 30 * 60 * 1000);
    const lag = alarmOn(WATERMARK_LAG_METRIC.metricName)[0]![1].Properties;
    expect(lag.Threshold).toBe(LEDGER_MAX_LAG.toSeconds());
    const noRun = alarmOn(COMPACTION_METRICS.completedRuns.metricName)[0]![1].Properties;
    expect(noRun.Period).toBe(LEDGER_MAX_LAG.toSeconds());
  });

  it('keeps the lease TTL over twice the longest Task timeout any workflow Lambda has', () => {
    const timeouts = resources('AWS::Lambda::Function').map(([, f]) => f.Properties.Timeout as number);
    expect(Math.max(...timeouts)).toBeLessThanOrEqual(LONGEST_TASK_SECONDS);
    expect(CONFIG.workflow.leaseTtlSeconds).toBeGreaterThanOrEqual(MIN_LEASE_TTL_SECONDS);
    expect(MIN_LEASE_TTL_SECONDS).toBe(2 * LONGEST_TASK_SECONDS);
  });

  it('sends every alarm to the encrypted topic', () => {
    const [topicId, topic] = resources('AWS::SNS::Topic')[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    for (const [id, a] of resources('AWS::CloudWatch::Alarm')) {
      expect(a.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
    }
  });
});

function splunkTypes(): string[] {
  return [...LOG_TYPES, 'unknown'];
}
