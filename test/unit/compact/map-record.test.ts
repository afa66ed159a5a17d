import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTable } from '../../../src/core/arrow/build.ts';
import { tableToRows } from '../../../src/core/arrow/rows.ts';
import {
  COMPACTED_TABLES,
  MAX_REQUEST_AGE_MS,
  mapRawLine,
  parseGroups,
  REDACTED_COLUMNS,
  REDACTED_MAP_COLUMNS,
  topLevelMemberText,
  truncatedJson,
} from '../../../src/core/compact/index.ts';
import { decodeParquet, encodeParquet } from '../../../src/core/parquet.ts';
import { tableDef } from '../../../src/core/schema.ts';
import type { CwlLogEvent, KnownLogType } from '../../../src/core/types.ts';
import { CANARY } from './canaries.ts';
import { ACCOUNT, CLUSTER, eventId, message, rawLines, sampleEvents, sampleLines } from './raw-fixtures.ts';

const T0 = Date.UTC(2026, 10, 27, 1, 30, 0);
const BOUNDS = { minMicros: (T0 - 48 * 3600_000) * 1000, maxMicros: (T0 + 4 * 3600_000) * 1000 };

function envelope(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: '2026-11-27T01:30:00.123456Z',
    cwl_timestamp: T0 + 500,
    event_id: '3'.repeat(56),
    account: ACCOUNT,
    region: 'eu-west-1',
    cluster: CLUSTER,
    log_group: `/aws/eks/${CLUSTER}/cluster`,
    log_stream: 'kube-apiserver-audit-abc',
    log_type: 'kube-apiserver-audit',
    parse_status: 'ok',
    ...extra,
  };
}

function mapped(line: string) {
  const m = mapRawLine(line, BOUNDS);
  if (m.kind !== 'row') throw new Error(`expected a row, got ${m.reason}: ${m.detail}`);
  return m;
}

