import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import { MemoryObjectStore } from '../../src/adapters/local/memory-object-store.ts';
import { stageObjects } from '../../src/pipeline/compact.ts';
import type { Log } from '../../src/ports.ts';
import { gzipObject, message, rawKey, rawLines, sampleEvents } from '../unit/compact/raw-fixtures.ts';

// Matrix F25 and design §5.8: which events a plan stages depends on its input alone (the raw
// objects and their arrival hours), never on the clock of the worker that stages them.

const HOUR = 3600_000;
const ARRIVAL = Date.UTC(2026, 10, 27, 4, 0, 0);
const SILENT: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Scheduler lines of one object: on time, 3 h ahead of arrival (skew), 4 h ahead, and 60 h late. */
function objects(): Map<string, Uint8Array> {
  const sched = (startMs: number, n: number, seq0: number) =>
    rawLines(message('kube-scheduler', sampleEvents('kube-scheduler', startMs, n, seq0)));
  const audit = rawLines(message('kube-apiserver-audit', sampleEvents('kube-apiserver-audit', ARRIVAL + 60_000, 5)));
  return new Map([
    [
      rawKey('kube-scheduler', ARRIVAL + 20 * 60_000, 'mixed'),
      gzipObject([
        ...sched(ARRIVAL + 10 * 60_000, 5, 0),
        ...sched(ARRIVAL + 3 * HOUR, 2, 100),
        ...sched(ARRIVAL + 4 * HOUR, 2, 200),
        ...sched(ARRIVAL - 60 * HOUR, 2, 300),
      ]),
    ],
    [rawKey('kube-apiserver-audit', ARRIVAL + 20 * 60_000, 'audit'), gzipObject(audit)],
  ]);
}

async function stageWithClock(nowMs: number) {
  const store = new MemoryObjectStore(() => new Date(ARRIVAL));
  const input = objects();
  for (const [k, body] of input) await store.put(k, body);
  const result = await stageObjects(
    { store, catalog: new LocalCatalog(store), log: SILENT, now: () => new Date(nowMs) },
    { planId: 'plan-bounds', chunkId: 'c00000', keys: [...input.keys()] },
  );
  const written: Record<string, string> = {};
  for await (const o of store.list('control/staging/')) {
    written[o.key] = Buffer.from((await store.get(o.key))!.body).toString('base64');
  }
  for await (const o of store.list('quarantine/records/')) {
    written[o.key] = gunzipSync((await store.get(o.key))!.body).toString('utf8');
  }
  return { result, written };
}

describe('stageObjects time bounds', () => {
  it('stages the same rows and quarantine with worker clocks hours and days apart (F25)', async () => {
    const clocks = [ARRIVAL - 3 * HOUR, ARRIVAL + HOUR, ARRIVAL + 5 * 24 * HOUR];
    const [first, ...others] = await Promise.all(clocks.map(stageWithClock));
    for (const o of others) expect(o).toEqual(first);
    expect(first!.result).toMatchObject({
      events: 16,
      quarantined: 4,
      quarantineReasons: { time_out_of_range: 4 },
      rows: { component_logs: 7, audit_events: 5 },
    });
  });

  it('bounds event times by the arrival hour of their object: [hour − 48 h, hour + 1 h 15 min + 2 h]', async () => {
    const { written } = await stageWithClock(ARRIVAL + HOUR);
    const quarantined = Object.entries(written)
      .filter(([k]) => k.startsWith('quarantine/records/'))
      .flatMap(([, text]) => text.trim().split('\n'))
      .map((l) => JSON.parse(l) as { reason: string; detail: string });
    expect(quarantined.map((q) => q.detail).sort()).toEqual([
      'time 2026-11-24T16:00:00.000Z',
      'time 2026-11-24T16:00:01.000Z',
      'time 2026-11-27T08:00:00.000Z',
      'time 2026-11-27T08:00:01.000Z',
    ]);
  });
});
