import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaQueryEngine } from '../../src/adapters/aws/athena-query-engine.ts';
import { DuckDbQueryEngine } from '../../src/adapters/local/duckdb-query-engine.ts';
import { FsObjectStore } from '../../src/adapters/local/fs-object-store.ts';
import { LocalCatalog } from '../../src/adapters/local/local-catalog.ts';
import type { QueryRow } from '../../src/ports.ts';
import { writeCuratedPartition } from '../helpers/curated-parquet.ts';
import { type AthenaRecording, FakeAthena } from './fake-athena.ts';
import { describeQueryEngineContract, EVENT_IDS, FAILING_SQL, TYPED_SQL } from './query-engine.contract.ts';

/** DuckDbQueryEngine that also keeps each statement it is about to run (what reached DuckDB). */
class ObservedDuckDbQueryEngine extends DuckDbQueryEngine {
  readonly statements: string[] = [];

  override runSql(sql: string): Promise<QueryRow[]> {
    this.statements.push(sql);
    return super.runSql(sql);
  }
}

describeQueryEngineContract('DuckDbQueryEngine over a planted lake folder', async (partition) => {
  const lakeDir = await mkdtemp(join(tmpdir(), 'query-engine-contract-'));
  const catalog = new LocalCatalog(new FsObjectStore(lakeDir));
  await catalog.putPartitions(partition.table, [
    await writeCuratedPartition(lakeDir, partition.table, partition.values, partition.gen, partition.rows),
  ]);
  const engine = new ObservedDuckDbQueryEngine({ lakeDir, catalog, threads: 1 });
  return {
    engine,
    dialect: 'duckdb',
    lakeRoot: `${engine.lakeDir}/`,
    takeSent: () => engine.statements.splice(0),
    close: async () => {
      await engine.close();
      await rm(lakeDir, { recursive: true, force: true });
    },
  };
});

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TOP_CALLER_COLUMNS = [
  ['account', 'varchar'],
  ['cluster', 'varchar'],
  ['username', 'varchar'],
  ['user_agent', 'varchar'],
  ['requests', 'bigint'],
  ['errors', 'bigint'],
] as const;
const COREDNS_ROW = [
  '111122223333',
  'prod-eu-1',
  'system:serviceaccount:kube-system:coredns',
  'coredns/v1.11.1 (linux/amd64) kubernetes/0e3d6bb',
  '2',
  '0',
];

/** What Athena answered over the contract partition (count_if and the s3 lake root are its dialect). */
const RECORDINGS: AthenaRecording[] = [
  {
    match: /count_if\(response_code >= 400\)[\s\S]*dt BETWEEN '2026-02-01' AND '2026-02-01'[\s\S]*LIMIT 20$/,
    columns: TOP_CALLER_COLUMNS,
    rows: [
      COREDNS_ROW,
      [
        '111122223333',
        'prod-eu-1',
        'arn:aws:sts::111122223333:assumed-role/eks-admin/alice',
        'kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625',
        '1',
        '1',
      ],
      ['111122223333', 'prod-eu-1', 'system:anonymous', null, '1', '1'],
    ],
  },
  {
    match: /count_if\(response_code >= 400\)[\s\S]*dt BETWEEN '2026-01-31' AND '2026-02-01'[\s\S]*LIMIT 1$/,
    columns: TOP_CALLER_COLUMNS,
    rows: [COREDNS_ROW],
  },
  {
    match: /count_if\(response_code >= 400\)[\s\S]*dt BETWEEN '2026-03-01' AND '2026-03-01'[\s\S]*LIMIT 20$/,
    columns: TOP_CALLER_COLUMNS,
    rows: [],
  },
  {
    match: new RegExp(`^${escapeRegExp(TYPED_SQL)}$`),
    columns: [
      ['event_id', 'varchar'],
      ['username', 'varchar'],
      ['response_code', 'integer'],
      ['latency_ms', 'double'],
      ['failed', 'boolean'],
    ],
    rows: [
      [EVENT_IDS[0]!, 'system:serviceaccount:kube-system:coredns', '200', '2.5', 'false'],
      [EVENT_IDS[1]!, 'system:serviceaccount:kube-system:coredns', '200', '1.25', 'false'],
      [EVENT_IDS[2]!, 'arn:aws:sts::111122223333:assumed-role/eks-admin/alice', '403', '0.75', 'true'],
      [EVENT_IDS[4]!, 'system:anonymous', '401', null, 'true'],
    ],
  },
  {
    match:
      /^UNLOAD \([\s\S]*\)\s+TO 's3:\/\/lake-bucket\/curated\/audit_hourly_summary\/account=111122223333\/[\s\S]*gen=p20260201t0515\/'/,
    columns: [],
    rows: [],
  },
  {
    match: new RegExp(`^${escapeRegExp(FAILING_SQL)}$`),
    state: 'FAILED',
    reason:
      "COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved or requester is not authorized to access requested resources",
  },
];

describeQueryEngineContract('AthenaQueryEngine over a recorded-answer fake Athena', async () => {
  const athena = new FakeAthena(RECORDINGS);
  const lakeRoot = 's3://lake-bucket/';
  return {
    engine: new AthenaQueryEngine({
      client: athena,
      workGroup: 'eks-log-lake',
      database: 'eks_logs',
      lakeRoot,
      pollIntervalMs: 1,
      sleep: async () => {},
    }),
    dialect: 'athena',
    lakeRoot,
    takeSent: () => athena.queries.splice(0),
    close: async () => {},
  };
});
