import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import type { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { listNamedQueries } from '../../src/core/sql/catalogue.ts';
import type { QueryRow } from '../../src/ports.ts';
import { ACCOUNT, ALICE_ARN, CLUSTER, DT, OTHER_CLUSTER, plantLake, SSO_ARN } from './planted-lake.ts';

const WINDOW = { dtFrom: DT, dtTo: DT };
let lakeDir: string;
let catalog: LocalCatalog;
let engine: DuckDbQueryEngine;

beforeAll(async () => {
  lakeDir = await mkdtemp(join(tmpdir(), 'sql-pack-'));
  catalog = await plantLake(lakeDir);
  engine = new DuckDbQueryEngine({ lakeDir, catalog });
});

afterAll(async () => {
  await engine?.close();
  await rm(lakeDir, { recursive: true, force: true });
});

const pick = (rows: QueryRow[], ...cols: string[]) => rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]])));

describe('investigation pack on DuckDB', () => {
  it('finds who created, patched and deleted one object, newest first, inside the window only', async () => {
    const rows = await engine.runNamed('find-object-changes', {
      ...WINDOW,
      resource: 'configmaps',
      namespace: 'default',
      name: 'app-config',
    });
    expect(pick(rows, 'username', 'verb', 'cluster')).toEqual([
      { username: 'mallory', verb: 'delete', cluster: CLUSTER },
      { username: 'bob', verb: 'patch', cluster: CLUSTER },
      { username: 'alice', verb: 'create', cluster: CLUSTER },
    ]);
  });

  it('ranks 401/403 by user, source IP and code', async () => {
    const rows = await engine.runNamed('list-denied-requests', WINDOW);
    expect(pick(rows.slice(0, 2), 'username', 'source_ip', 'response_code', 'requests')).toEqual([
      { username: 'mallory', source_ip: '203.0.113.9', response_code: 403, requests: 3 },
      { username: 'system:anonymous', source_ip: '198.51.100.7', response_code: 401, requests: 2 },
    ]);
    expect(rows.every((r) => r.response_code === 401 || r.response_code === 403)).toBe(true);
  });

  it('lists anonymous requests by source IP and URI', async () => {
    const rows = await engine.runNamed('find-anonymous-requests', WINDOW);
    expect(pick(rows, 'source_ip', 'request_uri', 'response_code', 'requests')).toEqual([
      {
        source_ip: '198.51.100.7',
        request_uri: '/api/v1/namespaces/kube-system/secrets',
        response_code: 401,
        requests: 2,
      },
      { source_ip: '10.0.0.5', request_uri: '/healthz', response_code: 200, requests: 1 },
    ]);
  });

  it('shows each exec or port-forward request once, across its audit stages', async () => {
    const rows = await engine.runNamed('find-pod-exec-sessions', WINDOW);
    expect(pick(rows, 'username', 'namespace', 'pod', 'subresource', 'response_code', 'audit_id')).toEqual([
      {
        username: 'bob',
        namespace: 'payments',
        pod: 'db-0',
        subresource: 'portforward',
        response_code: 403,
        audit_id: 'pf-bob-1',
      },
      {
        username: 'eve',
        namespace: 'payments',
        pod: 'api-7d9',
        subresource: 'exec',
        response_code: 101,
        audit_id: 'exec-eve-1',
      },
    ]);
  });

  it('reports secret reads by people, not by system: or eks: identities', async () => {
    const rows = await engine.runNamed('find-secret-reads', WINDOW);
    expect(pick(rows, 'username', 'namespace', 'name', 'verb', 'reads', 'allowed')).toEqual([
      { username: 'mallory', namespace: 'default', name: '', verb: 'list', reads: 3, allowed: 0 },
      { username: 'eve', namespace: 'payments', name: 'db-password', verb: 'get', reads: 1, allowed: 1 },
    ]);
  });

  it('lists RBAC changes with the role each binding grants', async () => {
    const rows = await engine.runNamed('find-rbac-changes', WINDOW);
    expect(pick(rows, 'username', 'resource', 'name', 'response_code', 'role_ref')).toEqual([
      { username: 'alice', resource: 'clusterrolebindings', name: 'viewers', response_code: 201, role_ref: 'view' },
      {
        username: 'eve',
        resource: 'clusterrolebindings',
        name: 'eve-admin',
        response_code: 403,
        role_ref: 'cluster-admin',
      },
      {
        username: 'mallory',
        resource: 'clusterrolebindings',
        name: 'backdoor',
        response_code: 201,
        role_ref: 'cluster-admin',
      },
      { username: 'alice', resource: 'roles', name: 'reader', response_code: 200, role_ref: null },
    ]);
  });

  it('finds the new cluster-admin binding and its subject, not the denied attempt', async () => {
    const rows = await engine.runNamed('find-cluster-admin-bindings', WINDOW);
    expect(pick(rows, 'username', 'name')).toEqual([{ username: 'mallory', name: 'backdoor' }]);
    expect(JSON.parse(String(rows[0]!.subjects))).toEqual([{ kind: 'User', name: 'mallory' }]);
  });

  it('groups authenticator denials by principal and reason', async () => {
    const rows = await engine.runNamed('list-authenticator-denials', WINDOW);
    expect(pick(rows, 'arn', 'error', 'denials')).toEqual([
      { arn: SSO_ARN, error: 'ARN is not mapped', denials: 2 },
      { arn: '', error: 'input token was not properly formatted', denials: 1 },
    ]);
  });

  it('names the IAM principal behind a Kubernetes username with its API activity', async () => {
    const rows = await engine.runNamed('find-iam-principal', { ...WINDOW, username: 'alice' });
    expect(pick(rows, 'account', 'cluster', 'arn', 'logins', 'requests')).toEqual([
      { account: ACCOUNT, cluster: CLUSTER, arn: ALICE_ARN, logins: 2, requests: 3 },
    ]);
  });

  it('ranks the chattiest API caller first', async () => {
    const rows = await engine.runNamed('list-top-callers', { ...WINDOW, limit: '3' });
    expect(rows).toHaveLength(3);
    expect(pick(rows.slice(0, 1), 'username', 'user_agent', 'requests', 'errors')).toEqual([
      { username: 'system:serviceaccount:kube-system:chatty', user_agent: 'chatty/1.0', requests: 30, errors: 0 },
    ]);
  });

  it('puts the slowest ordinary request first, leaving out watches and exec sessions', async () => {
    const rows = await engine.runNamed('list-slowest-requests', { ...WINDOW, limit: '5' });
    expect(pick(rows.slice(0, 1), 'username', 'verb', 'request_uri', 'latency_ms')).toEqual([
      { username: 'bob', verb: 'list', request_uri: '/api/v1/events', latency_ms: 9500 },
    ]);
    expect(rows.some((r) => r.verb === 'watch' || String(r.request_uri).includes('/exec'))).toBe(false);
  });

  it('finds the pod the scheduler could not place, with its reason', async () => {
    const rows = await engine.runNamed('find-scheduler-failures', WINDOW);
    expect(pick(rows, 'pod', 'reason')).toEqual([
      { pod: 'test-the-oss/minio-1', reason: '0/12 nodes are available: 3 Insufficient memory.' },
    ]);
  });

  it('lists leader-election changes newest first', async () => {
    const rows = await engine.runNamed('find-leader-election-changes', WINDOW);
    expect(pick(rows, 'log_type', 'severity', 'msg')).toEqual([
      {
        log_type: 'kube-controller-manager',
        severity: 'ERROR',
        msg: 'failed to renew lease kube-system/kube-controller-manager: timed out',
      },
      {
        log_type: 'kube-controller-manager',
        severity: 'INFO',
        msg: 'successfully acquired lease kube-system/kube-controller-manager',
      },
    ]);
  });

  it('counts errors per component per hour', async () => {
    const rows = await engine.runNamed('count-component-errors', WINDOW);
    expect(pick(rows, 'hour_start', 'log_type', 'errors')).toEqual([
      { hour_start: `${DT} 09:00:00+00`, log_type: 'kube-apiserver', errors: 3 },
      { hour_start: `${DT} 10:00:00+00`, log_type: 'kube-controller-manager', errors: 1 },
    ]);
  });

  it('summarises unparsed events by stream and reason', async () => {
    const rows = await engine.runNamed('list-unparsed-events', WINDOW);
    expect(pick(rows, 'log_type', 'parse_status', 'parse_error', 'events', 'sample_message')).toEqual([
      {
        log_type: 'unknown',
        parse_status: 'unparsed',
        parse_error: 'unknown stream',
        events: 2,
        sample_message: 'line 1',
      },
    ]);
  });

  it('counts raw events per arrival hour, multi-member gzip and repeats included', async () => {
    const rows = await engine.runNamed('count-raw-events', WINDOW);
    expect(rows).toEqual([
      { log_type: 'authenticator', dt: DT, hour: '09', parse_status: 'ok', events: 3, distinct_event_ids: 2 },
    ]);
  });

  it('builds the hourly rollup into a generation and reads it back once published', async () => {
    const partitions = [];
    for (const hour of ['09', '10']) {
      const location = `curated/audit_hourly_summary/account=${ACCOUNT}/cluster=${CLUSTER}/dt=${DT}/hour=${hour}/gen=p1/`;
      await engine.runNamed('create-audit-hourly-summary', {
        planId: 'p1',
        account: ACCOUNT,
        cluster: CLUSTER,
        dt: DT,
        hour,
        location,
      });
      expect(await readdir(join(lakeDir, location))).toEqual(['part-00000.parquet']);
      partitions.push({ values: [ACCOUNT, CLUSTER, DT, hour], location });
    }
    // Written but not yet published: invisible.
    expect(await engine.runNamed('list-user-activity', WINDOW)).toEqual([]);
    await catalog.putPartitions('audit_hourly_summary', partitions);

    const rows = await engine.runNamed('list-user-activity', WINDOW);
    const direct = await engine.runSql(`
      SELECT username, count(*) AS requests, count(*) FILTER (WHERE authz_decision = 'forbid') AS denied
      FROM audit_events WHERE dt = '${DT}' AND cluster = '${CLUSTER}' AND stage = 'ResponseComplete'
      GROUP BY username ORDER BY requests DESC, username`);
    expect(pick(rows, 'username', 'requests', 'denied')).toEqual(direct);
    expect(pick(rows.slice(0, 1), 'username', 'requests')).toEqual([
      { username: 'system:serviceaccount:kube-system:chatty', requests: 30 },
    ]);
    expect(rows.find((r) => r.username === 'mallory')).toMatchObject({ requests: 5, denied: 3 });
    expect(rows.every((r) => r.cluster === CLUSTER)).toBe(true);
    expect(rows.some((r) => r.cluster === OTHER_CLUSTER)).toBe(false);
  });

  it('runs every query of the pack (the list above covers each name)', () => {
    const tested = [
      'find-object-changes',
      'list-denied-requests',
      'find-anonymous-requests',
      'find-pod-exec-sessions',
      'find-secret-reads',
      'find-rbac-changes',
      'find-cluster-admin-bindings',
      'list-authenticator-denials',
      'find-iam-principal',
      'list-top-callers',
      'list-slowest-requests',
      'find-scheduler-failures',
      'find-leader-election-changes',
      'count-component-errors',
      'list-unparsed-events',
      'count-raw-events',
      'list-user-activity',
    ];
    expect(listNamedQueries().map((q) => q.name)).toEqual([...tested].sort());
  });
});
