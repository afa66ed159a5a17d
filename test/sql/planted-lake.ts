import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import type { CuratedTableName } from '../../src/core/schema.ts';
import { type CuratedRow, writeCuratedPartition } from '../helpers/curated-parquet.ts';

/** The facts planted in the test lake; each named query must find exactly these. */
export const ACCOUNT = '111122223333';
export const CLUSTER = 'prod-eu-1';
export const OTHER_CLUSTER = 'dev-us-1';
export const DT = '2026-03-14';
/** A day outside every query window: anything planted here must never be returned. */
export const OLD_DT = '2026-03-01';
export const ALICE_ARN = 'arn:aws:iam::111122223333:role/PlatformAdmin';
export const SSO_ARN = 'arn:aws:iam::111122223333:role/SSODeveloperAccess';

let seq = 0;
const ts = (hour: string, minute: number, second = 0) =>
  `${DT}T${hour}:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}.000000Z`;

interface AuditSpec {
  at: string;
  username: string;
  verb: string;
  resource?: string;
  namespace?: string | null;
  name?: string | null;
  subresource?: string | null;
  code?: number;
  ips?: string[];
  groups?: string[];
  agent?: string;
  stage?: string;
  latency?: number;
  uri?: string;
  authz?: string;
  requestObject?: unknown;
  auditId?: string;
  apiGroup?: string;
}

function audit(a: AuditSpec): CuratedRow {
  seq++;
  const resource = a.resource ?? 'configmaps';
  return {
    time: a.at,
    event_id: String(37000000000000000000000000000000000000000000000000000000n + BigInt(seq)),
    cwl_timestamp: a.at,
    region: 'eu-west-1',
    log_group: `/aws/eks/${CLUSTER}/cluster`,
    log_stream: 'kube-apiserver-audit-0123456789abcdef',
    audit_id: a.auditId ?? `audit-${seq}`,
    stage: a.stage ?? 'ResponseComplete',
    level: 'Metadata',
    verb: a.verb,
    request_uri: a.uri ?? `/api/v1/${resource}`,
    username: a.username,
    user_uid: null,
    user_groups: a.groups ?? ['system:authenticated'],
    user_extra: null,
    impersonated_user: null,
    source_ips: a.ips ?? ['10.0.1.20'],
    user_agent: a.agent ?? 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc',
    resource,
    subresource: a.subresource ?? null,
    namespace: a.namespace === undefined ? 'default' : a.namespace,
    name: a.name === undefined ? null : a.name,
    api_group: a.apiGroup ?? '',
    api_version: 'v1',
    response_code: a.code ?? 200,
    response_status: null,
    response_reason: null,
    response_message: null,
    authz_decision: a.authz ?? ((a.code ?? 200) === 403 ? 'forbid' : 'allow'),
    authz_reason: null,
    annotations: { 'authorization.k8s.io/decision': a.authz ?? 'allow' },
    request_received_time: a.at,
    stage_time: a.at,
    latency_ms: a.latency ?? 12.5,
    request_object: a.requestObject === undefined ? null : JSON.stringify(a.requestObject),
    response_object: null,
  };
}

function component(at: string, logType: string, severity: string, msg: string, extra: CuratedRow = {}): CuratedRow {
  seq++;
  return {
    time: at,
    event_id: String(38000000000000000000000000000000000000000000000000000000n + BigInt(seq)),
    cwl_timestamp: at,
    region: 'eu-west-1',
    log_group: `/aws/eks/${CLUSTER}/cluster`,
    log_stream: `${logType}-0123456789abcdef`,
    log_type: logType,
    severity,
    thread_id: 1,
    source_file: 'server.go',
    source_line: 100,
    msg,
    kv: {},
    message: `${severity[0]}0314 ${msg}`,
    parse_status: 'ok',
    parse_error: null,
    ...extra,
  };
}

