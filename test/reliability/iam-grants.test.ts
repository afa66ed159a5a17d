// Every local workflow path run with each Task's store limited to what the synthesized IAM
// policy of that Task's Lambda allows on the lake bucket: a Task that touches a key its role
// cannot reach would end AccessDenied in AWS, while the folder store and s3rver enforce nothing.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryMetrics } from '../../functions/shared/metrics.ts';
import { buildApp } from '../../infra/app.ts';
import { DEFAULT_DEFINITION_PATH, kebabCase } from '../../infra/constructs/workflow.ts';
import { createLocalWorkflowDeps } from '../../src/adapters/local/local-workflow-deps.ts';
import { type LocalExecution, runLocalWorkflow } from '../../src/adapters/local/local-workflow-runner.ts';
import { QUARANTINE_OBJECTS_PREFIX } from '../../src/core/compact/layout.ts';
import { QueryFailedError } from '../../src/core/errors.ts';
import { LEASE_KEY } from '../../src/pipeline/lease.ts';
import { ATHENA_OWED_KEY, readOwedAthenaWork, readWatermark } from '../../src/pipeline/ledger.ts';
import { COMPACTION_METRICS } from '../../src/pipeline/workflow-tasks.ts';
import type { ObjectInfo, ObjectStore, PutOptions, QueryEngine, QueryRow } from '../../src/ports.ts';
import { awsError, FaultyObjectStore } from '../helpers/faults.ts';
import { asArray, CONFIG, flat, type Statement, testApp } from '../infra/support.ts';
import { makeTestLake, putRawObject, type TestLake } from '../statemachine/helpers/test-lake.ts';

type S3Action = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:ListBucket';

/** What one Task's role allows on the lake bucket, read from the synthesized template. */
interface LakePolicy {
  allows(action: S3Action, key: string): boolean;
}

/** `s3:Get*` / `arn…/raw/*` → a case-sensitive (resources) or -insensitive (actions) matcher. */
function iamPattern(pattern: string, flags = ''): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/**
 * The lake statements of a role as IAM evaluates them for one request: action, resource
 * (`<Lake.Arn>` or `<Lake.Arn>/key`) and, for ListBucket, the `s3:prefix` condition key. A
 * condition the harness does not model fails the test rather than being ignored.
 */
function lakePolicyOf(statements: readonly Statement[], lakeArn: string): LakePolicy {
  const allowed = statements.filter((s) => s.Effect === 'Allow');
  return {
    allows(action, key) {
      const resource = action === 's3:ListBucket' ? lakeArn : `${lakeArn}/${key}`;
      return allowed.some((s) => {
        if (!asArray(s.Action).some((a) => iamPattern(a, 'i').test(action))) return false;
        if (!asArray(s.Resource).some((r) => iamPattern(flat(r)).test(resource))) return false;
        for (const [operator, keys] of Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
          for (const [conditionKey, values] of Object.entries(keys)) {
            if (conditionKey !== 's3:prefix' || action !== 's3:ListBucket') {
              throw new Error(`harness does not model condition ${operator} ${conditionKey} on ${action}`);
            }
            const patterns = asArray(values as string | string[]);
            const match = (p: string) => (operator === 'StringLike' ? iamPattern(p).test(key) : p === key);
            if (!['StringLike', 'StringEquals'].includes(operator) || !patterns.some(match)) return false;
          }
        }
        return true;
      });
    },
  };
}

