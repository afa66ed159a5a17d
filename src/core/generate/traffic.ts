import type { CwlLogEvent, KnownLogType, LogType, SubscriptionMessage } from '../types.ts';
import {
  type AuditLine,
  clusterAdminBindingLine,
  largeAuditLine,
  plantedForbiddenLine,
  podExecLine,
  routineAuditLine,
  secretDeletionLine,
} from './audit.ts';
import { accessDeniedLine, accessGrantedLine, authenticatorNoiseLine, stsResponseLine } from './authenticator.ts';
import { buildFleet, type ClusterSpec, type IamIdentity } from './fleet.ts';
import {
  apiserverLine,
  cloudControllerManagerLine,
  controllerManagerLine,
  klogLine,
  leaderLine,
  schedulerLine,
  unschedulableLine,
} from './klog.ts';
import { createRng, type Rng } from './rng.ts';
import { isoMicros } from './time.ts';

/** What traffic to generate; everything is derived from `seed` and `start` (no clock). */
export interface TrafficOptions {
  readonly seed: number;
  /** Time of the first generated event. */
  readonly start: Date;
  readonly durationMinutes: number;
  /** 12-digit AWS account ids owning the log groups. */
  readonly accounts: readonly string[];
  readonly clustersPerAccount: number;
  /** Region the clusters run in (node names, STS endpoints). Default `eu-west-1`. */
  readonly region?: string;
  /** Approximate total message bytes to generate; sets `eventsPerMinute` when that is absent. */
  readonly targetBytes?: number;
  /** Events per minute over the whole fleet. Default 2,000. */
  readonly eventsPerMinute?: number;
  /** Share of data messages CloudWatch delivers a second time. Default 0.01. */
  readonly duplicateRate?: number;
  /** Share of data messages delivered 1–4 hours after their events. Default 0.005. */
  readonly lateRate?: number;
  /** Extra malformed lines per generated event. Default 0.001. */
  readonly malformedRate?: number;
  /** CONTROL_MESSAGEs per data message. Default 0.002. */
  readonly controlMessageRate?: number;
  /** 50–200 KB audit events per audit event. Default 1/5,000. */
  readonly largeEventRate?: number;
}

/** `normal` first delivery, `duplicate` CloudWatch re-delivery, `late` hours after its events, `control` health check. */
export type DeliveryKind = 'normal' | 'duplicate' | 'late' | 'control';

/** One subscription message as CloudWatch Logs hands it to Firehose, at its arrival time. */
export interface Delivery {
  readonly arrival: Date;
  readonly message: SubscriptionMessage;
  readonly kind: DeliveryKind;
}

/** The kinds of malformed line the generator sprinkles in. */
export type MalformedKind = 'truncated_audit' | 'no_klog_header' | 'invalid_utf8' | 'unknown_stream';

/** Which cluster (and log group) a fact belongs to. */
export interface ClusterRef {
  readonly account: string;
  readonly cluster: string;
  readonly logGroup: string;
}

/** Facts the generator planted, for queries to find. Times are the events' own times. */
export interface PlantedFacts {
  readonly secretDeletions: (ClusterRef & { username: string; namespace: string; name: string; time: string })[];
  readonly podExecs: (ClusterRef & { username: string; namespace: string; pod: string; time: string })[];
  readonly clusterAdminBindings: (ClusterRef & { username: string; binding: string; subject: string; time: string })[];
  /** Every 403 of every (unique, well-formed) audit event, by user and source IP. */
  readonly forbidden: (ClusterRef & { username: string; sourceIp: string; count: number })[];
  /** Every IAM role ARN → username mapping an `access granted` line showed. */
  readonly iamMappings: (ClusterRef & { arn: string; username: string })[];
  /** Every `access denied` line, by ARN (`null` when the token carried none). */
  readonly authenticatorDenials: (ClusterRef & { arn: string | null; count: number })[];
  /** Every unschedulable pod, by `namespace/name`. */
  readonly schedulingFailures: (ClusterRef & { pod: string; count: number })[];
  /** Every `successfully acquired lease` line. */
  readonly leaderChanges: (ClusterRef & { component: string; logStream: string; time: string })[];
}

