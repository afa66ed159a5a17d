import type { ClusterSpec } from './fleet.ts';
import type { Rng } from './rng.ts';
import { goTime, klogStamp } from './time.ts';

type Severity = 'I' | 'W' | 'E';

/** Renders one klog line: `I1127 03:04:05.123456      11 file.go:42] message`. */
export function klogLine(
  rng: Rng,
  t: number,
  severity: Severity,
  threadId: number,
  source: string,
  message: string,
): string {
  return `${severity}${klogStamp(t, rng.int(0, 999))} ${String(threadId).padStart(7, ' ')} ${source}] ${message}`;
}

function podName(rng: Rng, c: ClusterSpec): { ns: string; pod: string } {
  const w = rng.pick(c.workloads);
  return { ns: w.namespace, pod: `${w.name}-${w.rsHash}-${rng.hex(5)}` };
}

/** kube-apiserver: traces with continuation lines, HTTP logs, webhook warnings, multi-line blocks. */
export function apiserverLine(rng: Rng, c: ClusterSpec, t: number, tid: number): string {
  const kind = rng.weighted([
    ['trace', 3],
    ['http', 3],
    ['quota', 1],
    ['alloc', 1],
    ['webhook', 1],
    ['multiline', 0.5],
    ['cacher', 1],
    ['status-error', 0.5],
  ] as const);
  switch (kind) {
    case 'trace': {
      const id = rng.int(100_000_000, 2_147_483_647);
      const node = rng.pick(c.nodes);
      const total = rng.int(500, 2500);
      const stamp = new Date(t - total).toISOString().slice(11, 23);
      const url = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`;
      return klogLine(
        rng,
        t,
        'I',
        tid,
        `trace.go:236`,
        `Trace[${id}]: "Update" accept:application/vnd.kubernetes.protobuf, */*,audit-id:${rng.uuid()},client:${rng.pick(c.nodeIps)},protocol:HTTP/2.0,resource:leases,scope:resource,url:${url},user-agent:kubelet/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit},verb:PUT (${stamp}) (total time: ${total}ms):\n` +
          `Trace[${id}]: ["GuaranteedUpdate etcd3" audit-id:${rng.uuid()},key:/leases/kube-node-lease/${node},type:*coordination.Lease,resource:leases.coordination.k8s.io ${total - 1}ms (${stamp})\n` +
          `Trace[${id}]:  ---"Txn call completed" ${total - 2}ms (${new Date(t).toISOString().slice(11, 23)})]\n` +
          `Trace[${id}]: [${total}ms] [${total}ms] END`,
      );
    }
    case 'http': {
      const { ns, pod } = podName(rng, c);
      const code = rng.weighted([
        [200, 8],
        [404, 1],
        [500, 0.2],
      ] as const);
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'httplog.go:134',
        `"HTTP" verb="GET" URI="/api/v1/namespaces/${ns}/pods/${pod}/log?container=app&follow=true" latency="${rng.int(1, 300)}.${rng.digits(6)}ms" userAgent="kubectl/v${c.version}.2 (linux/amd64) kubernetes/${c.gitCommit}" audit-ID="${rng.uuid()}" srcIP="${rng.pick(c.humans).sourceIp}:${rng.int(30000, 65000)}" resp=${code}`,
      );
    }
    case 'quota':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'controller.go:615',
        `quota admission added evaluator for: ${rng.pick(['endpoints', 'leases.coordination.k8s.io', 'replicasets.apps', 'deployments.apps', 'serviceaccounts', 'events.events.k8s.io'])}`,
      );
    case 'alloc': {
      const w = rng.pick(c.workloads);
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'alloc.go:330',
        `"allocated clusterIPs" service="${w.namespace}/${w.name}" clusterIPs={"IPv4":"172.20.${rng.int(0, 255)}.${rng.int(1, 254)}"}`,
      );
    }
    case 'webhook':
      return klogLine(
        rng,
        t,
        'W',
        tid,
        'dispatcher.go:217',
        `Failed calling webhook, failing open vpc.k8s.aws: failed calling webhook "vpc.k8s.aws": failed to call webhook: Post "https://aws-load-balancer-webhook-service.kube-system.svc:443/mutate-v1-pod?timeout=10s": context deadline exceeded`,
      );
    case 'multiline': {
      const w = rng.pick(c.workloads);
      return klogLine(
        rng,
        t,
        'E',
        tid,
        'fieldmanager.go:155',
        `"[SHOULD NOT HAPPEN] failed to update managedFields" versionKind="apps/v1, Kind=Deployment" namespace="${w.namespace}" name="${w.name}" err=<\n\tfailed to convert new object (${w.namespace}/${w.name}; apps/v1, Kind=Deployment) to smd typed: .spec.template.spec.containers[name="app"].env:\n\tduplicate entries for key [name="LOG_LEVEL"]\n >`,
      );
    }
    case 'cacher':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'cacher.go:1164',
        `cacher (${rng.pick(['pods', 'configmaps', 'leases.coordination.k8s.io', 'endpointslices.discovery.k8s.io'])}): ${rng.int(1, 9)} objects queued in incoming channel.`,
      );
    case 'status-error':
      return klogLine(
        rng,
        t,
        'E',
        tid,
        'status.go:71',
        `apiserver received an error that is not an metav1.Status: &errors.errorString{s:"http2: stream closed"}: http2: stream closed`,
      );
  }
}

/** kube-scheduler: bindings, events, the odd unschedulable pod. */
export function schedulerLine(rng: Rng, c: ClusterSpec, t: number, tid: number): string {
  const { ns, pod } = podName(rng, c);
  const kind = rng.weighted([
    ['bound', 6],
    ['attempt', 2],
    ['delete', 1],
    ['unschedulable', 0.2],
  ] as const);
  if (kind === 'bound') {
    const n = c.nodes.length;
    return klogLine(
      rng,
      t,
      'I',
      tid,
      'schedule_one.go:314',
      `"Successfully bound pod to node" pod="${ns}/${pod}" node="${rng.pick(c.nodes)}" evaluatedNodes=${n} feasibleNodes=${rng.int(1, n)}`,
    );
  }
  if (kind === 'attempt')
    return klogLine(rng, t, 'I', tid, 'schedule_one.go:83', `"Attempting to schedule pod" pod="${ns}/${pod}"`);
  if (kind === 'delete')
    return klogLine(rng, t, 'I', tid, 'eventhandlers.go:186', `"Delete event for scheduled pod" pod="${ns}/${pod}"`);
  return unschedulableLine(rng, c, t, tid, ns, pod);
}

/** `"Unable to schedule pod; no fit; waiting"` with the reason in `err=`. */
export function unschedulableLine(rng: Rng, c: ClusterSpec, t: number, tid: number, ns: string, pod: string): string {
  const n = c.nodes.length;
  return klogLine(
    rng,
    t,
    'I',
    tid,
    'schedule_one.go:1055',
    `"Unable to schedule pod; no fit; waiting" pod="${ns}/${pod}" err="0/${n} nodes are available: ${n} Insufficient memory. preemption: 0/${n} nodes are available: ${n} No preemption victims found for incoming pod."`,
  );
}

/** Leader election lines for a kube-system lease (`acquired` marks a leadership change). */
export function leaderLine(rng: Rng, t: number, tid: number, lease: string, phase: 'attempting' | 'acquired'): string {
  return phase === 'attempting'
    ? klogLine(rng, t, 'I', tid, 'leaderelection.go:257', `attempting to acquire leader lease kube-system/${lease}...`)
    : klogLine(rng, t, 'I', tid, 'leaderelection.go:271', `successfully acquired lease kube-system/${lease}`);
}

/** kube-controller-manager: events, replica sets, HPA errors, node lifecycle, GC. */
export function controllerManagerLine(rng: Rng, c: ClusterSpec, t: number, tid: number): string {
  const w = rng.pick(c.workloads);
  const kind = rng.weighted([
    ['scaled', 3],
    ['event', 3],
    ['sync', 2],
    ['hpa', 1],
    ['node', 0.5],
    ['gc', 0.5],
  ] as const);
  switch (kind) {
    case 'scaled':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'event.go:389',
        `"Event occurred" object="${w.namespace}/${w.name}" fieldPath="" kind="Deployment" apiVersion="apps/v1" type="Normal" reason="ScalingReplicaSet" message="Scaled ${rng.pick(['up', 'down'])} replica set ${w.name}-${w.rsHash} to ${rng.int(1, 6)}"`,
      );
    case 'event': {
      const pod = `${w.name}-${w.rsHash}-${rng.hex(5)}`;
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'event.go:389',
        `"Event occurred" object="${w.namespace}/${w.name}-${w.rsHash}" fieldPath="" kind="ReplicaSet" apiVersion="apps/v1" type="Normal" reason="SuccessfulCreate" message="Created pod: ${pod}"`,
      );
    }
    case 'sync':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'replica_set.go:676',
        `"Finished syncing" kind="ReplicaSet" key="${w.namespace}/${w.name}-${w.rsHash}" duration="${rng.int(20, 900)}.${rng.digits(3)}µs"`,
      );
    case 'hpa':
      return klogLine(
        rng,
        t,
        'E',
        tid,
        'horizontal.go:270',
        `failed to compute desired number of replicas based on listed metrics for Deployment/${w.namespace}/${w.name}: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API`,
      );
    case 'node':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'node_lifecycle_controller.go:1226',
        `"Controller detected that some Nodes are Ready. Exiting master disruption mode"`,
      );
    case 'gc':
      return klogLine(
        rng,
        t,
        'I',
        tid,
        'garbagecollector.go:549',
        `"Processing item" item="[v1/Pod, namespace: ${w.namespace}, name: ${w.name}-${w.rsHash}-${rng.hex(5)}, uid: ${rng.uuid()}]" virtual=false`,
      );
  }
}

