import { SFNClient } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { startAndFollow } from '../../adapters/aws/sfn-runner.ts';
import { createLocalWorkflowDeps } from '../../adapters/local/local-workflow-deps.ts';
import {
  type LocalExecution,
  runLocalWorkflow,
  type WorkflowProgress,
} from '../../adapters/local/local-workflow-runner.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { DEFAULT_WORKFLOW_CONFIG, type RunSummary, type WorkflowConfig } from '../../pipeline/workflow-tasks.ts';

interface RunOptions {
  lake?: string;
  from?: string;
  to?: string;
  aws?: boolean;
  stateMachineArn?: string;
  region?: string;
  json?: boolean;
}

/** Where the command writes: progress and errors on one stream, the summary on the other. */
export interface RunIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** The execution input for the CLI flags: a backfill with both bounds, else a scheduled run at `now`. */
export function executionInput(opts: { from?: string; to?: string }, now: Date): Record<string, string> {
  if (opts.from !== undefined || opts.to !== undefined) {
    if (opts.from === undefined || opts.to === undefined) throw new InvalidInputError('--from and --to go together');
    return { from: opts.from, to: opts.to };
  }
  return { scheduledTime: now.toISOString() };
}

function formatProgress(p: WorkflowProgress): string {
  const pct = p.hoursTotal > 0 ? Math.round((100 * p.hoursDone) / p.hoursTotal) : 100;
  return `hours ${p.hoursDone}/${p.hoursTotal} (${pct}%)  rows out ${n(p.rows)}  elapsed ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** Human summary lines of a finished run. */
export function formatSummary(s: RunSummary): string[] {
  return [
    `${s.mode} ${s.start} .. ${s.end}: ${s.status}`,
    `  raw objects ${n(s.objects)} in ${n(s.chunks)} chunks; events in ${n(s.eventsIn)}`,
    `  rows out ${n(s.rowsOut)}; duplicates removed ${n(s.duplicatesRemoved)}; quarantined ${n(s.quarantined)}`,
    `  partitions published ${n(s.partitions)}; failed items ${n(s.failedItems)}`,
    ...(s.poisonedObjects ? [`  poisoned raw objects ${n(s.poisonedObjects)} (copied to quarantine/objects/)`] : []),
    ...(s.watermark ? [`  watermark ${s.watermark}`] : []),
    ...(s.backfillRequired
      ? [
          `  watermark left behind: the lag is past what a scheduled run catches up; start the backfill ${JSON.stringify(s.backfillRequired)}`,
        ]
      : []),
  ];
}

/**
 * Runs the workflow on a local lake folder (same ASL, local stand-ins, DuckDB for Athena).
 * Returns the exit code: 0 on success (or a skipped scheduled run), 1 on failure.
 */
export async function runLocal(
  opts: { lake: string; from?: string; to?: string; now: Date; json?: boolean; config?: Partial<WorkflowConfig> },
  io: RunIo,
): Promise<{ code: number; execution: LocalExecution }> {
  const input = executionInput(opts, opts.now);
  const deps = createLocalWorkflowDeps({ lakeDir: opts.lake, config: opts.config });
  try {
    const execution = await runLocalWorkflow(input, { deps, onProgress: (p) => io.err(formatProgress(p)) });
    if (execution.status === 'SUCCEEDED') {
      const out = execution.output as RunSummary | { summary: { status: string; reason: string }; cause?: string };
      if (opts.json) io.out(JSON.stringify(out, null, 2));
      else if ('summary' in out)
        io.out(`skipped: ${out.summary.reason} (${out.cause ?? 'another run holds the lease'})`);
      else for (const l of formatSummary(out)) io.out(l);
      return { code: 0, execution };
    }
    io.err(
      `run failed in state ${execution.failedState ?? '?'}: ${execution.error ?? 'error'}: ${execution.cause ?? ''}`,
    );
    if (opts.json) io.out(JSON.stringify({ ...execution, events: undefined }, null, 2));
    return { code: 1, execution };
  } finally {
    await deps.close();
  }
}

/** `eks-log-lake run`: a scheduled run now, or a backfill, locally or in AWS. */
export function runCommand(): Command {
  const D = DEFAULT_WORKFLOW_CONFIG;
  return new Command('run')
    .description('run the compaction workflow now (scheduled window) or as a backfill [--from, --to)')
    .option('--lake <dir>', 'local lake folder: run the workflow locally (this or --aws)')
    .option('--from <iso>', 'backfill start, UTC ISO 8601 on a whole hour, inclusive (with --to)')
    .option('--to <iso>', 'backfill end, UTC ISO 8601 on a whole hour, exclusive (with --from)')
    .option('--aws', 'start the execution in AWS Step Functions and follow it to its end')
    .option('--state-machine-arn <arn>', 'state machine to start (with --aws)')
    .option('--region <region>', 'AWS region (with --aws) (default: AWS_REGION or the SDK profile)')
    .option('--json', 'print the summary (or the failed execution) as JSON on stdout')
    .addHelpText(
      'after',
      [
        '',
        'Without --from/--to: the scheduled run for now, i.e. the 15-minute window ending at now floored',
        `to 15 minutes, planning raw objects that arrived up to ${D.lateHorizonHours} hours (LATE_HORIZON_HOURS) before it.`,
        `A backfill may span at most ${D.maxBackfillDays} days; one longer than ${D.childRangeHours} hours runs as child executions of ${D.childRangeHours} hours.`,
        'Progress goes to stderr (hours done/total, rows out, elapsed seconds; with --aws the status every',
        'poll), the summary to stdout. Exit 0 on success or on a scheduled run skipped because another run',
        'holds the lease, 1 on failure.',
        '',
        'Examples:',
        '  eks-log-lake run --lake .lake',
        '  eks-log-lake run --lake .lake --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z',
        '  eks-log-lake run --aws --state-machine-arn arn:aws:states:eu-west-1:111122223333:stateMachine:eks-log-lake-compaction',
      ].join('\n'),
    )
    .action(async (opts: RunOptions) => {
      const io: RunIo = { out: (l) => console.log(l), err: (l) => console.error(l) };
      const now = new Date();
      if (opts.aws) {
        if (!opts.stateMachineArn) throw new InvalidInputError('--aws needs --state-machine-arn');
        const input = executionInput(opts, now);
        const client = new SFNClient(opts.region ? { region: opts.region } : {});
        const r = await startAndFollow(client, {
          stateMachineArn: opts.stateMachineArn,
          input,
          onPoll: (p) => io.err(`${p.status}  elapsed ${(p.elapsedMs / 1000).toFixed(0)} s  ${p.executionArn}`),
        });
        if (r.status === 'SUCCEEDED') {
          const out = r.output as RunSummary;
          if (opts.json || !out || !('mode' in out)) io.out(JSON.stringify(r.output, null, 2));
          else for (const l of formatSummary(out)) io.out(l);
          return;
        }
        io.err(`execution ${r.status} in state ${r.failedState ?? '?'}: ${r.error ?? ''}: ${r.cause ?? ''}`);
        process.exitCode = 1;
        return;
      }
      if (!opts.lake) throw new InvalidInputError('give --lake DIR (local) or --aws --state-machine-arn ARN');
      const { code } = await runLocal({ lake: opts.lake, from: opts.from, to: opts.to, now, json: opts.json }, io);
      process.exitCode = code;
    });
}
