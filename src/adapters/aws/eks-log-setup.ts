import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeSubscriptionFiltersCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeClusterCommand, type EKSClient, UpdateClusterConfigCommand } from '@aws-sdk/client-eks';

/** The CloudWatch Logs calls the member guard makes on a cluster's log group. */
export class CloudWatchLogGroupSetup {
  constructor(private readonly client: Pick<CloudWatchLogsClient, 'send'>) {}

  /** Creates the log group; one that already exists is fine. */
  async ensureLogGroup(logGroupName: string): Promise<void> {
    try {
      await this.client.send(new CreateLogGroupCommand({ logGroupName }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
    }
  }

  async setRetention(logGroupName: string, retentionInDays: number): Promise<void> {
    await this.client.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays }));
  }

  /** Names of the subscription filters on the log group (at most two, so one page). */
  async listSubscriptionFilters(logGroupName: string): Promise<string[]> {
    const res = await this.client.send(new DescribeSubscriptionFiltersCommand({ logGroupName }));
    return (res.subscriptionFilters ?? []).map((f) => f.filterName ?? '');
  }
}

/** The EKS calls the member guard makes to read and switch on control-plane logging. */
export class EksClusterLoggingSetup {
  constructor(private readonly client: Pick<EKSClient, 'send'>) {}

  /** Control-plane log types the cluster reports as enabled. */
  async enabledLogTypes(clusterName: string): Promise<string[]> {
    const cluster = await this.client.send(new DescribeClusterCommand({ name: clusterName }));
    return (cluster.cluster?.logging?.clusterLogging ?? []).filter((l) => l.enabled).flatMap((l) => l.types ?? []);
  }

  async enableLogTypes(clusterName: string, types: readonly string[]): Promise<void> {
    await this.client.send(
      new UpdateClusterConfigCommand({
        name: clusterName,
        logging: { clusterLogging: [{ types: [...types] as never, enabled: true }] },
      }),
    );
  }
}