/** cloud-controller-manager: node tagging, load balancers, serving cert lines. */
export function cloudControllerManagerLine(rng: Rng, c: ClusterSpec, t: number, tid: number): string {
  const kind = rng.weighted([
    ['tagging', 5],
    ['lb', 2],
    ['cert', 0.3],
    ['lb-error', 0.3],
  ] as const);
  const w = rng.pick(c.workloads);
  if (kind === 'tagging')
    return klogLine(
      rng,
      t,
      'I',
      tid,
      'tagging_controller.go:152',
      `Skip putting node ${rng.pick(c.nodes)} in work queue since it was already tagged earlier.`,
    );
  if (kind === 'lb')
    return klogLine(
      rng,
      t,
      'I',
      tid,
      'controller.go:398',
      `Ensuring load balancer for service ${w.namespace}/${w.name}`,
    );
  if (kind === 'cert')
    return klogLine(
      rng,
      t,
      'I',
      tid,
      'tlsconfig.go:200',
      `"Loaded serving cert" certName="Generated self signed cert" certDetail="\\"localhost@${Math.floor(t / 1000)}\\" [serving] validServingFor=[127.0.0.1,localhost,localhost] issuer=\\"localhost-ca@${Math.floor(t / 1000)}\\" (${goTime(t - 3_600_000, 0).slice(0, 19)} +0000 UTC to ${goTime(t + 31_536_000_000, 0).slice(0, 19)} +0000 UTC (now=${goTime(t, rng.int(0, 999_999))}))"`,
    );
  return klogLine(
    rng,
    t,
    'E',
    tid,
    'controller.go:298',
    `error processing service ${w.namespace}/${w.name} (will retry): failed to ensure load balancer: error creating load balancer listener: "TooManyListeners: Too many listeners for load balancer"`,
  );
}