/** Everything the generator produced, so tests can assert conservation and planted answers. */
export interface GroundTruth {
  readonly clusters: ClusterRef[];
  /** Data messages as first delivered, re-deliveries, of which late, and control messages. */
  readonly messages: { data: number; duplicate: number; late: number; control: number };
  readonly events: {
    /** Distinct data events (account, log group, event id), malformed ones included. */
    unique: number;
    /** Events delivered again inside duplicate messages. */
    duplicate: number;
    /** Distinct events that arrived late. */
    late: number;
    /** Events inside CONTROL_MESSAGEs (one each). */
    control: number;
    byLogType: Record<LogType, number>;
    /** Keyed `account/cluster`. */
    byCluster: Record<string, number>;
  };
  /** Sum of distinct events' message lengths (UTF-16 code units, ≈ bytes). */
  messageChars: number;
  malformed: Record<MalformedKind, number>;
  largeAuditEvents: number;
  /** Earliest and latest CloudWatch timestamp of any data event, epoch ms. */
  eventTimeRange: { min: number; max: number };
  /** First and last arrival, epoch ms. */
  arrivalRange: { first: number; last: number };
  planted: PlantedFacts;
}

const SHARE: Record<KnownLogType, number> = {
  'kube-apiserver-audit': 0.8,
  'kube-apiserver': 0.07,
  authenticator: 0.05,
  'kube-controller-manager': 0.04,
  'kube-scheduler': 0.025,
  'cloud-controller-manager': 0.015,
};

/** Average message size in characters at the default mix, used to turn targetBytes into a rate. */
const AVG_EVENT_CHARS = 1100;
/** Size of the planted 403 burst; well above what routine traffic produces per user and address. */
const PLANTED_FORBIDDEN = 30;
const BUCKET_MS = 5_000;
const MAX_MESSAGE_CHARS = 256 * 1024;
const CONTROL_TEXT = 'CWL CONTROL MESSAGE: Checking health of destination Firehose.';

interface PlannedEvent {
  t: number;
  render: (t: number) => string;
}

interface ClusterState {
  spec: ClusterSpec;
  ref: ClusterRef;
  leader: Record<'kube-scheduler' | 'kube-controller-manager' | 'cloud-controller-manager', number>;
  threadIds: Map<string, number>;
  unknownStream: string;
}

/** Creates an empty ground truth for `generateTraffic` to fill. */
export function emptyGroundTruth(): GroundTruth {
  return {
    clusters: [],
    messages: { data: 0, duplicate: 0, late: 0, control: 0 },
    events: {
      unique: 0,
      duplicate: 0,
      late: 0,
      control: 0,
      byLogType: {
        'kube-apiserver-audit': 0,
        'kube-apiserver': 0,
        'kube-scheduler': 0,
        'kube-controller-manager': 0,
        'cloud-controller-manager': 0,
        authenticator: 0,
        unknown: 0,
      },
      byCluster: {},
    },
    messageChars: 0,
    malformed: { truncated_audit: 0, no_klog_header: 0, invalid_utf8: 0, unknown_stream: 0 },
    largeAuditEvents: 0,
    eventTimeRange: { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY },
    arrivalRange: { first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY },
    planted: {
      secretDeletions: [],
      podExecs: [],
      clusterAdminBindings: [],
      forbidden: [],
      iamMappings: [],
      authenticatorDenials: [],
      schedulingFailures: [],
      leaderChanges: [],
    },
  };
}

class Tally {
  private readonly forbidden = new Map<string, ClusterRef & { username: string; sourceIp: string; count: number }>();
  private readonly mappings = new Map<string, ClusterRef & { arn: string; username: string }>();
  private readonly denials = new Map<string, ClusterRef & { arn: string | null; count: number }>();
  private readonly failures = new Map<string, ClusterRef & { pod: string; count: number }>();

  constructor(private readonly truth: GroundTruth) {}

  audit(ref: ClusterRef, a: AuditLine): string {
    if (a.meta.code === 403) {
      const k = `${ref.account}|${ref.logGroup}|${a.meta.username}|${a.meta.sourceIp}`;
      const cur = this.forbidden.get(k) ?? { ...ref, username: a.meta.username, sourceIp: a.meta.sourceIp, count: 0 };
      cur.count++;
      this.forbidden.set(k, cur);
    }
    return a.message;
  }

  granted(ref: ClusterRef, arn: string, username: string): void {
    const k = `${ref.account}|${ref.logGroup}|${arn}|${username}`;
    if (!this.mappings.has(k)) this.mappings.set(k, { ...ref, arn, username });
  }

