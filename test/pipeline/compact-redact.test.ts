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
});
