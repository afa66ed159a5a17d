import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { errorNameOf } from '../../adapters/aws/retry.ts';
import { S3ObjectStore } from '../../adapters/aws/s3-object-store.ts';
import type { SfnSender } from '../../adapters/aws/sfn-runner.ts';
import { FsObjectStore } from '../../adapters/local/fs-object-store.ts';
import { InvalidInputError } from '../../core/errors.ts';
import {
  describeLease,
  LEASE_KEY,
  type LeaseRecord,
  type LeaseStatus,
  readLeaseEntry,
  releaseHeldLease,
} from '../../pipeline/lease.ts';
import type { ObjectStore } from '../../ports.ts';

/** Exit code of a release that was refused (someone else holds the lease, or its execution still runs). */
export const EXIT_REFUSED = 2;

/** Execution states in which the holder may still write under the lease. */
const ACTIVE_STATUSES = new Set(['RUNNING', 'PENDING_REDRIVE']);

/** Everything `eks-log-lake lease` touches, injectable so tests run it on a folder, a loopback S3 and a fake Step Functions. */
export interface LeaseCommandDeps {
  readonly folderStore: (dir: string) => ObjectStore;
  readonly s3Store: (bucket: string, region?: string) => ObjectStore;
  readonly stepFunctions: (region?: string) => SfnSender;
  readonly now: () => Date;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly exit: (code: number) => void;
}

const DEFAULT_DEPS: LeaseCommandDeps = {
  folderStore: (dir) => new FsObjectStore(dir),
  s3Store: (bucket, region) => new S3ObjectStore({ client: new S3Client(region ? { region } : {}), bucket }),
  stepFunctions: (region) => new SFNClient(region ? { region } : {}),
  now: () => new Date(),
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  exit: (code) => {
    process.exitCode = code;
  },
};

interface WhereOptions {
  lake?: string;
  aws?: boolean;
  bucket?: string;
  region?: string;
}

/** `12 min 30 s`, `1 h 5 min`, `45 s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const min = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${min ? ` ${min} min` : ''}`;
}

/** The human lines of `lease show`. */
export function formatLeaseStatus(status: LeaseStatus, now: Date, where: string): string[] {
  const head = `lease ${LEASE_KEY} in ${where}: ${status.state}`;
  const r = status.record;
  if (!r) return [head, '  free: the next run creates it with token 1'];
  const since = formatDuration(now.getTime() - Date.parse(r.expiresAt));
  const verdict =
    status.state === 'live'
      ? `  frees in ${formatDuration(status.freesInMs)} unless its holder renews it (a running execution does)`
      : status.state === 'expired'
        ? `  free since ${since} ago (expired): the next run takes it with token ${status.nextToken}`
        : `  free since ${since} ago (released): the next run takes it with token ${status.nextToken}`;
  return [
    head,
    `  holder      ${r.holder}`,
    // A backfill child acts under its parent's name; say which child holds it now.
    ...(r.execution ? [`  acting      ${r.execution}${r.childFrom ? ` (child from ${r.childFrom})` : ''}`] : []),
    `  token       ${r.token}`,
    `  acquiredAt  ${r.acquiredAt}`,
    `  expiresAt   ${r.expiresAt}`,
    `  released    ${r.released}`,
    verdict,
  ];
}

/** The `lease show --json` object: the record's fields (absent when there is none) and what they mean at `checkedAt`. */
export function leaseStatusJson(status: LeaseStatus, now: Date): Record<string, unknown> {
  return {
    key: LEASE_KEY,
    state: status.state,
    ...(status.record ?? {}),
    freesInSeconds: Math.ceil(status.freesInMs / 1000),
    nextToken: status.nextToken,
    checkedAt: now.toISOString(),
  };
}