  denied(ref: ClusterRef, arn: string | null): void {
    const k = `${ref.account}|${ref.logGroup}|${arn}`;
    const cur = this.denials.get(k) ?? { ...ref, arn, count: 0 };
    cur.count++;
    this.denials.set(k, cur);
  }

  unschedulable(ref: ClusterRef, pod: string): void {
    const k = `${ref.account}|${ref.logGroup}|${pod}`;
    const cur = this.failures.get(k) ?? { ...ref, pod, count: 0 };
    cur.count++;
    this.failures.set(k, cur);
  }

  finish(): void {
    const p = this.truth.planted;
    p.forbidden.push(...this.forbidden.values());
    p.iamMappings.push(...this.mappings.values());
    p.authenticatorDenials.push(...this.denials.values());
    p.schedulingFailures.push(...this.failures.values());
  }
}

/** Deterministic 56-digit CloudWatch-style event id, unique per generator run and increasing with time. */
function eventId(rng: Rng, cwlTimestamp: number, seq: number): string {
  return `${String(cwlTimestamp).padStart(13, '0')}${String(seq).padStart(10, '0')}${rng.digits(33)}`;
}

/**
 * Yields subscription messages in arrival order. Fills `truth` (also the generator's return value)
 * as it goes; read it after the last delivery.
 */
