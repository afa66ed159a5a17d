import { request } from 'node:https';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeSubscriptionFiltersCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeClusterCommand, EKSClient, UpdateClusterConfigCommand } from '@aws-sdk/client-eks';

/** The five EKS control-plane log types (EKS calls authenticator logs `authenticator`). */
export const EKS_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'] as const;

/** CloudWatch Logs allows this many subscription filters per log group. */
export const MAX_SUBSCRIPTION_FILTERS = 2;

/** Properties of the member-account custom resource (strings: CloudFormation passes strings). */
export type GuardProps =
  | {
      readonly Op: 'PrepareLogGroup';
      readonly LogGroupName: string;
      readonly RetentionDays: string;
      readonly FilterName: string;
    }
  | { readonly Op: 'EnableControlPlaneLogs'; readonly ClusterName: string };

export interface CfnEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: GuardProps & { readonly ServiceToken: string };
}

/**
 * Decides whether our filter can be added: fails with a clear message when the log group already
 * holds the maximum of filters that are not ours (adding would fail, replacing would cut someone off).
 */
export function checkSubscriptionFilters(
  logGroupName: string,
  existing: readonly string[],
  ours: string,
): string | null {
  const others = existing.filter((n) => n !== ours);
  if (others.length >= MAX_SUBSCRIPTION_FILTERS) {
    return (
      `log group ${logGroupName} already has ${others.length} subscription filters (${others.join(', ')}); ` +
      `CloudWatch Logs allows ${MAX_SUBSCRIPTION_FILTERS}. Remove one of them first; ` +
      'eks-log-lake will not replace a filter it does not own.'
    );
  }
  return null;
}

/** Log types still to switch on, given what the cluster reports as enabled. */
export function missingLogTypes(enabled: readonly string[]): string[] {
  return EKS_LOG_TYPES.filter((t) => !enabled.includes(t));
}

export interface GuardDeps {
  readonly logs: Pick<CloudWatchLogsClient, 'send'>;
  readonly eks: Pick<EKSClient, 'send'>;
}

/** Runs one Create/Update; returns the physical id and a short note, or throws with the reason. */
export async function applyGuard(deps: GuardDeps, props: GuardProps): Promise<{ id: string; note: string }> {
  if (props.Op === 'PrepareLogGroup') {
    const name = props.LogGroupName;
    try {
      await deps.logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
    }
    const days = Number(props.RetentionDays);
    if (days > 0) await deps.logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: days }));
    const res = await deps.logs.send(new DescribeSubscriptionFiltersCommand({ logGroupName: name }));
    const existing = (res.subscriptionFilters ?? []).map((f) => f.filterName ?? '');
    const problem = checkSubscriptionFilters(name, existing, props.FilterName);
    if (problem) throw new Error(problem);
    const others = existing.filter((n) => n !== props.FilterName);
    return { id: `guard:${name}`, note: others.length ? `sharing the log group with filter ${others[0]}` : 'ok' };
  }
  const cluster = await deps.eks.send(new DescribeClusterCommand({ name: props.ClusterName }));
  const enabled = (cluster.cluster?.logging?.clusterLogging ?? [])
    .filter((l) => l.enabled)
    .flatMap((l) => l.types ?? []);
  const missing = missingLogTypes(enabled);
  if (missing.length > 0) {
    await deps.eks.send(
      new UpdateClusterConfigCommand({
        name: props.ClusterName,
        logging: { clusterLogging: [{ types: missing as never, enabled: true }] },
      }),
    );
  }
  return {
    id: `eks-logging:${props.ClusterName}`,
    note: missing.length ? `enabled ${missing.join(', ')}` : 'already enabled',
  };
}

function respond(event: CfnEvent, status: 'SUCCESS' | 'FAILED', id: string, reason: string): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 3000),
    PhysicalResourceId: id,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      event.ResponseURL,
      { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Builds the CloudFormation custom-resource handler; Delete leaves log groups and cluster logging as they are. */
export function makeHandler(deps: GuardDeps, send = respond) {
  return async (event: CfnEvent): Promise<void> => {
    const fallbackId = event.PhysicalResourceId ?? `guard:${event.LogicalResourceId}`;
    if (event.RequestType === 'Delete') return send(event, 'SUCCESS', fallbackId, 'nothing to undo');
    try {
      const { id, note } = await applyGuard(deps, event.ResourceProperties);
      console.log(JSON.stringify({ op: event.ResourceProperties.Op, id, note }));
      return await send(event, 'SUCCESS', id, note);
    } catch (err) {
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      console.error(JSON.stringify({ op: event.ResourceProperties.Op, error: reason }));
      return send(event, 'FAILED', fallbackId, reason);
    }
  };
}

let wired: ((e: CfnEvent) => Promise<void>) | undefined;

/** Lambda entry. */
export const handler = (event: CfnEvent): Promise<void> => {
  wired ??= makeHandler({ logs: new CloudWatchLogsClient({}), eks: new EKSClient({}) });
  return wired(event);
};