/** The execution ARN of `holder` under a state machine (`…:stateMachine:<name>` → `…:execution:<name>:<holder>`). */
export function executionArnOf(stateMachineArn: string, holder: string): string {
  if (!/^arn:[^:]+:states:[^:]*:\d*:stateMachine:[^:]+$/.test(stateMachineArn))
    throw new InvalidInputError(
      `--state-machine-arn must look like arn:aws:states:<region>:<account>:stateMachine:<name>, got ${stateMachineArn}`,
    );
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${holder}`;
}

/** The holder's execution status, or undefined when Step Functions has no such execution. */
export async function describeHolderExecution(sfn: SfnSender, executionArn: string): Promise<string | undefined> {
  try {
    const d = (await sfn.send(new DescribeExecutionCommand({ executionArn }))) as { status?: string };
    return d.status;
  } catch (err) {
    if (errorNameOf(err) === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
}

function describeRecord(r: LeaseRecord | undefined): string {
  return r ? `${r.holder} (token ${r.token}${r.released ? ', released' : ''})` : 'nobody (no lease record)';
}

/** Options of `lease release` once `--lake`/`--aws` is resolved to a store. */
export interface ReleaseRequest {
  readonly store: ObjectStore;
  readonly holder: string;
  /** Asked before writing when set: the holder's execution must not be running. */
  readonly execution?: { readonly sfn: SfnSender; readonly stateMachineArn: string };
}

/**
 * Releases the lease for an operator and returns the exit code: 0 released (or already released
 * by this holder), 2 refused. The write is conditional on the record checked, so a run that took
 * the lease or renewed it meanwhile is never released by mistake.
 */
export async function releaseForOperator(
  req: ReleaseRequest,
  io: Pick<LeaseCommandDeps, 'now' | 'out' | 'err'>,
): Promise<number> {
  const refuse = (why: string) => {
    io.err(`refused: ${why}`);
    return EXIT_REFUSED;
  };
  const entry = await readLeaseEntry(req.store);
  if (!entry) return refuse(`there is no lease record ${LEASE_KEY}: nothing to release (the lease is free)`);
  const r = entry.record;
  if (r.holder !== req.holder) {
    return refuse(
      `the lease record names ${describeRecord(r)} as holder, not ${req.holder}; only the holder's grant is released here (see \`lease show\`)`,
    );
  }
  if (r.released) {
    io.out(`the lease of ${r.holder} (token ${r.token}) is already released; nothing to do`);
    return 0;
  }
  let checked = '';
  if (req.execution) {
    // A backfill child acts under its parent's name: both must have stopped writing.
    const names = r.execution && r.execution !== req.holder ? [req.holder, r.execution] : [req.holder];
    const seen: string[] = [];
    for (const name of names) {
      const arn = executionArnOf(req.execution.stateMachineArn, name);
      const status = await describeHolderExecution(req.execution.sfn, arn);
      if (status === undefined) {
        return refuse(
          `Step Functions has no execution ${arn}: check --state-machine-arn (a backfill child holds the lease under its parent's name), or use --force without it if you are sure nothing runs under this lease`,
        );
      }
      if (ACTIVE_STATUSES.has(status)) {
        return refuse(
          `execution ${arn} is ${status}: it still works under this lease; stop it (or let it end) before releasing`,
        );
      }
      seen.push(names.length > 1 ? `${name} ${status}` : status);
    }
    checked = ` (execution ${seen.join(', ')})`;
  }
  const done = await releaseHeldLease({ store: req.store, clock: { now: io.now } }, req.holder, entry.etag);
  switch (done.outcome) {
    case 'released':
      io.out(
        `released the lease of ${r.holder} (token ${r.token})${checked}; the next run takes it with token ${r.token + 1}`,
      );
      io.out(`a redrive of ${r.holder} would now fail with LeaseLostError: start a new run instead`);
      return 0;
    case 'already-released':
      io.out(`the lease of ${r.holder} (token ${r.token}) is already released; nothing to do`);
      return 0;
    default:
      return refuse(
        `the lease changed while it was being checked (now ${describeRecord(done.record)}): run \`lease show\` and decide again`,
      );
  }
}

function storeFor(opts: WhereOptions, deps: LeaseCommandDeps): { store: ObjectStore; where: string } {
  if (opts.aws) {
    if (opts.lake) throw new InvalidInputError('give --lake DIR or --aws --bucket B, not both');
    if (!opts.bucket) throw new InvalidInputError('--aws needs --bucket');
    return { store: deps.s3Store(opts.bucket, opts.region), where: `s3://${opts.bucket}` };
  }
  if (!opts.lake) throw new InvalidInputError('give --lake DIR (local) or --aws --bucket B');
  if (opts.bucket || opts.region) throw new InvalidInputError('--bucket and --region go with --aws');
  return { store: deps.folderStore(opts.lake), where: `folder ${opts.lake}` };
}

function withWhere(cmd: Command): Command {
  return cmd
    .option('--lake <dir>', 'local lake folder holding control/leases/ (this or --aws)')
    .option('--aws', 'the lake in an S3 bucket (with --bucket)')
    .option('--bucket <name>', 'lake bucket (with --aws)')
    .option('--region <region>', 'AWS region (with --aws) (default: AWS_REGION or the SDK profile)');
}

