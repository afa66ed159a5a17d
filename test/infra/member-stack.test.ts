import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.ts';
import { SUBSCRIPTION_DELIVERY, senderDeliveryQuery } from '../../infra/constructs/monitoring-delivery.ts';
import {
  exclusionCriteria,
  MemberStack,
  ownLogGroupNames,
  SELECTION_CRITERIA_MAX_BYTES,
  workflowFunctionNames,
} from '../../infra/stacks/member-stack.ts';
import { asArray, CONFIG, flat, RAW_CONFIG, roleStatements, synthAll, testApp } from './support.ts';

const DESTINATION = 'arn:<AWS::Partition>:logs:eu-west-1:111111111111:destination:eks-log-lake-eks-logs';
let filterMode: Template;
let policyMode: Template;

beforeAll(() => {
  const app = testApp();
  const [filterMember, policyMember] = CONFIG.members;
  const stack = (m: typeof filterMember) =>
    new MemberStack(app, `Member${m!.account}`, {
      env: { account: m!.account, region: m!.region },
      config: CONFIG,
      member: m!,
    });
  const a = stack(filterMember);
  const b = stack(policyMember);
  filterMode = Template.fromStack(a);
  policyMode = Template.fromStack(b);
});

describe('member stack, filter mode', () => {
  it('subscribes each cluster log group to the central Destination with an empty pattern', () => {
    const filters = Object.values(filterMode.findResources('AWS::Logs::SubscriptionFilter')).map((r) => r.Properties);
    expect(filters.map((f) => f.LogGroupName).sort()).toEqual([
      '/aws/eks/prod-eu-1/cluster',
      '/aws/eks/prod-eu-2/cluster',
    ]);
    for (const f of filters) {
      expect(flat(f.DestinationArn)).toBe(DESTINATION);
      expect(f.FilterPattern).toBe('');
      expect(f.FilterName).toBe('eks-log-lake-to-central');
      expect(f.RoleArn).toBeUndefined(); // cross-account Destinations take no role on the sender side
    }
  });

  it('checks existing filters and sets the short retention before subscribing', () => {
    const prepared = filterMode.findResources('Custom::EksLogGroup');
    expect(Object.values(prepared).map((r) => r.Properties.RetentionDays)).toEqual(['7', '7']);
    for (const [id, filter] of Object.entries(filterMode.findResources('AWS::Logs::SubscriptionFilter'))) {
      expect(
        asArray(filter.DependsOn).some((d) => Object.keys(prepared).includes(d)),
        id,
      ).toBe(true);
    }
  });

  it('turns on control-plane logging for the listed clusters with access to those clusters only', () => {
    const logging = Object.values(filterMode.findResources('Custom::EksControlPlaneLogging'));
    expect(logging.map((r) => r.Properties.ClusterName).sort()).toEqual(['prod-eu-1', 'prod-eu-2']);
    const roleId = Object.keys(filterMode.findResources('AWS::IAM::Role')).find((id) => id.startsWith('GuardRole'))!;
    const eks = roleStatements(filterMode, roleId).filter((s) => asArray(s.Action).includes('eks:UpdateClusterConfig'));
    expect(
      eks
        .flatMap((s) => asArray(s.Resource))
        .map(flat)
        .sort(),
    ).toEqual([
      'arn:<AWS::Partition>:eks:eu-west-1:222222222222:cluster/prod-eu-1',
      'arn:<AWS::Partition>:eks:eu-west-1:222222222222:cluster/prod-eu-2',
    ]);
  });

  it('creates no account-level policy', () => {
    expect(filterMode.findResources('AWS::Logs::AccountPolicy')).toEqual({});
  });
});

