import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { TRANSFORM_METRICS } from '../../src/core/transform/metrics.ts';
import { QUIET_CLUSTERS_METRIC, WATERMARK_LAG_METRIC } from '../../src/pipeline/ledger.ts';
import { COMPACTION_METRICS } from '../../src/pipeline/workflow-tasks.ts';
import type { LakeFunction } from './lake-function.ts';
import { receiverIncomingMetric } from './monitoring-delivery.ts';

/**
 * Custom metric the WriteLedger Task emits: seconds between its run and the freshness watermark.
 * Before the first clean scheduled run there is none; NoSuccessfulRun is the backstop.
 */
export const LEDGER_FRESHNESS = WATERMARK_LAG_METRIC;

export interface MonitoringProps {
  readonly prefix: string;
  readonly key: kms.IKey;
  readonly deliveryStreamName: string;
  readonly transform: LakeFunction;
  readonly functions: readonly LakeFunction[];
  readonly stateMachine: sfn.IStateMachine;
  readonly deadLetterQueues: readonly sqs.IQueue[];
  /** Splunk source queues: a message older than `sourceQueueMaxAge` means Splunk stopped consuming. */
  readonly sourceQueues?: readonly sqs.IQueue[];
  readonly sourceQueueMaxAge?: Duration;
  /** How old the watermark may get before alarming, e.g. two schedule periods plus compaction time. */
  readonly ledgerMaxLag: Duration;
  /** Named in the alarm texts so they match the deployed settings. */
  readonly maxCatchUpHours: number;
  readonly quietClusters: { readonly lookbackHours: number; readonly silentHours: number };
  readonly alarmEmail?: string;
}

