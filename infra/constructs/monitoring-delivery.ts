import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { RETAIN_UNLESS_ROLLED_BACK } from './storage.ts';

/**
 * The metrics that show whether logs get from the member subscriptions to the central stream
 * (reliability matrix F30). The member stacks alarm on the sender side, the central stack on
 * the receiver side; both read the names from here.
 */
export const SUBSCRIPTION_DELIVERY = {
  /** CloudWatch Logs, in each member account, per LogGroupName, DestinationType and FilterName. */
  sender: {
    namespace: 'AWS/Logs',
    errors: 'DeliveryErrors',
    throttling: 'DeliveryThrottling',
    dimensions: ['DestinationType', 'FilterName', 'LogGroupName'],
  },
  /** Firehose, in the central account, per DeliveryStreamName. */
  receiver: { namespace: 'AWS/Firehose', incoming: 'IncomingRecords', dimension: 'DeliveryStreamName' },
  /** CloudWatch Logs retries a failing destination for 24 h; an hour leaves time to act. */
  period: Duration.hours(1),
} as const;

/**
 * Metrics Insights query over every subscription of the member account with this filter name
 * (all of them when `filterName` is undefined): it follows log groups as they come and go.
 */
export function senderDeliveryQuery(metricName: string, filterName: string | undefined): string {
  const { namespace, dimensions } = SUBSCRIPTION_DELIVERY.sender;
  const where = filterName === undefined ? '' : ` WHERE FilterName = '${filterName}'`;
  return `SELECT SUM(${metricName}) FROM SCHEMA("${namespace}", ${dimensions.join(', ')})${where}`;
}

/** The central side: records Firehose received over the period; no data at all counts as none. */
export function receiverIncomingMetric(deliveryStreamName: string): cloudwatch.Metric {
  const { namespace, incoming, dimension } = SUBSCRIPTION_DELIVERY.receiver;
  return new cloudwatch.Metric({
    namespace,
    metricName: incoming,
    dimensionsMap: { [dimension]: deliveryStreamName },
    statistic: 'Sum',
    period: SUBSCRIPTION_DELIVERY.period,
  });
}

export interface MemberDeliveryAlarmsProps {
  readonly prefix: string;
  /** The subscription filter name, or undefined for an account-level subscription policy. */
  readonly filterName: string | undefined;
  readonly alarmEmail?: string;
}

/**
 * Alarms in a member account when CloudWatch Logs fails or is throttled delivering to the
 * central Destination, to a topic of that account (encrypted with its own key: CloudWatch
 * cannot publish to a topic under the AWS-managed SNS key).
 */
export class MemberDeliveryAlarms extends Construct {
  readonly topic: sns.Topic;
  /** The member stack's key: the alarm topic, and the member's own log groups (the guard Lambda's). */
  readonly key: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MemberDeliveryAlarmsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', {
      alias: `alias/${props.prefix}-member-alarms`,
      description: 'eks-log-lake: the member alarm topic and our log groups in the member account',
      enableKeyRotation: true,
      removalPolicy: RETAIN_UNLESS_ROLLED_BACK,
    });
    this.key = key;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', {
      topicName: `${props.prefix}-member-alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));

    const { errors, throttling } = SUBSCRIPTION_DELIVERY.sender;
    for (const [alarmId, metricName, what] of [
      ['SubscriptionDeliveryErrors', errors, 'got errors delivering'],
      ['SubscriptionDeliveryThrottling', throttling, 'was throttled delivering'],
    ] as const) {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        metric: new cloudwatch.MathExpression({
          expression: senderDeliveryQuery(metricName, props.filterName),
          usingMetrics: {},
          period: SUBSCRIPTION_DELIVERY.period,
          label: metricName,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: `CloudWatch Logs ${what} EKS logs to the central Destination; it retries for 24 h, then drops them.`,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(alarm);
    }
  }
}
