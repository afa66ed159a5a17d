import { describe, expect, it } from 'vitest';
import {
  type CfnEvent,
  checkSubscriptionFilters,
  EKS_LOG_TYPES,
  type GuardDeps,
  makeHandler,
  missingLogTypes,
} from '../../infra/custom-resources/member-guard.ts';

const LOG_GROUP = '/aws/eks/prod-eu-1/cluster';
const OURS = 'eks-log-lake-to-central';

/** A stand-in for the CloudWatch Logs and EKS SDK clients that answers by command name. */
function fakeClients(state: { filters: string[]; enabled: string[]; existingGroup?: boolean }) {
  const calls: Array<{ command: string; input: any }> = [];
  const send = async (cmd: { constructor: { name: string }; input: any }) => {
    const command = cmd.constructor.name;
    calls.push({ command, input: cmd.input });
    switch (command) {
      case 'CreateLogGroupCommand':
        if (state.existingGroup) throw Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' });
        return {};
      case 'PutRetentionPolicyCommand':
        return {};
      case 'DescribeSubscriptionFiltersCommand':
        return { subscriptionFilters: state.filters.map((filterName) => ({ filterName })) };
      case 'DescribeClusterCommand':
        return { cluster: { logging: { clusterLogging: [{ types: state.enabled, enabled: true }] } } };
      case 'UpdateClusterConfigCommand':
        return { update: { id: 'u-1' } };
      default:
        throw new Error(`unexpected ${command}`);
    }
  };
  const deps = { logs: { send }, eks: { send } } as unknown as GuardDeps;
  return { deps, calls };
}

function event(props: CfnEvent['ResourceProperties'], requestType: CfnEvent['RequestType'] = 'Create'): CfnEvent {
  return {
    RequestType: requestType,
    ResponseURL: 'https://cloudformation-response.example/abc',
    StackId: 'arn:aws:cloudformation:eu-west-1:222222222222:stack/m/1',
    RequestId: 'r-1',
    LogicalResourceId: 'PrepareProdEu1',
    ResourceProperties: props,
  };
}

const prepare = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:222222222222:function:guard',
  Op: 'PrepareLogGroup',
  LogGroupName: LOG_GROUP,
  RetentionDays: '7',
  FilterName: OURS,
} as const;

describe('checkSubscriptionFilters', () => {
  it.each([
    [[], null],
    [[OURS], null],
    [['datadog'], null],
    [['datadog', OURS], null],
    [['datadog', 'splunk-firehose'], /already has 2 subscription filters \(datadog, splunk-firehose\)/],
  ])('with existing %j answers %s', (existing, expected) => {
    const res = checkSubscriptionFilters(LOG_GROUP, existing, OURS);
    if (expected === null) expect(res).toBeNull();
    else expect(res).toMatch(expected);
  });
});

describe('missingLogTypes', () => {
  it('lists the control-plane types still off', () => {
    expect(missingLogTypes(['api', 'audit'])).toEqual(['authenticator', 'controllerManager', 'scheduler']);
    expect(missingLogTypes([...EKS_LOG_TYPES])).toEqual([]);
  });
});

describe('member guard custom resource', () => {
  it('creates the log group, sets retention and succeeds when one foreign filter exists', async () => {
    const { deps, calls } = fakeClients({ filters: ['datadog'], enabled: [], existingGroup: true });
    const sent: unknown[] = [];
    await makeHandler(deps, async (_e, status, id, reason) => void sent.push({ status, id, reason }))(event(prepare));
    expect(sent).toEqual([
      { status: 'SUCCESS', id: `guard:${LOG_GROUP}`, reason: 'sharing the log group with filter datadog' },
    ]);
    expect(calls.find((c) => c.command === 'PutRetentionPolicyCommand')?.input).toEqual({
      logGroupName: LOG_GROUP,
      retentionInDays: 7,
    });
  });

  it('fails the deployment with a clear reason when two foreign filters exist', async () => {
    const { deps } = fakeClients({ filters: ['datadog', 'siem'], enabled: [] });
    const sent: Array<{ status: string; reason: string }> = [];
    await makeHandler(deps, async (_e, status, _id, reason) => void sent.push({ status, reason }))(event(prepare));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.status).toBe('FAILED');
    expect(sent[0]!.reason).toContain('already has 2 subscription filters (datadog, siem)');
    expect(sent[0]!.reason).toContain('will not replace a filter it does not own');
  });

  it('enables only the missing control-plane log types', async () => {
    const { deps, calls } = fakeClients({ filters: [], enabled: ['api', 'audit'] });
    const sent: Array<{ status: string; reason: string }> = [];
    await makeHandler(
      deps,
      async (_e, status, _id, reason) => void sent.push({ status, reason }),
    )(event({ ServiceToken: prepare.ServiceToken, Op: 'EnableControlPlaneLogs', ClusterName: 'prod-eu-1' }));
    expect(sent[0]).toEqual({ status: 'SUCCESS', reason: 'enabled authenticator, controllerManager, scheduler' });
    expect(calls.find((c) => c.command === 'UpdateClusterConfigCommand')?.input.logging).toEqual({
      clusterLogging: [{ types: ['authenticator', 'controllerManager', 'scheduler'], enabled: true }],
    });
  });

  it('leaves everything in place on Delete', async () => {
    const { deps, calls } = fakeClients({ filters: [], enabled: [] });
    const sent: string[] = [];
    await makeHandler(deps, async (_e, status) => void sent.push(status))(event(prepare, 'Delete'));
    expect(sent).toEqual(['SUCCESS']);
    expect(calls).toEqual([]);
  });
});
