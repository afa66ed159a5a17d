import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.ts';
import { Ingestion } from '../../infra/constructs/ingestion.ts';
import { LEDGER_INDEX_MARGIN_DAYS, Storage } from '../../infra/constructs/storage.ts';
import { CentralStack } from '../../infra/stacks/central-stack.ts';
import type { NonEksLogGroupMode } from '../../src/core/transform/index.ts';
import { flat, RAW_CONFIG, testApp } from './support.ts';

let t: Template;

function orgWideIngestion(nonEksLogGroups?: NonEksLogGroupMode): Template {
  const stack = new Stack(testApp(), 'OrgWide', { env: { account: '111111111111', region: 'eu-west-1' } });
  const storage = new Storage(stack, 'Storage', {
    prefix: 'lake',
    rawRetentionDays: 30,
    rawTransitionDays: 30,
    quarantineRetentionDays: 14,
    curatedRetentionDays: 365,
    athenaResultsRetentionDays: 3,
  });
  new Ingestion(stack, 'Ingestion', {
    prefix: 'lake',
    storage,
    sources: { organizationId: 'o-abcdef1234' },
    allowedSourceAccounts: [],
    nonEksLogGroups,
    logRetention: logs.RetentionDays.ONE_WEEK,
  });
  return Template.fromStack(stack);
}

function transformEnv(template: Template, functionName: string): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: functionName } });
  return (Object.values(fn)[0] as any).Properties.Environment.Variables;
}

beforeAll(() => {
  t = orgWideIngestion();
});

describe('Ingestion for a whole organization', () => {
  it('scopes the Destination policy with aws:PrincipalOrgID', () => {
    const dest = Object.values(t.findResources('AWS::Logs::Destination'))[0]!;
    const policy = JSON.parse(flat(dest.Properties.DestinationPolicy));
    expect(policy.Statement).toEqual([
      {
        Sid: 'AllowEksLogSubscriptions',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-abcdef1234'] } },
        Action: ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'],
        Resource: 'arn:<AWS::Partition>:logs:eu-west-1:111111111111:destination:lake-eks-logs',
      },
    ]);
  });

  it('lets CloudWatch Logs assume the delivery role only for log groups of accounts in the organization', () => {
    const dest = Object.values(t.findResources('AWS::Logs::Destination'))[0]!;
    const roleId = dest.Properties.RoleArn['Fn::GetAtt'][0] as string;
    const trust = t.findResources('AWS::IAM::Role')[roleId]!.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal).toEqual({ Service: 'logs.amazonaws.com' });
    expect(trust[0].Condition.StringEquals).toEqual({ 'aws:SourceOrgID': 'o-abcdef1234' });
    expect(trust[0].Condition.StringLike['aws:SourceArn'].map(flat)).toEqual([
      'arn:<AWS::Partition>:logs:eu-west-1:*:*',
    ]);
  });

  it('passes no allow-list to the transform (empty means every owner the Destination admits)', () => {
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0]!;
    expect(fn.Properties.Environment.Variables.ALLOWED_ACCOUNTS).toBe('');
  });

  it('keeps curated data and quarantine/ only as long as configured, and ledger indexes past raw', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'lake-lake-111111111111-eu-west-1',
      LifecycleConfiguration: {
        Rules: [
          {
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Id: 'abort-incomplete-multipart',
            Status: 'Enabled',
          },
          {
            Id: 'noncurrent-versions',
            NoncurrentVersionExpiration: { NoncurrentDays: 7 },
            ExpiredObjectDeleteMarker: true,
            Status: 'Enabled',
          },
          // 30-day retention: no transition (Standard-IA needs 30 days of age first).
          { Id: 'raw-retention', Prefix: 'raw/', ExpirationInDays: 30, Status: 'Enabled' },
          { Id: 'errors-retention', Prefix: 'errors/', ExpirationInDays: 30, Status: 'Enabled' },
          { Id: 'quarantine-retention', Prefix: 'quarantine/', ExpirationInDays: 14, Status: 'Enabled' },
          {
            Id: 'ledger-processed-retention',
            Prefix: 'control/ledger/processed/',
            ExpirationInDays: 30 + LEDGER_INDEX_MARGIN_DAYS,
            Status: 'Enabled',
          },
          {
            Id: 'ledger-attempts-retention',
            Prefix: 'control/ledger/attempts/',
            ExpirationInDays: 30 + LEDGER_INDEX_MARGIN_DAYS,
            Status: 'Enabled',
          },
          {
            Id: 'curated-intelligent-tiering',
            Prefix: 'curated/',
            ExpirationInDays: 365,
            Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }],
            Status: 'Enabled',
          },
        ],
      },
    });
  });
});

describe('Ingestion: non-EKS log groups (reliability row 14)', () => {
  it('tells the transform to keep them when the setting is left out', () => {
    expect(transformEnv(t, 'lake-transform').TRANSFORM_NON_EKS_LOG_GROUPS).toBe('keep');
  });

  it('sets the quarantine mode on the transform and grants nothing more (Firehose writes errors/)', () => {
    const quarantine = orgWideIngestion('quarantine');
    expect(transformEnv(quarantine, 'lake-transform').TRANSFORM_NON_EKS_LOG_GROUPS).toBe('quarantine');
    expect(quarantine.findResources('AWS::IAM::Policy')).toEqual(t.findResources('AWS::IAM::Policy'));
  });

  it('passes nonEksLogGroups from the typed config through the central stack', () => {
    const config = parseConfig({ ...RAW_CONFIG, nonEksLogGroups: 'drop' });
    const stack = new CentralStack(testApp(), 'Central', {
      config,
      env: { account: config.central.account, region: config.central.region },
    });
    const env = transformEnv(Template.fromStack(stack), 'eks-log-lake-transform');
    expect(env.TRANSFORM_NON_EKS_LOG_GROUPS).toBe('drop');
  });
});