export function* generateTraffic(
  opts: TrafficOptions,
  truth: GroundTruth = emptyGroundTruth(),
): Generator<Delivery, GroundTruth> {
  const rng = createRng(opts.seed);
  const region = opts.region ?? 'eu-west-1';
  const startMs = opts.start.getTime();
  const perMinute =
    opts.eventsPerMinute ??
    (opts.targetBytes !== undefined
      ? Math.max(10, opts.targetBytes / Math.max(1, opts.durationMinutes) / AVG_EVENT_CHARS)
      : 2000);
  const duplicateRate = opts.duplicateRate ?? 0.01;
  const lateRate = opts.lateRate ?? 0.005;
  const malformedRate = opts.malformedRate ?? 0.001;
  const controlRate = opts.controlMessageRate ?? 0.002;
  const largeRate = opts.largeEventRate ?? 1 / 5000;

  const fleet = buildFleet(rng, opts.accounts, opts.clustersPerAccount, region);
  const states: ClusterState[] = fleet.map((spec) => ({
    spec,
    ref: { account: spec.account, cluster: spec.name, logGroup: spec.logGroup },
    leader: { 'kube-scheduler': 0, 'kube-controller-manager': 0, 'cloud-controller-manager': 0 },
    threadIds: new Map(),
    unknownStream: `etcd-${rng.hex(32)}`,
  }));
  for (const s of states) truth.clusters.push(s.ref);
  const totalWeight = fleet.reduce((a, c) => a + c.weight, 0);
  const tally = new Tally(truth);
  const plants = planFacts(rng, states, opts.durationMinutes, opts.accounts, truth, tally);

  let seq = 0;
  let order = 0;
  const pending: { d: Delivery; order: number }[] = [];
  const push = (d: Delivery) => {
    pending.push({ d, order: order++ });
    const a = d.arrival.getTime();
    if (a < truth.arrivalRange.first) truth.arrivalRange.first = a;
    if (a > truth.arrivalRange.last) truth.arrivalRange.last = a;
  };

  const threadId = (st: ClusterState, stream: string) => {
    let t = st.threadIds.get(stream);
    if (t === undefined) {
      t = stream.startsWith('kube-apiserver') ? rng.int(10, 12) : 1;
      st.threadIds.set(stream, t);
    }
    return t;
  };

  /** Groups a stream's planned events into 5-second messages and queues their deliveries. */
  const emitStream = (st: ClusterState, stream: string, logType: LogType, planned: PlannedEvent[]) => {
    if (planned.length === 0) return;
    planned.sort((a, b) => a.t - b.t);
    let i = 0;
    while (i < planned.length) {
      const bucket = Math.floor(planned[i]!.t / BUCKET_MS);
      const late = rng.chance(lateRate);
      const shift = late ? rng.int(60, 240) * 60_000 : 0;
      const events: CwlLogEvent[] = [];
      let chars = 0;
      let lastPlanned = planned[i]!.t;
      while (i < planned.length && Math.floor(planned[i]!.t / BUCKET_MS) === bucket && chars < MAX_MESSAGE_CHARS) {
        const p = planned[i++]!;
        const t = p.t - shift;
        const message = p.render(t);
        const cwl = Math.floor(t) + rng.int(0, 400);
        events.push({ id: eventId(rng, cwl, seq++), timestamp: cwl, message });
        chars += message.length;
        lastPlanned = Math.max(lastPlanned, p.t + 400);
        if (cwl < truth.eventTimeRange.min) truth.eventTimeRange.min = cwl;
        if (cwl > truth.eventTimeRange.max) truth.eventTimeRange.max = cwl;
      }
      // CloudWatch timestamps must not decrease within a message.
      events.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      const message: SubscriptionMessage = {
        messageType: 'DATA_MESSAGE',
        owner: st.spec.account,
        logGroup: st.spec.logGroup,
        logStream: stream,
        subscriptionFilters: ['eks-log-lake'],
        logEvents: events,
      };
      const arrival = Math.floor(lastPlanned) + rng.int(1_000, 25_000);
      push({ arrival: new Date(arrival), message, kind: late ? 'late' : 'normal' });
      truth.messages.data++;
      truth.events.unique += events.length;
      truth.events.byLogType[logType] += events.length;
      const ck = `${st.ref.account}/${st.ref.cluster}`;
      truth.events.byCluster[ck] = (truth.events.byCluster[ck] ?? 0) + events.length;
      truth.messageChars += chars;
      if (late) {
        truth.messages.late++;
        truth.events.late += events.length;
      }
      if (rng.chance(duplicateRate)) {
        push({ arrival: new Date(arrival + rng.int(5_000, 600_000)), message, kind: 'duplicate' });
        truth.messages.duplicate++;
        truth.events.duplicate += events.length;
      }
      if (rng.chance(controlRate)) pushControl(arrival + rng.int(1, 5_000));
    }
  };

  const pushControl = (arrival: number) => {
    push({
      arrival: new Date(arrival),
      kind: 'control',
      message: {
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [{ id: '', timestamp: arrival, message: CONTROL_TEXT }],
      },
    });
    truth.messages.control++;
    truth.events.control++;
  };

  // A new subscription filter announces itself with a control message.
  pushControl(startMs + 500);

  for (let minute = 0; minute < opts.durationMinutes; minute++) {
    const m0 = startMs + minute * 60_000;
    const at = () => m0 + rng.next() * 60_000;
    for (const st of states) {
      const c = st.spec;
      const mean = (perMinute * c.weight) / totalWeight;
      const plan = new Map<string, { logType: LogType; events: PlannedEvent[] }>();
      const streamOf: StreamOf = (name, logType) => {
        let e = plan.get(name);
        if (!e) {
          e = { logType, events: [] };
          plan.set(name, e);
        }
        return e.events;
      };

      // Planted facts due this minute first, so a leadership switch applies to this minute's lines.
      for (const p of plants) if (p.minute === minute && p.cluster === st) p.apply(at, streamOf);

      c.apiServers.forEach((api, i) => {
        const share = i === 0 ? 0.55 : 0.45;
        const audit = streamOf(api.audit.name, 'kube-apiserver-audit');
        for (let k = rng.count(mean * SHARE['kube-apiserver-audit'] * share); k > 0; k--) {
          if (rng.chance(largeRate)) {
            const size = rng.int(50_000, 200_000);
            truth.largeAuditEvents++;
            audit.push({ t: at(), render: (t) => tally.audit(st.ref, largeAuditLine(rng, c, t, size)) });
          } else {
            audit.push({ t: at(), render: (t) => tally.audit(st.ref, routineAuditLine(rng, c, t)) });
          }
          if (rng.chance(malformedRate)) {
            truth.malformed.truncated_audit++;
            audit.push({ t: at(), render: (t) => truncatedAudit(rng, c, t) });
          }
        }
        const apiLines = streamOf(api.apiserver.name, 'kube-apiserver');
        const tid = threadId(st, api.apiserver.name);
        for (let k = rng.count(mean * SHARE['kube-apiserver'] * 0.5); k > 0; k--) {
          apiLines.push({ t: at(), render: (t) => apiserverLine(rng, c, t, tid) });
          if (rng.chance(malformedRate * 5)) {
            const kind = rng.chance(0.5) ? 'no_klog_header' : 'invalid_utf8';
            truth.malformed[kind]++;
            apiLines.push({
              t: at(),
              render: (t) => (kind === 'no_klog_header' ? headerlessLine(rng) : invalidUtf8Line(rng, t, tid)),
            });
          }
        }
        const auth = streamOf(api.authenticator.name, 'authenticator');
        for (let k = rng.count(mean * SHARE.authenticator * 0.5); k > 0; k--) {
          auth.push({ t: at(), render: (t) => routineAuthenticator(rng, st, t, region, tally) });
        }
      });
      for (const type of ['kube-scheduler', 'kube-controller-manager', 'cloud-controller-manager'] as const) {
        const list =
          type === 'kube-scheduler'
            ? c.scheduler
            : type === 'kube-controller-manager'
              ? c.controllerManager
              : c.cloudControllerManager;
        const s = list[st.leader[type]]!;
        const lines = streamOf(s.name, type);
        const tid = threadId(st, s.name);
        for (let k = rng.count(mean * SHARE[type]); k > 0; k--) {
          if (type === 'kube-scheduler')
            lines.push({
              t: at(),
              render: (t) => {
                const l = schedulerLine(rng, c, t, tid);
                const m = /"Unable to schedule pod; no fit; waiting" pod="([^"]+)"/.exec(l);
                if (m) tally.unschedulable(st.ref, m[1]!);
                return l;
              },
            });
          else if (type === 'kube-controller-manager')
            lines.push({ t: at(), render: (t) => controllerManagerLine(rng, c, t, tid) });
          else lines.push({ t: at(), render: (t) => cloudControllerManagerLine(rng, c, t, tid) });
        }
      }
      if (rng.chance(malformedRate * 20)) {
        truth.malformed.unknown_stream++;
        streamOf(st.unknownStream, 'unknown').push({ t: at(), render: (t) => unknownStreamLine(rng, t) });
      }
      for (const [name, p] of plan) emitStream(st, name, p.logType, p.events);
    }
    // Anything arriving before the next minute starts can no longer be overtaken.
    const horizon = m0 + 60_000;
    pending.sort((a, b) => a.d.arrival.getTime() - b.d.arrival.getTime() || a.order - b.order);
    let n = 0;
    while (n < pending.length && pending[n]!.d.arrival.getTime() < horizon) n++;
    for (const x of pending.splice(0, n)) yield x.d;
  }
  pending.sort((a, b) => a.d.arrival.getTime() - b.d.arrival.getTime() || a.order - b.order);
  for (const x of pending.splice(0)) yield x.d;
  tally.finish();
  return truth;
}