/** Alarms on every stage (to one KMS-encrypted SNS topic) and a dashboard of the same metrics. */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', {
      topicName: `${props.prefix}-alarms`,
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const period = Duration.minutes(5);
    const firehoseMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: props.deliveryStreamName },
        statistic,
        period,
      });
    const transformMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: 'transform' },
        statistic: 'Sum',
        period,
      });

    const freshness = firehoseMetric('DeliveryToS3.DataFreshness', 'Maximum');
    const deliverySuccess = firehoseMetric('DeliveryToS3.Success', 'Average');
    const processingSuccess = firehoseMetric('ExecuteProcessing.Success', 'Average');
    this.alarm('FirehoseFreshness', freshness, {
      threshold: 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Oldest record in Firehose is over 15 minutes old: raw/ (and Splunk) are falling behind.',
    });
    this.alarm('FirehoseDeliveryFailures', deliverySuccess, {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      description: 'Some Firehose deliveries to S3 failed (check the Firehose error log group and errors/).',
    });
    this.alarm('FirehoseProcessingFailures', processingSuccess, {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      description: 'Firehose could not invoke the transform successfully; records go to errors/.',
    });
    this.alarm('TransformErrors', props.transform.fn.metricErrors({ period, statistic: 'Sum' }), {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'The transform Lambda threw; Firehose retries, then writes the batch to errors/.',
    });
    // Records of non-EKS log groups quarantined by choice (nonEksLogGroups: quarantine) are expected,
    // constantly so for an account-policy member: only the other failures alarm.
    const unexpectedFailures = new cloudwatch.MathExpression({
      expression: 'FILL(failed, 0) - FILL(nonEks, 0)',
      usingMetrics: {
        failed: transformMetric(TRANSFORM_METRICS.recordsFailed),
        nonEks: transformMetric(TRANSFORM_METRICS.recordsNonEksQuarantined),
      },
      label: 'records failed, other than non-EKS log groups quarantined by choice',
      period,
    });
    this.alarm('TransformFailedRecords', unexpectedFailures, {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'The transform answered ProcessingFailed for some records; they are under errors/.',
    });
    this.alarm('OwnerNotAllowed', transformMetric(TRANSFORM_METRICS.ownerNotAllowed), {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Logs arrived from an account outside allowedSourceAccounts; they were rejected to errors/.',
    });
    for (const fn of props.functions) {
      this.alarm(`Throttles-${fn.node.id}`, fn.fn.metricThrottles({ period, statistic: 'Sum' }), {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `Lambda ${fn.node.id} was throttled (account concurrency or its reserved limit).`,
      });
    }
    const sm = props.stateMachine;
    const smProblems = new cloudwatch.MathExpression({
      // A metric with no data point in the period would make the whole sum missing (and the alarm
      // never fire: timed-out and aborted executions are rare), so each term counts as 0 then.
      expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
      usingMetrics: {
        failed: sm.metricFailed({ period, statistic: 'Sum' }),
        timedOut: sm.metricTimedOut({ period, statistic: 'Sum' }),
        aborted: sm.metricAborted({ period, statistic: 'Sum' }),
      },
      period,
      label: 'executions failed, timed out or aborted',
    });
    this.alarm('StateMachineFailures', smProblems, {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'A compaction execution failed, timed out or was aborted; curated/ may be behind.',
    });
    const ledgerLag = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: LEDGER_FRESHNESS.metricName,
      dimensionsMap: { service: LEDGER_FRESHNESS.service },
      statistic: 'Maximum',
      period: Duration.minutes(15),
    });
    this.alarm(
      'LedgerFreshness',
      ledgerLag,
      {
        threshold: props.ledgerMaxLag.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description:
          'The curated freshness watermark is older than allowed, or no run has reported it for 30 minutes (runs skipped while a lease is held, or failing before WriteLedger): curated/ is behind raw/.',
        evaluationPeriods: 2,
      },
      // WriteLedger reports the lag on every run that gets that far; silence is not freshness.
      cloudwatch.TreatMissingData.BREACHING,
    );
    // Not ExecutionsSucceeded: an execution that only skipped behind a held lease succeeds too, so
    // failing runs alternating with skips would never fire it. WriteLedger counts completed runs.
    const completedRuns = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: COMPACTION_METRICS.completedRuns.metricName,
      dimensionsMap: { service: COMPACTION_METRICS.completedRuns.service },
      statistic: 'Sum',
      period: props.ledgerMaxLag,
    });
    this.alarm(
      'NoSuccessfulRun',
      completedRuns,
      {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        description:
          'No compaction run completed (every planned item recorded by WriteLedger) within the allowed lag; executions that only skipped behind a held lease do not count: curated/ is not being refreshed.',
      },
      // No data means no success at all, which is exactly what this alarm is for.
      cloudwatch.TreatMissingData.BREACHING,
    );
    // Quarantine is rare and each case wants a look; an hour's Sum keeps one case to one alarm.
    // A gauge every run reports again (QuietClusters) takes the hour's Maximum instead.
    const compactionMetric = (m: { metricName: string; service: string; statistic?: string }) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: m.metricName,
        dimensionsMap: { service: m.service },
        statistic: m.statistic ?? 'Sum',
        period: Duration.hours(1),
      });
    // Each of these counts something that wants a look: any in an hour alarms.
    const quiet = props.quietClusters;
    const anyInAnHour: [string, { metricName: string; service: string; statistic?: string }, string][] = [
      [
        'QuarantinedObjects',
        COMPACTION_METRICS.quarantinedObjects,
        'Compaction quarantined whole raw objects (not gzip NDJSON); see quarantine/ for the reason.',
      ],
      [
        'QuarantinedRecords',
        COMPACTION_METRICS.quarantinedRecords,
        'Compaction quarantined raw lines (bad encoding, event time out of range…); see quarantine/.',
      ],
      [
        'PoisonedObjects',
        COMPACTION_METRICS.poisonedObjects,
        'A raw object failed compaction in too many runs and was marked poison; its copy and reason are under quarantine/objects/.',
      ],
      [
        'AbandonedAthenaSteps',
        COMPACTION_METRICS.abandonedAthenaSteps,
        'An Athena step (raw partitions or an hourly rollup) failed in three runs and was given up; see control/ledger/athena-owed.json and the run-athena-steps log.',
      ],
      [
        'BackfillRequired',
        COMPACTION_METRICS.backfillRequiredHours,
        `The freshness watermark lags past the ${props.maxCatchUpHours} hours a scheduled run catches up by itself; the plan-window log names the backfill {from, to} to start.`,
      ],
      [
        'IgnoredRawKeys',
        COMPACTION_METRICS.ignoredRawKeys,
        'Planning found keys under raw/ that are not Firehose output (manual upload, failure JSON); they are not compacted. Move them out of raw/.',
      ],
      [
        'QuietClusters',
        { ...QUIET_CLUSTERS_METRIC, statistic: 'Maximum' },
        `A cluster that delivered control-plane logs in the last ${quiet.lookbackHours} hours sent none in the last ${quiet.silentHours} complete hours (subscription filter or Destination policy removed, member stack torn down, logging switched off); the write-ledger WARN "clusters went quiet" names account, cluster and last event hour. A cluster retired on purpose drops out ${quiet.lookbackHours} hours after its last event.`,
      ],
    ];
    const anyMetrics = anyInAnHour.map(([, m]) => compactionMetric(m));
    anyInAnHour.forEach(([name, , description], i) => {
      this.alarm(name, anyMetrics[i]!, {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description,
      });
    });
    const incoming = receiverIncomingMetric(props.deliveryStreamName);
    this.alarm(
      'NoDataArriving',
      incoming,
      {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        description:
          'Firehose received no records for an hour: the member subscriptions cannot reach the Destination, or EKS stopped logging.',
      },
      // Firehose reports nothing when nothing arrives, which is exactly what this alarm is for.
      cloudwatch.TreatMissingData.BREACHING,
    );
    const dlqDepth = props.deadLetterQueues.map((q) =>
      q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    );
    dlqDepth.forEach((m, i) => {
      this.alarm(`DlqDepth-${props.deadLetterQueues[i]!.node.id}`, m, {
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: 'Splunk could not consume some S3 notifications; they wait in the dead-letter queue.',
      });
    });
    // A message nobody receives never reaches the DLQ: only its age shows that Splunk stopped reading.
    const sourceQueues = props.sourceQueues ?? [];
    const queueAge = sourceQueues.map((q) => q.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }));
    const maxAge = props.sourceQueueMaxAge ?? Duration.hours(1);
    queueAge.forEach((m, i) => {
      this.alarm(`OldestMessage-${sourceQueues[i]!.node.id}`, m, {
        threshold: maxAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `A Splunk source queue holds a message older than ${maxAge.toMinutes()} minutes: Splunk is not consuming it (input stopped, role or key access lost).`,
      });
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.prefix}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(6),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard.addWidgets(
      graph('Firehose freshness (s)', [freshness]),
      graph('Firehose success ratio', [deliverySuccess, processingSuccess]),
      graph('Transform records', [
        transformMetric(TRANSFORM_METRICS.recordsOk),
        transformMetric(TRANSFORM_METRICS.recordsFailed),
        transformMetric(TRANSFORM_METRICS.recordsDropped),
        transformMetric(TRANSFORM_METRICS.ownerNotAllowed),
        transformMetric(TRANSFORM_METRICS.recordsNonEksDropped),
        transformMetric(TRANSFORM_METRICS.recordsNonEksQuarantined),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        props.functions.map((f) => f.fn.metricErrors({ period, label: f.node.id })),
      ),
      graph(
        'Lambda throttles',
        props.functions.map((f) => f.fn.metricThrottles({ period, label: f.node.id })),
      ),
      graph('Compaction executions', [sm.metricSucceeded({ period }), smProblems, completedRuns.with({ period })]),
    );
    this.dashboard.addWidgets(
      graph('Watermark lag (s)', [ledgerLag], 12),
      graph('Splunk dead-letter depth', dlqDepth, 12),
    );
    if (queueAge.length > 0) this.dashboard.addWidgets(graph('Splunk oldest message age (s)', queueAge, 12));
    this.dashboard.addWidgets(
      graph('Firehose incoming records (1 h)', [incoming], 12),
      graph(
        'Quarantined, poisoned, ignored raw keys, abandoned Athena steps (1 h sum); quiet clusters (1 h max)',
        anyMetrics,
        12,
      ),
    );
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    opts: {
      threshold: number;
      comparisonOperator: cloudwatch.ComparisonOperator;
      description: string;
      evaluationPeriods?: number;
    },
    treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: opts.threshold,
      comparisonOperator: opts.comparisonOperator,
      evaluationPeriods: opts.evaluationPeriods ?? 1,
      alarmDescription: opts.description,
      treatMissingData,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
