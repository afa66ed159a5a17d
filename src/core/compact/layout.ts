import { InvalidInputError } from '../errors.ts';
import type { CuratedTableName } from '../schema.ts';

/** An AWS account id, the only form accepted as the `account=` partition value. */
export const ACCOUNT_RE = /^\d{12}$/;
/**
 * EKS cluster names (letter or digit, then letters, digits, `-`, `_`; at most 100). Anything
 * else (`/`, `=`, `'`, `..`) is rejected rather than encoded, so a partition path and a SQL
 * literal built from it can never escape its place.
 */
export const CLUSTER_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** Cluster partition value for records whose log group names no EKS cluster (never a valid name). */
export const UNKNOWN_CLUSTER = '_unknown';

const DT_RE = /^\d{4}-\d\d-\d\d$/;
const HOUR_RE = /^([01]\d|2[0-3])$/;
const PLAN_RE = /^[A-Za-z0-9_-]{1,80}$/;
const RAW_KEY_RE = /^raw\/log_type=([a-z-]+)\/dt=(\d{4})-(\d\d)-(\d\d)\/hour=(\d\d)\/[^/]+$/;

/** Throws InvalidInputError unless `values` are a safe (account, cluster, dt, hour). */
export function checkPartitionValues(values: readonly string[]): void {
  const [account, cluster, dt, hour] = values;
  if (values.length !== 4) throw new InvalidInputError(`partition needs 4 values, got ${values.length}`);
  if (!ACCOUNT_RE.test(account!)) throw new InvalidInputError(`bad account partition value ${JSON.stringify(account)}`);
  if (cluster !== UNKNOWN_CLUSTER && !CLUSTER_RE.test(cluster!)) {
    throw new InvalidInputError(`bad cluster partition value ${JSON.stringify(cluster)}`);
  }
  if (!DT_RE.test(dt!) || !HOUR_RE.test(hour!)) throw new InvalidInputError(`bad dt/hour ${dt}/${hour}`);
}

/** Throws InvalidInputError unless the plan id is safe inside a key. */
export function checkPlanId(planId: string): void {
  if (!PLAN_RE.test(planId)) throw new InvalidInputError(`bad planId ${JSON.stringify(planId)}`);
}

function hivePath(values: readonly string[]): string {
  checkPartitionValues(values);
  return `account=${values[0]}/cluster=${values[1]}/dt=${values[2]}/hour=${values[3]}/`;
}

/** `curated/<table>/account=…/cluster=…/dt=…/hour=…/`: the partition's home, above its generations. */
export function partitionPrefix(table: CuratedTableName, values: readonly string[]): string {
  return `curated/${table}/${hivePath(values)}`;
}

const CONTENT_ID_RE = /^[0-9a-f]{1,32}$/;

/**
 * The immutable generation a plan writes for a partition; the catalog points at one of these.
 * `contentId` (hex) names what it was merged from, so other inputs never share its prefix.
 */
export function generationPrefix(
  table: CuratedTableName,
  values: readonly string[],
  planId: string,
  contentId?: string,
): string {
  checkPlanId(planId);
  if (contentId !== undefined && !CONTENT_ID_RE.test(contentId)) {
    throw new InvalidInputError(`bad generation content id ${JSON.stringify(contentId)}`);
  }
  return `${partitionPrefix(table, values)}gen=${planId}${contentId === undefined ? '' : `-${contentId}`}/`;
}

/** Where phase 1 stages a partition's rows for a plan before the merge. */
export function stagingPrefix(planId: string, table: CuratedTableName, values: readonly string[]): string {
  checkPlanId(planId);
  return `control/staging/${planId}/${table}/${hivePath(values)}`;
}

/**
 * The chunk a staged file (`…/<chunk>-NNNNN.parquet` or `.json`) was written under: what a merge
 * reports as its chunks and what a failed merge maps back to planned objects, so one parser.
 */
export function chunkOfStagedKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1).replace(/-\d+\.(parquet|json)$/, '');
}

/** Quarantine prefix for whole objects that are not gzip NDJSON. */
export const QUARANTINE_OBJECTS_PREFIX = 'quarantine/objects/';

/** The note beside a quarantined object saying why (and, for a plan's own, which plan). */
export function quarantineReasonKey(key: string): string {
  return `${QUARANTINE_OBJECTS_PREFIX}${key}.reason.json`;
}
/** Quarantine prefix for single lines (not JSON, impossible time, bad partition values …). */
export const QUARANTINE_RECORDS_PREFIX = 'quarantine/records/';

/** Manifest file name inside a generation prefix. */
export const MANIFEST_NAME = '_manifest.json';

/** Log type and arrival hour (epoch ms) of a Firehose raw key, or null for anything else under raw/. */
export function parseRawKey(key: string): { logType: string; arrivalMs: number } | null {
  const m = RAW_KEY_RE.exec(key);
  if (!m) return null;
  const arrivalMs = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]));
  return Number.isFinite(arrivalMs) ? { logType: m[1]!, arrivalMs } : null;
}

/** Partition values of a generation or partition prefix, or null if the key is not curated. */
export function parseCuratedKey(
  key: string,
): { table: string; values: string[]; generation: string | null; prefix: string } | null {
  const m = /^curated\/([a-z_]+)\/account=([^/]+)\/cluster=([^/]+)\/dt=([^/]+)\/hour=([^/]+)\/(?:gen=([^/]+)\/)?/.exec(
    key,
  );
  if (!m) return null;
  return { table: m[1]!, values: [m[2]!, m[3]!, m[4]!, m[5]!], generation: m[6] ?? null, prefix: m[0] };
}
