import { ConfigError } from '../src/core/errors.ts';
import { NON_EKS_LOG_GROUP_MODES, type NonEksLogGroupMode } from '../src/core/transform/types.ts';
import { catchUpHoursProblem, MAX_CATCH_UP_HOURS } from '../src/core/workflow/input.ts';
import { quietClusterSettingsProblems } from '../src/core/workflow/quiet-cluster-settings.ts';
import { DEFAULT_QUIET_CLUSTER_SETTINGS } from '../src/core/workflow/quiet-clusters.ts';
import { SCHEDULE_PERIOD_MS } from '../src/core/workflow/window.ts';
import { POISON_AFTER_FAILED_RUNS } from '../src/pipeline/ledger.ts';

/** CloudWatch Logs accepts only these retention values (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** How a member account sends its EKS log groups to the central Destination. */
export type SubscriptionMode = 'filter' | 'account-policy';

/** One source account (one member stack). */
export interface MemberConfig {
  readonly account: string;
  /** Must equal the central region: a CloudWatch Logs Destination only accepts same-region filters. */
  readonly region: string;
  /** EKS cluster names; their log groups are `/aws/eks/<cluster>/cluster`. */
  readonly clusters: readonly string[];
  /** `filter`: one subscription filter per cluster log group; `account-policy`: one account-level policy. */
  readonly subscription: SubscriptionMode;
  /** Retention set on the cluster log groups (S3 is the archive), days; 0 leaves it unchanged. */
  readonly logGroupRetentionDays: number;
  /** Turn on the five EKS control-plane log types on the listed clusters. */
  readonly enableControlPlaneLogs: boolean;
}

/** Splunk's SQS-based S3 input: who may assume the read-only role. */
export interface SplunkConfig {
  readonly enabled: boolean;
  /** IAM principal (role or account root ARN) of the Splunk forwarder / Splunk Cloud. */
  readonly principalArn?: string;
  /** sts:ExternalId required when assuming the Splunk role (recommended for third-party accounts). */
  readonly externalId?: string;
}

/** When a cluster counts as quiet: it delivered within `lookbackHours` but in none of the last `silentHours`. */
export interface QuietClustersConfig {
  /** Default 24; 2-720. */
  readonly lookbackHours: number;
  /** Default 2; below lookbackHours. */
  readonly silentHours: number;
  /** `<account>/<cluster>` never reported (retired on purpose); default none. */
  readonly ignored: readonly string[];
}

