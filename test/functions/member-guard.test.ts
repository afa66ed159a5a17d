import { describe, expect, it } from 'vitest';
import { type CfnEvent, type MemberGuardDeps, makeHandler } from '../../functions/member-guard.ts';
import type { CfnStatus } from '../../src/adapters/aws/cfn-response.ts';
import { CloudWatchLogGroupSetup, EksClusterLoggingSetup } from '../../src/adapters/aws/eks-log-setup.ts';

const LOG_GROUP = '/aws/eks/prod-eu-1/cluster';
const OURS = 'eks-log-lake-to-central';

/** A stand-in for the CloudWatch Logs and EKS SDK clients that answers by command name. */
function fakeClients(state: { filters: string[]; enabled: string[]; existingGroup?: boolean }) {
  const calls: Array<{ command: string; input: any }> = [];
  const send = async (cmd: { constructor: { name: string }; input: any }): Promise<any> => {
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
  return { client: { send } as any, calls };
}

/** The handler wired to the real AWS adapters over the fake clients; CloudFormation answers are captured. */
function guardOver(state: Parameters<typeof fakeClients>[0]) {
  const { client, calls } = fakeClients(state);
  const sent: Array<{ status: CfnStatus; id: string; reason: string }> = [];
  const deps: MemberGuardDeps = {
    logGroups: new CloudWatchLogGroupSetup(client),
    clusters: new EksClusterLoggingSetup(client),
    respond: async (_e, status, id, reason) => void sent.push({ status, id, reason }),
  };
  return { run: makeHandler(deps), calls, sent };
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

describe('member guard custom resource', () => {
  it('creates the log group, sets retention and succeeds when one foreign filter exists', async () => {
    const { run, calls, sent } = guardOver({ filters: ['datadog'], enabled: [], existingGroup: true });
    await run(event(prepare));
    expect(sent).toEqual([
      { status: 'SUCCESS', id: `guard:${LOG_GROUP}`, reason: 'sharing the log group with filter datadog' },
    ]);
    expect(calls.map((c) => c.command)).toEqual([
      'CreateLogGroupCommand',
      'PutRetentionPolicyCommand',
      'DescribeSubscriptionFiltersCommand',
    ]);
    expect(calls.find((c) => c.command === 'PutRetentionPolicyCommand')?.input).toEqual({
      logGroupName: LOG_GROUP,
      retentionInDays: 7,
    });
  });

  it('succeeds with a plain note when only our own filter is there', async () => {
    const { run, sent } = guardOver({ filters: [OURS], enabled: [] });
    await run(event(prepare));
    expect(sent).toEqual([{ status: 'SUCCESS', id: `guard:${LOG_GROUP}`, reason: 'ok' }]);
  });

  it('fails the deployment with a clear reason when two foreign filters exist', async () => {
    const { run, sent } = guardOver({ filters: ['datadog', 'siem'], enabled: [] });
    await run(event(prepare));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.status).toBe('FAILED');
    expect(sent[0]!.id).toBe('guard:PrepareProdEu1');
    expect(sent[0]!.reason).toContain('already has 2 subscription filters (datadog, siem)');
    expect(sent[0]!.reason).toContain('will not replace a filter it does not own');
  });

  it('enables only the missing control-plane log types', async () => {
    const { run, calls, sent } = guardOver({ filters: [], enabled: ['api', 'audit'] });
    await run(event({ ServiceToken: prepare.ServiceToken, Op: 'EnableControlPlaneLogs', ClusterName: 'prod-eu-1' }));
    expect(sent).toEqual([
      { status: 'SUCCESS', id: 'eks-logging:prod-eu-1', reason: 'enabled authenticator, controllerManager, scheduler' },
    ]);
    expect(calls.find((c) => c.command === 'UpdateClusterConfigCommand')?.input.logging).toEqual({
      clusterLogging: [{ types: ['authenticator', 'controllerManager', 'scheduler'], enabled: true }],
    });
  });

  it('changes nothing when every control-plane log type is already on', async () => {
    const { run, calls, sent } = guardOver({
      filters: [],
      enabled: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'],
    });
    await run(event({ ServiceToken: prepare.ServiceToken, Op: 'EnableControlPlaneLogs', ClusterName: 'prod-eu-1' }));
    expect(sent).toEqual([{ status: 'SUCCESS', id: 'eks-logging:prod-eu-1', reason: 'already enabled' }]);
    expect(calls.map((c) => c.command)).toEqual(['DescribeClusterCommand']);
  });

  it('leaves everything in place on Delete', async () => {
    const { run, calls, sent } = guardOver({ filters: [], enabled: [] });
    await run(event(prepare, 'Delete'));
    expect(sent.map((s) => s.status)).toEqual(['SUCCESS']);
    expect(calls).toEqual([]);
  });
});
