import { readFileSync } from 'node:fs';
import { ArnFormat, CfnOutput, CustomResource, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EksLogLakeConfig, MemberConfig } from '../config.ts';
import { destinationNameFor } from '../constructs/ingestion.ts';
import { LakeFunction } from '../constructs/lake-function.ts';
import { MemberDeliveryAlarms } from '../constructs/monitoring-delivery.ts';
import { allowLogsToEncrypt, logGroupsEncryptedWith } from '../constructs/storage.ts';
import { aslPlaceholders, DEFAULT_DEFINITION_PATH, kebabCase } from '../constructs/workflow.ts';
import { acknowledgeWildcardResource } from '../nag.ts';

export interface MemberStackProps extends StackProps {
  readonly config: EksLogLakeConfig;
  readonly member: MemberConfig;
}

/** The CloudWatch Logs group EKS writes a cluster's control-plane logs to. */
export function clusterLogGroupName(cluster: string): string {
  return `/aws/eks/${cluster}/cluster`;
}

/** PutAccountPolicy accepts a selectionCriteria of up to 25 KB (UTF-8 bytes); we stay under 25,000. */
export const SELECTION_CRITERIA_MAX_BYTES = 25_000;

/** Lambda names of the workflow Tasks, one per `${XxxFunctionArn}` of the ASL, named as the Workflow construct names them. */
export function workflowFunctionNames(prefix: string, definitionPath = DEFAULT_DEFINITION_PATH): string[] {
  return aslPlaceholders(readFileSync(definitionPath, 'utf8'))
    .map((name) => /^([A-Z][A-Za-z0-9]*)FunctionArn$/.exec(name)?.[1])
    .filter((task): task is string => task !== undefined)
    .map((task) => `${prefix}-${kebabCase(task)}`);
}

/**
 * Every log group eks-log-lake writes in an account (the central account may itself be an
 * account-policy member): an account-level policy must never subscribe them.
 */
export function ownLogGroupNames(prefix: string, definitionPath = DEFAULT_DEFINITION_PATH): string[] {
  const functions = [`${prefix}-member-guard`, `${prefix}-transform`, ...workflowFunctionNames(prefix, definitionPath)];
  return [
    ...functions.map((f) => `/aws/lambda/${f}`),
    `/aws/kinesisfirehose/${prefix}-raw`,
    `/aws/vendedlogs/states/${prefix}-compaction`,
  ];
}

/** The account policy's `LogGroupName NOT IN [...]`; throws when it outgrows what CloudWatch Logs accepts. */
export function exclusionCriteria(names: readonly string[]): string {
  const criteria = `LogGroupName NOT IN [${names.map((n) => JSON.stringify(n)).join(', ')}]`;
  const bytes = Buffer.byteLength(criteria, 'utf8');
  if (bytes > SELECTION_CRITERIA_MAX_BYTES) {
    throw new Error(
      `account policy selectionCriteria is ${bytes} bytes, over the ${SELECTION_CRITERIA_MAX_BYTES} CloudWatch Logs accepts`,
    );
  }
  return criteria;
}

/**
 * One source account: its EKS cluster log groups (or the whole account) subscribed to the central
 * Destination, short retention on those groups, and optionally the five control-plane log types on.
 */
export class MemberStack extends Stack {
  readonly destinationArn: string;
  readonly filterName: string;
  readonly deliveryAlarms: MemberDeliveryAlarms;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, props);
    const { config, member } = props;
    this.filterName = `${config.prefix}-to-central`;
    this.destinationArn = `arn:${this.partition}:logs:${config.central.region}:${config.central.account}:destination:${destinationNameFor(config.prefix)}`;

    // F30 seen from the sender: the Destination unreachable, or delivery throttled.
    this.deliveryAlarms = new MemberDeliveryAlarms(this, 'DeliveryAlarms', {
      prefix: config.prefix,
      // An account-level policy's deliveries carry no filter name of ours: watch every subscription.
      filterName: member.subscription === 'filter' ? this.filterName : undefined,
      alarmEmail: config.alarmEmail,
    });

    const needsGuard = member.clusters.length > 0;
    const guard = needsGuard
      ? new LakeFunction(this, 'Guard', {
          entry: 'member-guard',
          functionName: `${config.prefix}-member-guard`,
          description: 'eks-log-lake: prepares EKS log groups and turns on control-plane logging',
          memorySize: 256,
          timeout: Duration.minutes(2),
          logRetention: config.logRetentionDays as logs.RetentionDays,
          logKey: this.deliveryAlarms.key,
        })
      : undefined;

    for (const cluster of member.clusters) {
      const logGroupName = clusterLogGroupName(cluster);
      const logGroupArn = this.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      guard!.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:DescribeSubscriptionFilters'],
          resources: [logGroupArn, `${logGroupArn}:*`],
        }),
      );
      acknowledgeWildcardResource(
        guard!,
        `${logGroupArn}:*`,
        `The log group ARN form with :* names the one EKS log group ${logGroupName}.`,
      );
      const prepared = new CustomResource(this, `Prepare-${cluster}`, {
        serviceToken: guard!.fn.functionArn,
        resourceType: 'Custom::EksLogGroup',
        properties: {
          Op: 'PrepareLogGroup',
          LogGroupName: logGroupName,
          RetentionDays: String(member.logGroupRetentionDays),
          FilterName: this.filterName,
        },
      });
      if (member.enableControlPlaneLogs) {
        const clusterArn = this.formatArn({ service: 'eks', resource: 'cluster', resourceName: cluster });
        guard!.fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['eks:DescribeCluster', 'eks:UpdateClusterConfig'],
            resources: [clusterArn],
          }),
        );
        const logging = new CustomResource(this, `ControlPlaneLogs-${cluster}`, {
          serviceToken: guard!.fn.functionArn,
          resourceType: 'Custom::EksControlPlaneLogging',
          properties: { Op: 'EnableControlPlaneLogs', ClusterName: cluster },
        });
        prepared.node.addDependency(logging);
      }
      if (member.subscription === 'filter') {
        const filter = new logs.CfnSubscriptionFilter(this, `Subscription-${cluster}`, {
          filterName: this.filterName,
          logGroupName,
          destinationArn: this.destinationArn,
          filterPattern: '',
        });
        filter.node.addDependency(prepared);
      }
    }

    if (member.subscription === 'account-policy') {
      new logs.CfnAccountPolicy(this, 'SubscriptionPolicy', {
        policyName: `${config.prefix}-eks-subscription`,
        policyType: 'SUBSCRIPTION_FILTER_POLICY',
        scope: 'ALL',
        policyDocument: this.toJsonString({
          DestinationArn: this.destinationArn,
          FilterPattern: '',
          Distribution: 'Random',
        }),
        // Our own log groups never feed the lake: that would loop our logs back into it.
        selectionCriteria: exclusionCriteria(ownLogGroupNames(config.prefix)),
      });
    }

    // Our log groups only (the guard's, when there are clusters): nothing else may use the key.
    const key = this.deliveryAlarms.key;
    const logGroupNames = logGroupsEncryptedWith(this, key);
    allowLogsToEncrypt(key, logGroupNames);
    // What a teardown must name once the stack is gone (the key alias goes with the stack).
    new CfnOutput(this, 'KeyArn', {
      value: key.keyArn,
      description: 'Retained KMS key of the member alarm topic and log groups (for schedule-key-deletion)',
    });
    if (logGroupNames.length > 0) {
      new CfnOutput(this, 'LogGroupNames', {
        value: logGroupNames.join(','),
        description: 'Retained log groups, comma-separated',
      });
    }
  }
}