function authn(at: string, msg: string, fields: CuratedRow): CuratedRow {
  seq++;
  return {
    time: at,
    event_id: String(39000000000000000000000000000000000000000000000000000000n + BigInt(seq)),
    cwl_timestamp: at,
    region: 'eu-west-1',
    log_group: `/aws/eks/${CLUSTER}/cluster`,
    log_stream: 'authenticator-0123456789abcdef',
    level: msg === 'access denied' ? 'warning' : 'info',
    msg,
    kv: {},
    message: `time="${at}" level=info msg="${msg}"`,
    parse_status: 'ok',
    parse_error: null,
    ...fields,
  };
}

/** Audit events of hour 09 and 10 in prod-eu-1: the answers of the audit queries. */
function auditHour09(): CuratedRow[] {
  const rows: CuratedRow[] = [
    // find-object-changes: default/app-config created by alice, patched by bob (hour 09), deleted by mallory (hour 10).
    audit({ at: ts('09', 5), username: 'alice', verb: 'create', name: 'app-config', code: 201 }),
    audit({ at: ts('09', 30), username: 'bob', verb: 'patch', name: 'app-config' }),
    audit({ at: ts('09', 31), username: 'carol', verb: 'get', name: 'app-config' }),
    audit({ at: ts('09', 32), username: 'bob', verb: 'patch', name: 'other-config' }),
    audit({ at: ts('09', 33), username: 'bob', verb: 'patch', name: 'app-config', stage: 'RequestReceived' }),
    // list-denied-requests / find-anonymous-requests
    ...[1, 2, 3].map((i) =>
      audit({
        at: ts('09', 40, i),
        username: 'mallory',
        verb: 'list',
        resource: 'secrets',
        code: 403,
        ips: ['203.0.113.9'],
      }),
    ),
    ...[1, 2].map((i) =>
      audit({
        at: ts('09', 41, i),
        username: 'system:anonymous',
        groups: ['system:unauthenticated'],
        verb: 'get',
        resource: 'secrets',
        namespace: 'kube-system',
        uri: '/api/v1/namespaces/kube-system/secrets',
        code: 401,
        ips: ['198.51.100.7'],
        authz: '',
      }),
    ),
    audit({
      at: ts('09', 42),
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
      verb: 'get',
      resource: '',
      namespace: null,
      uri: '/healthz',
      ips: ['10.0.0.5'],
    }),
    // find-pod-exec-sessions: eve's exec (two stages, one session) and bob's denied port-forward.
    ...['RequestReceived', 'ResponseStarted', 'ResponseComplete'].map((stage, i) =>
      audit({
        at: ts('09', 50, i),
        username: 'eve',
        verb: 'create',
        resource: 'pods',
        subresource: 'exec',
        namespace: 'payments',
        name: 'api-7d9',
        code: 101,
        stage,
        auditId: 'exec-eve-1',
        uri: '/api/v1/namespaces/payments/pods/api-7d9/exec?command=sh&stdin=true&tty=true',
        latency: 600000,
      }),
    ),
    audit({
      at: ts('09', 52),
      username: 'bob',
      verb: 'create',
      resource: 'pods',
      subresource: 'portforward',
      namespace: 'payments',
      name: 'db-0',
      code: 403,
      auditId: 'pf-bob-1',
    }),
    // find-secret-reads: eve reads a secret; service identities are not findings.
    audit({
      at: ts('09', 55),
      username: 'eve',
      verb: 'get',
      resource: 'secrets',
      namespace: 'payments',
      name: 'db-password',
    }),
    audit({
      at: ts('09', 56),
      username: 'system:serviceaccount:kube-system:external-secrets',
      verb: 'get',
      resource: 'secrets',
      namespace: 'payments',
      name: 'db-password',
    }),
    audit({
      at: ts('09', 57),
      username: 'eks:node-manager',
      verb: 'list',
      resource: 'secrets',
      namespace: 'kube-system',
    }),
    // find-rbac-changes / find-cluster-admin-bindings
    audit({
      at: ts('09', 58),
      username: 'alice',
      verb: 'update',
      resource: 'roles',
      apiGroup: 'rbac.authorization.k8s.io',
      name: 'reader',
      requestObject: { kind: 'Role', rules: [] },
    }),
    // list-top-callers: a chatty controller.
    ...Array.from({ length: 30 }, (_v, i) =>
      audit({
        at: ts('09', 10, i),
        username: 'system:serviceaccount:kube-system:chatty',
        verb: 'list',
        resource: 'pods',
        agent: 'chatty/1.0',
      }),
    ),
    // list-slowest-requests: bob's slow list wins; the long watch and exec (above) are excluded.
    audit({
      at: ts('09', 20),
      username: 'bob',
      verb: 'list',
      resource: 'events',
      latency: 9500,
      uri: '/api/v1/events',
    }),
    audit({ at: ts('09', 21), username: 'bob', verb: 'watch', resource: 'events', latency: 1800000 }),
  ];
  return rows;
}

