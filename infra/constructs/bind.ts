import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { ENV, type EnvName } from '../../functions/shared/env.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { LakeFunction } from './lake-function.ts';
import type { Storage } from './storage.ts';

/** An environment variable a handler reads together with the permissions that make its value usable. */
export interface EnvGrant {
  readonly env: Readonly<Partial<Record<EnvName, string>>>;
  /** Statements added to the function's role; built lazily because some need the function's scope. */
  readonly statements: (scope: IConstruct) => iam.PolicyStatement[];
  /** Wildcard resources in `statements`, each with the reason it is as narrow as it can be. */
  readonly wildcards?: (scope: IConstruct) => ReadonlyArray<{ readonly resource: string; readonly reason: string }>;
}

/**
 * Sets each binding's env vars on the function and adds exactly the matching grants (and the
 * cdk-nag acknowledgement of each wildcard it needs), so a variable never exists without its permission.
 */
export function bind(target: LakeFunction, ...grants: EnvGrant[]): void {
  for (const g of grants) {
    for (const [name, value] of Object.entries(g.env)) {
      if (value !== undefined) target.fn.addEnvironment(name, value);
    }
    for (const s of g.statements(target)) target.fn.addToRolePolicy(s);
    for (const w of g.wildcards?.(target) ?? []) acknowledgeWildcardResource(target, w.resource, w.reason);
  }
}

/** A plain setting: an env var that needs no permission. */
export function setting(name: EnvName, value: string): EnvGrant {
  return { env: { [name]: value }, statements: () => [] };
}

/** Which lake prefixes (e.g. `raw/`) a function may read, write and delete under. */
export interface LakeAccess {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly delete?: readonly string[];
}

/**
 * Use of the lake key only through S3 (SSE-KMS objects of the lake and Athena results buckets):
 * a leaked session cannot call KMS directly to decrypt or mint data keys.
 */
export function keyViaS3(scope: IConstruct, storage: Storage, actions: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: [...actions],
    resources: [storage.key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(scope).region}.amazonaws.com` } },
  });
}

/** `LAKE_BUCKET` plus object access limited to the given prefixes and use of the lake key. */
export function lakeAccess(storage: Storage, access: LakeAccess): EnvGrant {
  const read = access.read ?? [];
  const write = access.write ?? [];
  const del = access.delete ?? [];
  const all = [...new Set([...read, ...write, ...del])];
  const objects = (prefixes: readonly string[]) => prefixes.map((p) => storage.lake.arnForObjects(`${p}*`));
  return {
    env: { [ENV.LAKE_BUCKET]: storage.lake.bucketName },
    statements: (scope) => {
      const out: iam.PolicyStatement[] = [];
      if (all.length > 0) {
        out.push(
          new iam.PolicyStatement({
            sid: 'ListLakePrefixes',
            actions: ['s3:ListBucket'],
            resources: [storage.lake.bucketArn],
            conditions: { StringLike: { 's3:prefix': all.flatMap((p) => [p, `${p}*`]) } },
          }),
        );
      }
      if (read.length > 0) out.push(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(read) }));
      if (write.length > 0) {
        out.push(
          new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: objects(write) }),
        );
      }
      if (del.length > 0) out.push(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: objects(del) }));
      const kmsActions = write.length > 0 ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
      if (all.length > 0) out.push(keyViaS3(scope, storage, kmsActions));
      return out;
    },
    wildcards: () =>
      all.map((p) => ({
        resource: storage.lake.arnForObjects(`${p}*`),
        reason: `Objects under the lake prefix ${p} only; keys below it are generated per partition and run.`,
      })),
  };
}

const GLUE_READ = [
  'glue:GetDatabase',
  'glue:GetTable',
  'glue:GetTables',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
];
const GLUE_WRITE = [
  'glue:CreatePartition',
  'glue:BatchCreatePartition',
  'glue:UpdatePartition',
  'glue:BatchUpdatePartition',
  'glue:DeletePartition',
  'glue:BatchDeletePartition',
];
/** Partition writes that add or repoint partitions but never remove one. */
const GLUE_UPSERT = GLUE_WRITE.filter((a) => !a.includes('Delete'));

function glueArns(scope: IConstruct, database: string): { catalog: string; database: string; tables: string } {
  const stack = Stack.of(scope);
  const arn = (resource: string, name?: string) => stack.formatArn({ service: 'glue', resource, resourceName: name });
  return { catalog: arn('catalog'), database: arn('database', database), tables: arn('table', `${database}/*`) };
}

/**
 * `GLUE_DATABASE` plus catalog access to that database's tables: read, or read and partition writes.
 * With `upsertTables`, writes are only creates and updates of partitions of those tables.
 */
export function glueAccess(database: string, mode: 'read' | 'write', upsertTables?: readonly string[]): EnvGrant {
  return {
    env: { [ENV.GLUE_DATABASE]: database },
    statements: (scope) => {
      const a = glueArns(scope, database);
      if (mode === 'write' && !upsertTables) {
        return [
          new iam.PolicyStatement({
            actions: [...GLUE_READ, ...GLUE_WRITE],
            resources: [a.catalog, a.database, a.tables],
          }),
        ];
      }
      const out = [new iam.PolicyStatement({ actions: GLUE_READ, resources: [a.catalog, a.database, a.tables] })];
      if (mode === 'write' && upsertTables && upsertTables.length > 0) {
        const stack = Stack.of(scope);
        const tables = upsertTables.map((t) =>
          stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${database}/${t}` }),
        );
        out.push(new iam.PolicyStatement({ actions: GLUE_UPSERT, resources: [a.catalog, a.database, ...tables] }));
      }
      return out;
    },
    wildcards: (scope) => [
      {
        resource: glueArns(scope, database).tables,
        reason: `Tables of the ${database} Glue database only; the table set comes from the schema definition.`,
      },
    ],
  };
}

/** Athena workgroup access for a function that runs queries itself (results bucket included). */
export function athenaAccess(workGroup: string, storage: Storage): EnvGrant {
  return {
    env: { [ENV.ATHENA_WORKGROUP]: workGroup },
    statements: (scope) => [
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:GetWorkGroup',
        ],
        resources: [Stack.of(scope).formatArn({ service: 'athena', resource: 'workgroup', resourceName: workGroup })],
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [storage.athenaResults.bucketArn],
      }),
      // Athena locates every bucket it reads or writes with the caller's credentials.
      new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [storage.lake.bucketArn] }),
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [storage.athenaResults.arnForObjects('*')],
      }),
      // The workgroup encrypts results with SSE_KMS and the lake is SSE-KMS: S3 makes every key call.
      keyViaS3(scope, storage, ['kms:Decrypt', 'kms:GenerateDataKey']),
    ],
    wildcards: () => [
      {
        resource: storage.athenaResults.arnForObjects('*'),
        reason: 'Athena writes query results under generated keys of the dedicated results bucket.',
      },
    ],
  };
}

/** `DELIVERY_STREAM_NAME` plus PutRecordBatch on that one stream (the transform's overflow re-ingest). */
export function deliveryStreamPut(streamName: string): EnvGrant {
  return {
    env: { [ENV.DELIVERY_STREAM_NAME]: streamName },
    statements: (scope) => [
      new iam.PolicyStatement({
        actions: ['firehose:PutRecordBatch', 'firehose:PutRecord'],
        resources: [
          Stack.of(scope).formatArn({ service: 'firehose', resource: 'deliverystream', resourceName: streamName }),
        ],
      }),
    ],
  };
}