/** The whole typed deployment configuration (cdk.json context `eksLogLake`). */
export interface EksLogLakeConfig {
  /** Prefix of every resource name; lower-case letters, digits and dashes. */
  readonly prefix: string;
  readonly central: { readonly account: string; readonly region: string };
  /** AWS Organizations id; when set the Destination policy trusts the whole organization. */
  readonly organizationId?: string;
  readonly members: readonly MemberConfig[];
  /** Accounts whose logs may reach the lake; the transform rejects any other owner. Empty (organization mode only) admits every account the Destination policy admits. */
  readonly allowedSourceAccounts: readonly string[];
  /**
   * Records from log groups that are not `/aws/eks/<cluster>/cluster` (an `account-policy` member sends
   * every group): `keep` under log_type=unknown (default), `drop` (Dropped, counted) or `quarantine` (to errors/, counted).
   */
  readonly nonEksLogGroups: NonEksLogGroupMode;
  /** Days raw objects are kept (Splunk reads them within minutes; compaction within hours). */
  readonly rawRetentionDays: number;
  /** Days after which raw objects move to Standard-IA; must be below rawRetentionDays. */
  readonly rawTransitionDays: number;
  /** Days quarantine/ keeps poison objects and quarantined lines (unredacted); defaults to rawRetentionDays. */
  readonly quarantineRetentionDays: number;
  /** Days curated Parquet is kept; 0 keeps it forever (it moves to Intelligent-Tiering at once). */
  readonly curatedRetentionDays: number;
  /** Days Athena query results are kept. */
  readonly athenaResultsRetentionDays: number;
  /** Retention of our own Lambda, Firehose and state machine log groups, days. */
  readonly logRetentionDays: number;
  /** EventBridge Scheduler expression for the compaction workflow. */
  readonly schedule: string;
  /** Per-query scan limit of the Athena workgroup, bytes. */
  readonly athenaBytesScannedCutoff: number;
  readonly splunk: SplunkConfig;
  /** Workflow tunables passed to the Task Lambdas. */
  readonly workflow: {
    /** How late (hours) a raw object may arrive and still be planned into its event-time partition. */
    readonly lateHorizonHours: number;
    readonly maxBackfillDays: number;
    readonly leaseTtlSeconds: number;
    /** Hours old generations stay readable after a newer one is published. */
    readonly gcGraceHours: number;
    /** Failed runs after which a raw object is marked poison and quarantined (default 3). */
    readonly poisonAfterFailedRuns: number;
    /** Watermark lag (hours) a scheduled run catches up by itself; a longer one is named as a backfill (default 96). */
    readonly maxCatchUpHours: number;
    /** When WriteLedger counts a cluster as quiet (QuietClusters alarm). */
    readonly quietClusters: QuietClustersConfig;
  };
  /** E-mail subscribed to the alarm topic (optional). */
  readonly alarmEmail?: string;
  /**
   * Concurrency reserved for the transform Lambda (optional, 1-1000): without it a busy account can
   * throttle the transform and Firehose writes whole batches to errors/. Unset uses the shared pool.
   */
  readonly transformReservedConcurrency?: number;
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
// 20 at most: `<prefix>-athena-results-<account>-<region>` must stay within S3's 63 characters.
const PREFIX_RE = /^[a-z][a-z0-9-]{1,19}$/;
// EKS cluster names: letters, digits, hyphens, underscores; start alphanumeric; up to 100.
const CLUSTER_RE = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const SCHEDULE_MINUTES = SCHEDULE_PERIOD_MS / 60_000;
const ARN_PRINCIPAL_RE = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;

/** Lambda's hard timeout limit: no Task of the workflow can run longer, the longest (Stage, Merge) use all of it. */
export const LONGEST_TASK_SECONDS = 900;
/**
 * The lease renews only once half of its TTL is gone, so a Task that starts right after a
 * fence that did not renew has TTL/2 left: the TTL must be at least twice the longest Task.
 */
export const MIN_LEASE_TTL_SECONDS = 2 * LONGEST_TASK_SECONDS;
/** A quarantine alarm fires once; the object must still be there after a long weekend. */
export const MIN_QUARANTINE_RETENTION_DAYS = 7;

// Every key each level accepts; anything else is a typo that would otherwise be ignored.
const TOP_KEYS = [
  'prefix',
  'central',
  'organizationId',
  'members',
  'allowedSourceAccounts',
  'nonEksLogGroups',
  'rawRetentionDays',
  'rawTransitionDays',
  'quarantineRetentionDays',
  'curatedRetentionDays',
  'athenaResultsRetentionDays',
  'logRetentionDays',
  'schedule',
  'athenaBytesScannedCutoff',
  'splunk',
  'workflow',
  'alarmEmail',
  'transformReservedConcurrency',
] as const;
const CENTRAL_KEYS = ['account', 'region'] as const;
const MEMBER_KEYS = [
  'account',
  'region',
  'clusters',
  'subscription',
  'logGroupRetentionDays',
  'enableControlPlaneLogs',
] as const;
const SPLUNK_KEYS = ['enabled', 'principalArn', 'externalId'] as const;
const WORKFLOW_KEYS = [
  'lateHorizonHours',
  'maxBackfillDays',
  'leaseTtlSeconds',
  'gcGraceHours',
  'poisonAfterFailedRuns',
  'maxCatchUpHours',
  'quietClusters',
] as const;
const QUIET_CLUSTERS_KEYS = ['lookbackHours', 'silentHours', 'ignored'] as const;

type Obj = Record<string, unknown>;

class Problems {
  readonly list: string[] = [];
  add(path: string, msg: string): void {
    this.list.push(`${path}: ${msg}`);
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** The known key closest to `key`, when it is close enough to be a typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function rejectUnknownKeys(o: Obj, known: readonly string[], path: string, p: Problems): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const guess = closestKey(key, known);
    p.add(
      `${path}.${key}`,
      `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}; known keys: ${known.join(', ')}`,
    );
  }
}

/** Minutes of an hour a cron minute field fires at (`M`, `M,N,…`, `*\/S`, `M/S`), or undefined. */
function cronMinutes(field: string): number[] | undefined {
  const step = /^(\*|\d{1,2})\/(\d{1,2})$/.exec(field);
  if (step) {
    const start = step[1] === '*' ? 0 : Number(step[1]);
    const by = Number(step[2]);
    if (start > 59 || by < 1) return undefined;
    const out: number[] = [];
    for (let m = start; m < 60; m += by) out.push(m);
    return out;
  }
  if (!/^\d{1,2}(,\d{1,2})*$/.test(field)) return undefined;
  const list = [...new Set(field.split(',').map(Number))].sort((a, b) => a - b);
  return list.every((m) => m < 60) ? list : undefined;
}

/**
 * True when `expr` starts the workflow once per scheduled window (SCHEDULE_PERIOD_MS), all day:
 * `rate(15 minutes)`, or a cron whose minutes are 15 apart with every hour, day and month.
 */
export function firesEverySchedulePeriod(expr: string): boolean {
  if (expr === `rate(${SCHEDULE_MINUTES} minutes)`) return true;
  const cron = /^cron\((\S+) \* (\* \* \?|\? \* \*) \*\)$/.exec(expr);
  if (!cron) return false;
  const minutes = cronMinutes(cron[1]!);
  if (!minutes || minutes.length !== 60 / SCHEDULE_MINUTES) return false;
  return minutes.every((m, i) => i === 0 || m - minutes[i - 1]! === SCHEDULE_MINUTES);
}

function str(o: Obj, key: string, path: string, p: Problems, re?: RegExp, hint?: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') {
    p.add(`${path}.${key}`, 'required string is missing');
    return '';
  }
  if (re && !re.test(v)) p.add(`${path}.${key}`, `"${v}" is not valid${hint ? ` (${hint})` : ''}`);
  return v;
}