function auditHour10(): CuratedRow[] {
  const binding = (name: string, role: string, subject: string) => ({
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'User', name: subject }],
  });
  return [
    audit({ at: ts('10', 15), username: 'mallory', verb: 'delete', name: 'app-config' }),
    audit({
      at: ts('10', 20),
      username: 'mallory',
      verb: 'create',
      resource: 'clusterrolebindings',
      apiGroup: 'rbac.authorization.k8s.io',
      namespace: null,
      name: 'backdoor',
      code: 201,
      requestObject: binding('backdoor', 'cluster-admin', 'mallory'),
    }),
    audit({
      at: ts('10', 21),
      username: 'eve',
      verb: 'create',
      resource: 'clusterrolebindings',
      apiGroup: 'rbac.authorization.k8s.io',
      namespace: null,
      name: 'eve-admin',
      code: 403,
      requestObject: binding('eve-admin', 'cluster-admin', 'eve'),
    }),
    audit({
      at: ts('10', 22),
      username: 'alice',
      verb: 'create',
      resource: 'clusterrolebindings',
      apiGroup: 'rbac.authorization.k8s.io',
      namespace: null,
      name: 'viewers',
      code: 201,
      requestObject: binding('viewers', 'view', 'carol'),
    }),
  ];
}

/** Builds the lake under `lakeDir`: curated partitions registered in the LocalCatalog, raw/ objects. */
export async function plantLake(lakeDir: string): Promise<LocalCatalog> {
  const catalog = new LocalCatalog(new FsObjectStore(lakeDir));
  const put = async (table: CuratedTableName, values: [string, string, string, string], rows: CuratedRow[]) => {
    const p = await writeCuratedPartition(lakeDir, table, values, 'g1', rows);
    await catalog.putPartitions(table, [p]);
  };
  await put('audit_events', [ACCOUNT, CLUSTER, DT, '09'], auditHour09());
  await put('audit_events', [ACCOUNT, CLUSTER, DT, '10'], auditHour10());
  // Same object changed on an old day and in another cluster: outside the window / a different object.
  await put(
    'audit_events',
    [ACCOUNT, CLUSTER, OLD_DT, '09'],
    [audit({ at: `${OLD_DT}T09:00:00Z`, username: 'zed', verb: 'delete', name: 'app-config' })],
  );
  await put(
    'audit_events',
    [ACCOUNT, OTHER_CLUSTER, DT, '09'],
    [audit({ at: ts('09', 1), username: 'alice', verb: 'get', resource: 'pods' })],
  );

  await put(
    'component_logs',
    [ACCOUNT, CLUSTER, DT, '09'],
    [
      component(ts('09', 1), 'kube-scheduler', 'INFO', 'Unable to schedule pod; no fit; waiting', {
        kv: { pod: 'test-the-oss/minio-1', err: '0/12 nodes are available: 3 Insufficient memory.' },
        source_file: 'schedule_one.go',
      }),
      component(ts('09', 2), 'kube-scheduler', 'INFO', 'Successfully bound pod to node', {
        kv: { pod: 'default/web-1', node: 'ip-10-0-1-1' },
        source_file: 'schedule_one.go',
      }),
      component(
        ts('09', 3),
        'kube-controller-manager',
        'INFO',
        'successfully acquired lease kube-system/kube-controller-manager',
        {
          source_file: 'leaderelection.go',
        },
      ),
      component(ts('09', 4), 'kube-apiserver', 'ERROR', 'etcd request timed out'),
      component(ts('09', 5), 'kube-apiserver', 'ERROR', 'etcd request timed out'),
      component(ts('09', 6), 'kube-apiserver', 'WARNING', 'slow request'),
      component(ts('09', 7), 'kube-apiserver', 'ERROR', 'apiserver was unable to write a JSON response'),
    ],
  );
  await put(
    'component_logs',
    [ACCOUNT, CLUSTER, DT, '10'],
    [
      component(
        ts('10', 1),
        'kube-controller-manager',
        'ERROR',
        'failed to renew lease kube-system/kube-controller-manager: timed out',
        {
          source_file: 'leaderelection.go',
        },
      ),
    ],
  );

  await put(
    'authenticator_logs',
    [ACCOUNT, CLUSTER, DT, '09'],
    [
      authn(ts('09', 0), 'access granted', { username: 'alice', arn: ALICE_ARN, groups: ['platform-admins'] }),
      authn(ts('09', 45), 'access granted', { username: 'alice', arn: ALICE_ARN, groups: ['platform-admins'] }),
      authn(ts('09', 46), 'access granted', { username: 'bob', arn: 'arn:aws:iam::111122223333:role/Dev', groups: [] }),
      authn(ts('09', 47), 'access denied', { arn: SSO_ARN, error: 'ARN is not mapped' }),
      authn(ts('09', 48), 'access denied', { arn: SSO_ARN, error: 'ARN is not mapped' }),
      authn(ts('09', 49), 'access denied', { error: 'input token was not properly formatted' }),
    ],
  );

  await put(
    'unparsed_logs',
    [ACCOUNT, CLUSTER, DT, '09'],
    [1, 2].map((i) => ({
      time: ts('09', i),
      event_id: `4000000000000000000000000000000000000000000000000000000${i}`,
      cwl_timestamp: ts('09', i),
      region: 'eu-west-1',
      log_group: `/aws/eks/${CLUSTER}/cluster`,
      log_stream: 'mystery-stream-1',
      log_type: 'unknown',
      parse_status: 'unparsed',
      parse_error: 'unknown stream',
      message: `line ${i}`,
      message_b64: null,
    })),
  );

  // raw/: one authenticator object delivered twice in part (event 2 repeated), two gzip members.
  const rawDir = join(lakeDir, 'raw/log_type=authenticator/dt=2026-03-14/hour=09');
  await mkdir(rawDir, { recursive: true });
  const rec = (id: string) =>
    `${JSON.stringify({
      time: ts('09', 0),
      cwl_timestamp: Date.parse(ts('09', 0)),
      event_id: id,
      account: ACCOUNT,
      region: 'eu-west-1',
      cluster: CLUSTER,
      log_group: `/aws/eks/${CLUSTER}/cluster`,
      log_stream: 'authenticator-0123',
      log_type: 'authenticator',
      parse_status: 'ok',
      level: 'info',
      msg: 'access granted',
      kv: { username: 'alice' },
      message: 'time="…" level=info msg="access granted"',
    })}\n`;
  await writeFile(
    join(rawDir, 'eks-logs-1-2026-03-14-09-00-00-abc.gz'),
    Buffer.concat([gzipSync(rec('1') + rec('2')), gzipSync(rec('2'))]),
  );
  return catalog;
}
