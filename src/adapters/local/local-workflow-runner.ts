import '../../shared/polyfill.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  COMPACTION_DEFINITION_FILE,
  LOCAL_SUBSTITUTIONS,
  renderDefinition,
} from '../../core/workflow/load-definition.ts';
import {
  acquireLeaseTask,
  collectGarbageTask,
  mergePartitionTask,
  planMergeTask,
  planWindowTask,
  publishPartitionsTask,
  type RunSummary,
  releaseLeaseTask,
  runAthenaStepsTask,
  stageObjectsTask,
  summarizeBackfillTask,
  validateInputTask,
  type WorkflowDeps,
  writeLedgerTask,
} from '../../pipeline/workflow-tasks.ts';

/** Name and ARN the local runs pretend to have (the context object's `$$.StateMachine.Id`). */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local-1:000000000000:stateMachine:eks-log-lake-compaction';

/** Reads and renders the one definition with the local substitutions. */
export function loadLocalDefinition(): Record<string, unknown> {
  const text = readFileSync(resolve(__dirname, '../../..', COMPACTION_DEFINITION_FILE), 'utf8');
  return renderDefinition(text, LOCAL_SUBSTITUTIONS);
}

type Handler = (input: any) => Promise<unknown>;
// Task payloads are whatever the ASL's Parameters build.
type TaskFn = (deps: WorkflowDeps, payload: any) => Promise<unknown>;

/** The Lambda Task states and the plain functions that implement them. */
export const LAMBDA_TASKS: Readonly<Record<string, TaskFn>> = {
  ValidateInput: validateInputTask,
  SummarizeBackfill: summarizeBackfillTask,
  AcquireLease: acquireLeaseTask,
  PlanWindow: planWindowTask,
  StageObjects: stageObjectsTask,
  PlanMerge: planMergeTask,
  MergePartition: mergePartitionTask,
  PublishPartitions: publishPartitionsTask,
  RunAthenaSteps: runAthenaStepsTask,
  WriteLedger: writeLedgerTask,
  CollectGarbage: collectGarbageTask,
  ReleaseLease: releaseLeaseTask,
};

/** Progress of a run, reported as hours complete (children of a backfill, or the whole window). */
export interface WorkflowProgress {
  readonly hoursDone: number;
  readonly hoursTotal: number;
  readonly rows: number;
  readonly elapsedMs: number;
}

export interface LocalRunOptions {
  readonly deps: WorkflowDeps;
  /** Execution name (the lease holder); unique per run unless emulating a redrive. */
  readonly executionName?: string;
  readonly onProgress?: (p: WorkflowProgress) => void;
  /** Wraps every stand-in, e.g. to inject a fault into one state; gets the state name. */
  readonly wrapTask?: (state: string, run: Handler) => Handler;
}

/** One event of a local execution, reduced to what tests and the CLI read. */
export interface LocalEvent {
  readonly type: string;
  readonly state?: string;
  readonly depth: number;
  readonly error?: string;
  readonly cause?: string;
}

export interface LocalExecution {
  readonly executionName: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Top-level state the execution failed in; where a redrive resumes. */
  readonly failedState?: string;
  /** Input the failed state received; a redrive starts there with it. */
  readonly failedStateInput?: unknown;
  readonly events: readonly LocalEvent[];
}

class TaskFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'States.TaskFailed';
  }
}

let executionCounter = 0;

/**
 * Runs the compaction definition locally: every Lambda Task state runs its function from
 * src/pipeline/workflow-tasks.ts over `deps`, and StartChildExecution runs this same definition
 * recursively, as `startExecution.sync:2` would.
 */
export async function runLocalWorkflow(input: unknown, options: LocalRunOptions): Promise<LocalExecution> {
  const name = options.executionName ?? `local-${Date.now().toString(36)}-${(executionCounter++).toString(36)}`;
  return execute(loadLocalDefinition(), input, name, options, { depth: 0, started: Date.now(), hoursDone: 0, rows: 0 });
}

/**
 * Redrives a failed local execution: same execution name (so the lease is still its own),
 * restarting at the failed top-level state with the input it had. Like AWS, finished states
 * before it are not run again; unlike AWS, every iteration of a failed inline Map runs again
 * (the Tasks skip chunks and groups whose results are already stored).
 */
export async function redriveLocalWorkflow(
  previous: LocalExecution,
  options: LocalRunOptions,
): Promise<LocalExecution> {
  if (previous.status !== 'FAILED' || !previous.failedState) throw new Error('only a failed execution can be redriven');
  const definition = { ...loadLocalDefinition(), StartAt: previous.failedState };
  return execute(definition, previous.failedStateInput, previous.executionName, options, {
    depth: 0,
    started: Date.now(),
    hoursDone: 0,
    rows: 0,
  });
}

