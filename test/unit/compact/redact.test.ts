import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isSecretKey,
  mayHoldCredentialAssignment,
  mayHoldCredentialMember,
  mayHoldSecret,
  type RedactionCounts,
  redactCredentialAssignments,
  redactCredentialSpans,
  redactSecrets,
} from '../../../src/core/compact/redact.ts';
import { collectTraffic } from '../../../src/core/generate/traffic.ts';
import { klogPairSpans } from '../../../src/core/parse/klog.ts';
import { logfmtPairSpans } from '../../../src/core/parse/logfmt.ts';
import { CANARY, PEM } from './canaries.ts';
import { ALL_TYPES, sampleLines } from './raw-fixtures.ts';

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
  // After a secret key, a `/` would make it part of a longer run (a path), which is no key.
  const delimiterAfter = fc.constantFrom('', ' ', '=', ':', ',', ';', '\n', '\t', '"', ')', ']');
  // Look-alikes beside a key id: none may change.
  const lookAlike = fc.constantFrom(
    `arn:aws:sts::111122223333:assumed-role/EKSPlatformOperatorsRole/alice1700000000`,
    `/apis/apps/v1/namespaces/checkout/deployments/exporter`,
    `-----BEGIN CERTIFICATE-----\nMIIC/zCCAeegAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\nAxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEB\n-----END CERTIFICATE-----`,
    '0123456789abcdef0123456789abcdef01234567',
  );
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
        fc.tuple(fc.string(), delimiter, canary, delimiterAfter, fc.string()),
        fc.nat(),
        fc.boolean(),
        lookAlike,
        (value, [pre, d1, secret, d2, post], pick, asKey, alike) => {
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
          // A look-alike planted beside a lone key id stays, and so does the key id (outside a body).
          const beside = JSON.stringify({ v: value, id: CANARY.asid, a: `${pre} ${alike} ${post}` });
          if (!/eyJ|AKIA|PRIVATE KEY|earer/.test(`${pre}${post}${clean}`) && !clean.includes('ASIA'))
            expect(redactSecrets(beside, {}, { keyIdsAlone: false })).toBe(beside);
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
    // A repeated key, as addKv names its second and later values.
    'token#2',
    'password#3',
    'example.com/client-secret#2',
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
    'tokenExpiry#2',
    'secret#2',
    'token#x',
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

describe('redactSecrets: 40-character secret keys', () => {
  const ROLE_SESSION = 'EKSPlatformOperatorsRole/alice1700000000';
  // A CA certificate wrapped at 64 columns whose last line is exactly 40 characters.
  const cert = [
    '-----BEGIN CERTIFICATE-----',
    'MIIC/zCCAeegAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl',
    'cm5ldGVzMB4XDTIzMDMyMzE1MDAwMFoXDTMzMDMyMDE1MDAwMFowFTETMBEGA1UE',
    'AxMKa3ViZXJuZXRlczCCASIwDQYJKoZIhvcNAQEB',
    '-----END CERTIFICATE-----',
  ].join('\n');
  it.each([
    {
      name: 'an assumed-role ARN whose role/session is 40 characters (user extra)',
      text: JSON.stringify({
        accessKeyId: [CANARY.asid],
        arn: [`arn:aws:sts::111122223333:assumed-role/${ROLE_SESSION}`],
      }),
    },
    {
      name: 'the same ARN in an authenticator STS response line',
      text: `time="2026-11-27T01:30:00Z" level=info msg="STS response" accesskeyid=${CANARY.asid} arn="arn:aws:sts::111122223333:assumed-role/${ROLE_SESSION}" session=alice1700000000`,
    },
    {
      name: 'a request URI with a slash-bounded 40-character piece (a cut audit event)',
      text: `{"requestURI":"/apis/apps/v1/namespaces/checkout/deployments/exporter","user":{"extra":{"accessKeyId":["${CANARY.asid}"]}}`,
    },
    {
      name: 'a certificate whose last base64 line is 40 characters, in JSON text',
      text: JSON.stringify({ data: { 'ca.crt': cert, id: CANARY.akid } }),
    },
    { name: 'the same certificate as decoded text', text: `${cert}\nkey id ${CANARY.akid}` },
    {
      name: 'single-line base64 and an image path beside a key id',
      text: `${CANARY.asid} ${'TUlJQy96Q0NBZWVnQXdJQkFnSUJBREFOQmdrcWhraUc5dzBC'.repeat(3)} 602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-load-balancer-controller/v2.7.1`,
    },
    {
      name: 'a commit hash, an upper-case id and identifiers joined by - or _',
      text: `${CANARY.asid} 0123456789abcdef0123456789abcdef01234567 0123456789ABCDEF0123456789ABCDEF01234567 x-${CANARY.awsSecret} ${CANARY.awsSecret}_v2 a.${CANARY.awsSecret}`,
    },
  ])('keeps $name, and the lone key id beside it', ({ text }) => {
    const counts: RedactionCounts = {};
    expect(redactSecrets(text, counts, { keyIdsAlone: false })).toBe(text);
    expect(counts).toEqual({});
  });

  it.each([
    { name: 'after a space', text: `id ${CANARY.akid} secret ${CANARY.awsSecret}` },
    { name: 'in a Go struct', text: `{AccessKeyID:${CANARY.asid} SecretAccessKey:${CANARY.awsSecret} Source:x}` },
    { name: 'as a JSON string', text: JSON.stringify({ id: CANARY.akid, k: CANARY.awsSecret }) },
    { name: 'on its own line of JSON text', text: JSON.stringify(`${CANARY.akid}\n${CANARY.awsSecret}\n`) },
    { name: 'after a tab and before a period', text: `${CANARY.akid}\t${CANARY.awsSecret}.` },
    {
      name: 'in an INI credentials file',
      text: `aws_access_key_id = ${CANARY.akid}\naws_secret_access_key = ${CANARY.awsSecret}`,
    },
  ])('replaces a secret key $name, and then its key id', ({ text }) => {
    const counts: RedactionCounts = {};
    const out = redactSecrets(text, counts, { keyIdsAlone: false });
    expect(out).not.toContain(CANARY.awsSecret);
    expect(out).not.toMatch(/A[KS]IACANARY/);
    expect(counts).toEqual({ aws_secret_access_key: 1, aws_access_key_id: 1 });
  });

  const keyChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+');
  const run = (min: number, max: number) =>
    fc.array(keyChar, { minLength: min, maxLength: max }).map((cs) => cs.join(''));
  const edge = fc.constantFrom('', ' ', '"', ':', '=', '\n', '\\n', ',', '-', '.', '?');

  it('finds every secret key wherever it sits among runs of other lengths and delimiters', () => {
    const piece = fc.oneof(
      fc.constant(CANARY.awsSecret),
      run(1, 39),
      run(41, 90),
      fc.constantFrom(CANARY.akid, '[REDACTED:jwt]', 'x-y_z.w'),
    );
    const delimiter = fc.constantFrom(' ', ':', '"', ',', '\n', '\t', '=', '(', ')');
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, delimiter), { maxLength: 12 }), (parts) => {
        const text = parts.map(([p, d]) => `${d}${p}`).join('');
        // A key on the line after a run of more than 40 is the last line of a base64 block.
        const lastOfBlock = (i: number) => parts[i]![1] === '\n' && i > 0 && parts[i - 1]![0].length > 40;
        const keys = parts.filter(([p], i) => p === CANARY.awsSecret && !lastOfBlock(i)).length;
        const counts: RedactionCounts = {};
        const out = redactSecrets(text, counts, { keyIdsAlone: false, keyIdNearby: true });
        if (keys === parts.filter(([p]) => p === CANARY.awsSecret).length) expect(out).not.toContain(CANARY.awsSecret);
        expect(counts.aws_secret_access_key ?? 0).toBe(keys);
        for (const [p] of parts) if (p.length !== 40 && !p.includes('AKIA')) expect(out).toContain(p);
      }),
      { numRuns: 500 },
    );
  });

  it('never redacts a 40-character window of a longer [A-Za-z0-9/+] run, nor the key id beside it', () => {
    fc.assert(
      fc.property(run(0, 30), run(0, 30), run(41, 120), edge, edge, fc.boolean(), (a, b, long, d1, d2, json) => {
        // The canary key itself, made part of a longer run, and any random longer run.
        const runs = [`${a}${CANARY.awsSecret}${b}`, long].filter((r) => r.length > 40);
        for (const r of runs) {
          const text = `${CANARY.asid} ${d1}${r}${d2}`;
          const t = json ? JSON.stringify({ v: text }) : text;
          const counts: RedactionCounts = {};
          expect(redactSecrets(t, counts, { keyIdsAlone: false })).toBe(t);
          expect(counts).toEqual({});
        }
      }),
      { numRuns: 300 },
    );
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

describe('redactCredentialSpans', () => {
  const klog = (tail: string) => `I1127 01:30:00.123456      11 sts.go:42] "Refreshing" ${tail}`;
  const auth = (tail: string) => `time="2026-11-27T01:30:00Z" level=info msg="login" ${tail}`;
  it.each([
    {
      name: 'a quoted klog value',
      line: klog(`user="admin" password="${CANARY.password}"`),
      want: klog('user="admin" password="[REDACTED:credential]"'),
    },
    {
      name: 'a Go struct value with spaces (the whole group, as the parser read it)',
      line: klog(
        `credentials={AccessKeyID:${CANARY.asid} SecretAccessKey:${CANARY.awsSecret} SessionToken:${CANARY.secretValue} Source:AssumeRoleProvider} user="bob"`,
      ),
      want: klog('credentials=[REDACTED:credential] user="bob"'),
    },
    {
      name: 'a Go map value',
      line: klog(`token=map[value:${CANARY.password} expiry:3600] user="bob"`),
      want: klog('token=[REDACTED:credential] user="bob"'),
    },
    {
      name: 'a multi-line block value',
      line: klog(`password=<\n\t${CANARY.password}\n\tsecond line\n > user="bob"`),
      want: klog('password=[REDACTED:credential] user="bob"'),
    },
    {
      name: 'a quoted value with escaped quotes, and a repeat of the key',
      line: klog(`token="a \\"${CANARY.password}\\" b" token=${CANARY.patchValue} tokenExpiry="3600s"`),
      want: klog('token="[REDACTED:credential]" token=[REDACTED:credential] tokenExpiry="3600s"'),
    },
    {
      name: 'empty values and values a pattern already replaced',
      line: klog('password="" token=[REDACTED:jwt] apiKey="[REDACTED:jwt]"'),
      want: klog('password="" token=[REDACTED:jwt] apiKey="[REDACTED:jwt]"'),
    },
    {
      name: 'markers of a kind with a digit in its name',
      line: klog('password=[REDACTED:k8s_secret] token="[REDACTED:k8s_secret]"'),
      want: klog('password=[REDACTED:k8s_secret] token="[REDACTED:k8s_secret]"'),
    },
  ])('replaces in a klog line exactly $name', ({ line, want }) => {
    const spans = klogPairSpans(line);
    expect(spans).not.toBeNull();
    const counts: RedactionCounts = {};
    expect(redactCredentialSpans(line, spans!, counts)).toBe(want);
    expect(counts.credential ?? 0).toBe((want.match(/="?\[REDACTED:credential\]/g) ?? []).length);
  });

  it.each([
    {
      name: 'bare values, one key given twice',
      line: auth(`client_secret=${CANARY.password} client_secret=${CANARY.patchValue} method=POST`),
      want: auth('client_secret=[REDACTED:credential] client_secret=[REDACTED:credential] method=POST'),
    },
    {
      name: 'a value with a comma and a brace a regex would stop at',
      line: auth(`password=a,b}c${CANARY.password} user=bob`),
      want: auth('password=[REDACTED:credential] user=bob'),
    },
    {
      name: 'an unterminated quoted value (it runs to the end, as the parser reads it)',
      line: auth(`user=bob token="${CANARY.password} still the value`),
      want: auth('user=bob token="[REDACTED:credential]'),
    },
  ])('replaces in a logfmt line exactly $name', ({ line, want }) => {
    expect(redactCredentialSpans(line, logfmtPairSpans(line), {})).toBe(want);
  });
});

describe('redactCredentialAssignments', () => {
  it.each([
    {
      name: 'an application log line in logfmt',
      text: `level=info msg="connecting" user=app password=${CANARY.password} host=db`,
      want: 'level=info msg="connecting" user=app password=[REDACTED:credential] host=db',
    },
    {
      name: 'credential-named query parameters, and the others kept',
      text: `/api/v1/namespaces/n/pods/web-0/proxy/metrics?access_token=${CANARY.password}&password=${CANARY.patchValue}&watch=true`,
      want: '/api/v1/namespaces/n/pods/web-0/proxy/metrics?access_token=[REDACTED:credential]&password=[REDACTED:credential]&watch=true',
    },
    {
      name: 'command-line flags inside a quoted argument list',
      text: `args="--password=${CANARY.password} --verbose" --api-key='${CANARY.patchValue} x' --TOKEN=\\"${CANARY.secretValue}\\"`,
      want: 'args="--password=[REDACTED:credential] --verbose" --api-key=[REDACTED:credential] --TOKEN=[REDACTED:credential]',
    },
    {
      name: 'a klog pair after the point the parser stopped (an unterminated quote runs to the line end)',
      text: `I1127 01:30:00.123456      11 db.go:42] "x" user="a" password="${CANARY.password}\nnext line`,
      want: 'I1127 01:30:00.123456      11 db.go:42] "x" user="a" password="[REDACTED:credential]\nnext line',
    },
    {
      name: 'groups closed on their line, and a repeat key name',
      text: `refresh_token={a:${CANARY.password} b:[1 2]} creds=x Credentials=map[k:${CANARY.patchValue}] n=1`,
      want: 'refresh_token=[REDACTED:credential] creds=x Credentials=[REDACTED:credential] n=1',
    },
    {
      name: 'look-alikes: names, expiries, notices, ids and key references',
      text: 'tokenExpiry=3600 stale-token=seen secret=kube-system/db key=ns/name token_url=https://sts passwordPolicy=strict password= token=""',
      want: 'tokenExpiry=3600 stale-token=seen secret=kube-system/db key=ns/name token_url=https://sts passwordPolicy=strict password= token=""',
    },
  ])('replaces $name', ({ text, want }) => {
    expect(redactCredentialAssignments(text, {})).toBe(want);
  });

  it('keeps JSON text valid: a value inside a string literal ends at its quote or an escape', () => {
    const text = JSON.stringify({
      args: [`--password=${CANARY.password}`, `--token="${CANARY.patchValue}"`],
      'password=': 'x',
    });
    const out = redactCredentialAssignments(text, {}, true);
    expect(JSON.parse(out)).toEqual({
      args: ['--password=[REDACTED:credential]', '--token=[REDACTED:credential]'],
      'password=': 'x',
    });
  });

  it('finds nothing to do in the real sample lines (the pre-check is false for all of them)', () => {
    const lines = ALL_TYPES.flatMap((t) => sampleLines(t));
    expect(lines.length).toBeGreaterThan(50);
    for (const l of lines) expect(mayHoldCredentialAssignment(l)).toBe(false);
  });

  it('changes nothing more when applied twice, in free text and in JSON text, whatever the text', () => {
    const piece = fc.constantFrom(
      ...['password', 'DB_PASSWORD', 'token', 'x', '=', '"', "'", '{', '}', '[', ']', 'map[', '<\n\t', '\n >'],
      ...[' ', '\\', '\\"', '&', ',', '\n', '/', '-', '.', '[REDACTED:jwt]', CANARY.password],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.boolean(), (pieces, json) => {
        const once = redactCredentialAssignments(pieces.join(''), {}, json);
        expect(redactCredentialAssignments(once, {}, json)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  const credentialName = fc.constantFrom(
    'password',
    'DB_PASSWORD',
    'access_token',
    'apiKey',
    '--client-secret',
    'x.token',
  );
  const value = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9/+=:._-]{1,30}$/),
    fc.stringMatching(/^[A-Za-z0-9 ]{1,30}$/).map((v) => `"${v}"`),
    fc.stringMatching(/^[a-z0-9]{1,10}$/).map((v) => `map[k:${v} n:1]`),
  );
  const separator = fc.constantFrom(' ', '&', ', ', '\n', '\t', ' msg="x" ');

  it('removes every credential-named value planted in free text, and changes nothing the pre-check passes over', () => {
    fc.assert(
      fc.property(fc.string(), credentialName, value, separator, fc.string(), (pre, name, v, sep, post) => {
        const counts: RedactionCounts = {};
        const clean = `${pre} ${post}`;
        if (!mayHoldCredentialAssignment(clean)) expect(redactCredentialAssignments(clean, counts)).toBe(clean);
        const planted = `${pre} ${name}=${v}${sep}${post}`;
        const out = redactCredentialAssignments(planted, counts);
        expect(mayHoldCredentialAssignment(planted)).toBe(true);
        expect(out).toContain(
          `${pre} ${name}=${v.startsWith('"') ? '"[REDACTED:credential]"' : '[REDACTED:credential]'}${sep}`,
        );
      }),
      { numRuns: 400 },
    );
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
