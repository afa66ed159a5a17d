import {
  ConcurrentModificationException,
  EntityNotFoundException,
  type GlueServiceException,
  InternalServiceException,
  type Partition,
  type PartitionInput,
  type StorageDescriptor,
  type Table,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-glue';
import type { GlueSender } from '../../src/adapters/aws/glue-catalog.ts';

/** Error codes the fake can raise on cue (whole call) or report per entry (Errors[]). */
export type FakeGlueErrorCode =
  | 'ThrottlingException'
  | 'ConcurrentModificationException'
  | 'InternalServiceException'
  | 'EntityNotFoundException';

/** One recorded call: the command name without `Command`, and a copy of its input. */
export interface FakeGlueCall {
  readonly name: string;
  readonly input: any;
}

const ACCOUNT = '111111111111';

/**
 * In-memory Glue Data Catalog behind `send(command)`, with the request and response shapes of the
 * real API for the commands the GlueCatalog adapter uses: GetTable, GetPartition, GetPartitions
 * (NextToken paging), BatchCreatePartition (≤100, per-entry AlreadyExistsException in Errors[]),
 * BatchUpdatePartition (≤100), BatchGetPartition (≤1000, UnprocessedKeys). Faults fire on cue.
 */
export class FakeGlue implements GlueSender {
  readonly calls: FakeGlueCall[] = [];
  /** GetPartitions page size when the request sets no MaxResults. */
  pageSize = 25;
  private readonly tables = new Map<string, { table: Table; partitions: Map<string, Partition> }>();
  private callFaults: { command: string; code: FakeGlueErrorCode; left: number }[] = [];
  private entryFaults: { command: string; code: FakeGlueErrorCode; left: number }[] = [];
  private unprocessed = 0;
  private hooks: { command: string; fn: (input: any) => void | Promise<void>; once: boolean }[] = [];
  private clock = Date.UTC(2025, 0, 1);

  /** Creates an EXTERNAL_TABLE with Parquet storage and the given partition keys. */
  addTable(database: string, name: string, partitionKeys: readonly string[], location: string): void {
    const sd: StorageDescriptor = {
      Columns: [
        { Name: 'time', Type: 'timestamp' },
        { Name: 'event_id', Type: 'string' },
      ],
      Location: location,
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      Compressed: false,
      StoredAsSubDirectories: false,
    };
    this.tables.set(`${database}.${name}`, {
      table: {
        Name: name,
        DatabaseName: database,
        TableType: 'EXTERNAL_TABLE',
        Parameters: { classification: 'parquet', EXTERNAL: 'TRUE' },
        PartitionKeys: partitionKeys.map((k) => ({ Name: k, Type: 'string' })),
        StorageDescriptor: sd,
        CatalogId: ACCOUNT,
      },
      partitions: new Map(),
    });
  }

  /** The next `times` calls of `command` throw `code` (as the SDK would raise it). */
  failCalls(command: string, code: FakeGlueErrorCode, times = 1): void {
    this.callFaults.push({ command, code, left: times });
  }

  /** The next `times` calls of a batch `command` report every entry as failed with `code` in Errors[]. */
  failEntries(command: 'BatchCreatePartition' | 'BatchUpdatePartition', code: FakeGlueErrorCode, times = 1): void {
    this.entryFaults.push({ command, code, left: times });
  }

  /** The next `times` BatchGetPartition calls return their second half as UnprocessedKeys. */
  leaveUnprocessed(times = 1): void {
    this.unprocessed += times;
  }

  /** Runs `fn` after each successful call of `command` (e.g. a concurrent writer). */
  afterCall(command: string, fn: (input: any) => void | Promise<void>, once = true): void {
    this.hooks.push({ command, fn, once });
  }

  /** Sets a partition's location directly, as another writer would. */
  movePartition(database: string, table: string, values: readonly string[], location: string): void {
    const p = this.entry(database, table).partitions.get(JSON.stringify(values));
    if (!p) throw new Error(`no partition ${JSON.stringify(values)}`);
    p.StorageDescriptor = { ...p.StorageDescriptor, Location: location };
  }

  /** Partition locations of a table, by values id. */
  locations(database: string, table: string): Map<string, string> {
    return new Map(
      [...this.entry(database, table).partitions].map(([id, p]) => [id, p.StorageDescriptor?.Location ?? '']),
    );
  }

  /** Recorded calls of one command. */
  callsOf(name: string): FakeGlueCall[] {
    return this.calls.filter((c) => c.name === name);
  }

  async send(command: any): Promise<any> {
    const name = String(command?.constructor?.name ?? '').replace(/Command$/, '');
    const input = command?.input ?? {};
    this.calls.push({ name, input: structuredClone(input) });
    const fault = this.callFaults.find((f) => f.command === name && f.left > 0);
    if (fault) {
      fault.left--;
      throw glueError(fault.code, `injected ${fault.code}`);
    }
    const out = this.dispatch(name, input);
    for (const hook of this.hooks.filter((h) => h.command === name)) {
      if (hook.once) this.hooks = this.hooks.filter((h) => h !== hook);
      await hook.fn(input);
    }
    return { $metadata: { httpStatusCode: 200, requestId: `fake-${this.calls.length}`, attempts: 1 }, ...out };
  }

  private dispatch(name: string, input: any): Record<string, unknown> {
    switch (name) {
      case 'GetTable': {
        const t = this.tables.get(`${input.DatabaseName}.${input.Name}`);
        if (!t) throw glueError('EntityNotFoundException', `Table ${input.Name} not found.`);
        return { Table: structuredClone(t.table) };
      }
      case 'GetPartition': {
        const p = this.entry(input.DatabaseName, input.TableName).partitions.get(JSON.stringify(input.PartitionValues));
        if (!p) throw glueError('EntityNotFoundException', 'Cannot find partition.');
        return { Partition: structuredClone(p) };
      }
      case 'GetPartitions': {
        const all = [...this.entry(input.DatabaseName, input.TableName).partitions.values()];
        const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64').toString('utf8')) : 0;
        const size = input.MaxResults ?? this.pageSize;
        const page = all.slice(start, start + size).map((p) => {
          const copy = structuredClone(p);
          if (input.ExcludeColumnSchema && copy.StorageDescriptor) delete copy.StorageDescriptor.Columns;
          return copy;
        });
        const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
        return { Partitions: page, ...(next ? { NextToken: next } : {}) };
      }
      case 'BatchCreatePartition':
        return this.batchCreate(input);
      case 'BatchUpdatePartition':
        return this.batchUpdate(input);
      case 'BatchGetPartition': {
        const keys: { Values: string[] }[] = input.PartitionsToGet ?? [];
        if (keys.length > 1000) throw lengthError('partitionsToGet', 1000);
        const t = this.entry(input.DatabaseName, input.TableName);
        let served = keys;
        let unprocessed: { Values: string[] }[] = [];
        if (this.unprocessed > 0 && keys.length > 1) {
          this.unprocessed--;
          served = keys.slice(0, Math.ceil(keys.length / 2));
          unprocessed = keys.slice(served.length);
        }
        const found = served.flatMap((k) => {
          const p = t.partitions.get(JSON.stringify(k.Values));
          return p ? [structuredClone(p)] : [];
        });
        return { Partitions: found, UnprocessedKeys: unprocessed };
      }
      default:
        throw new Error(`FakeGlue does not implement ${name}`);
    }
  }

  private batchCreate(input: any): Record<string, unknown> {
    const list: PartitionInput[] = input.PartitionInputList ?? [];
    if (list.length > 100) throw lengthError('partitionInputList', 100);
    const t = this.entry(input.DatabaseName, input.TableName);
    const entryFault = this.takeEntryFault('BatchCreatePartition');
    const errors: { PartitionValues?: string[]; ErrorDetail: { ErrorCode: string; ErrorMessage: string } }[] = [];
    for (const p of list) {
      const values = p.Values ?? [];
      const id = JSON.stringify(values);
      const fail = (ErrorCode: string, ErrorMessage: string) =>
        errors.push({ PartitionValues: values, ErrorDetail: { ErrorCode, ErrorMessage } });
      if (entryFault) fail(entryFault, `injected ${entryFault}`);
      else if (values.length !== (t.table.PartitionKeys ?? []).length) {
        fail('InvalidInputException', 'The number of partition keys do not match the number of partition values.');
      } else if (t.partitions.has(id)) fail('AlreadyExistsException', 'Partition already exists.');
      else t.partitions.set(id, this.toPartition(input, p));
    }
    return { Errors: errors };
  }

  private batchUpdate(input: any): Record<string, unknown> {
    const entries: { PartitionValueList: string[]; PartitionInput: PartitionInput }[] = input.Entries ?? [];
    if (entries.length > 100) throw lengthError('entries', 100);
    const t = this.entry(input.DatabaseName, input.TableName);
    const entryFault = this.takeEntryFault('BatchUpdatePartition');
    const errors: { PartitionValueList: string[]; ErrorDetail: { ErrorCode: string; ErrorMessage: string } }[] = [];
    for (const e of entries) {
      const id = JSON.stringify(e.PartitionValueList);
      const fail = (ErrorCode: string, ErrorMessage: string) =>
        errors.push({ PartitionValueList: e.PartitionValueList, ErrorDetail: { ErrorCode, ErrorMessage } });
      if (entryFault) fail(entryFault, `injected ${entryFault}`);
      else if (!t.partitions.has(id)) fail('EntityNotFoundException', 'Partition not found.');
      else {
        t.partitions.delete(id);
        const next = this.toPartition(input, e.PartitionInput);
        t.partitions.set(JSON.stringify(next.Values), next);
      }
    }
    return { Errors: errors };
  }

  private toPartition(input: any, p: PartitionInput): Partition {
    this.clock += 1000;
    return {
      Values: [...(p.Values ?? [])],
      DatabaseName: input.DatabaseName,
      TableName: input.TableName,
      CreationTime: new Date(this.clock),
      StorageDescriptor: structuredClone(p.StorageDescriptor),
      CatalogId: ACCOUNT,
    };
  }

  private takeEntryFault(command: string): FakeGlueErrorCode | undefined {
    const f = this.entryFaults.find((x) => x.command === command && x.left > 0);
    if (!f) return undefined;
    f.left--;
    return f.code;
  }

  private entry(database: string, table: string): { table: Table; partitions: Map<string, Partition> } {
    const t = this.tables.get(`${database}.${table}`);
    if (!t) throw glueError('EntityNotFoundException', `Table ${table} not found.`);
    return t;
  }
}

function glueError(code: FakeGlueErrorCode, message: string): GlueServiceException {
  const $metadata = { httpStatusCode: code === 'InternalServiceException' ? 500 : 400, attempts: 1 };
  switch (code) {
    case 'ThrottlingException':
      return new ThrottlingException({ message: `Rate exceeded (${message})`, $metadata });
    case 'ConcurrentModificationException':
      return new ConcurrentModificationException({ message, $metadata });
    case 'InternalServiceException':
      return new InternalServiceException({ message, $metadata });
    case 'EntityNotFoundException':
      return new EntityNotFoundException({ message, $metadata });
  }
}

function lengthError(field: string, max: number): ValidationException {
  return new ValidationException({
    message: `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    $metadata: { httpStatusCode: 400 },
  });
}