interface RunState {
  readonly depth: number;
  readonly started: number;
  hoursDone: number;
  rows: number;
}

async function execute(
  definition: Record<string, unknown>,
  input: unknown,
  executionName: string,
  options: LocalRunOptions,
  run: RunState,
): Promise<LocalExecution> {
  const topLevel = new Set(Object.keys(definition.States as Record<string, unknown>));
  let children = 0;
  let hoursTotal = 0;
  const wrap = (state: string, h: Handler): Handler => (options.wrapTask ? options.wrapTask(state, h) : h);
  const handlers: Record<string, Handler> = {};
  for (const [state, fn] of Object.entries(LAMBDA_TASKS)) {
    handlers[state] = wrap(state, async (i: { Payload: unknown }) => {
      const payload = await fn(options.deps, JSON.parse(JSON.stringify(i.Payload)));
      if (state === 'ValidateInput') {
        const w = (payload as { window: { start: string; end: string } }).window;
        hoursTotal = (Date.parse(w.end) - Date.parse(w.start)) / 3_600_000;
      }
      if (state === 'WriteLedger' && run.depth === 0) {
        const s = payload as RunSummary;
        options.onProgress?.({ hoursDone: s.hours, hoursTotal, rows: s.rowsOut, elapsedMs: Date.now() - run.started });
      }
      return { Payload: payload };
    });
  }
  handlers.StartChildExecution = wrap('StartChildExecution', async (i: { Input: { from: string; to: string } }) => {
    const child = await execute(
      loadLocalDefinition(),
      i.Input,
      `${executionName}-child-${children++}`,
      { ...options, onProgress: undefined },
      { depth: run.depth + 1, started: run.started, hoursDone: 0, rows: 0 },
    );
    if (child.status !== 'SUCCEEDED') {
      throw new TaskFailedError(JSON.stringify({ error: child.error, cause: child.cause, state: child.failedState }));
    }
    const s = child.output as RunSummary;
    run.hoursDone += (Date.parse(i.Input.to) - Date.parse(i.Input.from)) / 3_600_000;
    run.rows += s.rowsOut ?? 0;
    options.onProgress?.({ hoursDone: run.hoursDone, hoursTotal, rows: run.rows, elapsedMs: Date.now() - run.started });
    return { Output: child.output, Status: 'SUCCEEDED' };
  });

  // A redrive starts mid-definition, which leaves earlier states unreachable; the definition
  // itself was validated when the original execution ran.
  const redrive = definition.StartAt !== 'ValidateInput';
  const sm = new StateMachine(definition as never, {
    validationOptions: redrive ? { noValidate: true } : { checkArn: true, checkPaths: true },
  });
  const retryIntervalOverrides = Object.fromEntries([...Object.keys(handlers)].map((s) => [s, 0] as const));
  const execution = sm.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
    context: {
      Execution: {
        Id: `arn:aws:states:local-1:000000000000:execution:eks-log-lake-compaction:${executionName}`,
        Name: executionName,
        StartTime: new Date().toISOString(),
      },
      StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'eks-log-lake-compaction' },
    },
  });
  const events: LocalEvent[] = [];
  let lastTopLevel: { state: string; input: unknown } | undefined;
  const consume = (async () => {
    for await (const ev of execution.eventLogs) {
      const e = ev as {
        type: string;
        state?: { name: string; input: unknown };
        Error?: string;
        Cause?: unknown;
        index?: number;
      };
      const nested = e.index !== undefined;
      if (e.type === 'StateEntered' && e.state && !nested && topLevel.has(e.state.name)) {
        lastTopLevel = { state: e.state.name, input: e.state.input };
      }
      events.push({
        type: e.type,
        state: e.state?.name,
        depth: run.depth,
        error: e.Error,
        cause: e.Cause === undefined ? undefined : String(e.Cause),
      });
    }
  })();
  try {
    const output = await execution.result;
    await consume;
    return { executionName, status: 'SUCCEEDED', output, events };
  } catch {
    await consume;
    const failed = [...events].reverse().find((e) => e.type === 'ExecutionFailed');
    return {
      executionName,
      status: 'FAILED',
      error: failed?.error,
      cause: failed?.cause,
      failedState: lastTopLevel?.state,
      failedStateInput: lastTopLevel?.input,
      events,
    };
  }
}