/** Generates everything at once: deliveries in arrival order and the ground truth. */
export function collectTraffic(opts: TrafficOptions): { deliveries: Delivery[]; truth: GroundTruth } {
  const truth = emptyGroundTruth();
  const deliveries = [...generateTraffic(opts, truth)];
  return { deliveries, truth };
}

function routineAuthenticator(rng: Rng, st: ClusterState, t: number, region: string, tally: Tally): string {
  const c = st.spec;
  const kind = rng.weighted([
    ['sts', 45],
    ['granted', 45],
    ['denied', 1.5],
    ['noise', 8],
  ] as const);
  const who = rng.weighted<'node' | 'human' | 'ci'>([
    ['node', 6],
    ['human', 3],
    ['ci', 1],
  ]);
  const id: IamIdentity = who === 'node' ? c.nodeRole : who === 'ci' ? c.ciRole : rng.pick(c.humans);
  if (kind === 'sts') return stsResponseLine(rng, t, id, c.account, region);
  if (kind === 'granted') {
    const username = who === 'node' ? `system:node:${rng.pick(c.nodes)}` : id.username;
    tally.granted(st.ref, id.roleArn, username);
    return accessGrantedLine(rng, t, id, c.account, username);
  }
  if (kind === 'denied') {
    tally.denied(st.ref, null);
    return accessDeniedLine(rng, t, undefined);
  }
  return authenticatorNoiseLine(rng, t);
}

function truncatedAudit(rng: Rng, c: ClusterSpec, t: number): string {
  const full = routineAuditLine(rng, c, t).message;
  return full.slice(0, Math.floor(full.length * (0.3 + rng.next() * 0.6)));
}

function headerlessLine(rng: Rng): string {
  return rng.pick([
    'Flag --insecure-port has been deprecated, This flag has no effect now and will be removed in v1.24.',
    'goroutine 1742 [running]:',
    '\tk8s.io/apiserver/pkg/server/filters.(*timeoutHandler).ServeHTTP.func1()',
    'panic: runtime error: invalid memory address or nil pointer dereference [recovered]',
  ]);
}

