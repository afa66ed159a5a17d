import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isSecretKey,
  mayHoldCredentialMember,
  mayHoldSecret,
  type RedactionCounts,
  redactKeyedValues,
  redactSecrets,
} from '../../../src/core/compact/redact.ts';
import { collectTraffic } from '../../../src/core/generate/traffic.ts';
import { CANARY, PEM } from './canaries.ts';
import { sampleLines } from './raw-fixtures.ts';

function redact(text: string, secretResource = false): { out: string; counts: RedactionCounts } {
  const counts: RedactionCounts = {};
  return { out: redactSecrets(text, counts, { secretResource }), counts };
}

describe('redactSecrets', () => {
  it.each([
    {
      name: 'a JWT in a TokenReview',
      body: { kind: 'TokenReview', spec: { token: CANARY.jwt } },
      gone: [CANARY.jwt],
      counts: { jwt: 1 },
    },
    {
      name: 'an Authorization header',
      body: { headers: { Authorization: `Bearer ${CANARY.bearer}` } },
      gone: [CANARY.bearer],
      counts: { bearer: 1 },
      kept: ['Bearer [REDACTED:bearer]'],
    },
    {
      name: 'an access key id with its secret key beside it',
      body: { env: [{ name: 'AWS_ACCESS_KEY_ID', value: CANARY.akid }, { value: CANARY.awsSecret }] },
      gone: [CANARY.akid, CANARY.awsSecret],
      counts: { aws_access_key_id: 1, aws_secret_access_key: 1 },
    },
    {
      name: 'a session key id inside a longer string',
      body: { args: `--key=${CANARY.asid} --secret ${CANARY.awsSecret}` },
      gone: [CANARY.asid, CANARY.awsSecret],
      counts: { aws_access_key_id: 1, aws_secret_access_key: 1 },
    },
    {
      name: 'a PEM private key block',
      body: { data: { 'tls.key': PEM, 'tls.crt': 'not secret' } },
      gone: [CANARY.pemBody, 'Zm9vYmFyYmF6cXV4'],
      counts: { private_key: 1 },
      kept: ['not secret'],
    },
    {
      name: 'a PEM block cut before its END line',
      body: { note: `-----BEGIN PRIVATE KEY-----\n${CANARY.pemBody}` },
      gone: [CANARY.pemBody],
      counts: { private_key: 1 },
    },
  ])('replaces $name with a marker and keeps the JSON valid', ({ body, gone, counts, kept }) => {
    const text = JSON.stringify(body);
    const { out, counts: got } = redact(text);
    for (const g of gone) expect(out).not.toContain(g);
    for (const k of kept ?? []) expect(out).toContain(k);
    expect(() => JSON.parse(out)).not.toThrow();
    expect(got).toEqual(counts);
  });

  it('replaces every data and stringData value of a Secret, its list items and last-applied annotation', () => {
    const secret = {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: {
        name: 'db',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"password":"${CANARY.secretValue}"}}`,
        },
      },
      data: { password: CANARY.secretValue, user: 'YWRtaW4=' },
      stringData: { token: 'plain-canary-token' },
      type: 'Opaque',
    };
    const list = { kind: 'SecretList', items: [secret, { ...secret, data: { k: CANARY.secretValue } }] };
    for (const body of [secret, list]) {
      const { out, counts } = redact(JSON.stringify(body));
      expect(out).not.toContain(CANARY.secretValue);
      expect(out).not.toContain('YWRtaW4=');
      expect(out).not.toContain('plain-canary-token');
      const parsed = JSON.parse(out);
      const first = 'items' in parsed ? parsed.items[0] : parsed;
      expect(first.data).toEqual({ password: '[REDACTED:k8s_secret]', user: '[REDACTED:k8s_secret]' });
      expect(first.metadata.name).toBe('db');
      expect(first.type).toBe('Opaque');
      expect(counts.k8s_secret).toBeGreaterThanOrEqual(4);
    }
  });

  it('keeps a lone access key id in a log message but not in a body', () => {
    const line = `time="2025-12-24T19:52:38Z" level=info msg="STS response" accesskeyid=${CANARY.asid} accountid=927209226484`;
    expect(redactSecrets(line, {}, { keyIdsAlone: false })).toBe(line);
    expect(redactSecrets(`${line} secret=${CANARY.awsSecret}`, {}, { keyIdsAlone: false })).not.toContain(CANARY.asid);
    expect(redactSecrets(line, {})).not.toContain(CANARY.asid);
  });

  it('redacts a patch of a secrets resource only when told the resource, and leaves ConfigMap data alone', () => {
    const patch = JSON.stringify({ data: { password: CANARY.secretValue } });
    expect(redact(patch).out).toBe(patch);
    expect(redact(patch, true).out).toBe('{"data":{"password":"[REDACTED:k8s_secret]"}}');
    const cm = JSON.stringify({ kind: 'ConfigMap', data: { 'app.conf': 'x=1' } });
    expect(redact(cm).out).toBe(cm);
  });

  it('keeps everything else byte-exact, big integers and escapes included', () => {
    const text = `{"n":12345678901234567890,"f":1.50,"s":"caf\\u00e9 \\"q\\"","t":"Bearer ${CANARY.bearer}","e":-0.0e+10}`;
    const { out } = redact(text);
    expect(out).toBe(
      '{"n":12345678901234567890,"f":1.50,"s":"caf\\u00e9 \\"q\\"","t":"Bearer [REDACTED:bearer]","e":-0.0e+10}',
    );
  });

  it('never splits an escape: a secret-like run right after \\uXXXX or a backslash is left whole', () => {
    // `\u00ae` followed by `yJ…` decodes to "®yJ…", not a JWT; cutting at the `e` would break the escape.
    const text = '{"a":"\\u00aeyJhbGciOi.eyJzdWIi.sig","b":"\\\\bearer abcdefghijkl"}';
    const { out } = redact(text);
    expect(() => JSON.parse(out)).not.toThrow();
    expect(JSON.parse(out).a).toBe('®yJhbGciOi.eyJzdWIi.sig');
  });

  it('goes through a body nested 100,000 deep without a RangeError', () => {
    const text = `${'['.repeat(100_000)}{"kind":"Secret","data":{"k":"${CANARY.secretValue}"}}${']'.repeat(100_000)}`;
    const { out } = redact(text);
    expect(out).not.toContain(CANARY.secretValue);
    expect(out.length).toBe(text.length - CANARY.secretValue.length + '[REDACTED:k8s_secret]'.length);
  });

  const delimiter = fc.constantFrom('', ' ', '=', ':', ',', ';', '/', '\n', '\t', '"', '(', '[');
  const canary = fc.constantFrom(
    CANARY.jwt,
    `${CANARY.akid} ${CANARY.awsSecret}`,
    `${CANARY.asid}\n${CANARY.awsSecret}`,
    PEM,
    `Authorization: Bearer ${CANARY.bearer}`,
  );
  const secretParts = [CANARY.jwt, CANARY.akid, CANARY.asid, CANARY.awsSecret, CANARY.pemBody, CANARY.bearer];

  it('removes a canary planted in any string of any JSON body, and changes nothing in a body without one', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.tuple(fc.string(), delimiter, canary, delimiter, fc.string()),
        fc.nat(),
        fc.boolean(),
        (value, [pre, d1, secret, d2, post], pick, asKey) => {
          const clean = JSON.stringify({ v: value });
          const { out: same, counts } = redact(clean);
          if (!secretParts.some((p) => clean.includes(p)) && !/eyJ|AKIA|ASIA|PRIVATE KEY|earer/.test(clean)) {
            expect(same).toBe(clean);
            expect(counts).toEqual({});
          }
          const planted = `${pre}${pre && /[A-Za-z0-9\\]$/.test(pre) ? ' ' : ''}${d1}${secret}${d2}${d2 === '' && post ? ' ' : ''}${post}`;
          // Plant it in one of the string literals (or as a key) of the body.
          const strings = [...clean.matchAll(/"(?:[^"\\]|\\.)*"/g)];
          const at = strings[pick % strings.length]!;
          const lit = JSON.stringify(planted);
          const text = asKey
            ? `{${lit}:${clean}}`
            : `${clean.slice(0, at.index)}${lit}${clean.slice(at.index! + at[0].length)}`;
          const { out } = redact(text);
          for (const p of secretParts) if (secret.includes(p)) expect(out).not.toContain(p);
          expect(() => JSON.parse(out)).not.toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mayHoldSecret is true for every text redaction changes, so skipping on false changes nothing', () => {
    const secretKinds = ['"kind":"Secret"', '"kind":"SecretList"'];
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        fc.option(fc.constantFrom(...secretParts, ...secretKinds, PEM), { nil: undefined }),
        fc.nat(),
        (value, planted, pick) => {
          let text = JSON.stringify({ v: value });
          if (planted !== undefined) {
            const at = pick % (text.length + 1);
            text = `${text.slice(0, at)}${planted}${text.slice(at)}`;
          }
          if (mayHoldSecret(text)) return;
          const counts: RedactionCounts = {};
          expect(redactSecrets(text, counts, { secretResource: false, keyIdsAlone: true })).toBe(text);
          expect(counts).toEqual({});
        },
      ),
      { numRuns: 500 },
    );
    for (const t of [CANARY.jwt, CANARY.akid, CANARY.asid, PEM, `Bearer ${CANARY.bearer}`, ...secretKinds])
      expect(mayHoldSecret(`x ${t} y`)).toBe(true);
    expect(mayHoldSecret('{"kind":"ConfigMap","data":{"a":"b"}}')).toBe(false);
  });
});

describe('isSecretKey', () => {
  it.each([
    'secretAccessKey',
    'secret_access_key',
    'AWS_SECRET_ACCESS_KEY',
    'password',
    'db.password',
    'passwd',
    'token',
    'access_token',
    'sessionToken',
    'apiKey',
    'X-Api-Key',
    'credentials',
    'credential',
    'private_key',
    'client_secret',
    'Authorization',
    'example.com/client-secret',
    // A credential name after `_` or a camelCase hump: env variables and config fields.
    'DB_PASSWORD',
    'GITHUB_TOKEN',
    'STRIPE_SECRET_KEY',
    'adminPassword',
    'dbAPIKey',
    'spec.auth.rootPassword',
  ])('names a secret: %s', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    // Identifiers and annotations operators query: names of Secrets, token metadata, key ids.
    'secret',
    'secretName',
    'tokenName',
    'authentication.k8s.io/stale-token',
    'authentication.k8s.io/legacy-token-autogenerated-secret',
    'authentication.kubernetes.io/credential-id',
    'accessKeyID',
    'accesskeyid',
    'passwordPolicy',
    'user',
    'tokenExpiry',
    'caBundle',
    'serviceAccountName',
    'TOKEN_URL',
    // A `-` is no word boundary (annotation names such as stale-token describe a credential).
    'token-ttl',
  ])('leaves alone: %s', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('redactSecrets with a key id nearby', () => {
  it('replaces a lone 40-character secret key only when a key id is elsewhere in the same record', () => {
    const counts: RedactionCounts = {};
    expect(redactSecrets(CANARY.awsSecret, counts, { keyIdsAlone: false })).toBe(CANARY.awsSecret);
    expect(redactSecrets(CANARY.awsSecret, counts, { keyIdsAlone: false, keyIdNearby: true })).toBe(
      '[REDACTED:aws_secret_access_key]',
    );
    expect(redactSecrets(`sk=${CANARY.awsSecret} id=${CANARY.akid}`, counts, { keyIdsAlone: false })).toBe(
      'sk=[REDACTED:aws_secret_access_key] id=[REDACTED:aws_access_key_id]',
    );
    expect(counts).toEqual({ aws_secret_access_key: 2, aws_access_key_id: 1 });
  });

  it('keeps a lone key id and short or longer runs even with a key id nearby', () => {
    for (const text of [CANARY.asid, 'a'.repeat(39), 'b'.repeat(41), `${'c'.repeat(40)}+`])
      expect(redactSecrets(text, {}, { keyIdsAlone: false, keyIdNearby: true })).toBe(text);
  });
});

describe('redactSecrets in bodies of secrets requests', () => {
  it.each([
    {
      name: 'a JSON patch replacing one data value',
      body: [{ op: 'replace', path: '/data/password', value: CANARY.patchValue }],
      want: [{ op: 'replace', path: '/data/password', value: '[REDACTED:k8s_secret]' }],
    },
    {
      name: 'a JSON patch adding a whole stringData map and testing a value',
      body: [
        { op: 'test', path: '/data/user', value: CANARY.secretValue },
        { op: 'add', path: '/stringData', value: { token: CANARY.password, n: 1 } },
        { op: 'remove', path: '/data/old' },
      ],
      want: [
        { op: 'test', path: '/data/user', value: '[REDACTED:k8s_secret]' },
        { op: 'add', path: '/stringData', value: { token: '[REDACTED:k8s_secret]', n: 1 } },
        { op: 'remove', path: '/data/old' },
      ],
    },
    {
      name: 'a JSON patch wrapped as the patch body of an apply',
      body: { patch: [{ op: 'replace', path: '/data/password', value: CANARY.patchValue }] },
      want: { patch: [{ op: 'replace', path: '/data/password', value: '[REDACTED:k8s_secret]' }] },
    },
    {
      name: 'a strategic merge patch of data and stringData',
      body: { data: { password: CANARY.patchValue }, stringData: { user: CANARY.password }, $patch: 'merge' },
      want: {
        data: { password: '[REDACTED:k8s_secret]' },
        stringData: { user: '[REDACTED:k8s_secret]' },
        $patch: 'merge',
      },
    },
  ])('replaces every value of $name', ({ body, want }) => {
    const counts: RedactionCounts = {};
    const out = redactSecrets(JSON.stringify(body), counts, { secretResource: true });
    expect(JSON.parse(out)).toEqual(want);
    expect(out).not.toContain(CANARY.patchValue);
    expect(counts.k8s_secret).toBeGreaterThan(0);
  });

  it('leaves the values of a JSON patch of any other resource alone', () => {
    const patch = JSON.stringify([
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/labels/app', value: 'web' },
    ]);
    expect(redactSecrets(patch, {}, { secretResource: false })).toBe(patch);
  });
});

describe('redactKeyedValues', () => {
  it.each([
    {
      name: 'a quoted klog value',
      text: `I1127 01:30:00.123456      11 db.go:42] "connected" user="admin" password="${CANARY.password}"`,
      keys: ['password'],
      want: 'I1127 01:30:00.123456      11 db.go:42] "connected" user="admin" password="[REDACTED:credential]"',
    },
    {
      name: 'a bare logfmt value, the key given twice',
      text: `time="2026-11-27T01:30:00Z" level=info msg="login" client_secret=${CANARY.password} method=POST`,
      keys: ['client_secret', 'client_secret'],
      want: 'time="2026-11-27T01:30:00Z" level=info msg="login" client_secret=[REDACTED:credential] method=POST',
    },
    {
      name: 'a JSON member with escapes',
      text: `{"msg":"login","token":"a\\"${CANARY.password}","n":1}`,
      keys: ['token'],
      want: '{"msg":"login","token":"[REDACTED:credential]","n":1}',
    },
    {
      name: 'a value a pattern redacted only in part',
      text: `token="[REDACTED:jwt] ${CANARY.password}"`,
      keys: ['token'],
      want: 'token="[REDACTED:credential]"',
    },
    {
      name: 'a key that only ends another key, an empty value and a value already redacted',
      text: `refresh_token=${CANARY.password} token="" token=[REDACTED:jwt]`,
      keys: ['token'],
      want: `refresh_token=${CANARY.password} token="" token=[REDACTED:jwt]`,
    },
  ])('replaces $name', ({ text, keys, want }) => {
    expect(redactKeyedValues(text, keys, {})).toBe(want);
  });
});

