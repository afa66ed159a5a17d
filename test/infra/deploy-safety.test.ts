import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.ts';
import { CONFIG, flat, RAW_CONFIG, synthAll } from './support.ts';

let central: Template;
let members: Template[];

beforeAll(() => {
  const built = synthAll();
  central = built.centralTemplate;
  members = built.memberTemplates;
});

const resourcesOf = (t: Template, type: string) => Object.entries(t.findResources(type));
const outputsOf = (t: Template) => (t.toJSON().Outputs ?? {}) as Record<string, { Value: unknown }>;

/** The resources a deployment keeps when its stack goes: fixed names, so a leftover blocks the next create. */
const RETAINED_TYPES = ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Logs::LogGroup'];

describe('retained resources', () => {
  it('keeps the 3 buckets, the key and the 15 log groups of the central stack on delete and replacement, but not after a failed create', () => {
    const counts = RETAINED_TYPES.map((type) => resourcesOf(central, type).length);
    expect(counts).toEqual([3, 1, resourcesOf(central, 'AWS::Lambda::Function').length + 2]);
    expect(counts[2]).toBe(15);
    for (const type of RETAINED_TYPES) {
      for (const [id, r] of resourcesOf(central, type)) {
        expect({ id, DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy }).toEqual({
          id,
          DeletionPolicy: 'RetainExceptOnCreate',
          UpdateReplacePolicy: 'Retain',
        });
      }
    }
  });

  it('keeps the member key and the guard log group the same way', () => {
    const [filterMember, policyMember] = members;
    expect(resourcesOf(filterMember!, 'AWS::Logs::LogGroup')).toHaveLength(1);
    expect(resourcesOf(policyMember!, 'AWS::Logs::LogGroup')).toHaveLength(0);
    for (const t of members) {
      expect(resourcesOf(t, 'AWS::KMS::Key')).toHaveLength(1);
      for (const type of RETAINED_TYPES) {
        for (const [id, r] of resourcesOf(t, type)) {
          expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([id, 'RetainExceptOnCreate', 'Retain']);
        }
      }
    }
  });

  it('leaves no resource with a plain Retain, which survives a rolled-back create', () => {
    for (const t of [central, ...members]) {
      const plain = Object.entries(t.toJSON().Resources as Record<string, { DeletionPolicy?: string }>)
        .filter(([, r]) => r.DeletionPolicy === 'Retain')
        .map(([id]) => id);
      expect(plain).toEqual([]);
    }
  });
});

describe('teardown outputs', () => {
  it('names the central key by ARN, every retained bucket and every retained log group', () => {
    const outputs = outputsOf(central);
    const [keyId] = resourcesOf(central, 'AWS::KMS::Key')[0]!;
    expect(outputs.KeyArn?.Value).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const buckets = Object.fromEntries(
      resourcesOf(central, 'AWS::S3::Bucket').map(([id, b]) => [id, b.Properties.BucketName as string]),
    );
    // A bucket output is its name or a Ref to the bucket (which resolves to the name).
    const named = ['LakeBucketName', 'AthenaResultsBucketName', 'AccessLogsBucketName'].map((n) => {
      const v = outputs[n]?.Value as string | { Ref: string };
      return typeof v === 'string' ? v : buckets[v.Ref];
    });
    expect(named.sort()).toEqual(Object.values(buckets).sort());
    const groups = resourcesOf(central, 'AWS::Logs::LogGroup').map(([, g]) => g.Properties.LogGroupName as string);
    expect(flat(outputs.LogGroupNames?.Value).split(',')).toEqual(groups.sort());
  });

  it('names each member key by ARN, and the guard log group where there is one', () => {
    const [filterMember, policyMember] = members;
    for (const t of members) {
      const [keyId] = resourcesOf(t, 'AWS::KMS::Key')[0]!;
      expect(outputsOf(t).KeyArn?.Value).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    expect(outputsOf(filterMember!).LogGroupNames?.Value).toBe(`/aws/lambda/${CONFIG.prefix}-member-guard`);
    expect(outputsOf(policyMember!).LogGroupNames).toBeUndefined();
  });
});

describe('the central key policy', () => {
  it('lets CloudWatch Logs use the key for exactly the log groups the stack creates, each encrypted with it', () => {
    const [keyId, key] = resourcesOf(central, 'AWS::KMS::Key')[0]!;
    const groups = resourcesOf(central, 'AWS::Logs::LogGroup').map(([, g]) => g.Properties);
    for (const g of groups) expect(g.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const statement = key.Properties.KeyPolicy.Statement.find(
      (s: { Sid?: string }) => s.Sid === 'CloudWatchLogsEncryptOwnLogGroups',
    );
    expect(statement.Principal).toEqual({ Service: `logs.${CONFIG.central.region}.amazonaws.com` });
    expect(Object.keys(statement.Condition)).toEqual(['ArnEquals']);
    const arns = (statement.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn'] as unknown[]).map(flat);
    const account = `${CONFIG.central.region}:${CONFIG.central.account}`;
    expect(arns).toEqual(groups.map((g) => `arn:<AWS::Partition>:logs:${account}:log-group:${g.LogGroupName}`).sort());
    expect(arns.filter((a) => a.includes('*'))).toEqual([]);
    expect(arns).toContain(`arn:<AWS::Partition>:logs:${account}:log-group:/aws/kinesisfirehose/${CONFIG.prefix}-raw`);
    expect(arns).toContain(
      `arn:<AWS::Partition>:logs:${account}:log-group:/aws/vendedlogs/states/${CONFIG.prefix}-compaction`,
    );
  });
});

describe('transformReservedConcurrency', () => {
  const transformOf = (t: Template) =>
    resourcesOf(t, 'AWS::Lambda::Function')
      .map(([, f]) => f.Properties)
      .find((p) => p.FunctionName === `${CONFIG.prefix}-transform`)!;

  it('leaves the transform on the account pool by default', () => {
    expect(CONFIG.transformReservedConcurrency).toBeUndefined();
    expect(transformOf(central).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('reserves the configured concurrency for the transform only', () => {
    const config = parseConfig({ ...RAW_CONFIG, transformReservedConcurrency: 50 });
    const t = synthAll(config).centralTemplate;
    expect(transformOf(t).ReservedConcurrentExecutions).toBe(50);
    const reserved = resourcesOf(t, 'AWS::Lambda::Function').filter(
      ([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined,
    );
    expect(reserved).toHaveLength(1);
  });

  it.each([0, 1001, 2.5, '50'])('rejects %j', (value) => {
    expect(() => parseConfig({ ...RAW_CONFIG, transformReservedConcurrency: value })).toThrow(
      `eksLogLake.transformReservedConcurrency: must be an integer between 1 and 1000, got ${JSON.stringify(value)}`,
    );
  });
});
