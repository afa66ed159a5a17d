import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { tableToRows } from '../../src/core/arrow/rows.ts';
import { COMPACTED_TABLES, type CompactedTable, planIdFor } from '../../src/core/compact/index.ts';
import { decodeParquet } from '../../src/core/parquet.ts';
import { tableDef } from '../../src/core/schema.ts';
import { compactObjects } from '../../src/pipeline/compact.ts';
import type { ObjectStore } from '../../src/ports.ts';
import { CANARY, PEM } from '../unit/compact/canaries.ts';
import { eventId, gzipObject, message, rawKey, rawLines, retime, sampleLines } from '../unit/compact/raw-fixtures.ts';
import { type Lake, makeLake } from './compact-lake.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 27, 1, 0, 0);
const NOW = T0 + 3 * HOUR;
let lake: Lake | undefined;
afterEach(() => lake?.dispose());

const SECRETS_EVENT = sampleLines('kube-apiserver-audit').find((l) => l.includes('"resource":"secrets"'))!;

/** The sample `create secrets` event at RequestResponse level, carrying the given bodies. */
function auditWith(request: string, response: string, ms: number): string {
  return retime('kube-apiserver-audit', SECRETS_EVENT, ms)
    .replace('"level":"Metadata"', '"level":"RequestResponse"')
    .replace(
      '"requestReceivedTimestamp"',
      `"requestObject":${request},"responseObject":${response},"requestReceivedTimestamp"`,
    );
}

/** Every string of every row of every Parquet file anywhere in the lake (curated and staging). */
async function parquetText(store: ObjectStore): Promise<string> {
  const out: string[] = [];
  for (const prefix of ['curated/', 'control/']) {
    for await (const o of store.list(prefix)) {
      if (!o.key.endsWith('.parquet')) continue;
      const table = o.key.split('/').find((s) => (COMPACTED_TABLES as readonly string[]).includes(s)) as CompactedTable;
      const body = (await store.get(o.key))!.body;
      const rows = tableToRows(tableDef(table), decodeParquet(body));
      out.push(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    }
  }
  return out.join('\n');
}

const SECRET_PARTS = [
  CANARY.jwt,
  CANARY.akid,
  CANARY.asid,
  CANARY.awsSecret,
  CANARY.pemBody,
  CANARY.bearer,
  CANARY.secretValue,
  CANARY.password,
  CANARY.patchValue,
];

const canary = fc.constantFrom(
  CANARY.jwt,
  `${CANARY.akid} ${CANARY.awsSecret}`,
  `${CANARY.asid}\n${CANARY.awsSecret}`,
  PEM,
  `Bearer ${CANARY.bearer}`,
);
// A JSON body with the canary planted in a string somewhere, or a Secret whose data holds it.
const body = fc.oneof(
  fc
    .tuple(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 8 }), canary, fc.nat(), fc.boolean())
    .map(([value, pre, secret, pick, asKey]) => {
      const clean = `{"n":12345678901234567890,${JSON.stringify({ kind: 'Pod', spec: value }).slice(1)}`;
      const lit = JSON.stringify(`${pre} ${secret} tail`);
      if (asKey) return `{${lit}:${clean}}`;
      const strings = [...clean.matchAll(/"(?:[^"\\]|\\.)*"/g)];
      const at = strings[pick % strings.length]!;
      return `${clean.slice(0, at.index)}${lit}${clean.slice(at.index! + at[0].length)}`;
    }),
  fc
    .dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.constant(CANARY.secretValue), { minKeys: 1, maxKeys: 3 })
    .map((data) => JSON.stringify({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'db' }, data })),
);