/** redactSecrets of JSON text with its credential-named members, after the cheap pre-check. */
function redactMembers(text: string): { out: string; counts: RedactionCounts } {
  const counts: RedactionCounts = {};
  return { out: redactSecrets(text, counts, { credentialMembers: mayHoldCredentialMember(text) }), counts };
}

describe('redactSecrets of credential-named JSON members', () => {
  const lastApplied = (obj: unknown) => ({
    kind: 'ConfigMap',
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(obj)}\n` } },
  });
  it.each([
    {
      name: 'a ConfigMap data entry named for a password',
      body: { kind: 'ConfigMap', data: { DB_PASSWORD: CANARY.password, DB_HOST: 'db.internal' } },
      want: { kind: 'ConfigMap', data: { DB_PASSWORD: '[REDACTED:credential]', DB_HOST: 'db.internal' } },
      credential: 1,
    },
    {
      name: 'a password nested in a custom resource spec',
      body: { spec: { auth: { username: 'admin', password: CANARY.password } } },
      want: { spec: { auth: { username: 'admin', password: '[REDACTED:credential]' } } },
      credential: 1,
    },
    {
      name: 'a bare token member, and spaces around the colon',
      text: `{"token" :  "${CANARY.password}"}`,
      want: { token: '[REDACTED:credential]' },
      credential: 1,
    },
    {
      name: 'env variables named for credentials, name before or after value',
      body: {
        env: [
          { name: 'API_TOKEN', value: CANARY.password },
          { value: CANARY.patchValue, name: 'DB_PASSWORD' },
          { name: 'HOME', value: '/root' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        ],
      },
      want: {
        env: [
          { name: 'API_TOKEN', value: '[REDACTED:credential]' },
          { value: '[REDACTED:credential]', name: 'DB_PASSWORD' },
          { name: 'HOME', value: '/root' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        ],
      },
      credential: 2,
    },
    {
      name: 'an HTTP header of a probe',
      body: { httpGet: { httpHeaders: [{ name: 'Authorization', value: `Basic ${CANARY.secretValue}` }] } },
      want: { httpGet: { httpHeaders: [{ name: 'Authorization', value: '[REDACTED:credential]' }] } },
      credential: 1,
    },
    {
      name: 'every string of a list under a credential key (user extra)',
      body: { sessionName: ['i-088f1a714ecb9df0c'], sessionToken: [CANARY.password, [CANARY.patchValue]] },
      want: {
        sessionName: ['i-088f1a714ecb9df0c'],
        sessionToken: ['[REDACTED:credential]', ['[REDACTED:credential]']],
      },
      credential: 2,
    },
    {
      name: 'the same members inside the last-applied-configuration JSON string',
      body: lastApplied({ data: { DB_PASSWORD: CANARY.password }, spec: { env: [{ name: 'TOKEN', value: 'x' }] } }),
      want: lastApplied({
        data: { DB_PASSWORD: '[REDACTED:credential]' },
        spec: { env: [{ name: 'TOKEN', value: '[REDACTED:credential]' }] },
      }),
      credential: 2,
    },
  ])('replaces $name', ({ body, text, want, credential }) => {
    const { out, counts } = redactMembers(text ?? JSON.stringify(body));
    expect(JSON.parse(out)).toEqual(want);
    expect(out).not.toContain(CANARY.password);
    expect(counts).toEqual({ credential });
  });

  it.each([
    { name: 'a webhook CA bundle (a public certificate)', body: { clientConfig: { caBundle: CANARY.secretValue } } },
    {
      name: 'look-alike keys: names, expiries, notices, ids, policies',
      body: {
        secretName: 'db',
        tokenExpiry: '2026-11-28T00:00:00Z',
        'authentication.k8s.io/stale-token': 'subject: system:serviceaccount:default:web',
        'authentication.kubernetes.io/credential-id': 'JTI=8f9ba5f9',
        passwordPolicy: 'strict',
        env: [{ name: 'TOKEN_URL', value: 'https://sts.amazonaws.com' }],
      },
    },
    {
      name: 'numbers, booleans, nulls and empty strings under credential keys',
      body: { automountServiceAccountToken: false, password: 1234, token: null, apiKey: '' },
    },
    {
      name: 'references to a credential (objects are walked by their own keys)',
      body: { basicAuth: { password: { name: 'db-auth', key: 'password' } }, serviceAccountToken: { path: 'token' } },
    },
    {
      name: 'a value a pattern already replaced, keeping the marker of its kind',
      body: { spec: { token: '[REDACTED:jwt]' } },
    },
  ])('leaves alone $name', ({ body }) => {
    const text = JSON.stringify(body);
    const { out, counts } = redactMembers(text);
    expect(out).toBe(text);
    expect(counts).toEqual({});
  });

  it('skips the walk for real bodies and user extra without a credential-named member', () => {
    // The real samples, and the generator's audit traffic (Secret, ConfigMap and Deployment bodies, IAM extras).
    const { deliveries } = collectTraffic({
      seed: 7,
      start: new Date(Date.UTC(2026, 10, 27)),
      durationMinutes: 10,
      accounts: ['111122223333'],
      clustersPerAccount: 1,
      targetBytes: 2e6,
      malformedRate: 0,
    });
    const generated = deliveries
      .filter((d) => d.message.logStream.startsWith('kube-apiserver-audit'))
      .flatMap((d) => d.message.logEvents.map((e) => e.message));
    // The generator's truncated audit lines are not JSON: they are quarantined, not mapped.
    const events = [...sampleLines('kube-apiserver-audit'), ...generated].flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const texts = events.flatMap((e) =>
      [e.requestObject, e.responseObject, (e.user as { extra?: unknown } | undefined)?.extra]
        .filter((v) => v !== undefined)
        .map((v) => JSON.stringify(v)),
    );
    // An IRSA pod: projected service account tokens, a token file path, a secretKeyRef.
    const pod = {
      kind: 'Pod',
      spec: {
        volumes: [
          {
            name: 'aws-iam-token',
            projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', path: 'token' } }] },
          },
        ],
        containers: [
          {
            name: 'api',
            env: [
              { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
              { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            ],
            volumeMounts: [{ name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount' }],
          },
        ],
        automountServiceAccountToken: true,
      },
    };
    texts.push(JSON.stringify(pod));
    expect(texts.length).toBeGreaterThan(500);
    for (const t of texts) expect(mayHoldCredentialMember(t)).toBe(false);
  });

  it('keeps the k8s_secret marker of Secret data whose keys name credentials, counted once each', () => {
    const counts: RedactionCounts = {};
    const text = JSON.stringify({
      kind: 'Secret',
      data: { DB_PASSWORD: CANARY.secretValue, token: CANARY.patchValue },
    });
    expect(redactSecrets(text, counts, { credentialMembers: mayHoldCredentialMember(text) })).toBe(
      '{"kind":"Secret","data":{"DB_PASSWORD":"[REDACTED:k8s_secret]","token":"[REDACTED:k8s_secret]"}}',
    );
    expect(counts).toEqual({ k8s_secret: 2 });
  });

  it('keeps the marker of a JWT under a token key, counted once (a TokenReview)', () => {
    const counts: RedactionCounts = {};
    const text = JSON.stringify({ kind: 'TokenReview', spec: { token: CANARY.jwt } });
    expect(redactSecrets(text, counts, { credentialMembers: mayHoldCredentialMember(text) })).toBe(
      '{"kind":"TokenReview","spec":{"token":"[REDACTED:jwt]"}}',
    );
    expect(counts).toEqual({ jwt: 1 });
  });

  it('keeps other bytes exact, escapes and big integers included, and goes 100,000 deep', () => {
    const text = `{"n":12345678901234567890,"s":"caf\\u00e9","password":"a\\"b","e":-0.0e+10}`;
    expect(redactMembers(text).out).toBe(
      '{"n":12345678901234567890,"s":"caf\\u00e9","password":"[REDACTED:credential]","e":-0.0e+10}',
    );
    const deep = `${'[{"a":'.repeat(100_000)}{"token":"${CANARY.password}"}${'}]'.repeat(100_000)}`;
    const { out } = redactMembers(deep);
    expect(out).not.toContain(CANARY.password);
    expect(out.length).toBe(deep.length - CANARY.password.length + '[REDACTED:credential]'.length);
  });

  // Keys that name a credential by the rule, in any case and with separators, and keys that do not.
  const credentialKey = fc
    .tuple(
      fc.constantFrom('', 'DB_', 'admin', 'example.com/', 'x.'),
      fc.constantFrom('password', 'passwd', 'token', 'api_key', 'secretAccessKey', 'client-secret', 'credentials'),
      fc.constantFrom('lower', 'upper', 'asIs'),
    )
    .map(([prefix, name, casing]) => {
      const n = casing === 'upper' ? name.toUpperCase() : casing === 'lower' ? name.toLowerCase() : name;
      // After a lower-case prefix, a camelCase hump starts the name.
      return prefix === 'admin' ? `${prefix}${n[0]!.toUpperCase()}${n.slice(1)}` : `${prefix}${n}`;
    });
  const otherKey = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('secretName', 'tokenExpiry', 'stale-token', 'caBundle', 'name', 'value', 'key', 'passwordPolicy'),
  );

  it('mayHoldCredentialMember is true for every JSON text whose members redaction changes', () => {
    fc.assert(
      fc.property(
        fc.letrec((tie) => ({
          value: fc.oneof(
            { depthSize: 'small' },
            fc.string({ maxLength: 10 }),
            fc.integer(),
            fc.boolean(),
            fc.array(tie('value'), { maxLength: 3 }),
            fc
              .array(fc.tuple(fc.oneof(credentialKey, otherKey), tie('value')), { maxLength: 4 })
              .map(Object.fromEntries),
            fc
              .tuple(fc.oneof(credentialKey, otherKey), fc.string({ maxLength: 10 }))
              .map(([name, value]) => ({ name, value })),
          ),
        })).value,
        fc.boolean(),
        (value, embed) => {
          const inner = JSON.stringify({ v: value });
          // JSON held in a string is walked too (kubectl's last-applied-configuration).
          const text = embed ? JSON.stringify({ metadata: { annotations: { a: inner } } }) : inner;
          const counts: RedactionCounts = {};
          const out = redactSecrets(text, counts, { credentialMembers: true });
          if (!mayHoldCredentialMember(text)) {
            expect(out).toBe(text);
            expect(counts).toEqual({});
          }
          expect(() => JSON.parse(out)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});