describe('mapRawLine', () => {
  it('promotes the audit fields of a real audit event', () => {
    const [line] = rawLines(message('kube-apiserver-audit', sampleEvents('kube-apiserver-audit', T0, 1)));
    const m = mapped(line!);
    expect(m.table).toBe('audit_events');
    expect(m.values).toEqual([ACCOUNT, CLUSTER, '2026-11-27', '01']);
    expect(m.row).toMatchObject({
      verb: 'list',
      username: 'system:kube-scheduler',
      user_groups: ['system:authenticated'],
      source_ips: ['10.0.60.42'],
      resource: 'poddisruptionbudgets',
      api_group: 'policy',
      response_code: 403,
      response_status: 'Failure',
      authz_decision: 'forbid',
      authz_reason: '',
      stage: 'ResponseComplete',
      time: T0 * 1000 + 123,
      request_received_time: T0 * 1000 + 123,
      stage_time: (T0 + 4) * 1000 + 456,
      latency_ms: 4.333,
      cwl_timestamp: (T0 + 250) * 1000,
    });
    expect(m.row.annotations).toEqual([
      ['authorization.k8s.io/decision', 'forbid'],
      ['authorization.k8s.io/reason', ''],
    ]);
  });

  it('keeps request and response objects as their exact JSON text, big integers included', () => {
    const body = '{"spec":{"replicas":12345678901234567890123,"f":1.0e+2,"s":"a\\"}b"},"n":[1,{"x":[]}]}';
    const line = JSON.stringify(
      envelope({ kind: 'Event', auditID: 'a1', stage: 'ResponseComplete', requestObject: 0, responseObject: 0 }),
    )
      .replace('"requestObject":0', `"requestObject":${body}`)
      .replace('"responseObject":0', '"responseObject" : {"status":99999999999999999999}');
    const m = mapped(line);
    expect(m.row.request_object).toBe(body);
    expect(m.row.response_object).toBe('{"status":99999999999999999999}');
  });

  it('takes the last of repeated keys, as JSON.parse does, in promoted columns and bodies', () => {
    const line = JSON.stringify(envelope({ kind: 'Event', auditID: 'a1', verb: 'get' })).replace(
      '"verb":"get"',
      '"verb":"get","verb":"delete","requestObject":{"a":1},"requestObject":{"a":2}',
    );
    const m = mapped(line);
    expect(m.row.verb).toBe('delete');
    expect(m.row.request_object).toBe('{"a":2}');
  });

  it('survives a request object nested 100,000 deep', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const line = JSON.stringify(envelope({ kind: 'Event', auditID: 'a1', requestObject: 0 })).replace(
      '"requestObject":0',
      `"requestObject":${deep}`,
    );
    expect(mapped(line).row.request_object).toBe(deep);
  });

  it('redacts tokens in the request URI and credential-named user extra, but keeps the access key id investigations join on', () => {
    const line = JSON.stringify(
      envelope({
        kind: 'Event',
        auditID: 'a1',
        verb: 'get',
        requestURI: `/api/v1/namespaces/default/pods/web-0/exec?command=sh&access_token=${CANARY.jwt}`,
        user: {
          username: 'kubernetes-admin',
          extra: { accessKeyId: [CANARY.asid], sessionToken: [`Bearer ${CANARY.bearer}`] },
        },
        objectRef: { resource: 'pods', namespace: 'default', name: 'web-0', subresource: 'exec' },
      }),
    );
    const m = mapped(line);
    expect(m.row.request_uri).toBe('/api/v1/namespaces/default/pods/web-0/exec?command=sh&access_token=[REDACTED:jwt]');
    expect(m.row.user_extra).toContain(CANARY.asid);
    expect(m.row.user_extra).not.toContain(CANARY.bearer);
    // The whole value goes, as its key names a credential; the bearer token was counted once.
    expect(JSON.parse(m.row.user_extra as string)).toEqual({
      accessKeyId: [CANARY.asid],
      sessionToken: ['[REDACTED:credential]'],
    });
    expect(m.redactions).toBe(2);
  });

  it('redacts tokens in annotation and klog key-value values, keeping the keys and the other entries', () => {
    const patch = JSON.stringify({
      patch: [{ op: 'add', path: '/spec/containers/0/env/0', value: { name: 'TOKEN', value: CANARY.jwt } }],
    });
    const audit = mapped(
      JSON.stringify(
        envelope({
          kind: 'Event',
          auditID: 'a1',
          verb: 'create',
          annotations: {
            'authorization.k8s.io/decision': 'allow',
            'patch.webhook.admission.k8s.io/round_0_index_0': patch,
            'example.com/key-id': CANARY.akid,
          },
        }),
      ),
    );
    expect(audit.row.annotations).toEqual([
      ['authorization.k8s.io/decision', 'allow'],
      ['patch.webhook.admission.k8s.io/round_0_index_0', patch.replace(CANARY.jwt, '[REDACTED:jwt]')],
      // A lone key id outside a body is an identifier, as in user_extra.
      ['example.com/key-id', CANARY.akid],
    ]);
    expect(audit.redactions).toBe(1);

    const klog = mapped(
      JSON.stringify(
        envelope({
          log_type: 'kube-controller-manager',
          log_stream: 'kube-controller-manager-abc',
          severity: 'I',
          msg: 'token refreshed',
          kv: { client: 'cm', header: `Authorization: Bearer ${CANARY.bearer}` },
        }),
      ),
    );
    expect(klog.row.kv).toEqual([
      ['client', 'cm'],
      ['header', 'Authorization: Bearer [REDACTED:bearer]'],
    ]);
    expect(klog.redactions).toBe(1);
  });

  it.each([
    {
      name: 'a secret key named by its key beside a key id',
      kv: { accessKeyID: CANARY.akid, secretAccessKey: CANARY.awsSecret, region: 'eu-west-1' },
      want: [
        ['accessKeyID', CANARY.akid],
        ['secretAccessKey', '[REDACTED:credential]'],
        ['region', 'eu-west-1'],
      ],
    },
    {
      name: 'a 40-character secret key under a neutral key, with the key id in another pair',
      kv: { id: CANARY.asid, blob: CANARY.awsSecret },
      want: [
        ['id', CANARY.asid],
        ['blob', '[REDACTED:aws_secret_access_key]'],
      ],
    },
    {
      name: 'a 40-character secret key whose key id is only in the message',
      kv: { blob: CANARY.awsSecret },
      message: `I1127 01:30:00.123456      11 sts.go:42] "assumed role" key="${CANARY.akid}" blob="${CANARY.awsSecret}"`,
      want: [['blob', '[REDACTED:aws_secret_access_key]']],
    },
    {
      name: 'passwords, tokens and client secrets named by their keys, whatever their shape, in the line too',
      kv: { password: CANARY.password, access_token: 'opaque', client_secret: 'x', user: 'admin', empty_token: '' },
      message: `I1127 01:30:00.123456      11 db.go:42] "assumed role" password="${CANARY.password}" access_token=opaque client_secret="x" user="admin" empty_token=""`,
      redactedMessage:
        'I1127 01:30:00.123456      11 db.go:42] "assumed role" password="[REDACTED:credential]" access_token=[REDACTED:credential] client_secret="[REDACTED:credential]" user="admin" empty_token=""',
      want: [
        ['password', '[REDACTED:credential]'],
        ['access_token', '[REDACTED:credential]'],
        ['client_secret', '[REDACTED:credential]'],
        ['user', 'admin'],
        ['empty_token', ''],
      ],
    },
    {
      name: 'env-style and camelCase credential names, in the line too, beside look-alikes',
      kv: { DB_PASSWORD: CANARY.password, adminPassword: 'x', tokenExpiry: '3600s', 'stale-token': 'seen' },
      message: `I1127 01:30:00.123456      11 db.go:42] "assumed role" DB_PASSWORD="${CANARY.password}" adminPassword=x tokenExpiry="3600s" stale-token="seen"`,
      redactedMessage:
        'I1127 01:30:00.123456      11 db.go:42] "assumed role" DB_PASSWORD="[REDACTED:credential]" adminPassword=[REDACTED:credential] tokenExpiry="3600s" stale-token="seen"',
      want: [
        ['DB_PASSWORD', '[REDACTED:credential]'],
        ['adminPassword', '[REDACTED:credential]'],
        ['tokenExpiry', '3600s'],
        ['stale-token', 'seen'],
      ],
    },
    {
      name: 'no key id anywhere: a 40-character commit hash is no secret',
      kv: { commit: '0123456789abcdef0123456789abcdef01234567', secret: 'kube-system/db' },
      want: [
        ['commit', '0123456789abcdef0123456789abcdef01234567'],
        ['secret', 'kube-system/db'],
      ],
    },
  ])('redacts klog key-value pairs: $name', ({ kv, message, redactedMessage, want }) => {
    const line = JSON.stringify(
      envelope({
        log_type: 'kube-controller-manager',
        log_stream: 'kube-controller-manager-abc',
        severity: 'I',
        msg: 'assumed role',
        kv,
        ...(message === undefined ? {} : { message }),
      }),
    );
    const m = mapped(line);
    expect(m.row.kv).toEqual(want);
    const inKv = want.filter(([, v]) => v?.startsWith('[REDACTED:')).length;
    // The line holds what the pairs hold: key id and secret key, or the keyed credentials.
    expect(m.redactions).toBe(message === undefined ? inKv : redactedMessage === undefined ? inKv + 2 : inKv * 2);
    if (message !== undefined) expect(m.row.message).not.toContain(CANARY.awsSecret);
    if (redactedMessage !== undefined) expect(m.row.message).toBe(redactedMessage);
  });

  it('redacts authenticator key-value pairs as one record: the key id was lifted into access_key_id', () => {
    const message = `time="2026-11-27T01:30:00Z" level=info msg="STS response" accesskeyid=${CANARY.asid} accountid=927209226484 secret_access_key=${CANARY.awsSecret} stash=${CANARY.awsSecret}`;
    const m = mapped(
      JSON.stringify(
        envelope({
          log_type: 'authenticator',
          log_stream: 'authenticator-abc',
          level: 'info',
          msg: 'STS response',
          message,
          kv: {
            accesskeyid: CANARY.asid,
            accountid: '927209226484',
            secret_access_key: CANARY.awsSecret,
            stash: CANARY.awsSecret,
          },
        }),
      ),
    );
    expect(m.row.access_key_id).toBe(CANARY.asid);
    expect(m.row.kv).toEqual([
      ['secret_access_key', '[REDACTED:credential]'],
      ['stash', '[REDACTED:aws_secret_access_key]'],
    ]);
    expect(JSON.stringify(m.row)).not.toContain(CANARY.awsSecret);
  });

  it('redacts annotation values whose keys name a secret, and keeps the stale-token notice', () => {
    const stale = 'subject: system:serviceaccount:default:web, seconds after warning threshold: 3600';
    const m = mapped(
      JSON.stringify(
        envelope({
          kind: 'Event',
          auditID: 'a1',
          verb: 'get',
          annotations: { 'example.com/client-secret': CANARY.password, 'authentication.k8s.io/stale-token': stale },
        }),
      ),
    );
    expect(m.row.annotations).toEqual([
      ['example.com/client-secret', '[REDACTED:credential]'],
      ['authentication.k8s.io/stale-token', stale],
    ]);
    expect(m.redactions).toBe(1);
  });

  it('redacts the free-text columns promoted out of the audit event and its annotations', () => {
    const m = mapped(
      JSON.stringify(
        envelope({
          kind: 'Event',
          auditID: 'a1',
          verb: 'create',
          userAgent: `curl/8.5.0 Authorization: Bearer ${CANARY.bearer}`,
          objectRef: { resource: 'tokenreviews', apiGroup: 'authentication.k8s.io', apiVersion: 'v1' },
          responseStatus: {
            metadata: {},
            status: 'Failure',
            reason: `Invalid ${CANARY.jwt}`,
            message: `token ${CANARY.jwt} is invalid`,
            code: 422,
          },
          annotations: {
            'authorization.k8s.io/decision': 'forbid',
            'authorization.k8s.io/reason': `webhook denied token ${CANARY.jwt}`,
          },
        }),
      ),
    );
    expect(m.row).toMatchObject({
      user_agent: 'curl/8.5.0 Authorization: Bearer [REDACTED:bearer]',
      response_reason: 'Invalid [REDACTED:jwt]',
      response_message: 'token [REDACTED:jwt] is invalid',
      authz_decision: 'forbid',
      authz_reason: 'webhook denied token [REDACTED:jwt]',
    });
    expect(JSON.stringify(m.row)).not.toContain(CANARY.jwt);
    expect(JSON.stringify(m.row)).not.toContain(CANARY.bearer);
    // user_agent, response_reason, response_message, authz_reason, and the reason annotation.
    expect(m.redactions).toBe(5);
  });

  it('redacts the free-text fields promoted out of authenticator key-values', () => {
    const m = mapped(
      JSON.stringify(
        envelope({
          log_type: 'authenticator',
          log_stream: 'authenticator-abc',
          level: 'warning',
          msg: 'access denied',
          message: 'time="2026-11-27T01:30:00Z" level=warning msg="access denied"',
          kv: {
            client: '127.0.0.1:34638',
            error: `input token was not properly formatted: ${CANARY.jwt}`,
            path: `/authenticate?token=${CANARY.jwt}`,
            session: `Bearer ${CANARY.bearer}`,
            method: 'POST',
          },
        }),
      ),
    );
    expect(m.row).toMatchObject({
      client: '127.0.0.1:34638',
      error: 'input token was not properly formatted: [REDACTED:jwt]',
      path: '/authenticate?token=[REDACTED:jwt]',
      session: 'Bearer [REDACTED:bearer]',
      method: 'POST',
    });
    expect(m.redactions).toBe(3);
  });

  it('redacts every value of a JSON patch to a Secret in the request body', () => {
    const patch = [
      { op: 'replace', path: '/data/password', value: CANARY.patchValue },
      { op: 'add', path: '/data/token', value: CANARY.secretValue },
    ];
    const m = mapped(
      JSON.stringify(
        envelope({
          kind: 'Event',
          auditID: 'a1',
          level: 'Request',
          verb: 'patch',
          objectRef: { resource: 'secrets', namespace: 'default', name: 'db', apiVersion: 'v1' },
          requestObject: patch,
        }),
      ),
    );
    expect(JSON.parse(m.row.request_object as string)).toEqual([
      { op: 'replace', path: '/data/password', value: '[REDACTED:k8s_secret]' },
      { op: 'add', path: '/data/token', value: '[REDACTED:k8s_secret]' },
    ]);
    expect(m.redactions).toBe(2);
  });

  it('does not pollute prototypes with __proto__ or constructor keys', () => {
    const line = JSON.stringify(envelope({ kind: 'Event', auditID: 'a1' })).replace(
      '"kind"',
      '"__proto__":{"polluted":1},"annotations":{"__proto__":"x","constructor":"y"},"user":{"__proto__":{"username":"evil"}},"kind"',
    );
    const m = mapped(line);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(m.row.annotations).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
    expect(m.row.username).toBeNull();
  });

  it('maps klog lines of all four components to component_logs', () => {
    for (const t of [
      'kube-apiserver',
      'kube-scheduler',
      'kube-controller-manager',
      'cloud-controller-manager',
    ] as const) {
      const [line] = rawLines(message(t, sampleEvents(t, T0, 1)));
      const m = mapped(line!);
      expect(m.table).toBe('component_logs');
      expect(m.row.log_type).toBe(t);
      expect(m.row.severity).toMatch(/^(INFO|WARNING|ERROR|FATAL)$/);
      expect(typeof m.row.thread_id).toBe('number');
      expect(m.row.message).toBe(JSON.parse(line!).message);
      expect(m.row.parse_status).toBe('ok');
    }
  });

  it('promotes authenticator identity fields and keeps only the rest in kv', () => {
    const lines = rawLines(message('authenticator', sampleEvents('authenticator', T0, 3)));
    const sts = mapped(lines[0]!).row;
    expect(sts).toMatchObject({
      level: 'info',
      msg: 'STS response',
      access_key_id: 'ASIAQ52MI263MY5EWZW2',
      account_id: '064047601590',
      method: 'POST',
      path: '/authenticate',
      user_id: 'AROAQ52MI263K3VH2HACL',
    });
    expect(sts.arn).toBe('arn:aws:sts::064047601590:assumed-role/test_node_group_role/i-0429e7bc1c0bb2932');
    const granted = mapped(lines[2]!).row;
    expect(granted).toMatchObject({ msg: 'access granted', username: 'eks:node-manager', groups: [] });
    expect((granted.kv as [string, string][]).map(([k]) => k)).not.toContain('username');
  });

  it.each([
    ['[system:bootstrappers system:nodes]', ['system:bootstrappers', 'system:nodes']],
    ['[]', []],
    ['["a b","c"]', ['a b', 'c']],
    ['system:masters', ['system:masters']],
  ])('parses authenticator groups %s', (text, want) => {
    expect(parseGroups(text)).toEqual(want);
  });

  it('sends unknown log groups to unparsed_logs under the _unknown cluster', () => {
    const [line] = rawLines(message('other', [{ id: '4'.repeat(56), timestamp: T0, message: 'hello from an app' }]));
    const m = mapped(line!);
    expect(m.table).toBe('unparsed_logs');
    expect(m.values[1]).toBe('_unknown');
    expect(m.row).toMatchObject({ log_type: 'unknown', message: 'hello from an app' });
  });

  it.each([
    ['an id that is not a digit string', { id: 'xyz', timestamp: T0 }],
    ['no id', { timestamp: T0 }],
    ['no timestamp', { id: '5'.repeat(56) }],
    ['a timestamp that is not epoch milliseconds', { id: '5'.repeat(56), timestamp: '1764207000000' }],
  ])("quarantines an event with %s as bad_envelope, with the transform's reason (row 12)", (_, ev) => {
    // The decoder leaves events unchecked, so a malformed one reaches the parser as sent.
    const event = { ...ev, message: 'I1127 01:30:00.000000 1 x.go:1] hi' } as unknown as CwlLogEvent;
    const [line] = rawLines(message('kube-scheduler', [event]));
    expect(JSON.parse(line!).parse_status).toBe('bad_envelope');
    const m = mapRawLine(line!, BOUNDS);
    expect(m).toMatchObject({ kind: 'quarantine', reason: 'bad_envelope' });
    expect(m.kind === 'quarantine' && m.detail).toMatch(/log event (id|timestamp) is missing or not/);
  });

  it.each([
    ['not a digit string', 'xyz'],
    ['empty', ''],
    ['a number', 12345],
    ['absent', undefined],
  ])('quarantines a line whose event_id is %s as bad_envelope, whatever its parse_status (row 12)', (_, id) => {
    const line = JSON.stringify(envelope({ event_id: id, kind: 'Event', auditID: 'a' }));
    expect(mapRawLine(line, BOUNDS)).toMatchObject({ kind: 'quarantine', reason: 'bad_envelope' });
  });

  it('keeps the ResponseComplete of a request open for days: bounds apply to its stageTimestamp (design §5.8)', () => {
    const received = '2026-11-24T04:00:00.000000Z';
    const line = JSON.stringify(
      envelope({
        time: received,
        kind: 'Event',
        auditID: 'exec-1',
        stage: 'ResponseComplete',
        verb: 'create',
        objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'debug' },
        requestReceivedTimestamp: received,
        stageTimestamp: '2026-11-27T01:29:00.000000Z',
      }),
    );
    const m = mapped(line);
    expect(m.values).toEqual([ACCOUNT, CLUSTER, '2026-11-24', '04']);
    expect(m.row).toMatchObject({
      time: Date.UTC(2026, 10, 24, 4) * 1000,
      request_received_time: Date.UTC(2026, 10, 24, 4) * 1000,
      stage_time: Date.UTC(2026, 10, 27, 1, 29) * 1000,
      latency_ms: Date.UTC(2026, 10, 27, 1, 29) - Date.UTC(2026, 10, 24, 4),
      subresource: 'exec',
    });
  });

  it.each([
    ['a stageTimestamp before the horizon', '2026-11-20T04:00:00.000000Z', '2026-11-20T04:00:01.000000Z'],
    ['a stageTimestamp after the upper bound', '2026-11-27T04:00:00.000000Z', '2026-11-27T06:00:00.000000Z'],
    [
      'a request received more than 30 days before its stage',
      '2026-10-27T01:00:00.000000Z',
      '2026-11-27T01:29:00.000000Z',
    ],
    ['a request received in 2099', '2099-01-01T00:00:00.000000Z', '2026-11-27T01:29:00.000000Z'],
    ['a request received at epoch 0', '1970-01-01T00:00:00.000000Z', '2026-11-27T01:29:00.000000Z'],
  ])('quarantines an audit event with %s as time_out_of_range', (_, received, stage) => {
    const line = JSON.stringify(
      envelope({
        time: received,
        kind: 'Event',
        auditID: 'a',
        requestReceivedTimestamp: received,
        stageTimestamp: stage,
      }),
    );
    expect(mapRawLine(line, BOUNDS)).toMatchObject({ kind: 'quarantine', reason: 'time_out_of_range' });
  });

  it('accepts a request received up to MAX_REQUEST_AGE_MS before its stageTimestamp, and not a microsecond more', () => {
    const stage = T0;
    const at = (receivedMs: number, extraMicros = 0) => {
      const receivedMicros = receivedMs * 1000 - extraMicros;
      const iso = `${new Date(Math.floor(receivedMicros / 1000)).toISOString().slice(0, 19)}.${String(receivedMicros % 1_000_000).padStart(6, '0')}Z`;
      return mapRawLine(
        JSON.stringify(
          envelope({
            time: iso,
            kind: 'Event',
            auditID: 'a',
            requestReceivedTimestamp: iso,
            stageTimestamp: new Date(stage).toISOString(),
          }),
        ),
        BOUNDS,
      ).kind;
    };
    expect(at(stage - MAX_REQUEST_AGE_MS)).toBe('row');
    expect(at(stage - MAX_REQUEST_AGE_MS, 1)).toBe('quarantine');
  });

  it('sends JSON that is not an audit Event to unparsed_logs', () => {
    const m = mapped(JSON.stringify(envelope({ kind: 'Status', apiVersion: 'v1' })));
    expect(m.table).toBe('unparsed_logs');
    expect(m.row.parse_status).toBe('not_audit_event');
    expect(m.row.message).toContain('"kind":"Status"');
  });

  it('partitions by the CloudWatch time when the event time is unusable, and flags it', () => {
    const m = mapRawLine(JSON.stringify(envelope({ time: 'yesterday', kind: 'Event', auditID: 'a' })), BOUNDS);
    expect(m).toMatchObject({ kind: 'row', timeFallback: true, values: [ACCOUNT, CLUSTER, '2026-11-27', '01'] });
  });

  it('puts an event at exactly hh:00:00.000 in hour hh', () => {
    const m = mapped(JSON.stringify(envelope({ time: '2026-11-27T02:00:00.000000Z', kind: 'Event', auditID: 'a' })));
    expect(m.values[3]).toBe('02');
  });

  it.each([
    ['not json at all', 'non_json'],
    ['{"time":"2026-11-27T01:30:00Z","account":"1', 'truncated_json'],
    ['[1,2,3]', 'not_object'],
    [JSON.stringify({ time: '2026-11-27T01:30:00Z' }), 'missing_envelope'],
    [JSON.stringify(envelope({ account: '12345' })), 'invalid_account'],
    [JSON.stringify(envelope({ cluster: 'a/b' })), 'invalid_cluster'],
    [JSON.stringify(envelope({ cluster: 'a=b' })), 'invalid_cluster'],
    [JSON.stringify(envelope({ cluster: "o'brien" })), 'invalid_cluster'],
    [JSON.stringify(envelope({ cluster: '..' })), 'invalid_cluster'],
    [JSON.stringify(envelope({ time: '2099-01-01T00:00:00Z' })), 'time_out_of_range'],
    [JSON.stringify(envelope({ time: '1970-01-01T00:00:00Z' })), 'time_out_of_range'],
    [JSON.stringify(envelope({ time: 'soon', cwl_timestamp: 'x' })), 'bad_time'],
  ])('quarantines %s as %s', (line, reason) => {
    expect(mapRawLine(line, BOUNDS)).toMatchObject({ kind: 'quarantine', reason });
  });

  it('writes rows with lone surrogates, control characters and ANSI escapes to Parquet', () => {
    const ua = 'curl/8\u0000\u001b[31m"red"\n\ud800';
    const m = mapped(
      JSON.stringify(envelope({ kind: 'Event', auditID: 'a', userAgent: ua, requestURI: '/x?a=\r\nb' })),
    );
    const def = tableDef('audit_events');
    const [back] = tableToRows(def, decodeParquet(encodeParquet(buildTable(def, [m.row]))));
    expect(back!.user_agent).toBe('curl/8\u0000\u001b[31m"red"\n\ufffd');
    expect(back!.request_uri).toBe('/x?a=\r\nb');
  });
});