/** Task state name → Lambda entry, from the `${XxxFunctionArn}` each Task of the ASL invokes (as infra derives it). */
function taskEntries(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (states: Record<string, any>) => {
    for (const [name, state] of Object.entries(states)) {
      const fn = /^\$\{([A-Z][A-Za-z0-9]*)FunctionArn\}$/.exec(state.Parameters?.FunctionName ?? '');
      if (state.Type === 'Task' && fn) out.set(name, kebabCase(fn[1]!));
      for (const inner of [state.ItemProcessor, state.Iterator]) if (inner) walk(inner.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(JSON.parse(readFileSync(DEFAULT_DEFINITION_PATH, 'utf8')).States);
  return out;
}

/** Each workflow Lambda's lake policy, by entry, from the central stack as `cdk deploy` would create it. */
function synthesizedLakePolicies(entries: Iterable<string>): Map<string, LakePolicy> {
  const { central } = buildApp(testApp(), CONFIG);
  const t = Template.fromStack(central);
  const lakeIds = Object.entries(t.findResources('AWS::S3::Bucket'))
    .filter(([, b]) => String(b.Properties.BucketName).startsWith(`${CONFIG.prefix}-lake-`))
    .map(([id]) => id);
  expect(lakeIds).toHaveLength(1);
  const lakeArn = `<${lakeIds[0]}.Arn>`;
  const functions = Object.values(t.findResources('AWS::Lambda::Function'));
  const policies = Object.values(t.findResources('AWS::IAM::Policy'));
  const out = new Map<string, LakePolicy>();
  for (const entry of entries) {
    const fn = functions.find((f) => f.Properties.FunctionName === `${CONFIG.prefix}-${entry}`);
    expect(fn, `no Lambda ${CONFIG.prefix}-${entry} in the central stack`).toBeDefined();
    const roleId = fn!.Properties.Role['Fn::GetAtt'][0] as string;
    const statements = policies
      .filter((p) => asArray(p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    out.set(entry, lakePolicyOf(statements, lakeArn));
  }
  return out;
}

/**
 * An ObjectStore that lets a call through only if the policy of the Task running it (tracked
 * across awaits) allows it: reads need s3:GetObject (HEAD included) and, for a missing key,
 * s3:ListBucket of that key; writes s3:PutObject, deletes s3:DeleteObject per key, lists
 * s3:ListBucket with `s3:prefix` the listed prefix.
 */
class GrantedObjectStore implements ObjectStore {
  readonly denials: string[] = [];
  readonly task = new AsyncLocalStorage<string>();

  constructor(
    private readonly inner: ObjectStore,
    private readonly policies: ReadonlyMap<string, LakePolicy>,
  ) {}

  private check(action: S3Action, key: string): void {
    const entry = this.task.getStore();
    const policy = entry === undefined ? undefined : this.policies.get(entry);
    if (policy?.allows(action, key)) return;
    const denial = `${entry ?? '(no Task)'} ${action} ${key}`;
    this.denials.push(denial);
    throw awsError('AccessDenied', 403, `not authorized: ${denial}`);
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    this.check('s3:PutObject', key);
    return this.inner.put(key, body, options);
  }
  async get(key: string): Promise<{ body: Uint8Array; etag: string } | undefined> {
    this.check('s3:GetObject', key);
    return this.absentOnlyIfListed(key, await this.inner.get(key));
  }
  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    this.check('s3:GetObject', key);
    return this.absentOnlyIfListed(key, await this.inner.getStream(key));
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    this.check('s3:GetObject', key);
    return this.absentOnlyIfListed(key, await this.inner.head(key));
  }

  /**
   * S3 answers a missing key with 403 here (ListBucket is conditioned on s3:prefix), and
   * S3ObjectStore then lists exactly that key to tell absent from denied: that LIST must be granted.
   */
  private absentOnlyIfListed<T>(key: string, found: T | undefined): T | undefined {
    if (found === undefined) this.check('s3:ListBucket', key);
    return found;
  }
  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    this.check('s3:ListBucket', prefix);
    yield* this.inner.list(prefix, options);
  }
  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.check('s3:DeleteObject', k);
    return this.inner.delete(keys);
  }
}

/** The test lake's recording engine, failing its first `failures` statements as Athena can. */
class FlakyEngine implements QueryEngine {
  constructor(
    private readonly inner: QueryEngine,
    private failures: number,
  ) {}
  async runNamed(name: string, params: Readonly<Record<string, string>>): Promise<QueryRow[]> {
    if (this.failures > 0) {
      this.failures--;
      throw new QueryFailedError(`HIVE_METASTORE_ERROR: injected for ${name}`);
    }
    return this.inner.runNamed(name, params);
  }
  async runSql(sql: string): Promise<QueryRow[]> {
    return this.inner.runSql(sql);
  }
}

const ENTRIES = taskEntries();
let POLICIES: Map<string, LakePolicy>;

beforeAll(() => {
  POLICIES = synthesizedLakePolicies(new Set(ENTRIES.values()));
});

interface Harness {
  readonly lake: TestLake;
  readonly granted: GrantedObjectStore;
  readonly faulty: FaultyObjectStore;
  readonly metrics: ReturnType<typeof createMemoryMetrics>;
  run(input: unknown): Promise<LocalExecution>;
}

/**
 * The local workflow over a test lake with every Task's S3 access granted as in AWS. The catalog
 * stands for Glue and is not an S3 call; faults injected below the guard (`faulty`) stand for S3.
 */
function grantedWorkflow(lake: TestLake, engine: QueryEngine = lake.engine): Harness {
  const faulty = new FaultyObjectStore(lake.store);
  const granted = new GrantedObjectStore(faulty, POLICIES);
  const metrics = createMemoryMetrics();
  const deps = createLocalWorkflowDeps({
    store: granted,
    catalog: lake.catalog,
    engine,
    clock: lake.clock,
    config: lake.deps.config,
    metrics,
    registerRawPartitions: true,
  });
  const wrapTask = (state: string, run: (input: unknown) => Promise<unknown>) => {
    const entry = ENTRIES.get(state);
    return entry === undefined ? run : (input: unknown) => granted.task.run(entry, () => run(input));
  };
  return { lake, granted, faulty, metrics, run: (input) => runLocalWorkflow(input, { deps, wrapTask }) };
}

const WF_NOW = '2025-01-03T10:20:00Z';
const HOUR = 3_600_000;

describe('the workflow under the synthesized per-Task S3 grants', () => {
  let lake: TestLake | undefined;
  afterEach(() => lake?.cleanup());

  it('finds a Lambda entry for every Task state the local runner runs', () => {
    expect([...ENTRIES.keys()].sort()).toEqual(
      expect.arrayContaining(['AcquireLease', 'PlanWindow', 'StageObjects', 'WriteLedger', 'ReleaseLease']),
    );
    expect([...POLICIES.keys()].sort()).toEqual([...new Set(ENTRIES.values())].sort());
  });

  it('denies what a role lacks, so a clean run below is evidence', () => {
    const ledger = POLICIES.get('write-ledger')!;
    expect(ledger.allows('s3:GetObject', 'control/ledger/watermark.json')).toBe(true);
    // Least privilege for the poison path: the raw object is read, its copy goes to quarantine/objects/ only.
    expect(ledger.allows('s3:GetObject', 'raw/log_type=authenticator/dt=2025-01-03/hour=10/x.gz')).toBe(true);
    expect(ledger.allows('s3:PutObject', 'quarantine/objects/raw/log_type=authenticator/x.gz')).toBe(true);
    expect(ledger.allows('s3:PutObject', 'raw/log_type=authenticator/x.gz')).toBe(false);
    expect(ledger.allows('s3:PutObject', 'curated/audit_events/x.parquet')).toBe(false);
    expect(ledger.allows('s3:PutObject', 'quarantine/records/x.ndjson.gz')).toBe(false);
    expect(ledger.allows('s3:DeleteObject', 'control/leases/compaction.json')).toBe(false);
    expect(ledger.allows('s3:ListBucket', 'curated/')).toBe(false);
    expect(POLICIES.get('validate-input')!.allows('s3:GetObject', 'control/x')).toBe(false);
  });

  it('runs scheduled, quarantine, late, backfill, owed Athena steps and GC two days later with zero denials', async () => {
    lake = makeTestLake(WF_NOW, { maxChunkObjects: 2 });
    const h = grantedWorkflow(lake, new FlakyEngine(lake.engine, 1));
    await putRawObject(lake, '2025-01-03T10:01:00Z', [
      { id: '1', time: '2025-01-03T09:59:00Z' },
      { id: '2', time: '2025-01-03T10:00:30Z' },
    ]);
    await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '3', time: '2025-01-03T10:02:00Z' }]);
    // Named as Firehose names them, but not gzip: StageObjects quarantines it whole.
    const bad = 'raw/log_type=kube-apiserver-audit/dt=2025-01-03/hour=10/eks-logs-1-2025-01-03-10-06-00-bad.gz';
    await lake.store.put(bad, 'not gzip');
    const arrived = new Date('2025-01-03T10:06:00Z');
    utimesSync(join(lake.dir, bad), arrived, arrived);

    // The first Athena statement fails: the run fails at RunAthenaSteps and owes it.
    const first = await h.run({ scheduledTime: '2025-01-03T10:15:00Z' });
    expect(first).toMatchObject({ status: 'FAILED', failedState: 'RunAthenaSteps' });
    expect(await lake.store.get(ATHENA_OWED_KEY)).toBeDefined();
    expect(await lake.store.head(`${QUARANTINE_OBJECTS_PREFIX}${bad}`)).toBeDefined();

    lake.clock.advance(15 * 60_000);
    await putRawObject(lake, '2025-01-03T10:20:00Z', [{ id: '4', time: '2025-01-03T10:01:00Z' }]);
    const late = await h.run({ scheduledTime: '2025-01-03T10:30:00Z' });
    expect(late.status).toBe('SUCCEEDED');
    expect(await readOwedAthenaWork(lake.store)).toEqual({ rawHours: {}, rollups: {} });

    lake.clock.advance(3 * HOUR);
    const backfill = await h.run({ from: '2025-01-03T10:00:00Z', to: '2025-01-03T12:00:00Z' });
    expect(backfill.status).toBe('SUCCEEDED');

    lake.clock.advance(2 * 24 * HOUR);
    const gc = await h.run({ scheduledTime: '2025-01-05T13:30:00Z' });
    expect(gc.status).toBe('SUCCEEDED');
    expect(h.granted.denials).toEqual([]);
  }, 180_000);

  it('marks an object poison after three failed runs, copying it and its reason to quarantine/objects/, with zero denials', async () => {
    lake = makeTestLake(WF_NOW, { maxChunkObjects: 1 });
    const h = grantedWorkflow(lake);
    await putRawObject(lake, '2025-01-03T09:58:00Z', [{ id: '1', time: '2025-01-03T09:57:00Z' }]);
    const bad = await putRawObject(lake, '2025-01-03T10:05:00Z', [{ id: '2', time: '2025-01-03T10:01:00Z' }]);
    // Staging reads it as a stream and always fails; the poison copy reads it whole.
    h.faulty.failOn({
      op: 'getStream',
      match: bad,
      times: Number.POSITIVE_INFINITY,
      error: () => awsError('InternalError', 500, 'We encountered an internal error. Please try again.'),
    });
    const statuses: string[] = [];
    for (const _ of [1, 2, 3]) {
      statuses.push((await h.run({ scheduledTime: '2025-01-03T10:15:00Z' })).status);
      lake.clock.advance(HOUR);
    }
    expect(h.granted.denials).toEqual([]);
    expect(statuses).toEqual(['FAILED', 'FAILED', 'SUCCEEDED']);
    expect(h.metrics.get(COMPACTION_METRICS.poisonedObjects.metricName)).toBe(1);
    // Only the third run completed; the two failed ones count nothing.
    expect(h.metrics.get(COMPACTION_METRICS.completedRuns.metricName)).toBe(1);
    expect((await lake.store.get(`${QUARANTINE_OBJECTS_PREFIX}${bad}`))?.body).toEqual(
      (await lake.store.get(bad))?.body,
    );
    const reason = JSON.parse(
      Buffer.from((await lake.store.get(`${QUARANTINE_OBJECTS_PREFIX}${bad}.reason.json`))!.body).toString('utf8'),
    );
    expect(reason).toMatchObject({ reason: 'poison', key: bad, copied: true, failedRuns: 3 });
    expect(await readWatermark(lake.store)).toBeDefined();
  }, 120_000);

  it('skips while another execution holds the lease, counting no completed run, then takes it over and releases it, with zero denials', async () => {
    lake = makeTestLake(WF_NOW);
    const h = grantedWorkflow(lake);
    await putRawObject(lake, '2025-01-03T10:01:00Z', [{ id: '1', time: '2025-01-03T10:00:00Z' }]);
    const other = { holder: 'other-execution', token: 4, acquiredAt: WF_NOW, released: false };
    await lake.store.put(LEASE_KEY, JSON.stringify({ ...other, expiresAt: '2025-01-03T10:30:00Z' }));
    const skipped = await h.run({ scheduledTime: '2025-01-03T10:15:00Z' });
    expect(skipped.status).toBe('SUCCEEDED');
    expect(skipped.events.map((e) => e.state)).toContain('SkipLeaseHeld');
    // The execution succeeded, but no run completed: NoSuccessfulRun must not count it.
    expect(h.metrics.get(COMPACTION_METRICS.completedRuns.metricName)).toBe(0);

    lake.clock.advance(15 * 60_000);
    const took = await h.run({ scheduledTime: '2025-01-03T10:30:00Z' });
    expect(took.status).toBe('SUCCEEDED');
    const lease = JSON.parse(Buffer.from((await lake.store.get(LEASE_KEY))!.body).toString('utf8'));
    expect(lease).toMatchObject({ holder: took.executionName, token: 5, released: true });
    expect(h.metrics.get(COMPACTION_METRICS.completedRuns.metricName)).toBe(1);
    expect(h.granted.denials).toEqual([]);
  }, 60_000);
});