function invalidUtf8Line(rng: Rng, t: number, tid: number): string {
  // A lone surrogate survives JSON transport as \ud800 but is not valid UTF-8 once decoded.
  return klogLine(
    rng,
    t,
    'E',
    tid,
    'watch.go:285',
    `"Unable to decode an event from the watch stream" err="invalid character '\ufffd' looking for beginning of value" body="\ud800\u0001\u001b[31m\u00ff\ufffe"`,
  );
}

function unknownStreamLine(rng: Rng, t: number): string {
  return `{"level":"warn","ts":"${isoMicros(t, rng.int(0, 999))}","caller":"etcdserver/util.go:170","msg":"apply request took too long","took":"${rng.int(100, 900)}.${rng.digits(6)}ms","expected-duration":"100ms"}`;
}

type StreamOf = (name: string, logType: LogType) => PlannedEvent[];

interface Plant {
  minute: number;
  cluster: ClusterState;
  apply: (at: () => number, streamOf: StreamOf) => void;
}

/**
 * Places each queryable fact (and one line of each malformed kind) at a deterministic minute
 * and cluster, so even a small run holds every answer the e2e queries ask for.
 */
function planFacts(
  rng: Rng,
  states: ClusterState[],
  duration: number,
  accounts: readonly string[],
  truth: GroundTruth,
  tally: Tally,
): Plant[] {
  const pickCluster = (i: number) => states[i % states.length]!;
  const minuteAt = (f: number) => Math.min(duration - 1, Math.floor(duration * f));
  const planted = truth.planted;
  const admin = (st: ClusterState) =>
    st.spec.humans.find((h) => h.groups.includes('system:masters')) ?? st.spec.humans[0]!;
  const audit0 = (st: ClusterState, streamOf: StreamOf) =>
    streamOf(st.spec.apiServers[0]!.audit.name, 'kube-apiserver-audit');
  const plants: Plant[] = [];

  {
    const st = pickCluster(0);
    const who = admin(st);
    const w = st.spec.workloads[0]!;
    const name = `${w.name}-db-credentials`;
    plants.push({
      minute: minuteAt(0.3),
      cluster: st,
      apply: (at, streamOf) =>
        audit0(st, streamOf).push({
          t: at(),
          render: (t) => {
            const l = secretDeletionLine(rng, st.spec, t, who, w.namespace, name);
            planted.secretDeletions.push({
              ...st.ref,
              username: who.username,
              namespace: w.namespace,
              name,
              time: l.meta.time,
            });
            return tally.audit(st.ref, l);
          },
        }),
    });
  }
  {
    const st = pickCluster(1);
    const who = st.spec.humans[st.spec.humans.length - 1]!;
    const w = st.spec.workloads[1 % st.spec.workloads.length]!;
    const pod = `${w.name}-${w.rsHash}-${rng.hex(5)}`;
    plants.push({
      minute: minuteAt(0.5),
      cluster: st,
      apply: (at, streamOf) => {
        const t0 = at();
        // kubectl authenticates first: the authenticator maps the person's role to a username.
        const auth = streamOf(st.spec.apiServers[0]!.authenticator.name, 'authenticator');
        auth.push({ t: t0 - 40, render: (t) => stsResponseLine(rng, t, who, st.spec.account, st.spec.region) });
        auth.push({
          t: t0 - 30,
          render: (t) => {
            tally.granted(st.ref, who.roleArn, who.username);
            return accessGrantedLine(rng, t, who, st.spec.account, who.username);
          },
        });
        audit0(st, streamOf).push({
          t: t0,
          render: (t) => {
            const l = podExecLine(rng, st.spec, t, who, w.namespace, pod);
            planted.podExecs.push({
              ...st.ref,
              username: who.username,
              namespace: w.namespace,
              pod,
              time: l.meta.time,
            });
            return tally.audit(st.ref, l);
          },
        });
      },
    });
  }
  {
    const st = pickCluster(2);
    const who = admin(st);
    const binding = `tmp-debug-${rng.hex(6)}`;
    const subject = `contractor-${rng.int(100, 999)}@example.com`;
    plants.push({
      minute: minuteAt(0.7),
      cluster: st,
      apply: (at, streamOf) =>
        audit0(st, streamOf).push({
          t: at(),
          render: (t) => {
            const l = clusterAdminBindingLine(rng, st.spec, t, who, binding, subject);
            planted.clusterAdminBindings.push({
              ...st.ref,
              username: who.username,
              binding,
              subject,
              time: l.meta.time,
            });
            return tally.audit(st.ref, l);
          },
        }),
    });
  }
  {
    // A burst of 403s from one person's address: the top forbidden user of its cluster.
    const st = pickCluster(0);
    const who = st.spec.humans.find((h) => !h.groups.includes('system:masters')) ?? st.spec.humans[0]!;
    plants.push({
      minute: minuteAt(0.4),
      cluster: st,
      apply: (at, streamOf) => {
        for (let i = 0; i < PLANTED_FORBIDDEN; i++) {
          const ns = st.spec.namespaces[i % st.spec.namespaces.length]!;
          audit0(st, streamOf).push({
            t: at(),
            render: (t) => tally.audit(st.ref, plantedForbiddenLine(rng, st.spec, t, who, ns)),
          });
        }
      },
    });
  }
  {
    const st = pickCluster(1);
    const arn = `arn:aws:iam::${accounts[accounts.length - 1]}:role/AWSReservedSSO_Developer_${rng.hex(16)}`;
    plants.push({
      minute: minuteAt(0.6),
      cluster: st,
      apply: (at, streamOf) => {
        for (let i = 0; i < 5; i++) {
          streamOf(st.spec.apiServers[i % 2]!.authenticator.name, 'authenticator').push({
            t: at(),
            render: (t) => {
              tally.denied(st.ref, arn);
              return accessDeniedLine(rng, t, arn);
            },
          });
        }
      },
    });
  }
  {
    const st = pickCluster(2);
    const ns = st.spec.workloads[0]!.namespace;
    const pod = `spark-driver-${rng.hex(5)}`;
    plants.push({
      minute: minuteAt(0.45),
      cluster: st,
      apply: (at, streamOf) => {
        const s = st.spec.scheduler[st.leader['kube-scheduler']]!;
        for (let i = 0; i < 4; i++)
          streamOf(s.name, 'kube-scheduler').push({
            t: at(),
            render: (t) => {
              tally.unschedulable(st.ref, `${ns}/${pod}`);
              return unschedulableLine(rng, st.spec, t, 1, ns, pod);
            },
          });
      },
    });
  }
  {
    // kube-controller-manager fails over to its second instance; later lines come from there.
    const st = pickCluster(0);
    plants.push({
      minute: minuteAt(0.6),
      cluster: st,
      apply: (at, streamOf) => {
        st.leader['kube-controller-manager'] = 1;
        const s = st.spec.controllerManager[1]!;
        const lines = streamOf(s.name, 'kube-controller-manager');
        const t0 = at();
        lines.push({ t: t0, render: (t) => leaderLine(rng, t, 1, 'kube-controller-manager', 'attempting') });
        lines.push({
          t: t0 + 1,
          render: (t) => {
            planted.leaderChanges.push({
              ...st.ref,
              component: 'kube-controller-manager',
              logStream: s.name,
              time: new Date(Math.floor(t)).toISOString(),
            });
            return leaderLine(rng, t, 1, 'kube-controller-manager', 'acquired');
          },
        });
      },
    });
  }
  {
    // One line of each malformed kind, so small runs exercise every path.
    const st = pickCluster(states.length - 1);
    plants.push({
      minute: minuteAt(0.2),
      cluster: st,
      apply: (at, streamOf) => {
        const api = st.spec.apiServers[1]!;
        streamOf(api.audit.name, 'kube-apiserver-audit').push({
          t: at(),
          render: (t) => truncatedAudit(rng, st.spec, t),
        });
        const klog = streamOf(api.apiserver.name, 'kube-apiserver');
        klog.push({ t: at(), render: () => headerlessLine(rng) });
        klog.push({ t: at(), render: (t) => invalidUtf8Line(rng, t, 11) });
        streamOf(st.unknownStream, 'unknown').push({ t: at(), render: (t) => unknownStreamLine(rng, t) });
        truth.malformed.truncated_audit++;
        truth.malformed.no_klog_header++;
        truth.malformed.invalid_utf8++;
        truth.malformed.unknown_stream++;
      },
    });
  }
  return plants;
}
