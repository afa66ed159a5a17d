import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { type ColumnDef, hiveType, RAW_PARTITION_KEYS, TABLES, type TableDef } from '../../src/core/schema.ts';
import { RAW_COLUMNS, RAW_TABLE } from '../../src/core/sql/ddl.ts';
import { LAKE_PREFIXES, type Storage } from './storage.ts';

/** An investigation query published as an Athena named query (placeholders left for the user). */
export interface NamedQuerySpec {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

export interface CatalogProps {
  /** Glue database name (lower_snake). */
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly storage: Storage;
  /** Athena BytesScannedCutoffPerQuery. */
  readonly bytesScannedCutoff: number;
  readonly namedQueries: readonly NamedQuerySpec[];
}

const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serde: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
};
const JSON_TEXT = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serde: 'org.openx.data.jsonserde.JsonSerDe',
};

function glueColumns(cols: readonly ColumnDef[]): glue.CfnTable.ColumnProperty[] {
  return cols.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.comment.slice(0, 255) }));
}

/**
 * Glue database and tables generated from the one schema definition (curated Parquet tables and
 * the raw JSON table), and the Athena workgroup with enforced, KMS-encrypted, capped queries.
 * Partitions are registered by the workflow, so no table uses partition projection.
 */
export class Catalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly tables: Record<string, glue.CfnTable> = {};
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { storage } = props;
    this.databaseName = props.databaseName;
    this.workGroupName = props.workGroupName;
    const lakeUri = (prefix: string) => `s3://${storage.lake.bucketName}/${prefix}`;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: props.databaseName,
        description: 'eks-log-lake: EKS control-plane logs (raw JSON and curated Parquet)',
      },
    });

    for (const t of TABLES) this.addCuratedTable(t, lakeUri(`${LAKE_PREFIXES.curated}${t.name}/`));

    const raw = new glue.CfnTable(this, 'RawTable', {
      catalogId: stack.account,
      databaseName: props.databaseName,
      tableInput: {
        name: RAW_TABLE,
        description: 'EKS control-plane events as delivered to raw/ (gzip NDJSON, one CloudWatch Logs event per line)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', compressionType: 'gzip', EXTERNAL: 'TRUE' },
        partitionKeys: glueColumns(RAW_PARTITION_KEYS),
        storageDescriptor: {
          columns: RAW_COLUMNS.map((c) => ({ name: c.name, type: c.hiveType, comment: c.comment.slice(0, 255) })),
          location: lakeUri(LAKE_PREFIXES.raw),
          inputFormat: JSON_TEXT.inputFormat,
          outputFormat: JSON_TEXT.outputFormat,
          serdeInfo: {
            serializationLibrary: JSON_TEXT.serde,
            parameters: {
              'ignore.malformed.json': 'true',
              ...Object.fromEntries(
                RAW_COLUMNS.filter((c) => c.jsonKey !== c.name).map((c) => [
                  `mapping.${c.name}`,
                  c.jsonKey.toLowerCase(),
                ]),
              ),
            },
          },
        },
      },
    });
    raw.node.addDependency(this.database);
    this.tables[RAW_TABLE] = raw;

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workGroupName,
      description: 'eks-log-lake queries: enforced settings, KMS-encrypted results, per-query scan cap',
      state: 'ENABLED',
      // Lets a stack delete remove the workgroup even when it still holds saved queries or history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${storage.athenaResults.bucketName}/results/`,
          expectedBucketOwner: stack.account,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: storage.key.keyArn },
        },
      },
    });

    for (const q of props.namedQueries) {
      const nq = new athena.CfnNamedQuery(this, `Query-${q.name}`, {
        name: q.name,
        description: q.description.slice(0, 1024),
        database: props.databaseName,
        workGroup: props.workGroupName,
        queryString: q.sql,
      });
      nq.node.addDependency(this.workGroup);
      nq.node.addDependency(this.database);
    }
  }

  private addCuratedTable(t: TableDef, location: string): void {
    const stack = Stack.of(this);
    const table = new glue.CfnTable(this, `Table-${t.name}`, {
      catalogId: stack.account,
      databaseName: this.databaseName,
      tableInput: {
        name: t.name,
        description: t.comment,
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'parquet', 'parquet.compression': 'ZSTD', EXTERNAL: 'TRUE' },
        partitionKeys: glueColumns(t.partitionKeys),
        storageDescriptor: {
          columns: glueColumns(t.columns),
          location,
          inputFormat: PARQUET.inputFormat,
          outputFormat: PARQUET.outputFormat,
          serdeInfo: { serializationLibrary: PARQUET.serde },
        },
      },
    });
    table.node.addDependency(this.database);
    this.tables[t.name] = table;
  }
}