describe('REDACTED_COLUMNS', () => {
  it.each(COMPACTED_TABLES)('names only string and map columns that %s has', (table) => {
    const types = new Map(tableDef(table).columns.map((c) => [c.name, c.type]));
    for (const col of REDACTED_COLUMNS[table]) expect(types.get(col)).toBe('string');
    const mapCol = REDACTED_MAP_COLUMNS[table];
    if (mapCol !== null) expect(types.get(mapCol)).toEqual({ map: ['string', 'string'] });
    // Every map of the table is scanned.
    const maps = [...types].filter(([, t]) => typeof t === 'object' && 'map' in t).map(([n]) => n);
    expect(maps).toEqual(mapCol === null ? [] : [mapCol]);
  });
});

describe('mapRawLine and credential-named JSON members', () => {
  const auditLine = (event: Record<string, unknown>) =>
    JSON.stringify(envelope({ kind: 'Event', auditID: 'a1', verb: 'create', ...event }));

  it.each([
    {
      name: 'a ConfigMap created with a password entry, in the body and its last-applied copy',
      event: {
        objectRef: { resource: 'configmaps', namespace: 'web', name: 'app' },
        requestObject: {
          kind: 'ConfigMap',
          metadata: {
            name: 'app',
            annotations: {
              'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
                data: { DB_PASSWORD: CANARY.password },
              }),
            },
          },
          data: { DB_PASSWORD: CANARY.password, DB_HOST: 'db.web' },
        },
      },
      column: 'request_object',
      redactions: 2,
    },
    {
      name: 'a Deployment whose container env sets a token',
      event: {
        objectRef: { resource: 'deployments', namespace: 'web', name: 'api', apiGroup: 'apps' },
        responseObject: {
          kind: 'Deployment',
          spec: {
            template: { spec: { containers: [{ name: 'api', env: [{ name: 'API_TOKEN', value: CANARY.password }] }] } },
          },
        },
      },
      column: 'response_object',
      redactions: 1,
    },
    {
      name: 'user extra under a credential-named key',
      event: { user: { username: 'sso:alice', extra: { 'example.com/id-token': [CANARY.password], team: ['web'] } } },
      column: 'user_extra',
      redactions: 1,
    },
  ])('redacts $name', ({ event, column, redactions }) => {
    const m = mapped(auditLine(event));
    expect(JSON.stringify(m.row)).not.toContain(CANARY.password);
    expect(m.row[column]).toContain('[REDACTED:credential]');
    expect(() => JSON.parse(m.row[column] as string)).not.toThrow();
    expect(m.redactions).toBe(redactions);
  });

  it('redacts a credential env value in a webhook patch annotation, keeping the other entries', () => {
    const patch = (value: string) =>
      JSON.stringify({
        configuration: 'vault-injector',
        patch: [{ op: 'add', path: '/spec/containers/0/env/-', value: { name: 'DB_PASSWORD', value } }],
        patchType: 'JSONPatch',
      });
    const m = mapped(
      auditLine({
        annotations: {
          'authorization.k8s.io/decision': 'allow',
          'patch.webhook.admission.k8s.io/round_0_index_0': patch(CANARY.password),
        },
      }),
    );
    expect(m.row.annotations).toEqual([
      ['authorization.k8s.io/decision', 'allow'],
      ['patch.webhook.admission.k8s.io/round_0_index_0', patch('[REDACTED:credential]')],
    ]);
    expect(m.redactions).toBe(1);
  });

  // The real audit events of the samples that carry bodies, as the transform writes them.
  const samples = sampleLines('kube-apiserver-audit');
  const withBodies = rawLines(
    message('kube-apiserver-audit', sampleEvents('kube-apiserver-audit', T0, samples.length)),
  ).filter((l) => l.includes('"requestObject"') || l.includes('"responseObject"'));
  const CREDENTIAL_KEYS = [
    'password',
    'DB_PASSWORD',
    'adminPassword',
    'token',
    'API_TOKEN',
    'sessionToken',
    'x-api-key',
    'client_secret',
    'Authorization',
    'AWS_SECRET_ACCESS_KEY',
    'credentials',
    'privateKey',
    'example.com/api-token',
  ];
  const LOOKALIKE_KEYS = [
    'tokenExpiry',
    'secretName',
    'authentication.k8s.io/stale-token',
    'authentication.kubernetes.io/credential-id',
    'caBundle',
    'passwordPolicy',
    'tokenName',
    'serviceAccountName',
    'TOKEN_URL',
  ];
  const planting = fc.record({
    body: fc.constantFrom('requestObject', 'responseObject', 'user.extra'),
    walk: fc.array(fc.nat(), { maxLength: 8 }),
    credential: fc.boolean(),
    pick: fc.nat(),
    form: fc.constantFrom('member', 'env', 'list'),
  });

  /** Puts `{key: value}` (or an env entry, or a list) in an object or array found by `walk` from `root`. */
  function plant(root: Record<string, unknown>, walk: number[], key: string, form: string, value: string): void {
    let at: Record<string, unknown> | unknown[] = root;
    for (const step of walk) {
      const kids = (Array.isArray(at) ? at : Object.values(at)).filter((k) => k !== null && typeof k === 'object');
      if (kids.length === 0) break;
      at = kids[step % kids.length] as Record<string, unknown> | unknown[];
    }
    const entry = form === 'env' ? { env: [{ name: key, value }] } : { [key]: form === 'list' ? [value] : value };
    if (Array.isArray(at)) at.push(entry);
    else Object.assign(at, entry);
  }

  it('never lets a value planted under a credential key at any depth of a real body through, and keeps look-alikes', () => {
    expect(withBodies.length).toBeGreaterThanOrEqual(2);
    fc.assert(
      fc.property(
        fc.constantFrom(...withBodies),
        fc.array(planting, { minLength: 1, maxLength: 5 }),
        (line, plants) => {
          const rec = JSON.parse(line) as Record<string, Record<string, unknown>>;
          const secrets: string[] = [];
          const keepers: string[] = [];
          plants.forEach((p, i) => {
            let root: Record<string, unknown>;
            if (p.body === 'user.extra') {
              const user = (rec.user ?? {}) as Record<string, unknown>;
              rec.user = user;
              root = (user.extra ?? {}) as Record<string, unknown>;
              user.extra = root;
            } else {
              root = rec[p.body] ?? { kind: 'Pod' };
              rec[p.body] = root;
            }
            const keys = p.credential ? CREDENTIAL_KEYS : LOOKALIKE_KEYS;
            const value = `canary-${i}-${p.credential ? 'Hunter2' : 'keep'}`;
            // user.extra is a map of string lists.
            const form = p.body === 'user.extra' ? 'list' : p.form;
            plant(
              root as Record<string, unknown>,
              p.body === 'user.extra' ? [] : p.walk,
              keys[p.pick % keys.length]!,
              form,
              value,
            );
            (p.credential ? secrets : keepers).push(value);
          });
          const planted = JSON.stringify(rec);
          const m = mapped(planted);
          const out = JSON.stringify(m.row);
          for (const s of secrets) expect(out).not.toContain(s);
          // A look-alike's value survives unless a later planting replaced it.
          for (const k of keepers) if (planted.includes(k)) expect(out).toContain(k);
          for (const col of ['request_object', 'response_object', 'user_extra'])
            if (typeof m.row[col] === 'string') expect(() => JSON.parse(m.row[col] as string)).not.toThrow();
          if (secrets.some((s) => planted.includes(s))) expect(m.redactions).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('mapRawLine redaction of lines as the transform writes them', () => {
  const at = (ms: number) => ({ id: eventId(ms, 1), timestamp: ms });
  /** The one curated row of a CloudWatch event of `type` (a log group of another name with 'other'). */
  const rowOf = (type: KnownLogType | 'other', text: string) => {
    const [line] = rawLines(message(type, [{ ...at(T0), message: text }]));
    return mapped(line!);
  };
  const klogLine = (tail: string) => `I1127 01:30:00.123456      11 sts.go:42] "Refreshing credentials" ${tail}`;
  const authLine = (tail: string) => `time="2026-11-27T01:30:00Z" level=info msg="STS response" ${tail}`;
  const ROLE_SESSION = 'EKSPlatformOperatorsRole/alice1700000000';
  const ARN = `arn:aws:sts::111122223333:assumed-role/${ROLE_SESSION}`;
  const auditEvent = (extra: Record<string, unknown>) =>
    JSON.stringify({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'RequestResponse',
      auditID: '5f0c6d5e-8f4b-4b8e-9c9e-3b0b2b6f1a01',
      stage: 'ResponseComplete',
      requestURI: '/apis/apps/v1/namespaces/checkout/deployments/exporter',
      verb: 'patch',
      user: {
        username: `arn:aws:sts::111122223333:assumed-role/EKSPlatformOperatorsRole/{{SessionName}}`,
        groups: ['system:authenticated'],
        extra: { accessKeyId: [CANARY.asid], arn: [ARN], sessionName: ['alice1700000000'] },
      },
      sourceIPs: ['192.0.2.10'],
      userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/abcdef0',
      objectRef: {
        resource: 'deployments',
        namespace: 'checkout',
        name: 'exporter',
        apiGroup: 'apps',
        apiVersion: 'v1',
      },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: '2026-11-27T01:30:00.123456Z',
      stageTimestamp: '2026-11-27T01:30:00.223456Z',
      ...extra,
    });
  /** `event` cut at CloudWatch's event size limit, as a large patch arrives. */
  const cut = (event: string) => event.slice(0, 256 * 1024 - 26);

  it('keeps the user extra, the ARN and the key id of a principal whose role/session is 40 characters', () => {
    const m = rowOf('kube-apiserver-audit', auditEvent({}));
    expect(JSON.parse(m.row.user_extra as string)).toEqual({
      accessKeyId: [CANARY.asid],
      arn: [ARN],
      sessionName: ['alice1700000000'],
    });
    expect(m.row.request_uri).toBe('/apis/apps/v1/namespaces/checkout/deployments/exporter');
    expect(m.redactions).toBe(0);
    const text = authLine(`accesskeyid=${CANARY.asid} accountid=111122223333 arn="${ARN}" session=alice1700000000`);
    const auth = rowOf('authenticator', text);
    expect(auth.row.message).toBe(text);
    expect(auth.row.arn).toBe(ARN);
    expect(auth.redactions).toBe(0);
  });

  it('keeps the request URI and a CA certificate of an audit event cut at the size limit', () => {
    const cert = `-----BEGIN CERTIFICATE-----\n${'MIIC/zCCAeegAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n'.repeat(20)}AxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEB\n-----END CERTIFICATE-----`;
    const event = cut(
      auditEvent({
        requestObject: { kind: 'ConfigMap', data: { 'ca.crt': cert, blob: 'x'.repeat(300_000) } },
      }),
    );
    const m = rowOf('kube-apiserver-audit', event);
    expect(m.table).toBe('unparsed_logs');
    expect(m.row.parse_status).toBe('truncated');
    expect(m.row.message).toBe(event);
    expect(m.redactions).toBe(0);
  });

  it.each([
    {
      name: 'a Go struct of credentials with spaces inside its braces',
      tail: `credentials={AccessKeyID:${CANARY.asid} SecretAccessKey:${CANARY.awsSecret} SessionToken:${CANARY.secretValue} Source:AssumeRoleProvider} user="bob"`,
      want: 'credentials=[REDACTED:credential] user="bob"',
      kv: [
        ['credentials', '[REDACTED:credential]'],
        ['user', 'bob'],
      ],
    },
    {
      name: 'a Go map',
      tail: `token=map[value:${CANARY.password} ttl:3600] user="bob"`,
      want: 'token=[REDACTED:credential] user="bob"',
      kv: [
        ['token', '[REDACTED:credential]'],
        ['user', 'bob'],
      ],
    },
    {
      name: 'a multi-line block',
      tail: `password=<\n\t${CANARY.password}\n\tsecond line\n > user="bob"`,
      want: 'password=[REDACTED:credential] user="bob"',
      kv: [
        ['password', '[REDACTED:credential]'],
        ['user', 'bob'],
      ],
    },
    {
      name: 'a key given twice (kv keeps the second as token#2)',
      tail: `token="${CANARY.password}" token="${CANARY.patchValue}" user="bob"`,
      want: 'token="[REDACTED:credential]" token="[REDACTED:credential]" user="bob"',
      kv: [
        ['token', '[REDACTED:credential]'],
        ['token#2', '[REDACTED:credential]'],
        ['user', 'bob'],
      ],
    },
    {
      name: 'a key after the point the parser stopped (an unterminated quote)',
      tail: `user="a" password="${CANARY.password}`,
      want: 'user="a" password="[REDACTED:credential]',
      kv: [['user', 'a']],
    },
    {
      name: 'flags inside a quoted value',
      tail: `args="--token=${CANARY.password} --v=2" user="bob"`,
      want: 'args="--token=[REDACTED:credential] --v=2" user="bob"',
      kv: [
        ['args', '--token=[REDACTED:credential] --v=2'],
        ['user', 'bob'],
      ],
    },
  ])('redacts in a klog line and its pairs $name, changing the line only inside the value', ({ tail, want, kv }) => {
    const m = rowOf('kube-controller-manager', klogLine(tail));
    expect(m.row.message).toBe(klogLine(want));
    expect(m.row.kv).toEqual(kv);
    for (const s of [CANARY.password, CANARY.patchValue, CANARY.secretValue, CANARY.awsSecret])
      expect(JSON.stringify(m.row)).not.toContain(s);
  });

  it('redacts repeated credential keys in authenticator pairs and line', () => {
    const text = authLine(`token=${CANARY.password} token=${CANARY.patchValue} client=127.0.0.1:52552`);
    const m = rowOf('authenticator', text);
    expect(m.row.kv).toEqual([
      ['token', '[REDACTED:credential]'],
      ['token#2', '[REDACTED:credential]'],
    ]);
    expect(m.row.message).toBe(
      authLine('token=[REDACTED:credential] token=[REDACTED:credential] client=127.0.0.1:52552'),
    );
    expect(m.redactions).toBe(4);
  });

  it('redacts the Secret data of a patch of a secrets resource cut at the size limit, not of a ConfigMap', () => {
    const patch = (resource: string) =>
      cut(
        auditEvent({
          requestURI: `/api/v1/namespaces/checkout/${resource}/db`,
          objectRef: { resource, namespace: 'checkout', name: 'db', apiVersion: 'v1' },
          requestObject: { data: { password: CANARY.patchValue, blob: 'A'.repeat(300_000) } },
        }),
      );
    const secret = rowOf('kube-apiserver-audit', patch('secrets'));
    expect(secret.row.parse_status).toBe('truncated');
    expect(secret.row.message).not.toContain(CANARY.patchValue);
    expect(secret.row.message).toContain('"data":{"password":"[REDACTED:k8s_secret]","blob":"[REDACTED:k8s_secret]');
    expect(secret.row.message).toContain('"requestURI":"/api/v1/namespaces/checkout/secrets/db"');
    const configMap = rowOf('kube-apiserver-audit', patch('configmaps'));
    // A ConfigMap's data is no secret; its password entry is (named for a credential).
    expect(configMap.row.message).not.toContain(CANARY.patchValue);
    expect(configMap.row.message).toContain(`"blob":"AAAA`);
  });

  it.each([
    {
      name: 'an application log line in logfmt',
      text: `level=info msg="connecting" user=app password=${CANARY.password} host=db.internal`,
      want: 'level=info msg="connecting" user=app password=[REDACTED:credential] host=db.internal',
    },
    {
      name: 'an application log line in JSON',
      text: JSON.stringify({ level: 'info', msg: 'connecting', db: { user: 'app', password: CANARY.password } }),
      want: JSON.stringify({
        level: 'info',
        msg: 'connecting',
        db: { user: 'app', password: '[REDACTED:credential]' },
      }),
    },
    {
      name: 'an application log line with JSON after its time and level',
      text: `2026-11-27T01:30:00Z INFO connecting ${JSON.stringify({ user: 'app', password: CANARY.password })}`,
      want: '2026-11-27T01:30:00Z INFO connecting {"user":"app","password":"[REDACTED:credential]"}',
    },
    {
      name: 'a line without credentials',
      text: 'level=info msg="connecting" user=app tokenExpiry=3600 host=db.internal',
      want: 'level=info msg="connecting" user=app tokenExpiry=3600 host=db.internal',
    },
  ])('redacts credential-named values in unparsed logs of other log groups: $name', ({ text, want }) => {
    const m = rowOf('other', text);
    expect(m.table).toBe('unparsed_logs');
    expect(m.row.message).toBe(want);
    expect(m.redactions).toBe(text === want ? 0 : 1);
  });

  it('redacts credential-named query parameters of the request URI', () => {
    const m = rowOf(
      'kube-apiserver-audit',
      auditEvent({
        verb: 'get',
        requestURI: `/api/v1/namespaces/n/pods/web-0/proxy/metrics?access_token=${CANARY.password}&password=${CANARY.patchValue}&format=text`,
      }),
    );
    expect(m.row.request_uri).toBe(
      '/api/v1/namespaces/n/pods/web-0/proxy/metrics?access_token=[REDACTED:credential]&password=[REDACTED:credential]&format=text',
    );
    expect(m.redactions).toBe(2);
  });
});

describe('topLevelMemberText', () => {
  it('returns only top-level members and ignores look-alikes inside strings and objects', () => {
    const json = '{"a":"\\"requestObject\\":1","b":{"requestObject":2},"requestObject":[3, "]"] }';
    expect(topLevelMemberText(json, ['requestObject']).get('requestObject')).toBe('[3, "]"]');
  });
});

describe('truncatedJson', () => {
  it.each([
    ['{"kind":"Event","verb":"get', 'ends before'],
    ['{"a":1', 'ends before'],
    ['{"a":[1,2', 'ends before'],
    ['{"a":', 'ends before'],
    ['{"a":"\\u00', 'ends before'],
    ['[{"a":1},', 'ends before'],
    [`{"b":"${'x'.repeat(256 * 1024)}`, 'cut at the CloudWatch event size limit'],
  ])('takes %j for JSON cut short', (text, why) => {
    expect(truncatedJson(text)).toContain(why);
  });

  it.each(['{"a":1}', '{"a" 1}', '{"a":1}}', '{"a":1,,"b":2}', 'E1127 03:00:00.000000 plain text', ''])(
    'does not take %j for truncated JSON',
    (text) => {
      expect(truncatedJson(text)).toBeNull();
    },
  );
});
