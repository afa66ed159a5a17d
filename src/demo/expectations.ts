import type { GroundTruth } from '../core/generate/traffic.ts';
import type { QueryRow } from '../ports.ts';

/** One named query the demo runs, and whether its rows hold the fact the generator planted there. */
export interface PlantedCheck {
  readonly query: string;
  readonly params: Record<string, string>;
  /** The planted fact, in words. */
  readonly expected: string;
  readonly found: boolean;
  readonly rows: QueryRow[];
}

type RunNamed = (name: string, params: Readonly<Record<string, string>>) => Promise<QueryRow[]>;

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown) => Number(v);

/** Dates (UTC) spanned by the generated events, as the `dtFrom`/`dtTo` of the named queries. */
export function eventDateRange(truth: GroundTruth): { dtFrom: string; dtTo: string } {
  return {
    dtFrom: new Date(truth.eventTimeRange.min).toISOString().slice(0, 10),
    dtTo: new Date(truth.eventTimeRange.max).toISOString().slice(0, 10),
  };
}

/**
 * Runs the investigation queries whose answers the generator planted and checks each answer:
 * who deleted the secret, who exec'd into the pod, the new cluster-admin binding, the top 403
 * source, which IAM role a username maps to, unmapped ARNs, unschedulable pods, leader changes.
 */
export async function checkPlantedAnswers(truth: GroundTruth, runNamed: RunNamed): Promise<PlantedCheck[]> {
  const range = eventDateRange(truth);
  const p = truth.planted;
  const checks: PlantedCheck[] = [];
  const check = async (
    query: string,
    extra: Record<string, string>,
    expected: string,
    match: (rows: QueryRow[]) => boolean,
  ) => {
    const params = { ...range, ...extra };
    const rows = await runNamed(query, params);
    checks.push({ query, params, expected, found: match(rows), rows });
  };

  const sd = p.secretDeletions[0];
  if (sd)
    await check(
      'find-object-changes',
      { resource: 'secrets', namespace: sd.namespace, name: sd.name },
      `${sd.username} deleted secret ${sd.namespace}/${sd.name} in ${sd.cluster}`,
      (rows) =>
        rows.some((r) => r.verb === 'delete' && r.username === sd.username && r.cluster === sd.cluster) &&
        rows.every((r) => r.cluster === sd.cluster),
    );

  const ex = p.podExecs[0];
  if (ex)
    await check(
      'find-pod-exec-sessions',
      {},
      `${ex.username} exec'd into ${ex.namespace}/${ex.pod} in ${ex.cluster}`,
      (rows) =>
        rows.some(
          (r) =>
            r.username === ex.username && r.pod === ex.pod && r.namespace === ex.namespace && r.cluster === ex.cluster,
        ),
    );

  const b = p.clusterAdminBindings[0];
  if (b)
    await check(
      'find-cluster-admin-bindings',
      {},
      `${b.username} bound ${b.subject} to cluster-admin (${b.binding}) in ${b.cluster}`,
      (rows) =>
        rows.some((r) => r.name === b.binding && r.username === b.username && str(r.subjects).includes(b.subject)),
    );

  const top = [...p.forbidden].sort((x, y) => y.count - x.count)[0];
  if (top)
    await check(
      'list-denied-requests',
      { limit: '5' },
      `most 403s: ${top.username} from ${top.sourceIp} (${top.count}) in ${top.cluster}`,
      // Ties at the top may come back in either order; any tied (user, address) is right.
      (rows) =>
        rows.length > 0 &&
        num(rows[0]!.requests) === top.count &&
        p.forbidden.some(
          (f) =>
            f.count === top.count &&
            f.username === rows[0]!.username &&
            f.sourceIp === rows[0]!.source_ip &&
            f.cluster === rows[0]!.cluster,
        ),
    );

  // The exec'ing person is a human with an IAM role mapping; the query should name that role.
  const mapping = ex && p.iamMappings.find((m) => m.username === ex.username && m.logGroup === ex.logGroup);
  if (mapping)
    await check(
      'find-iam-principal',
      { username: mapping.username },
      `${mapping.username} signs in as ${mapping.arn}`,
      (rows) => rows.some((r) => r.arn === mapping.arn && r.cluster === mapping.cluster),
    );

  const denied = p.authenticatorDenials.find((d) => d.arn !== null);
  if (denied)
    await check(
      'list-authenticator-denials',
      {},
      `${denied.arn} denied ${denied.count}× (ARN not mapped) in ${denied.cluster}`,
      (rows) => rows.some((r) => r.arn === denied.arn && num(r.denials) === denied.count),
    );

  const planted = p.schedulingFailures.find((f) => f.pod.includes('/spark-driver-'));
  if (planted)
    await check(
      'find-scheduler-failures',
      {},
      `${planted.pod} unschedulable ${planted.count}× in ${planted.cluster}`,
      (rows) => rows.filter((r) => r.pod === planted.pod && r.cluster === planted.cluster).length === planted.count,
    );

  const lc = p.leaderChanges[0];
  if (lc)
    await check(
      'find-leader-election-changes',
      {},
      `${lc.component} leadership moved to ${lc.logStream} in ${lc.cluster}`,
      (rows) => rows.some((r) => r.log_stream === lc.logStream && str(r.msg).includes('successfully acquired lease')),
    );

  return checks;
}
