import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/env.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { QUARANTINE_OBJECTS_PREFIX } from '../../src/core/compact/layout.ts';
import { RAW_TABLE } from '../../src/core/sql/ddl.ts';
import { ROLLUP_TABLE } from '../../src/pipeline/workflow-athena.ts';
import { acknowledge, acknowledgeWildcardResource } from '../nag.ts';
import { athenaAccess, bind, type EnvGrant, glueAccess, type LakeAccess, lakeAccess, setting } from './bind.ts';
import { LakeFunction, REPO_ROOT } from './lake-function.ts';
import { LAKE_PREFIXES, RETAIN_UNLESS_ROLLED_BACK, type Storage } from './storage.ts';

/** The one workflow definition; CDK and the local runner load the same file. */
export const DEFAULT_DEFINITION_PATH = join(REPO_ROOT, 'statemachine', 'compaction.asl.json');

const FUNCTION_PLACEHOLDER = /^([A-Z][A-Za-z0-9]*)FunctionArn$/;

/** Placeholders of an ASL definition (`${Name}`), in first-seen order. */
export function aslPlaceholders(definition: string): string[] {
  return [...new Set([...definition.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]!))];
}

/** `PlanWindow` → `plan-window`: the Task's Lambda entry is `functions/<kebab>.ts`. */
export function kebabCase(pascal: string): string {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** What one workflow Lambda may touch; everything else is denied by omission. */
export interface FunctionProfile {
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly lake?: LakeAccess;
  readonly glue?: 'read' | 'write';
  /** With `glue: 'write'`: only these tables, and only partition creates and updates (no deletes). */
  readonly glueUpsertTables?: readonly string[];
  /** Runs Athena statements in the workgroup (DDL on partitions and UNLOAD; never a table DDL). */
  readonly athena?: boolean;
  /** Counts failed runs per raw object and marks poison (reads POISON_AFTER_FAILED_RUNS). */
  readonly poisons?: boolean;
  /** Widens a scheduled window back to the watermark (reads MAX_CATCH_UP_HOURS). */
  readonly catchesUp?: boolean;
  /** Reports clusters gone quiet (reads the QUIET_CLUSTERS_* settings). */
  readonly reportsQuietClusters?: boolean;
}

const { raw, curated, control, quarantine } = LAKE_PREFIXES;
/** The one table the rollup reads (sql/athena/create-audit-hourly-summary.sql). */
const ROLLUP_SOURCE = 'audit_events';

/**
 * Least privilege per Task Lambda, keyed by entry name. A Task the table does not know gets
 * DEFAULT_PROFILE and a synth warning, so a new state deploys but is reviewed.
 */
export const FUNCTION_PROFILES: Readonly<Record<string, FunctionProfile>> = {
  'validate-input': { memorySize: 256, timeout: Duration.seconds(30) },
  'summarize-backfill': { memorySize: 256, timeout: Duration.seconds(30) },
  'acquire-lease': {
    memorySize: 256,
    timeout: Duration.seconds(30),
    lake: { read: [control], write: [control], delete: [control] },
  },
  'release-lease': {
    memorySize: 256,
    timeout: Duration.seconds(30),
    lake: { read: [control], write: [control], delete: [control] },
  },
  'plan-window': {
    memorySize: 1024,
    timeout: Duration.minutes(5),
    lake: { read: [raw, control], write: [control] },
    catchesUp: true,
  },
  // Stage and merge are sized as ADR 0003 assumes: one full vCPU (1,769 MB), the 15-minute Task limit.
  'stage-objects': {
    memorySize: 1769,
    timeout: Duration.minutes(15),
    lake: { read: [raw, control], write: [control, quarantine] },
  },
  'plan-merge': {
    memorySize: 512,
    timeout: Duration.minutes(5),
    lake: { read: [control], write: [control] },
  },
  'merge-partition': {
    memorySize: 1769,
    timeout: Duration.minutes(15),
    lake: { read: [control, curated], write: [curated, control, quarantine] },
    glue: 'read',
  },
  'publish-partitions': {
    memorySize: 512,
    timeout: Duration.minutes(5),
    lake: { read: [control, curated], write: [control] },
    glue: 'write',
  },
  // Its SQL is add-raw-partitions (ALTER TABLE raw_events ADD PARTITION) and create-audit-hourly-summary
  // (UNLOAD from audit_events into a new audit_hourly_summary generation); it then repoints rollup
  // partitions. None creates, changes or drops a table (ADD PARTITION only adds partitions), and none
  // reads raw objects.
  'run-athena-steps': {
    memorySize: 512,
    timeout: Duration.minutes(15),
    lake: {
      read: [control, `${curated}${ROLLUP_SOURCE}/`],
      write: [control, `${curated}${ROLLUP_TABLE}/`],
    },
    glue: 'write',
    glueUpsertTables: [RAW_TABLE, ROLLUP_TABLE],
    athena: true,
  },
  // A 1,200-hour backfill day was measured at 2 minutes (partition entries, processed index); a
  // scheduled run catching up 4 days after an outage writes 3-4 times that.
  // Marking poison copies the raw object to quarantine/objects/ with its reason beside it.
  'write-ledger': {
    memorySize: 512,
    timeout: Duration.minutes(15),
    lake: { read: [control, raw], write: [control, QUARANTINE_OBJECTS_PREFIX] },
    poisons: true,
    reportsQuietClusters: true,
  },
  'collect-garbage': {
    memorySize: 1024,
    timeout: Duration.minutes(15),
    lake: { read: [control, curated], write: [control], delete: [curated, control] },
    glue: 'read',
  },
};

export const DEFAULT_PROFILE: FunctionProfile = {
  memorySize: 1024,
  timeout: Duration.minutes(5),
  lake: { read: [raw, control, curated], write: [control, curated, quarantine] },
  glue: 'read',
};

/** Workflow tunables handed to every Task Lambda as plain settings. */
export interface WorkflowSettings {
  readonly lateHorizonHours: number;
  readonly maxBackfillDays: number;
  readonly leaseTtlSeconds: number;
  readonly gcGraceHours: number;
  /** Only Tasks whose profile `poisons` get it. */
  readonly poisonAfterFailedRuns: number;
  /** Only Tasks whose profile `catchesUp` get it. */
  readonly maxCatchUpHours: number;
  /** Only Tasks whose profile `reportsQuietClusters` get it. */
  readonly quietClusters: {
    readonly lookbackHours: number;
    readonly silentHours: number;
    readonly ignored: readonly string[];
  };
}

export interface WorkflowProps {
  readonly prefix: string;
  readonly storage: Storage;
  readonly databaseName: string;
  readonly workGroupName: string;
  /** EventBridge Scheduler expression, e.g. `rate(15 minutes)`. */
  readonly schedule: string;
  readonly settings: WorkflowSettings;
  readonly logRetention: logs.RetentionDays;
  /** ASL file; defaults to statemachine/compaction.asl.json. */
  readonly definitionPath?: string;
  /** Folder of the Task entry points; defaults to functions/. */
  readonly functionsDir?: string;
}

/**
 * The compaction state machine from the ASL file, one Lambda per `${XxxFunctionArn}` placeholder
 * (entry `functions/xxx.ts`, derived from the file at synth so infra never drifts), and the schedule.
 */
export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineName: string;
  readonly functions: Record<string, LakeFunction> = {};
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { storage } = props;
    const definition = readFileSync(props.definitionPath ?? DEFAULT_DEFINITION_PATH, 'utf8');
    this.stateMachineName = `${props.prefix}-compaction`;

    const substitutions: Record<string, string> = {};
    const known: Record<string, string> = {
      LakeBucket: storage.lake.bucketName,
      GlueDatabaseName: props.databaseName,
      AthenaWorkGroupName: props.workGroupName,
    };
    for (const name of aslPlaceholders(definition)) {
      const fnMatch = FUNCTION_PLACEHOLDER.exec(name);
      if (fnMatch) {
        const fn = this.addTaskFunction(kebabCase(fnMatch[1]!), props);
        substitutions[name] = fn.fn.functionArn;
      } else if (name in known) {
        substitutions[name] = known[name]!;
      } else {
        throw new Error(
          `statemachine placeholder \${${name}} has no value in infra/constructs/workflow.ts; ` +
            `known: ${Object.keys(known).join(', ')} and \${<Name>FunctionArn}`,
        );
      }
    }

    const smLogs = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: props.logRetention,
      encryptionKey: storage.key,
      removalPolicy: RETAIN_UNLESS_ROLLED_BACK,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      // ALL shows every state transition; execution data stays out of the logs (it can hold object keys).
      logs: { destination: smLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    for (const fn of Object.values(this.functions)) fn.fn.grantInvoke(this.stateMachine);
    this.allowChildExecutions(definition);

    acknowledge(this.stateMachine, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery*, DescribeResourcePolicies) and X-Ray PutTraceSegments do not support resource-level permissions.',
    });
    for (const fn of Object.values(this.functions)) {
      acknowledgeWildcardResource(
        this.stateMachine,
        fn.qualifiedArnPattern,
        'lambda:invoke Tasks may call a version or alias of this one function.',
      );
    }

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      scheduleName: `${props.prefix}-compaction`,
      description: 'Runs the compaction workflow for the window ending at the scheduled time',
      schedule: scheduler.ScheduleExpression.expression(props.schedule),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        // A late start is still useful (the window comes from scheduledTime); the lease stops overlaps.
        maxEventAge: Duration.minutes(15),
        retryAttempts: 2,
      }),
    });
  }

  private addTaskFunction(entry: string, props: WorkflowProps): LakeFunction {
    const id = entry
      .split('-')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join('');
    let profile = FUNCTION_PROFILES[entry];
    const fn = new LakeFunction(this, id, {
      entry,
      functionsDir: props.functionsDir,
      functionName: `${props.prefix}-${entry}`,
      description: `compaction workflow Task ${id}`,
      memorySize: (profile ?? DEFAULT_PROFILE).memorySize,
      timeout: (profile ?? DEFAULT_PROFILE).timeout,
      logRetention: props.logRetention,
      logKey: props.storage.key,
    });
    if (!profile) {
      Annotations.of(fn).addWarningV2(
        'eks-log-lake:default-profile',
        `functions/${entry}.ts has no entry in FUNCTION_PROFILES; it got the default (broader) permissions`,
      );
      profile = DEFAULT_PROFILE;
    }
    const grants: EnvGrant[] = [
      setting(ENV.METRICS_NAMESPACE, METRICS_NAMESPACE),
      setting(ENV.LATE_HORIZON_HOURS, String(props.settings.lateHorizonHours)),
      setting(ENV.MAX_BACKFILL_DAYS, String(props.settings.maxBackfillDays)),
      setting(ENV.LEASE_TTL_SECONDS, String(props.settings.leaseTtlSeconds)),
      setting(ENV.GC_GRACE_HOURS, String(props.settings.gcGraceHours)),
    ];
    // Every Task's composition root reads LAKE_BUCKET and GLUE_DATABASE; grants follow the profile.
    grants.push(lakeAccess(props.storage, profile.lake ?? {}));
    grants.push(
      profile.glue
        ? glueAccess(props.databaseName, profile.glue, profile.glueUpsertTables)
        : setting(ENV.GLUE_DATABASE, props.databaseName),
    );
    if (profile.athena) grants.push(athenaAccess(props.workGroupName, props.storage));
    if (profile.poisons)
      grants.push(setting(ENV.POISON_AFTER_FAILED_RUNS, String(props.settings.poisonAfterFailedRuns)));
    if (profile.catchesUp) grants.push(setting(ENV.MAX_CATCH_UP_HOURS, String(props.settings.maxCatchUpHours)));
    if (profile.reportsQuietClusters) {
      const quiet = props.settings.quietClusters;
      grants.push(setting(ENV.QUIET_CLUSTERS_LOOKBACK_HOURS, String(quiet.lookbackHours)));
      grants.push(setting(ENV.QUIET_CLUSTERS_SILENT_HOURS, String(quiet.silentHours)));
      // Unset means none: no empty variable on every deployment.
      if (quiet.ignored.length > 0) grants.push(setting(ENV.QUIET_CLUSTERS_IGNORED, quiet.ignored.join(',')));
    }
    bind(fn, ...grants);
    this.functions[entry] = fn;
    return fn;
  }

  /** `states:startExecution.sync:2` on itself (backfill fan-out) needs start/describe/stop and the managed rule. */
  private allowChildExecutions(definition: string): void {
    if (!definition.includes('arn:aws:states:::states:startExecution')) return;
    const stack = Stack.of(this);
    const selfArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const rule = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [selfArn] }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executions],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [rule],
      }),
    );
    acknowledgeWildcardResource(
      this.stateMachine,
      executions,
      'Child executions of this one state machine get generated names; the pattern is limited to it.',
    );
  }
}
