import { floorTo, HOUR_MS } from './window.ts';

/** The newest event-time hour in which a cluster delivered anything: that hour's start, ISO UTC. */
export interface ClusterSighting {
  readonly account: string;
  readonly cluster: string;
  readonly lastEventHour: string;
}

/** When a cluster counts as quiet (see {@link findQuietClusters}). */
export interface QuietClusterSettings {
  /** A cluster that delivered within this many hours is expected to keep delivering. */
  readonly lookbackHours: number;
  /** Complete hours without a single event after which such a cluster is quiet. */
  readonly silentHours: number;
  /** `account/cluster` ids never reported (decommissioned on purpose, before they age out). */
  readonly ignored?: readonly string[];
}

/**
 * A day of memory, two hours of silence: a cluster with control-plane logging on writes audit
 * events every few seconds (leases, health checks), so one silent hour is already abnormal.
 */
export const DEFAULT_QUIET_CLUSTER_SETTINGS: QuietClusterSettings = { lookbackHours: 24, silentHours: 2 };

/** `account/cluster`, the id the ignore list uses. */
export function clusterIdOf(c: { readonly account: string; readonly cluster: string }): string {
  return `${c.account}/${c.cluster}`;
}

/** Sightings from curated partition values `[account, cluster, dt, hour]`, newest hour per cluster. */
export function sightingsOf(partitions: readonly (readonly string[])[]): ClusterSighting[] {
  return mergeSightings(
    [],
    partitions.map(([account, cluster, dt, hour]) => ({
      account: account!,
      cluster: cluster!,
      lastEventHour: new Date(`${dt}T${hour}:00:00Z`).toISOString(),
    })),
    null,
  );
}

/**
 * The index after a run: the newest hour per cluster, without the clusters last seen before
 * `keepFromMs` (they can no longer be quiet, and come back by delivering again); sorted by id.
 */
export function mergeSightings(
  index: readonly ClusterSighting[],
  seen: readonly ClusterSighting[],
  keepFromMs: number | null,
): ClusterSighting[] {
  const byId = new Map<string, ClusterSighting>();
  for (const s of [...index, ...seen]) {
    const prev = byId.get(clusterIdOf(s));
    if (!prev || Date.parse(s.lastEventHour) > Date.parse(prev.lastEventHour)) byId.set(clusterIdOf(s), s);
  }
  return [...byId.entries()]
    .filter(([, s]) => keepFromMs === null || Date.parse(s.lastEventHour) >= keepFromMs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => ({ account: s.account, cluster: s.cluster, lastEventHour: s.lastEventHour }));
}

/**
 * Start of the first arrival hour the watermark does not complete: every raw object that arrived
 * before it is in the ledger, so an event hour before it that has no sighting had no event.
 */
export function quietReferenceMs(completeThrough: string): number {
  return floorTo(Date.parse(completeThrough), HOUR_MS);
}

/** Where the index may forget a cluster: before the look-back of the watermark's hour (null: keep all). */
export function sightingsKeepFromMs(completeThrough: string | null, settings: QuietClusterSettings): number | null {
  return completeThrough === null ? null : quietReferenceMs(completeThrough) - settings.lookbackHours * HOUR_MS;
}

/**
 * Clusters last seen within `lookbackHours` before the watermark's hour but in none of the
 * `silentHours` complete hours right before it, minus the ignored ones; longest silent first.
 * None before there is a watermark (no hour is known to be complete).
 */
export function findQuietClusters(
  index: readonly ClusterSighting[],
  completeThrough: string | null,
  settings: QuietClusterSettings,
): ClusterSighting[] {
  if (completeThrough === null) return [];
  const ref = quietReferenceMs(completeThrough);
  const from = ref - settings.lookbackHours * HOUR_MS;
  const silentFrom = ref - settings.silentHours * HOUR_MS;
  const ignored = new Set(settings.ignored ?? []);
  return index
    .filter((s) => {
      const last = Date.parse(s.lastEventHour);
      return last >= from && last < silentFrom && !ignored.has(clusterIdOf(s));
    })
    .sort(
      (a, b) =>
        Date.parse(a.lastEventHour) - Date.parse(b.lastEventHour) ||
        (clusterIdOf(a) < clusterIdOf(b) ? -1 : clusterIdOf(a) > clusterIdOf(b) ? 1 : 0),
    );
}

/** The stored index, or null when it is not one (hand-edited, truncated): the caller starts afresh. */
export function parseSightings(text: string): ClusterSighting[] | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const list = (doc as { clusters?: unknown } | null)?.clusters;
  if (!Array.isArray(list)) return null;
  const ok = list.every(
    (s) =>
      typeof s?.account === 'string' &&
      typeof s?.cluster === 'string' &&
      typeof s?.lastEventHour === 'string' &&
      !Number.isNaN(Date.parse(s.lastEventHour)),
  );
  return ok ? (list as ClusterSighting[]) : null;
}
