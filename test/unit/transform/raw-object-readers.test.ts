import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleDeliveredObject, encodeRecordData } from '../../../src/core/transform/index.ts';

// What Firehose writes for a batch: one gzip member per transformed record, concatenated.
const RECORDS = Array.from({ length: 400 }, (_, r) =>
  Array.from({ length: 1 + (r % 7) }, (_, i) =>
    JSON.stringify({ event_id: `${r}-${i}`, log_type: 'kube-scheduler', msg: `line ${i}` }),
  ),
);
const OBJECT = assembleDeliveredObject(RECORDS.map((lines) => encodeRecordData(lines)));
const TOTAL = RECORDS.reduce((a, r) => a + r.length, 0);
const dir = mkdtempSync(join(tmpdir(), 'raw-object-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('multi-member raw objects', () => {
  it('are read to the last member by DuckDB read_json (the local Athena stand-in)', async () => {
    const file = join(dir, 'delivery.gz');
    writeFileSync(file, OBJECT);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const reader = await con.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS d FROM read_json('${file}', format = 'newline_delimited', compression = 'gzip')`,
    );
    expect(reader.getRowObjectsJson()).toEqual([{ n: TOTAL, d: TOTAL }]);
    con.closeSync();
  });

  it('are read to the last member by a streaming gunzip', async () => {
    let text = '';
    for await (const chunk of Readable.from([Buffer.from(OBJECT)]).pipe(createGunzip())) text += chunk.toString('utf8');
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(TOTAL);
  });
});
