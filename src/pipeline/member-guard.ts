import { checkSubscriptionFilters, type GuardProps, missingLogTypes } from '../core/member-guard.ts';

/** What the guard needs of CloudWatch Logs (CloudWatchLogGroupSetup in AWS). */
export interface LogGroupSetup {
  ensureLogGroup(logGroupName: string): Promise<void>;
  setRetention(logGroupName: string, retentionInDays: number): Promise<void>;
  listSubscriptionFilters(logGroupName: string): Promise<string[]>;
}

/** What the guard needs of EKS (EksClusterLoggingSetup in AWS). */
export interface ClusterLoggingSetup {
  enabledLogTypes(clusterName: string): Promise<string[]>;
  enableLogTypes(clusterName: string, types: readonly string[]): Promise<void>;
}

export interface GuardDeps {
  readonly logGroups: LogGroupSetup;
  readonly clusters: ClusterLoggingSetup;
}

/** Runs one Create/Update; returns the physical id and a short note, or throws with the reason. */
export async function applyGuard(deps: GuardDeps, props: GuardProps): Promise<{ id: string; note: string }> {
  if (props.Op === 'PrepareLogGroup') {
    const name = props.LogGroupName;
    await deps.logGroups.ensureLogGroup(name);
    const days = Number(props.RetentionDays);
    if (days > 0) await deps.logGroups.setRetention(name, days);
    const existing = await deps.logGroups.listSubscriptionFilters(name);
    const problem = checkSubscriptionFilters(name, existing, props.FilterName);
    if (problem) throw new Error(problem);
    const others = existing.filter((n) => n !== props.FilterName);
    return { id: `guard:${name}`, note: others.length ? `sharing the log group with filter ${others[0]}` : 'ok' };
  }
  const missing = missingLogTypes(await deps.clusters.enabledLogTypes(props.ClusterName));
  if (missing.length > 0) await deps.clusters.enableLogTypes(props.ClusterName, missing);
  return {
    id: `eks-logging:${props.ClusterName}`,
    note: missing.length ? `enabled ${missing.join(', ')}` : 'already enabled',
  };
}
