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
