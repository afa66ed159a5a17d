import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/generate/rng.ts';
import { splitForReingest } from '../../src/core/transform/overflow.ts';
import type { SubscriptionMessage } from '../../src/core/types.ts';
import type { RecordReingester } from '../../src/ports.ts';

/** A re-ingester under test plus what the contract observes of its backend. */
export interface ReingesterFixture {
  readonly reingester: RecordReingester;
  /** Records the backend accepted, in the order it accepted them. */
  delivered(): Uint8Array[];
  /**
   * Makes the backend refuse these records on their next `sends` sends (Infinity: always). A
   * backend that can only refuse whole calls refuses every record of those calls.
   */
  refuse(records: readonly Uint8Array[], sends: number): void;
}

const MESSAGES = join(__dirname, '..', 'fixtures', 'messages');

/** The sample subscription messages (one per control-plane stream). */
function sampleMessages(): SubscriptionMessage[] {
  return readdirSync(MESSAGES)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => JSON.parse(gunzipSync(readFileSync(join(MESSAGES, f))).toString('utf8')) as SubscriptionMessage);
}

/**
 * Overflow records as the transform builds them: each sample message split one event per record,
 * `copies` times over distinct log streams so every record is unique.
 */
export function overflowRecords(copies = 1): Uint8Array[] {
  const out: Uint8Array[] = [];
  const messages = sampleMessages();
  for (let copy = 0; copy < copies; copy++) {
    for (const m of messages) out.push(...splitForReingest({ ...m, logStream: `${m.logStream}-${copy}` }, 1)!);
  }
  return out;
}

/**
 * Near-limit overflow records: audit events carrying a large base64 ConfigMap payload (which gzip
 * barely shrinks), one per record, each under Firehose's 1,000 KiB record limit.
 */
export function largeOverflowRecords(count: number, payloadChars = 1_100_000): Uint8Array[] {
  const rng = createRng(20260201);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const template = sampleMessages().find((m) => m.logStream.startsWith('kube-apiserver-audit'));
  if (!template) throw new Error('no kube-apiserver-audit sample message');
  const events = Array.from({ length: count }, (_, i) => {
    let blob = '';
    for (let c = 0; c < payloadChars; c++) blob += alphabet[Math.floor(rng.next() * 64)];
    const audit = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'RequestResponse',
      auditID: rng.uuid(),
      stage: 'ResponseComplete',
      verb: 'update',
      requestURI: `/api/v1/namespaces/payments/configmaps/bundle-${i}`,
      requestObject: { kind: 'ConfigMap', binaryData: { 'bundle.tar.gz': blob } },
    };
    return {
      id: `3780904621782973658781247459237728740931658723033967${String(i).padStart(4, '0')}`,
      timestamp: 1769922000000 + i,
      message: JSON.stringify(audit),
    };
  });
  return splitForReingest({ ...template, logEvents: events }, payloadChars)!;
}

// Built once per file: about half a second of gzip over 11 MB of base64.
let large: Uint8Array[] | undefined;

const hex = (r: Uint8Array) => Buffer.from(r).toString('hex');

/** Each delivered record is one of the inputs, none more often than given; failed counts the rest. */
function expectConserved(input: readonly Uint8Array[], delivered: readonly Uint8Array[], failed: number): void {
  const left = new Map<string, number>();
  for (const r of input) left.set(hex(r), (left.get(hex(r)) ?? 0) + 1);
  for (const r of delivered) {
    const n = left.get(hex(r)) ?? 0;
    expect(n, 'a delivered record that was not sent, or was delivered twice').toBeGreaterThan(0);
    left.set(hex(r), n - 1);
  }
  expect(failed).toBe(input.length - delivered.length);
}

/**
 * Registers the RecordReingester contract for one adapter: any number and size of overflow
 * records accepted in one call (the adapter splits as its backend needs), each delivered
 * exactly once, and under refusals every record either delivered once or counted as failed.
 */
export function describeRecordReingesterContract(name: string, open: () => ReingesterFixture): void {
  describe(`RecordReingester contract: ${name}`, () => {
    let fixture: ReingesterFixture;
    beforeEach(() => {
      fixture = open();
    });

    it('delivers every record once, in order, and reports none failed', async () => {
      const records = overflowRecords();
      expect(await fixture.reingester.reingest(records)).toEqual({ failed: 0 });
      expect(fixture.delivered().map(hex)).toEqual(records.map(hex));
    });

    it('reports nothing failed and delivers nothing when given no records', async () => {
      expect(await fixture.reingester.reingest([])).toEqual({ failed: 0 });
      expect(fixture.delivered()).toEqual([]);
    });

    it('delivers more records than one PutRecordBatch takes, each once', async () => {
      const records = overflowRecords(13);
      expect(records.length).toBeGreaterThan(1000);
      expect(await fixture.reingester.reingest(records)).toEqual({ failed: 0 });
      expect(fixture.delivered().map(hex)).toEqual(records.map(hex));
    });

    it('delivers near-limit records adding up to more bytes than one PutRecordBatch takes, each once', async () => {
      large ??= largeOverflowRecords(10);
      const records = large;
      expect(Math.max(...records.map((r) => r.byteLength))).toBeGreaterThan(700 * 1024);
      expect(records.reduce((n, r) => n + r.byteLength, 0)).toBeGreaterThan(5 * 1024 * 1024);
      expect(await fixture.reingester.reingest(records)).toEqual({ failed: 0 });
      expect(fixture.delivered().map(hex)).toEqual(records.map(hex));
    });

    it('counts exactly the records it could not deliver when the backend keeps refusing some', async () => {
      const records = overflowRecords();
      const refused = [records[3]!, records[40]!];
      fixture.refuse(refused, Number.POSITIVE_INFINITY);
      const { failed } = await fixture.reingester.reingest(records);
      const delivered = fixture.delivered();
      expect(failed).toBeGreaterThanOrEqual(refused.length);
      expect(delivered.map(hex)).not.toContain(hex(refused[0]!));
      expect(delivered.map(hex)).not.toContain(hex(refused[1]!));
      expectConserved(records, delivered, failed);
    });

    it('delivers or counts each record once, never both, when the backend refuses some once', async () => {
      const records = overflowRecords();
      fixture.refuse(records.slice(10, 20), 1);
      const { failed } = await fixture.reingester.reingest(records);
      expectConserved(records, fixture.delivered(), failed);
    });

    it('delivers the next call in full after one with refusals', async () => {
      const [first, second] = [overflowRecords().slice(0, 30), overflowRecords(2).slice(-30)];
      fixture.refuse(first.slice(0, 5), 1);
      await fixture.reingester.reingest(first);
      const before = fixture.delivered().length;
      expect(await fixture.reingester.reingest(second)).toEqual({ failed: 0 });
      expect(fixture.delivered().slice(before).map(hex)).toEqual(second.map(hex));
    });

    it('conserves records under any mix of refusals (property)', async () => {
      const pool = overflowRecords();
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 60 }),
          fc.array(
            fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Number.POSITIVE_INFINITY))),
            {
              maxLength: 5,
            },
          ),
          async (picks, refusals) => {
            const f = open();
            const records = picks.map((i) => pool[i]!);
            for (const [at, sends] of refusals)
              if (records.length > 0) f.refuse([records[at % records.length]!], sends);
            const { failed } = await f.reingester.reingest(records);
            expectConserved(records, f.delivered(), failed);
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
