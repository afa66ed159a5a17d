import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';

/** The one method of SFNClient this runner uses (a recorded-shape fake also fits). */
export interface SfnSender {
  send(command: any): Promise<any>;
}

export interface SfnExecutionResult {
  readonly executionArn: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** The last state entered before the execution failed. */
  readonly failedState?: string;
}

export interface FollowOptions {
  readonly stateMachineArn: string;
  readonly input: unknown;
  /** Execution name; omit to let Step Functions pick one. */
  readonly name?: string;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called after every poll while the execution runs. */
  readonly onPoll?: (status: { executionArn: string; elapsedMs: number; status: string }) => void;
}

/** Starts an execution with `input` and polls DescribeExecution until it ends. */
export async function startAndFollow(client: SfnSender, options: FollowOptions): Promise<SfnExecutionResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  const { executionArn } = (await client.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      input: JSON.stringify(options.input),
      name: options.name,
    }),
  )) as { executionArn: string };
  for (;;) {
    const d = (await client.send(new DescribeExecutionCommand({ executionArn }))) as {
      status: string;
      output?: string;
      error?: string;
      cause?: string;
    };
    if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      const status = d.status as SfnExecutionResult['status'];
      if (status === 'SUCCEEDED') {
        return { executionArn, status, output: d.output ? JSON.parse(d.output) : undefined };
      }
      return {
        executionArn,
        status,
        error: d.error,
        cause: d.cause,
        failedState: await lastStateEntered(client, executionArn),
      };
    }
    options.onPoll?.({ executionArn, elapsedMs: Date.now() - started, status: d.status });
    await sleep(options.pollMs ?? 5000);
  }
}

async function lastStateEntered(client: SfnSender, executionArn: string): Promise<string | undefined> {
  const h = (await client.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 }),
  )) as { events?: HistoryEvent[] };
  return h.events?.find((e) => e.stateEnteredEventDetails?.name)?.stateEnteredEventDetails?.name;
}