describe('compaction redacts secrets in curated output', () => {
  it('never writes a canary planted anywhere in a body or message to any Parquet file, and raw keeps it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(body, body), { minLength: 1, maxLength: 4 }),
        canary,
        async (bodies, inMessage) => {
          lake = makeLake();
          try {
            const ms = T0 + 10 * 60_000;
            const audit = bodies.map(([req, res], i) => ({
              id: eventId(ms + i, i),
              timestamp: ms + i + 250,
              message: auditWith(req, res, ms + i),
            }));
            // A text line in the audit stream (unparsed) and a klog line, each with the canary.
            audit.push({ id: eventId(ms, 90), timestamp: ms + 250, message: `curl -H 'x: ${inMessage}' failed` });
            const klog = retime('kube-apiserver', sampleLines('kube-apiserver')[0]!, ms).replace(
              /\] .*/,
              `] token ${inMessage}`,
            );
            const lines = [
              ...rawLines(message('kube-apiserver-audit', audit)),
              ...rawLines(message('kube-apiserver', [{ id: eventId(ms, 91, 1), timestamp: ms + 250, message: klog }])),
            ];
            const key = rawKey('kube-apiserver-audit', T0 + HOUR, 'canary');
            const raw = gzipObject(lines);
            await lake.store.put(key, raw);
            const s = await compactObjects(lake.deps(NOW), { planId: planIdFor([{ key, etag: 'e' }]), keys: [key] });
            expect(s.quarantined).toBe(0);
            expect(s.redactions).toBeGreaterThan(0);
            const text = await parquetText(lake.store);
            expect(text).toContain('[REDACTED:');
            for (const p of SECRET_PARTS) expect(text).not.toContain(p);
            // Raw NDJSON is the unchanged copy for Splunk.
            const rawText = gunzipSync((await lake.store.get(key))!.body).toString('utf8');
            expect(rawText).toContain(JSON.stringify(inMessage).slice(1, 20));
          } finally {
            lake.dispose();
            lake = undefined;
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  // Single-line canaries: klog and logfmt values are quoted on one line.
  const lineCanary = fc.constantFrom(
    CANARY.jwt,
    `${CANARY.akid} ${CANARY.awsSecret}`,
    `Bearer ${CANARY.bearer}`,
    `Authorization: Bearer ${CANARY.bearer}`,
  );
  // A secret key logged as its own pair: under a key naming it, or a neutral one beside the key id.
  const keyPair = fc.constantFrom(
    `accessKeyID="${CANARY.akid}" secretAccessKey="${CANARY.awsSecret}"`,
    `accessKeyID="${CANARY.asid}" blob="${CANARY.awsSecret}"`,
    `user="admin" password="${CANARY.password}"`,
    `client_secret="${CANARY.password}" region="eu-west-1"`,
  );
  // Secret data set by a JSON patch, a merge patch or a strategic merge patch.
  const secretPatch = fc.constantFrom(
    JSON.stringify([{ op: 'replace', path: '/data/password', value: CANARY.patchValue }]),
    JSON.stringify([
      { op: 'test', path: '/data/user', value: CANARY.secretValue },
      { op: 'add', path: '/stringData', value: { token: CANARY.password } },
    ]),
    JSON.stringify({ data: { password: CANARY.patchValue } }),
    JSON.stringify({ stringData: { password: CANARY.password }, $patch: 'merge' }),
  );

  it('never writes a canary planted in key-value pairs, promoted columns or a patch of a Secret to any Parquet file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kv: keyPair,
          kvText: lineCanary,
          agent: lineCanary,
          reason: lineCanary,
          responseMessage: lineCanary,
          authError: lineCanary,
          patch: secretPatch,
        }),
        async (p) => {
          lake = makeLake();
          try {
            const ms = T0 + 20 * 60_000;
            const patchEvent = retime('kube-apiserver-audit', SECRETS_EVENT, ms)
              .replace('"level":"Metadata"', '"level":"Request"')
              .replace('"verb":"create"', '"verb":"patch"')
              .replace(/"userAgent":"[^"]*"/, `"userAgent":${JSON.stringify(`kubectl/v1.31.0 ${p.agent}`)}`)
              .replace(
                '"responseStatus":{"metadata":{},"code":201}',
                `"responseStatus":{"metadata":{},"status":"Failure","message":${JSON.stringify(`denied: ${p.responseMessage}`)},"code":403}`,
              )
              .replace(
                '"authorization.k8s.io/reason":""',
                `"authorization.k8s.io/reason":${JSON.stringify(`RBAC: ${p.reason}`)}`,
              )
              .replace('"requestReceivedTimestamp"', `"requestObject":${p.patch},"requestReceivedTimestamp"`);
            const klog = retime('kube-apiserver', sampleLines('kube-apiserver')[0]!, ms).replace(
              /\] .*/,
              `] "assumed role" ${p.kv} header=${JSON.stringify(p.kvText)}`,
            );
            const auth = retime(
              'authenticator',
              `time="2021-10-13T18:49:30Z" level=warning msg="access denied" client="127.0.0.1:34638" error=${JSON.stringify(`input token was not properly formatted: ${p.authError}`)} method=POST path=/authenticate`,
              ms,
            );
            const at = (seq: number, stream: number, text: string) => ({
              id: eventId(ms, seq, stream),
              timestamp: ms + 250,
              message: text,
            });
            const lines = [
              ...rawLines(message('kube-apiserver-audit', [at(1, 0, patchEvent)])),
              ...rawLines(message('kube-apiserver', [at(2, 1, klog)])),
              ...rawLines(message('authenticator', [at(3, 5, auth)])),
            ];
            const key = rawKey('kube-apiserver-audit', T0 + HOUR, 'canary-places');
            await lake.store.put(key, gzipObject(lines));
            const s = await compactObjects(lake.deps(NOW), { planId: planIdFor([{ key, etag: 'e' }]), keys: [key] });
            expect(s.quarantined).toBe(0);
            // patch, agent, reason (column and annotation), message, klog pair, header and message, auth error and message.
            expect(s.redactions).toBeGreaterThanOrEqual(9);
            const text = await parquetText(lake.store);
            for (const t of ['audit_events', 'component_logs', 'authenticator_logs'])
              expect(text).toContain(
                t === 'audit_events' ? '"verb":"patch"' : t === 'component_logs' ? '"assumed role"' : 'access denied',
              );
            // A key id in its own pair is an identifier, kept as in user_extra; its secret key is not.
            for (const part of SECRET_PARTS.filter((x) => x !== CANARY.akid && x !== CANARY.asid))
              expect(text).not.toContain(part);
          } finally {
            lake.dispose();
            lake = undefined;
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});
