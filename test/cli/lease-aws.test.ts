import { DescribeExecutionCommand, ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store.ts';
import type { SfnSender } from '../../src/adapters/aws/sfn-runner.ts';
import { executionArnOf, leaseCommand } from '../../src/cli/commands/lease.ts';
import { acquireLease, LEASE_KEY, type LeaseRecord, readLeaseRecord } from '../../src/pipeline/lease.ts';
import { captureIo } from '../helpers/cli-io.ts';
import { type S3TestServer, startS3TestServer } from '../helpers/s3-server.ts';

const NOW = new Date('2026-11-27T08:10:00.000Z');
const TTL_MS = 30 * 60 * 1000;
const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:eks-log-lake-compaction';
// A backfill and its children all hold the lease under the backfill's execution name.
const HOLDER = 'backfill-2026-11-20-7d2f6c1e';
const HOLDER_EXECUTION = `arn:aws:states:eu-west-1:111122223333:execution:eks-log-lake-compaction:${HOLDER}`;

/**
 * Step Functions' DescribeExecution with the real response shape, over a table of executions;
 * an unknown ARN fails with the SDK's ExecutionDoesNotExist, as the service answers.
 */
class FakeStepFunctions implements SfnSender {
  readonly described: string[] = [];
  /** Runs inside DescribeExecution, before it answers: the world moving on while the CLI waits. */
  onDescribe?: () => Promise<void>;

  constructor(private readonly statuses: Record<string, string>) {}

  async send(command: unknown): Promise<unknown> {
    if (!(command instanceof DescribeExecutionCommand)) throw new Error('unexpected command');
    const arn = command.input.executionArn!;
    this.described.push(arn);
    await this.onDescribe?.();
    const status = this.statuses[arn];
    if (status === undefined) {
      throw new ExecutionDoesNotExist({
        message: `Execution Does Not Exist: '${arn}'`,
        $metadata: { httpStatusCode: 400 },
      });
    }
    const name = arn.split(':').at(-1);
    return {
      executionArn: arn,
      stateMachineArn: STATE_MACHINE,
      name,
      status,
      startDate: new Date('2026-11-27T07:59:58.000Z'),
      ...(status === 'RUNNING' ? {} : { stopDate: new Date('2026-11-27T08:04:12.000Z') }),
      redriveCount: 0,
    };
  }
}

let server: S3TestServer;
let store: S3ObjectStore;
beforeAll(async () => {
  server = await startS3TestServer({ bucket: 'lease-lake' });
  store = new S3ObjectStore({ client: server.client, bucket: server.bucket });
});
afterAll(() => server?.close());
beforeEach(() => store.delete([LEASE_KEY]));

const LIVE: LeaseRecord = {
  holder: HOLDER,
  token: 12,
  acquiredAt: '2026-11-27T08:00:00.000Z',
  expiresAt: '2026-11-27T08:30:00.000Z',
  released: false,
};

async function putLease(record: LeaseRecord): Promise<string> {
  return (await store.put(LEASE_KEY, `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json' })).etag;
}

async function lease(sfn: SfnSender, ...args: string[]) {
  const c = captureIo(NOW);
  const regions: (string | undefined)[] = [];
  await leaseCommand({
    s3Store: (bucket, region) => {
      regions.push(region);
      return new S3ObjectStore({ client: server.client, bucket });
    },
    stepFunctions: (region) => {
      regions.push(region);
      return sfn;
    },
    ...c.io,
  }).parseAsync(args, { from: 'user' });
  return { out: c.out, err: c.err, code: c.code(), regions };
}

const AWS = ['--aws', '--bucket', 'lease-lake', '--region', 'eu-west-1'];

describe('eks-log-lake lease on S3 with the Step Functions check', () => {
  it.each(['RUNNING', 'PENDING_REDRIVE'])(
    'refuses with exit 2 while the holder’s execution is %s, and leaves the lease as it was',
    async (status) => {
      const etag = await putLease(LIVE);
      const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: status });
      const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
      expect(r.code).toBe(2);
      expect(r.err).toEqual([
        `refused: execution ${HOLDER_EXECUTION} is ${status}: it still works under this lease; stop it (or let it end) before releasing`,
      ]);
      expect(sfn.described).toEqual([HOLDER_EXECUTION]);
      expect((await store.head(LEASE_KEY))?.etag).toBe(etag);
      expect(r.regions).toEqual(['eu-west-1', 'eu-west-1']);
    },
  );

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    'releases the lease of a %s execution with its token kept; the next run gets token + 1',
    async (status) => {
      await putLease(LIVE);
      const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: status });
      const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
      expect(r.err).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.out[0]).toBe(
        `released the lease of ${HOLDER} (token 12) (execution ${status}); the next run takes it with token 13`,
      );
      expect(await readLeaseRecord(store)).toEqual({ ...LIVE, released: true, expiresAt: NOW.toISOString() });
      const next = await acquireLease(
        { store, clock: { now: () => new Date(NOW.getTime() + 60_000) }, ttlMs: TTL_MS },
        'scheduled-8f0e',
      );
      expect(next).toEqual({ holder: 'scheduled-8f0e', token: 13 });
    },
  );

  it.each([
    ['RUNNING', 'FAILED', 2],
    ['FAILED', 'RUNNING', 2],
    ['FAILED', 'FAILED', 0],
  ])(
    'checks the backfill child acting under the parent as well: parent %s, child %s → exit %d',
    async (parent, child, code) => {
      const childName = 'backfill-7-day-3';
      const childExecution = executionArnOf(STATE_MACHINE, childName);
      const etag = await putLease({ ...LIVE, execution: childName, childFrom: '2026-11-20T00:00:00.000Z' });
      const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: parent, [childExecution]: child });
      const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
      expect(r.code).toBe(code);
      if (code === 0) {
        expect(r.out[0]).toContain(`(execution ${HOLDER} FAILED, ${childName} FAILED)`);
        expect(sfn.described).toEqual([HOLDER_EXECUTION, childExecution]);
        expect((await readLeaseRecord(store))?.released).toBe(true);
      } else {
        expect(r.err.join('\n')).toMatch(/is RUNNING: it still works under this lease/);
        expect((await store.head(LEASE_KEY))?.etag).toBe(etag);
      }
    },
  );

  it('refuses with exit 2 when Step Functions has no execution of that name under the state machine', async () => {
    const etag = await putLease(LIVE);
    const sfn = new FakeStepFunctions({});
    const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(new RegExp(`^refused: Step Functions has no execution ${HOLDER_EXECUTION}: check`));
    expect((await store.head(LEASE_KEY))?.etag).toBe(etag);
  });

  it('refuses another holder’s lease without asking Step Functions', async () => {
    const etag = await putLease({ ...LIVE, holder: 'scheduled-8f0e', token: 13 });
    const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: 'FAILED' });
    const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/names scheduled-8f0e \(token 13\) as holder, not backfill-2026-11-20-7d2f6c1e/);
    expect(sfn.described).toEqual([]);
    expect((await store.head(LEASE_KEY))?.etag).toBe(etag);
  });

  it('writes nothing when the holder’s redrive took the lease back while Step Functions was asked', async () => {
    await putLease(LIVE);
    const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: 'FAILED' });
    sfn.onDescribe = async () => {
      // The redrive's AcquireLease: same holder, token kept, expiry extended.
      await acquireLease({ store, clock: { now: () => NOW }, ttlMs: TTL_MS }, HOLDER);
    };
    const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--state-machine-arn', STATE_MACHINE);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^refused: the lease changed while it was being checked \(now .* \(token 12\)\)/);
    expect(await readLeaseRecord(store)).toEqual({ ...LIVE, expiresAt: '2026-11-27T08:40:00.000Z' });
  });

  it('releases with --force and no state machine, asking Step Functions nothing', async () => {
    await putLease(LIVE);
    const sfn = new FakeStepFunctions({ [HOLDER_EXECUTION]: 'RUNNING' });
    const r = await lease(sfn, 'release', ...AWS, '--holder', HOLDER, '--force');
    expect(r.code).toBe(0);
    expect(sfn.described).toEqual([]);
    expect(await readLeaseRecord(store)).toMatchObject({ holder: HOLDER, token: 12, released: true });
  });

  it('shows the lease in the bucket', async () => {
    await putLease(LIVE);
    const r = await lease(new FakeStepFunctions({}), 'show', ...AWS, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.join('\n'))).toEqual({
      key: LEASE_KEY,
      state: 'live',
      ...LIVE,
      freesInSeconds: 1200,
      nextToken: 13,
      checkedAt: NOW.toISOString(),
    });
    const text = await lease(new FakeStepFunctions({}), 'show', ...AWS);
    expect(text.out[0]).toBe(`lease ${LEASE_KEY} in s3://lease-lake: live`);
  });
});