function optStr(o: Obj, key: string, path: string, p: Problems, re: RegExp, hint: string): string | undefined {
  if (o[key] === undefined) return undefined;
  return str(o, key, path, p, re, hint);
}

function num(o: Obj, key: string, path: string, p: Problems, def: number, min: number, max: number): number {
  const v = o[key] ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    p.add(`${path}.${key}`, `must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}

function bool(o: Obj, key: string, path: string, p: Problems, def: boolean): boolean {
  const v = o[key] ?? def;
  if (typeof v !== 'boolean') {
    p.add(`${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
    return def;
  }
  return v;
}

function strList(o: Obj, key: string, path: string, p: Problems, re: RegExp, hint: string): string[] {
  const v = o[key] ?? [];
  if (!Array.isArray(v)) {
    p.add(`${path}.${key}`, 'must be a list');
    return [];
  }
  v.forEach((x, i) => {
    if (typeof x !== 'string' || !re.test(x))
      p.add(`${path}.${key}[${i}]`, `${JSON.stringify(x)} is not valid (${hint})`);
  });
  return v.filter((x): x is string => typeof x === 'string');
}

function retention(o: Obj, key: string, path: string, p: Problems, def: number, allowZero: boolean): number {
  const v = o[key] ?? def;
  const ok = (allowZero && v === 0) || (LOG_RETENTION_DAYS as readonly unknown[]).includes(v);
  if (!ok) {
    p.add(`${path}.${key}`, `must be one of ${LOG_RETENTION_DAYS.join(', ')}${allowZero ? ' or 0' : ''}, got ${v}`);
    return def;
  }
  return v as number;
}

function parseMember(raw: unknown, path: string, centralRegion: string, p: Problems): MemberConfig | undefined {
  if (!isObj(raw)) {
    p.add(path, 'must be an object');
    return undefined;
  }
  rejectUnknownKeys(raw, MEMBER_KEYS, path, p);
  const region = (raw.region as string | undefined) ?? centralRegion;
  if (region !== centralRegion) {
    p.add(
      `${path}.region`,
      `"${region}" differs from central.region "${centralRegion}"; a Logs Destination only serves its own region`,
    );
  }
  const subscription = raw.subscription ?? 'filter';
  if (subscription !== 'filter' && subscription !== 'account-policy') {
    p.add(`${path}.subscription`, `must be "filter" or "account-policy", got ${JSON.stringify(subscription)}`);
  }
  const clusters = strList(raw, 'clusters', path, p, CLUSTER_RE, 'EKS cluster name');
  if (subscription === 'filter' && clusters.length === 0) {
    p.add(`${path}.clusters`, 'list at least one cluster, or use subscription "account-policy"');
  }
  if (new Set(clusters).size !== clusters.length) p.add(`${path}.clusters`, 'has duplicates');
  // Both act on the listed clusters only; without clusters they would be silently ignored.
  if (clusters.length === 0) {
    for (const key of ['logGroupRetentionDays', 'enableControlPlaneLogs']) {
      if (raw[key] !== undefined) {
        p.add(
          `${path}.${key}`,
          'applies to the listed clusters only and this member lists none: list the clusters or remove the key',
        );
      }
    }
  }
  return {
    account: str(raw, 'account', path, p, ACCOUNT_RE, '12 digits'),
    region,
    clusters,
    subscription: subscription as SubscriptionMode,
    logGroupRetentionDays: retention(raw, 'logGroupRetentionDays', path, p, 7, true),
    enableControlPlaneLogs: bool(raw, 'enableControlPlaneLogs', path, p, false),
  };
}

const QUIET_CLUSTERS_DEFAULT: QuietClustersConfig = {
  lookbackHours: DEFAULT_QUIET_CLUSTER_SETTINGS.lookbackHours,
  silentHours: DEFAULT_QUIET_CLUSTER_SETTINGS.silentHours,
  ignored: [],
};

function parseQuietClusters(raw: unknown, path: string, p: Problems): QuietClustersConfig {
  if (raw === undefined) return QUIET_CLUSTERS_DEFAULT;
  if (!isObj(raw)) {
    p.add(path, 'must be an object with lookbackHours, silentHours and ignored');
    return QUIET_CLUSTERS_DEFAULT;
  }
  rejectUnknownKeys(raw, QUIET_CLUSTERS_KEYS, path, p);
  const settings = {
    lookbackHours: raw.lookbackHours ?? QUIET_CLUSTERS_DEFAULT.lookbackHours,
    silentHours: raw.silentHours ?? QUIET_CLUSTERS_DEFAULT.silentHours,
    ignored: raw.ignored ?? [],
  };
  const problems = quietClusterSettingsProblems(settings);
  for (const q of problems) p.add(`${path}.${q.setting}${q.index === undefined ? '' : `[${q.index}]`}`, q.message);
  return problems.length === 0 ? (settings as QuietClustersConfig) : QUIET_CLUSTERS_DEFAULT;
}

/**
 * Validates the `eksLogLake` context object and fills defaults. Throws one ConfigError that
 * lists every problem with its path, so a user fixes cdk.json in one pass.
 */
export function parseConfig(raw: unknown): EksLogLakeConfig {
  const p = new Problems();
  const path = 'eksLogLake';
  if (!isObj(raw)) throw new ConfigError(`${path}: context object is missing; add it to cdk.json "context"`);
  rejectUnknownKeys(raw, TOP_KEYS, path, p);
  const prefix =
    raw.prefix === undefined
      ? 'eks-log-lake'
      : str(raw, 'prefix', path, p, PREFIX_RE, '2-20 of a-z 0-9 -, starting with a letter');
  const centralRaw = raw.central;
  let central = { account: '', region: '' };
  if (!isObj(centralRaw)) p.add(`${path}.central`, 'must be an object with account and region');
  else {
    rejectUnknownKeys(centralRaw, CENTRAL_KEYS, `${path}.central`, p);
    central = {
      account: str(centralRaw, 'account', `${path}.central`, p, ACCOUNT_RE, '12 digits'),
      region: str(centralRaw, 'region', `${path}.central`, p, REGION_RE, 'e.g. eu-west-1'),
    };
  }
  const organizationId = optStr(raw, 'organizationId', path, p, ORG_RE, 'o-xxxxxxxxxx');
  const membersRaw = raw.members ?? [];
  const members: MemberConfig[] = [];
  if (!Array.isArray(membersRaw)) p.add(`${path}.members`, 'must be a list');
  else
    membersRaw.forEach((m, i) => {
      const parsed = parseMember(m, `${path}.members[${i}]`, central.region, p);
      if (parsed) members.push(parsed);
    });
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.account)) p.add(`${path}.members`, `account ${m.account} listed twice`);
    seen.add(m.account);
  }
  const explicitAllowed = strList(raw, 'allowedSourceAccounts', path, p, ACCOUNT_RE, '12 digits');
  // Default: an organization admits its accounts (empty = every owner the Destination lets in);
  // otherwise exactly the accounts we deploy member stacks to, plus the central account.
  const allowedSourceAccounts =
    raw.allowedSourceAccounts !== undefined
      ? explicitAllowed
      : organizationId
        ? []
        : [...new Set([central.account, ...members.map((m) => m.account)])].filter(Boolean);
  if (allowedSourceAccounts.length > 0) {
    for (const m of members) {
      if (!allowedSourceAccounts.includes(m.account)) {
        p.add(`${path}.allowedSourceAccounts`, `member account ${m.account} is missing; its logs would be rejected`);
      }
    }
  } else if (!organizationId) {
    p.add(path, 'set organizationId, or list members or allowedSourceAccounts: an empty allow-list admits anyone');
  }
  const nonEksLogGroups = raw.nonEksLogGroups ?? 'keep';
  if (!(NON_EKS_LOG_GROUP_MODES as readonly unknown[]).includes(nonEksLogGroups)) {
    p.add(
      `${path}.nonEksLogGroups`,
      `must be ${NON_EKS_LOG_GROUP_MODES.map((m) => `"${m}"`).join(', ')}, got ${JSON.stringify(nonEksLogGroups)}`,
    );
  }
  const rawRetentionDays = num(raw, 'rawRetentionDays', path, p, 90, 1, 3650);
  const rawTransitionDays = num(raw, 'rawTransitionDays', path, p, 30, 30, 3650);
  if (rawTransitionDays >= rawRetentionDays && rawRetentionDays > 30) {
    p.add(`${path}.rawTransitionDays`, `must be below rawRetentionDays (${rawRetentionDays})`);
  }
  const schedule = raw.schedule === undefined ? `rate(${SCHEDULE_MINUTES} minutes)` : str(raw, 'schedule', path, p);
  if (schedule && !firesEverySchedulePeriod(schedule)) {
    p.add(
      `${path}.schedule`,
      `"${schedule}" is not valid: each run compacts the ${SCHEDULE_MINUTES}-minute window before it and the alarms expect that cadence, so it must fire every ${SCHEDULE_MINUTES} minutes all day: "rate(${SCHEDULE_MINUTES} minutes)" or "cron(M/${SCHEDULE_MINUTES} * * * ? *)" with M from 0 to ${SCHEDULE_MINUTES - 1}`,
    );
  }
  const splunkRaw = raw.splunk ?? { enabled: false };
  let splunk: SplunkConfig = { enabled: false };
  if (!isObj(splunkRaw)) p.add(`${path}.splunk`, 'must be an object');
  else {
    rejectUnknownKeys(splunkRaw, SPLUNK_KEYS, `${path}.splunk`, p);
    const enabled = bool(splunkRaw, 'enabled', `${path}.splunk`, p, false);
    const principalArn = optStr(
      splunkRaw,
      'principalArn',
      `${path}.splunk`,
      p,
      ARN_PRINCIPAL_RE,
      'IAM role/user/root ARN',
    );
    const externalId = optStr(
      splunkRaw,
      'externalId',
      `${path}.splunk`,
      p,
      /^[\w+=,.@:/-]{2,1224}$/,
      'sts external id',
    );
    if (enabled && !principalArn) p.add(`${path}.splunk.principalArn`, 'required when splunk.enabled is true');
    splunk = { enabled, principalArn, externalId };
  }
  const wfRaw = raw.workflow ?? {};
  const wfPath = `${path}.workflow`;
  let workflow = {
    lateHorizonHours: 48,
    maxBackfillDays: 90,
    leaseTtlSeconds: 1800,
    gcGraceHours: 24,
    poisonAfterFailedRuns: POISON_AFTER_FAILED_RUNS,
    maxCatchUpHours: MAX_CATCH_UP_HOURS,
    quietClusters: QUIET_CLUSTERS_DEFAULT,
  };
  if (!isObj(wfRaw)) p.add(wfPath, 'must be an object');
  else {
    rejectUnknownKeys(wfRaw, WORKFLOW_KEYS, wfPath, p);
    workflow = {
      lateHorizonHours: num(wfRaw, 'lateHorizonHours', wfPath, p, 48, 1, 24 * 30),
      maxBackfillDays: num(wfRaw, 'maxBackfillDays', wfPath, p, 90, 1, 3650),
      leaseTtlSeconds: num(wfRaw, 'leaseTtlSeconds', wfPath, p, 1800, 60, 86400),
      gcGraceHours: num(wfRaw, 'gcGraceHours', wfPath, p, 24, 1, 24 * 30),
      // Each failed run already alarmed; past 100 an object would never leave the plan in practice.
      poisonAfterFailedRuns: num(wfRaw, 'poisonAfterFailedRuns', wfPath, p, POISON_AFTER_FAILED_RUNS, 1, 100),
      maxCatchUpHours: MAX_CATCH_UP_HOURS,
      quietClusters: parseQuietClusters(wfRaw.quietClusters, `${wfPath}.quietClusters`, p),
    };
    // Bounded by one execution's history (ADR 0003) and, below, by the lease TTL.
    const catchUp = wfRaw.maxCatchUpHours ?? MAX_CATCH_UP_HOURS;
    const problem = catchUpHoursProblem(catchUp, workflow.leaseTtlSeconds);
    if (problem) p.add(`${wfPath}.maxCatchUpHours`, problem);
    else workflow.maxCatchUpHours = catchUp as number;
  }
  const cfg: EksLogLakeConfig = {
    prefix,
    central,
    organizationId,
    members,
    allowedSourceAccounts,
    nonEksLogGroups: nonEksLogGroups as NonEksLogGroupMode,
    rawRetentionDays,
    rawTransitionDays,
    // Quarantined lines are the raw lines curated data could not hold, secrets unredacted: no longer than raw by default.
    quarantineRetentionDays: num(raw, 'quarantineRetentionDays', path, p, rawRetentionDays, 1, 3650),
    curatedRetentionDays: num(raw, 'curatedRetentionDays', path, p, 0, 0, 36500),
    athenaResultsRetentionDays: num(raw, 'athenaResultsRetentionDays', path, p, 7, 1, 365),
    logRetentionDays: retention(raw, 'logRetentionDays', path, p, 30, false),
    schedule,
    athenaBytesScannedCutoff: num(raw, 'athenaBytesScannedCutoff', path, p, 10 * 1024 ** 3, 10 * 1024 ** 2, 2 ** 52),
    splunk,
    workflow,
    alarmEmail: optStr(raw, 'alarmEmail', path, p, /^[^@\s]+@[^@\s]+$/, 'e-mail address'),
    // A sanity bound, not the account's: Lambda refuses at deploy a value that leaves fewer than
    // 100 unreserved (so at most 900 under the default limit of 1000; docs/deploy.md says so).
    transformReservedConcurrency:
      raw.transformReservedConcurrency === undefined
        ? undefined
        : num(raw, 'transformReservedConcurrency', path, p, 1, 1, 1000),
  };
  if (workflow.leaseTtlSeconds < MIN_LEASE_TTL_SECONDS) {
    p.add(
      `${wfPath}.leaseTtlSeconds`,
      `must be at least ${MIN_LEASE_TTL_SECONDS}, got ${workflow.leaseTtlSeconds}: the lease renews only once half of it is gone, and a Task runs up to ${LONGEST_TASK_SECONDS} s without renewing it`,
    );
  }
  // Raw objects are what a retry (within the late horizon, behind a catch-up) and a backfill read: they must still exist.
  const listedHours = workflow.lateHorizonHours + workflow.maxCatchUpHours;
  const minRawDays = Math.max(Math.ceil(listedHours / 24) + 1, workflow.maxBackfillDays);
  if (rawRetentionDays < minRawDays) {
    p.add(
      `${path}.rawRetentionDays`,
      `must be at least ${minRawDays} days, got ${rawRetentionDays}: raw objects must outlive by a day the ${listedHours} h a scheduled run may list (workflow.lateHorizonHours ${workflow.lateHorizonHours} h plus workflow.maxCatchUpHours ${workflow.maxCatchUpHours} h of catch-up after an outage), and last workflow.maxBackfillDays (${workflow.maxBackfillDays}); keep raw longer or lower those`,
    );
  }
  if (cfg.quarantineRetentionDays < MIN_QUARANTINE_RETENTION_DAYS) {
    p.add(
      `${path}.quarantineRetentionDays`,
      `must be at least ${MIN_QUARANTINE_RETENTION_DAYS} days, got ${cfg.quarantineRetentionDays}: a quarantined object alarms once and must still be there when someone looks${raw.quarantineRetentionDays === undefined ? ' (it defaults to rawRetentionDays; set it)' : ''}`,
    );
  }
  if (p.list.length > 0) {
    throw new ConfigError(`invalid eks-log-lake configuration:\n  - ${p.list.join('\n  - ')}`);
  }
  return cfg;
}
