import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EKSClient } from '@aws-sdk/client-eks';
import { type CfnRequestIds, type CfnRespond, sendCfnResponse } from '../src/adapters/aws/cfn-response.ts';
import { CloudWatchLogGroupSetup, EksClusterLoggingSetup } from '../src/adapters/aws/eks-log-setup.ts';
import type { GuardProps } from '../src/core/member-guard.ts';
import { applyGuard, type GuardDeps } from '../src/pipeline/member-guard.ts';

/** A CloudFormation custom-resource request for the member guard. */
export interface CfnEvent extends CfnRequestIds {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: GuardProps & { readonly ServiceToken: string };
}

export interface MemberGuardDeps extends GuardDeps {
  /** Answers CloudFormation; the Lambda PUTs to the request's ResponseURL. */
  readonly respond: CfnRespond;
}

/** Builds the CloudFormation custom-resource handler; Delete leaves log groups and cluster logging as they are. */
export function makeHandler(deps: MemberGuardDeps) {
  const send = deps.respond;
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

/** Lambda entry (the member stack's Custom::EksLogGroup and Custom::EksControlPlaneLogging). */
export const handler = (event: CfnEvent): Promise<void> => {
  wired ??= makeHandler({
    logGroups: new CloudWatchLogGroupSetup(new CloudWatchLogsClient({})),
    clusters: new EksClusterLoggingSetup(new EKSClient({})),
    respond: sendCfnResponse,
  });
  return wired(event);
};
