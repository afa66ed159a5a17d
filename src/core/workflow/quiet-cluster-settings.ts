import { ACCOUNT_RE, CLUSTER_RE, UNKNOWN_CLUSTER } from '../compact/layout.ts';
import type { QuietClusterSettings } from './quiet-clusters.ts';

/** Longest look-back accepted (30 days): a cluster silent for longer is retired, not quiet. */
export const MAX_QUIET_LOOKBACK_HOURS = 720;

/**
 * Longest ignore list accepted, in characters joined by commas: it travels in one Lambda
 * environment variable, and all of a function's variables share 4 KB.
 */
export const MAX_QUIET_IGNORED_CHARS = 2000;

/** One invalid quiet-cluster setting: which, the entry of `ignored` when it is one, and why. */
export interface QuietClusterSettingsProblem {
  readonly setting: keyof QuietClusterSettings;
  readonly index?: number;
  readonly message: string;
}

const ID_HINT = '<12-digit account>/<EKS cluster name>, e.g. 111122223333/prod-eu-1';

/** True for `account/cluster` as the ignore list holds it (the cluster may be `_unknown`). */
export function isClusterId(id: string): boolean {
  const slash = id.indexOf('/');
  const account = id.slice(0, slash);
  const cluster = id.slice(slash + 1);
  return slash > 0 && ACCOUNT_RE.test(account) && (cluster === UNKNOWN_CLUSTER || CLUSTER_RE.test(cluster));
}

/**
 * Every reason the settings cannot be used, empty when they can; checked the same way in the
 * deployment configuration, the Lambda environment and the local composition.
 */
export function quietClusterSettingsProblems(settings: {
  readonly lookbackHours: unknown;
  readonly silentHours: unknown;
  readonly ignored?: unknown;
}): QuietClusterSettingsProblem[] {
  const out: QuietClusterSettingsProblem[] = [];
  const { lookbackHours, silentHours, ignored } = settings;
  const lookbackOk = isIntIn(lookbackHours, 2, MAX_QUIET_LOOKBACK_HOURS);
  if (!lookbackOk) {
    out.push({
      setting: 'lookbackHours',
      message: `must be an integer between 2 and ${MAX_QUIET_LOOKBACK_HOURS}, got ${JSON.stringify(lookbackHours)}: a cluster is expected to keep delivering for this many hours after it last did`,
    });
  }
  if (!isIntIn(silentHours, 1, MAX_QUIET_LOOKBACK_HOURS - 1)) {
    out.push({
      setting: 'silentHours',
      message: `must be an integer between 1 and ${MAX_QUIET_LOOKBACK_HOURS - 1}, got ${JSON.stringify(silentHours)}`,
    });
  } else if (lookbackOk && (silentHours as number) >= (lookbackHours as number)) {
    out.push({
      setting: 'silentHours',
      message: `must be below lookbackHours (${lookbackHours}), got ${silentHours}: a cluster is quiet when it delivered within lookbackHours but not in the last silentHours, so no cluster ever would be`,
    });
  }
  if (ignored === undefined) return out;
  if (!Array.isArray(ignored)) {
    out.push({ setting: 'ignored', message: `must be a list of ${ID_HINT}` });
    return out;
  }
  const seen = new Set<string>();
  ignored.forEach((id, index) => {
    if (typeof id !== 'string' || !isClusterId(id)) {
      out.push({ setting: 'ignored', index, message: `${JSON.stringify(id)} is not valid (${ID_HINT})` });
    } else if (seen.has(id)) {
      out.push({ setting: 'ignored', index, message: `${id} is listed twice` });
    }
    seen.add(String(id));
  });
  const chars = ignored.map(String).join(',').length;
  if (chars > MAX_QUIET_IGNORED_CHARS) {
    out.push({
      setting: 'ignored',
      message: `is ${chars} characters long, more than ${MAX_QUIET_IGNORED_CHARS}: it is one Lambda environment variable (4 KB for all of them); a retired cluster leaves the sightings index lookbackHours after its last event, so list only those retired since`,
    });
  }
  return out;
}

function isIntIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