describe('member stack, account-policy mode', () => {
  it('subscribes the whole account except our own log groups', () => {
    const policies = Object.values(policyMode.findResources('AWS::Logs::AccountPolicy')).map((r) => r.Properties);
    expect(policies).toHaveLength(1);
    const p = policies[0]!;
    expect(p.PolicyType).toBe('SUBSCRIPTION_FILTER_POLICY');
    expect(p.Scope).toBe('ALL');
    const doc = JSON.parse(flat(p.PolicyDocument));
    expect(doc).toEqual({ DestinationArn: DESTINATION, FilterPattern: '', Distribution: 'Random' });
    for (const own of ownLogGroupNames('eks-log-lake')) expect(p.SelectionCriteria).toContain(JSON.stringify(own));
    expect(p.SelectionCriteria).toMatch(/^LogGroupName NOT IN \[/);
  });

  it('excludes every log group the central and member stacks create, so none loops back into the lake', () => {
    const { centralTemplate, memberTemplates } = synthAll();
    const created = new Set<string>();
    for (const template of [centralTemplate, ...memberTemplates]) {
      for (const r of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
        created.add(flat(r.Properties.LogGroupName));
      }
      for (const r of Object.values(template.findResources('AWS::Lambda::Function'))) {
        created.add(`/aws/lambda/${flat(r.Properties.FunctionName)}`);
      }
    }
    // The transform, the twelve workflow Tasks, the member guard, Firehose and the state machine.
    expect(created.size).toBe(2 + workflowFunctionNames('eks-log-lake').length + 2);
    const excluded = ownLogGroupNames('eks-log-lake');
    expect([...created].filter((n) => !excluded.includes(n))).toEqual([]);
    const policy = Object.values(policyMode.findResources('AWS::Logs::AccountPolicy'))[0]!.Properties;
    const listed = JSON.parse(String(policy.SelectionCriteria).replace(/^LogGroupName NOT IN /, ''));
    expect(listed.sort()).toEqual([...excluded].sort());
    expect(listed).toContain('/aws/lambda/eks-log-lake-merge-partition');
  });

  it('names one Lambda per workflow Task of the ASL', () => {
    expect(workflowFunctionNames('p')).toHaveLength(12);
    expect(workflowFunctionNames('p')).toContain('p-stage-objects');
  });

  it.each([
    ['our own names', ownLogGroupNames('eks-log-lake'), true],
    [
      'names just under the limit',
      [`/${'a'.repeat(SELECTION_CRITERIA_MAX_BYTES - 'LogGroupName NOT IN [""]'.length - 1)}`],
      true,
    ],
    [
      'names just over the limit',
      [`/${'a'.repeat(SELECTION_CRITERIA_MAX_BYTES - 'LogGroupName NOT IN [""]'.length)}`],
      false,
    ],
  ])('keeps the selection criteria within what CloudWatch Logs accepts: %s', (_name, names, fits) => {
    if (fits) expect(Buffer.byteLength(exclusionCriteria(names))).toBeLessThanOrEqual(SELECTION_CRITERIA_MAX_BYTES);
    else
      expect(() => exclusionCriteria(names)).toThrow(
        `account policy selectionCriteria is ${SELECTION_CRITERIA_MAX_BYTES + 1} bytes, over the ${SELECTION_CRITERIA_MAX_BYTES} CloudWatch Logs accepts`,
      );
  });

  it('needs no custom resource when no cluster is listed', () => {
    expect(policyMode.findResources('AWS::Lambda::Function')).toEqual({});
    expect(policyMode.findResources('AWS::Logs::SubscriptionFilter')).toEqual({});
  });
});

describe('member stack, delivery alarms (F30)', () => {
  const alarms = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties);
  const queryOf = (a: any) => a.Metrics.find((m: any) => m.ReturnData !== false).Expression as string;

  it.each([
    ['filter', () => filterMode, "WHERE FilterName = 'eks-log-lake-to-central'"],
    ['account-policy', () => policyMode, null],
  ] as const)('alarms on delivery errors and throttling of the subscriptions in %s mode', (_mode, template, where) => {
    const t = template();
    const { namespace, errors, throttling } = SUBSCRIPTION_DELIVERY.sender;
    const found = alarms(t);
    expect(found).toHaveLength(2);
    const queries = found.map(queryOf).sort();
    expect(queries).toEqual(
      [senderDeliveryQuery(errors, undefined), senderDeliveryQuery(throttling, undefined)]
        .map((q) => (where ? `${q} ${where}` : q))
        .sort(),
    );
    for (const q of queries) expect(q).toContain(`SCHEMA("${namespace}", DestinationType, FilterName, LogGroupName)`);
    for (const a of found) {
      expect(a).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(a.Metrics.find((m: any) => m.Expression).Period).toBe(3600);
    }
  });

  it('sends them to a topic of the member account under its own rotated key', () => {
    const [topicId, topic] = Object.entries(filterMode.findResources('AWS::SNS::Topic'))[0]!;
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    for (const a of alarms(filterMode)) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    const keys = Object.values(filterMode.findResources('AWS::KMS::Key')).map((k) => k.Properties);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.EnableKeyRotation).toBe(true);
  });

  it('encrypts our own log groups in the member account with that key, which CloudWatch Logs may use for them only', () => {
    const [keyId, key] = Object.entries(filterMode.findResources('AWS::KMS::Key'))[0]!;
    const groups = Object.values(filterMode.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties);
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) expect(g.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const logs = key.Properties.KeyPolicy.Statement.find((st: any) => st.Sid === 'CloudWatchLogsEncryptOwnLogGroups');
    expect(logs.Principal).toEqual({ Service: 'logs.eu-west-1.amazonaws.com' });
    // Exactly the log groups the stack creates (the guard's), no wildcard.
    const names = Object.values(filterMode.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties.LogGroupName);
    expect(names).toEqual(['/aws/lambda/eks-log-lake-member-guard']);
    expect(Object.keys(logs.Condition)).toEqual(['ArnEquals']);
    expect(logs.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn'].map(flat)).toEqual(
      names.map((n) => `arn:<AWS::Partition>:logs:eu-west-1:222222222222:log-group:${n}`),
    );
  });
});

describe('member config', () => {
  it('rejects a member in another region than the Destination', () => {
    const bad = { ...RAW_CONFIG, members: [{ ...RAW_CONFIG.members[0], region: 'us-east-1' }] };
    expect(() => parseConfig(bad)).toThrow(
      /members\[0\]\.region: "us-east-1" differs from central\.region "eu-west-1"/,
    );
  });
});