/** `eks-log-lake lease show|release`: the compaction lease for operators. */
export function leaseCommand(overrides: Partial<LeaseCommandDeps> = {}): Command {
  const deps: LeaseCommandDeps = { ...DEFAULT_DEPS, ...overrides };
  const lease = new Command('lease').description(
    `show or release the compaction lease (${LEASE_KEY}) that lets one run at a time write to the lake`,
  );
  lease.addCommand(
    withWhere(new Command('show'))
      .description(
        'show holder, fencing token, acquiredAt, expiresAt, whether it is live, expired or released, and when it frees',
      )
      .option('--json', 'print the lease as JSON (state, record fields, freesInSeconds, nextToken, checkedAt)')
      .addHelpText(
        'after',
        [
          '',
          'state: absent, released or expired ⇒ the next run takes it (token + 1, or 1 when absent); live ⇒',
          'scheduled runs skip and a backfill fails LeaseHeld until it frees or is released (`lease release`).',
          'Exit 0 whatever the state.',
          '',
          'Examples:',
          '  eks-log-lake lease show --lake .lake',
          '  eks-log-lake lease show --aws --bucket my-lake-bucket --json',
        ].join('\n'),
      )
      .action(async (opts: WhereOptions & { json?: boolean }) => {
        const { store, where } = storeFor(opts, deps);
        const entry = await readLeaseEntry(store);
        const now = deps.now();
        const status = describeLease(entry?.record, now);
        if (opts.json) deps.out(JSON.stringify(leaseStatusJson(status, now), null, 2));
        else for (const l of formatLeaseStatus(status, now, where)) deps.out(l);
        deps.exit(0);
      }),
  );
  lease.addCommand(
    withWhere(new Command('release'))
      .description('mark the lease released for the execution that holds it (token kept, so fencing stays monotonic)')
      .requiredOption(
        '--holder <execution name>',
        '(required) the execution name `lease show` reports as holder; refused when someone else holds it',
      )
      .option(
        '--state-machine-arn <arn>',
        'with --aws: ask Step Functions first and refuse while the execution <arn with :execution:>:<holder> is RUNNING or PENDING_REDRIVE',
      )
      .option('--force', 'with --aws and no --state-machine-arn: release without asking Step Functions')
      .addHelpText(
        'after',
        [
          '',
          'Use it when a failed execution keeps the lease and you cannot wait for its TTL. Never delete the',
          'lease object instead: that restarts the fencing token at 1, so a later holder could share a token',
          'with an old one. The write is conditional on the record that was checked: if another run took',
          'or renewed the lease meanwhile, nothing is written. A backfill child holds the lease under its',
          "parent's execution name, so --holder is the parent's and the parent's execution is checked.",
          'A redrive of the released execution stops with LeaseLostError; start a new run instead.',
          'With --lake there is no execution to check: the holder match is the guard, and --force is',
          'neither needed nor accepted.',
          '',
          'Exit 0 when released (or already released by that holder); 2 when refused (another holder,',
          'no lease record, the execution still running, or the lease changed meanwhile); 1 on bad options',
          'or an error.',
          '',
          'Examples:',
          '  eks-log-lake lease release --lake .lake --holder local-mhx2k1ab-0',
          '  eks-log-lake lease release --aws --bucket my-lake-bucket --holder 7d2f6c1e-5a0b-4c3e-9f8a-1b2c3d4e5f60 \\',
          '    --state-machine-arn arn:aws:states:eu-west-1:111122223333:stateMachine:eks-log-lake-compaction',
        ].join('\n'),
      )
      .action(async (opts: WhereOptions & { holder: string; stateMachineArn?: string; force?: boolean }) => {
        const { store } = storeFor(opts, deps);
        let execution: ReleaseRequest['execution'];
        if (opts.aws) {
          if (opts.stateMachineArn && opts.force)
            throw new InvalidInputError('give --state-machine-arn (checked) or --force (unchecked), not both');
          if (!opts.stateMachineArn && !opts.force)
            throw new InvalidInputError(
              '--aws needs --state-machine-arn, to check the holder is not running, or --force to release unchecked',
            );
          if (opts.stateMachineArn) {
            executionArnOf(opts.stateMachineArn, opts.holder);
            execution = { sfn: deps.stepFunctions(opts.region), stateMachineArn: opts.stateMachineArn };
          }
        } else if (opts.stateMachineArn || opts.force) {
          throw new InvalidInputError('--state-machine-arn and --force go with --aws');
        }
        deps.exit(await releaseForOperator({ store, holder: opts.holder, execution }, deps));
      }),
  );
  return lease;
}
