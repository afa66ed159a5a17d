import type { ClusterSpec, IamIdentity } from './fleet.ts';
import type { Rng } from './rng.ts';
import { isoMicros } from './time.ts';

/** What the generator remembers about one audit event for its ground truth. */
export interface AuditMeta {
  readonly username: string;
  readonly sourceIp: string;
  readonly verb: string;
  readonly resource: string;
  readonly code: number;
  /** requestReceivedTimestamp, RFC 3339 with microseconds. */
  readonly time: string;
}

/** One rendered audit event (the CloudWatch message) and what the ground truth needs of it. */
export interface AuditLine {
  readonly message: string;
  readonly meta: AuditMeta;
}

interface AuditUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

interface ObjectRef {
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion: string;
  resourceVersion?: string;
}

interface AuditSpec {
  level: 'Metadata' | 'Request' | 'RequestResponse';
  stage?: 'ResponseComplete' | 'ResponseStarted';
  verb: string;
  uri: string;
  user: AuditUser;
  sourceIp: string;
  userAgent: string;
  objectRef?: ObjectRef;
  code: number;
  failure?: { message: string; reason: string; details?: Record<string, unknown> };
  requestObject?: unknown;
  responseObject?: unknown;
  latencyMs: number;
  reason: string;
  extraAnnotations?: Record<string, string>;
}

const RESOURCES: Record<string, { group: string; version: string; namespaced: boolean }> = {
  pods: { group: '', version: 'v1', namespaced: true },
  configmaps: { group: '', version: 'v1', namespaced: true },
  secrets: { group: '', version: 'v1', namespaced: true },
  services: { group: '', version: 'v1', namespaced: true },
  endpoints: { group: '', version: 'v1', namespaced: true },
  serviceaccounts: { group: '', version: 'v1', namespaced: true },
  events: { group: '', version: 'v1', namespaced: true },
  nodes: { group: '', version: 'v1', namespaced: false },
  namespaces: { group: '', version: 'v1', namespaced: false },
  persistentvolumeclaims: { group: '', version: 'v1', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', namespaced: true },
  deployments: { group: 'apps', version: 'v1', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', namespaced: true },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', namespaced: true },
  horizontalpodautoscalers: { group: 'autoscaling', version: 'v2', namespaced: true },
  poddisruptionbudgets: { group: 'policy', version: 'v1', namespaced: true },
  clusterrolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: false },
  rolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true },
  customresourcedefinitions: { group: 'apiextensions.k8s.io', version: 'v1', namespaced: false },
  validatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', namespaced: false },
};

const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  'endpoint-controller',
  'horizontal-pod-autoscaler',
  'generic-garbage-collector',
  'namespace-controller',
  'resourcequota-controller',
  'daemon-set-controller',
  'node-controller',
];

function resourcePath(resource: string, namespace?: string, name?: string, subresource?: string): string {
  const r = RESOURCES[resource]!;
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (namespace !== undefined && r.namespaced) p += `/namespaces/${namespace}`;
  p += `/${resource}`;
  if (name !== undefined) p += `/${name}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

function objectRef(
  rng: Rng,
  resource: string,
  namespace?: string,
  name?: string,
  subresource?: string,
  withUid = false,
): ObjectRef {
  const r = RESOURCES[resource]!;
  // Field order follows k8s.io/apiserver ObjectReference, as the audit backend writes it.
  const ref: Partial<ObjectRef> & { resource: string } = { resource };
  if (namespace !== undefined && r.namespaced) ref.namespace = namespace;
  if (name !== undefined) ref.name = name;
  if (withUid) ref.uid = rng.uuid();
  if (r.group !== '') ref.apiGroup = r.group;
  ref.apiVersion = r.version;
  if (withUid) ref.resourceVersion = String(rng.int(1_000_000, 99_999_999));
  if (subresource !== undefined) ref.subresource = subresource;
  return ref as ObjectRef;
}

function iamUser(id: IamIdentity, account: string, username = id.username): AuditUser {
  return {
    username,
    uid: `aws-iam-authenticator:${account}:${id.roleId}`,
    groups: [...id.groups],
    extra: {
      accessKeyId: [id.accessKeyId],
      arn: [id.sessionArn],
      canonicalArn: [id.roleArn],
      principalId: [id.roleId],
      sessionName: [id.sessionName],
      'sigs.k8s.io/aws-iam-authenticator/principalId': [id.roleId],
    },
  };
}

function serviceAccount(rng: Rng, namespace: string, name: string): AuditUser {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    uid: rng.uuid(),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${rng.uuid()}`] },
  };
}

function rbacReason(
  kind: 'ClusterRoleBinding' | 'RoleBinding',
  binding: string,
  role: string,
  subject: string,
): string {
  return `RBAC: allowed by ${kind} "${binding}" of ClusterRole "${role}" to ${subject}`;
}

function render(rng: Rng, t: number, spec: AuditSpec, received: string): string {
  const stageMs = t + spec.latencyMs;
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: spec.level,
    auditID: rng.uuid(),
    stage: spec.stage ?? 'ResponseComplete',
    requestURI: spec.uri,
    verb: spec.verb,
    user: spec.user,
    sourceIPs: [spec.sourceIp],
    userAgent: spec.userAgent,
  };
  if (spec.objectRef) ev.objectRef = spec.objectRef;
  ev.responseStatus = spec.failure
    ? { metadata: {}, status: 'Failure', ...spec.failure, code: spec.code }
    : { metadata: {}, code: spec.code };
  if (spec.requestObject !== undefined) ev.requestObject = spec.requestObject;
  if (spec.responseObject !== undefined) ev.responseObject = spec.responseObject;
  ev.requestReceivedTimestamp = received;
  ev.stageTimestamp = isoMicros(stageMs, rng.int(0, 999));
  ev.annotations = {
    'authorization.k8s.io/decision': spec.code === 403 ? 'forbid' : 'allow',
    'authorization.k8s.io/reason': spec.reason,
    ...spec.extraAnnotations,
  };
  // Go's encoding/json escapes & < > in strings; keep that shape.
  return JSON.stringify(ev).replace(/[&<>]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function line(rng: Rng, t: number, spec: AuditSpec): AuditLine {
  const received = isoMicros(t, rng.int(0, 999));
  return {
    message: render(rng, t, spec, received),
    meta: {
      username: spec.user.username,
      sourceIp: spec.sourceIp,
      verb: spec.verb,
      resource: spec.objectRef?.resource ?? '',
      code: spec.code,
      time: received,
    },
  };
}

function latency(rng: Rng): number {
  return rng.chance(0.05) ? rng.int(100, 2500) : rng.int(1, 40);
}

function nodeUser(c: ClusterSpec, i: number): AuditUser {
  const node = c.nodes[i]!;
  return { ...iamUser(c.nodeRole, c.account, `system:node:${node}`), groups: ['system:nodes', 'system:authenticated'] };
}

/** Routine audit traffic: leases, controllers, kubelets, watches, people, CI and the odd 403/404/409. */
export function routineAuditLine(rng: Rng, c: ClusterSpec, t: number): AuditLine {
  const kind = rng.weighted([
    ['lease', 28],
    ['controller', 26],
    ['kubelet', 20],
    ['watch', 6],
    ['human', 8],
    ['ci', 4],
    ['nonresource', 4],
    ['event', 3],
    ['forbidden', 0.3],
    ['conflict', 0.4],
  ] as const);
  const apiIp = rng.pick(c.apiServers).ip;
  switch (kind) {
    case 'lease': {
      const who = rng.weighted([
        ['node', 6],
        ['kube-scheduler', 1],
        ['kube-controller-manager', 1],
        ['cloud-controller-manager', 1],
      ] as const);
      if (who === 'node') {
        const i = rng.int(0, c.nodes.length - 1);
        const node = c.nodes[i]!;
        return line(rng, t, {
          level: 'Metadata',
          verb: 'update',
          uri: `${resourcePath('leases', 'kube-node-lease', node)}?timeout=10s`,
          user: nodeUser(c, i),
          sourceIp: c.nodeIps[i]!,
          userAgent: `kubelet/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}`,
          objectRef: objectRef(rng, 'leases', 'kube-node-lease', node, undefined, true),
          code: 200,
          latencyMs: latency(rng),
          reason: '',
        });
      }
      const user =
        who === 'cloud-controller-manager'
          ? serviceAccount(rng, 'kube-system', 'cloud-controller-manager')
          : { username: `system:${who}`, groups: ['system:authenticated'] };
      return line(rng, t, {
        level: 'Metadata',
        verb: rng.chance(0.9) ? 'update' : 'get',
        uri: `${resourcePath('leases', 'kube-system', who)}?timeout=5s`,
        user,
        sourceIp: apiIp,
        userAgent: `${who}/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}/leader-election`,
        objectRef: objectRef(rng, 'leases', 'kube-system', who, undefined, true),
        code: 200,
        latencyMs: latency(rng),
        reason: rbacReason('ClusterRoleBinding', `system:${who}`, `system:${who}`, `User "system:${who}"`),
      });
    }
    case 'controller': {
      const ctl = rng.pick(CONTROLLERS);
      const w = rng.pick(c.workloads);
      const resource = rng.pick([
        'pods',
        'replicasets',
        'deployments',
        'endpointslices',
        'endpoints',
        'events',
      ] as const);
      const verb = rng.weighted([
        ['get', 3],
        ['list', 2],
        ['update', 2],
        ['patch', 1],
        ['create', 1],
      ] as const);
      const named = verb !== 'list' && verb !== 'create';
      const objName = resource === 'pods' ? `${w.name}-${w.rsHash}-${rng.hex(5)}` : w.name;
      return line(rng, t, {
        level: 'Metadata',
        verb,
        uri:
          resourcePath(resource, w.namespace, named ? objName : undefined) +
          (verb === 'list' ? '?limit=500&resourceVersion=0' : ''),
        user: serviceAccount(rng, 'kube-system', ctl),
        sourceIp: apiIp,
        userAgent: `kube-controller-manager/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}/system:serviceaccount:kube-system:${ctl}`,
        objectRef: objectRef(rng, resource, w.namespace, named ? objName : undefined, undefined, named),
        code: verb === 'create' ? 201 : rng.chance(0.01) ? 404 : 200,
        latencyMs: latency(rng),
        reason: rbacReason(
          'ClusterRoleBinding',
          `system:controller:${ctl}`,
          `system:controller:${ctl}`,
          `ServiceAccount "${ctl}/kube-system"`,
        ),
      });
    }
    case 'kubelet': {
      const i = rng.int(0, c.nodes.length - 1);
      const node = c.nodes[i]!;
      const w = rng.pick(c.workloads);
      const pod = `${w.name}-${w.rsHash}-${rng.hex(5)}`;
      const what = rng.weighted([
        ['node-status', 3],
        ['pod-status', 3],
        ['configmap', 2],
        ['secret', 1],
        ['get-node', 2],
      ] as const);
      const base = {
        level: 'Metadata' as const,
        user: nodeUser(c, i),
        sourceIp: c.nodeIps[i]!,
        userAgent: `kubelet/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}`,
        latencyMs: latency(rng),
        reason: '',
      };
      if (what === 'node-status')
        return line(rng, t, {
          ...base,
          verb: 'patch',
          uri: `${resourcePath('nodes', undefined, node, 'status')}?timeout=10s`,
          objectRef: objectRef(rng, 'nodes', undefined, node, 'status'),
          code: 200,
        });
      if (what === 'pod-status')
        return line(rng, t, {
          ...base,
          verb: 'patch',
          uri: resourcePath('pods', w.namespace, pod, 'status'),
          objectRef: objectRef(rng, 'pods', w.namespace, pod, 'status'),
          code: 200,
        });
      if (what === 'get-node')
        return line(rng, t, {
          ...base,
          verb: 'get',
          uri: `${resourcePath('nodes', undefined, node)}?resourceVersion=0&timeout=10s`,
          objectRef: objectRef(rng, 'nodes', undefined, node),
          code: 200,
        });
      const res = what === 'configmap' ? 'configmaps' : 'secrets';
      const name = what === 'configmap' ? 'kube-root-ca.crt' : `${w.name}-tls`;
      return line(rng, t, {
        ...base,
        verb: 'list',
        uri: `${resourcePath(res, w.namespace)}?fieldSelector=metadata.name%3D${name}&limit=500&resourceVersion=0`,
        objectRef: objectRef(rng, res, w.namespace),
        code: 200,
      });
    }
    case 'watch': {
      const resource = rng.pick(['pods', 'configmaps', 'services', 'nodes', 'endpointslices'] as const);
      const ns = RESOURCES[resource]!.namespaced ? rng.pick(c.namespaces) : undefined;
      const started = rng.chance(0.5);
      return line(rng, t, {
        level: 'Metadata',
        stage: started ? 'ResponseStarted' : 'ResponseComplete',
        verb: 'watch',
        uri: `${resourcePath(resource, ns)}?allowWatchBookmarks=true&resourceVersion=${rng.int(1_000_000, 99_999_999)}&timeout=${rng.int(5, 9)}m${rng.int(0, 59)}s&timeoutSeconds=${rng.int(300, 599)}&watch=true`,
        user: serviceAccount(
          rng,
          'kube-system',
          rng.pick(['coredns', 'aws-node', 'kube-proxy', 'ebs-csi-controller-sa']),
        ),
        sourceIp: rng.pick(c.nodeIps),
        userAgent: `${rng.pick(['coredns', 'aws-node', 'kube-proxy'])}/v0.0.0 (linux/amd64) kubernetes/$Format`,
        objectRef: objectRef(rng, resource, ns),
        code: 200,
        latencyMs: started ? rng.int(1, 5) : rng.int(300_000, 540_000),
        reason: rbacReason(
          'ClusterRoleBinding',
          'system:coredns',
          'system:coredns',
          'ServiceAccount "coredns/kube-system"',
        ),
      });
    }
    case 'human': {
      const h = rng.pick(c.humans);
      const w = rng.pick(c.workloads);
      const act = rng.weighted([
        ['get-pods', 4],
        ['get-deploy', 2],
        ['logs', 2],
        ['describe-node', 1],
        ['get-ns', 1],
      ] as const);
      const base = {
        level: 'Metadata' as const,
        user: iamUser(h, c.account),
        sourceIp: h.sourceIp,
        userAgent: h.userAgent,
        latencyMs: latency(rng),
        reason: h.groups.includes('system:masters')
          ? ''
          : rbacReason('ClusterRoleBinding', 'eks:read-only', 'view', `Group "${h.groups[0]}"`),
      };
      if (act === 'get-pods')
        return line(rng, t, {
          ...base,
          verb: 'list',
          uri: `${resourcePath('pods', w.namespace)}?limit=500`,
          objectRef: objectRef(rng, 'pods', w.namespace),
          code: 200,
        });
      if (act === 'get-deploy')
        return line(rng, t, {
          ...base,
          verb: 'get',
          uri: resourcePath('deployments', w.namespace, w.name),
          objectRef: objectRef(rng, 'deployments', w.namespace, w.name),
          code: 200,
        });
      if (act === 'logs') {
        const pod = `${w.name}-${w.rsHash}-${rng.hex(5)}`;
        return line(rng, t, {
          ...base,
          verb: 'get',
          uri: `${resourcePath('pods', w.namespace, pod, 'log')}?container=app&follow=true&tailLines=100`,
          objectRef: objectRef(rng, 'pods', w.namespace, pod, 'log'),
          code: 200,
        });
      }
      if (act === 'describe-node') {
        const node = rng.pick(c.nodes);
        return line(rng, t, {
          ...base,
          verb: 'get',
          uri: resourcePath('nodes', undefined, node),
          objectRef: objectRef(rng, 'nodes', undefined, node),
          code: 200,
        });
      }
      return line(rng, t, {
        ...base,
        verb: 'list',
        uri: `${resourcePath('namespaces')}?limit=500`,
        objectRef: objectRef(rng, 'namespaces'),
        code: 200,
      });
    }
    case 'ci': {
      const w = rng.pick(c.workloads.filter((x) => x.namespace !== 'kube-system'));
      const image = `${c.account}.dkr.ecr.${c.region}.amazonaws.com/${w.name}:${rng.hex(12)}`;
      return line(rng, t, {
        level: 'Request',
        verb: 'patch',
        uri: `${resourcePath('deployments', w.namespace, w.name)}?fieldManager=helm`,
        user: iamUser(c.ciRole, c.account),
        sourceIp: c.ciRole.sourceIp,
        userAgent: c.ciRole.userAgent,
        objectRef: objectRef(rng, 'deployments', w.namespace, w.name),
        code: 200,
        requestObject: {
          metadata: { annotations: { 'meta.helm.sh/release-name': w.name, 'deployment.kubernetes.io/revision': '' } },
          spec: {
            template: {
              metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': isoMicros(t, 0).slice(0, 19) + 'Z' } },
              spec: { containers: [{ name: 'app', image }] },
            },
          },
        },
        latencyMs: latency(rng),
        reason: rbacReason('RoleBinding', 'deployers', 'edit', 'Group "deployers"'),
      });
    }
    case 'nonresource': {
      const path = rng.pick(['/version', '/readyz', '/livez', '/api', '/apis', '/openapi/v2']);
      return line(rng, t, {
        level: 'Metadata',
        verb: 'get',
        uri: path === '/readyz' || path === '/livez' ? `${path}?verbose` : path,
        user: rng.chance(0.5)
          ? { username: 'eks:cloud-controller-manager', groups: ['system:authenticated'] }
          : serviceAccount(rng, 'kube-system', 'aws-load-balancer-controller'),
        sourceIp: apiIp,
        userAgent: `Go-http-client/2.0`,
        code: 200,
        latencyMs: latency(rng),
        reason: rbacReason(
          'ClusterRoleBinding',
          'system:discovery',
          'system:discovery',
          'Group "system:authenticated"',
        ),
      });
    }
    case 'event': {
      const w = rng.pick(c.workloads);
      return line(rng, t, {
        level: 'Metadata',
        verb: 'create',
        uri: resourcePath('events', w.namespace),
        user: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
        sourceIp: apiIp,
        userAgent: `kube-scheduler/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}/scheduler`,
        objectRef: objectRef(rng, 'events', w.namespace),
        code: 201,
        latencyMs: latency(rng),
        reason: rbacReason(
          'ClusterRoleBinding',
          'system:kube-scheduler',
          'system:kube-scheduler',
          'User "system:kube-scheduler"',
        ),
      });
    }
    case 'forbidden': {
      const sa = rng.pick(['prometheus', 'fluent-bit', 'external-dns', 'cert-manager']);
      const ns = rng.pick(c.namespaces);
      return forbidden(rng, t, serviceAccount(rng, 'monitoring', sa), rng.pick(c.nodeIps), `${sa}/v1.0.0`, ns);
    }
    case 'conflict': {
      const w = rng.pick(c.workloads);
      return line(rng, t, {
        level: 'Metadata',
        verb: 'update',
        uri: resourcePath('replicasets', w.namespace, `${w.name}-${w.rsHash}`, 'status'),
        user: serviceAccount(rng, 'kube-system', 'replicaset-controller'),
        sourceIp: apiIp,
        userAgent: `kube-controller-manager/${c.gitVersion} (linux/amd64) kubernetes/${c.gitCommit}/system:serviceaccount:kube-system:replicaset-controller`,
        objectRef: objectRef(rng, 'replicasets', w.namespace, `${w.name}-${w.rsHash}`, 'status'),
        code: 409,
        failure: {
          message: `Operation cannot be fulfilled on replicasets.apps "${w.name}-${w.rsHash}": the object has been modified; please apply your changes to the latest version and try again`,
          reason: 'Conflict',
          details: { name: `${w.name}-${w.rsHash}`, group: 'apps', kind: 'replicasets' },
        },
        latencyMs: latency(rng),
        reason: '',
      });
    }
  }
}

function forbidden(rng: Rng, t: number, user: AuditUser, sourceIp: string, userAgent: string, ns: string): AuditLine {
  const resource = 'secrets';
  return line(rng, t, {
    level: 'Metadata',
    verb: 'list',
    uri: `${resourcePath(resource, ns)}?limit=500`,
    user,
    sourceIp,
    userAgent,
    objectRef: objectRef(rng, resource, ns),
    code: 403,
    failure: {
      message: `secrets is forbidden: User "${user.username}" cannot list resource "secrets" in API group "" in the namespace "${ns}"`,
      reason: 'Forbidden',
      details: { kind: 'secrets' },
    },
    latencyMs: rng.int(0, 3),
    reason: '',
  });
}

/** A person deleting a secret (planted). */
export function secretDeletionLine(
  rng: Rng,
  c: ClusterSpec,
  t: number,
  who: IamIdentity,
  namespace: string,
  name: string,
): AuditLine {
  return line(rng, t, {
    level: 'Metadata',
    verb: 'delete',
    uri: resourcePath('secrets', namespace, name),
    user: iamUser(who, c.account),
    sourceIp: who.sourceIp,
    userAgent: who.userAgent,
    objectRef: objectRef(rng, 'secrets', namespace, name),
    code: 200,
    latencyMs: rng.int(3, 20),
    reason: '',
  });
}

/** `kubectl exec` into a pod (planted): create pods/exec, answered with 101 Switching Protocols. */
export function podExecLine(
  rng: Rng,
  c: ClusterSpec,
  t: number,
  who: IamIdentity,
  namespace: string,
  pod: string,
): AuditLine {
  return line(rng, t, {
    level: 'Metadata',
    verb: 'create',
    uri: `${resourcePath('pods', namespace, pod, 'exec')}?command=%2Fbin%2Fsh&container=app&stdin=true&stdout=true&tty=true`,
    user: iamUser(who, c.account),
    sourceIp: who.sourceIp,
    userAgent: who.userAgent,
    objectRef: objectRef(rng, 'pods', namespace, pod, 'exec'),
    code: 101,
    latencyMs: rng.int(30_000, 600_000),
    reason: '',
  });
}

/** A new ClusterRoleBinding to cluster-admin (planted), logged with its request and response. */
export function clusterAdminBindingLine(
  rng: Rng,
  c: ClusterSpec,
  t: number,
  who: IamIdentity,
  bindingName: string,
  subject: string,
): AuditLine {
  const body = {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: { name: bindingName, creationTimestamp: null },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: subject }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  };
  return line(rng, t, {
    level: 'RequestResponse',
    verb: 'create',
    uri: `${resourcePath('clusterrolebindings')}?fieldManager=kubectl-create&fieldValidation=Strict`,
    user: iamUser(who, c.account),
    sourceIp: who.sourceIp,
    userAgent: who.userAgent,
    objectRef: objectRef(rng, 'clusterrolebindings', undefined, bindingName),
    code: 201,
    requestObject: body,
    responseObject: {
      ...body,
      metadata: {
        name: bindingName,
        uid: rng.uuid(),
        resourceVersion: String(rng.int(1_000_000, 99_999_999)),
        creationTimestamp: isoMicros(t, 0).slice(0, 19) + 'Z',
      },
    },
    latencyMs: rng.int(5, 30),
    reason: '',
  });
}

/** Repeated 403s from one identity and address (planted). */
export function plantedForbiddenLine(
  rng: Rng,
  c: ClusterSpec,
  t: number,
  who: IamIdentity,
  namespace: string,
): AuditLine {
  return forbidden(rng, t, iamUser(who, c.account), who.sourceIp, who.userAgent, namespace);
}

/**
 * A large RequestResponse event (≈`targetBytes`): a CRD applied by CI or a dashboards
 * ConfigMap, the kind of body that makes a few audit events 50–200 KB.
 */
export function largeAuditLine(rng: Rng, c: ClusterSpec, t: number, targetBytes: number): AuditLine {
  const crd = rng.chance(0.5);
  const props: Record<string, unknown> = {};
  let size = 0;
  // The body appears twice (request and response object).
  const bodyBytes = targetBytes / 2 - 1500;
  for (let i = 0; size < bodyBytes; i++) {
    const key = crd ? `field${i}${rng.hex(4)}` : `dashboard-${i}.json`;
    const value = crd
      ? {
          description: `${rng.pick(['Specifies', 'Defines', 'Controls', 'Overrides'])} the ${rng.pick(['retention', 'replica', 'timeout', 'selector', 'affinity'])} settings for this resource. ${'More detail about the field. '.repeat(rng.int(1, 6))}`,
          type: rng.pick(['string', 'integer', 'object', 'boolean', 'array']),
          'x-kubernetes-preserve-unknown-fields': rng.chance(0.2),
        }
      : JSON.stringify({
          title: `Service ${i}`,
          panels: Array.from({ length: 6 }, (_, p) => ({
            id: p,
            type: 'timeseries',
            targets: [{ expr: `sum(rate(http_requests_total{job="svc-${i}",code=~"5.."}[5m]))` }],
          })),
        });
    props[key] = value;
    size += key.length + JSON.stringify(value).length + 4;
  }
  if (crd) {
    const name = `${rng.pick(['policies', 'certificates', 'rollouts', 'scaledobjects'])}.example.io`;
    const body = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name, annotations: { 'controller-gen.kubebuilder.io/version': 'v0.16.4' } },
      spec: {
        group: 'example.io',
        names: { kind: 'Policy', plural: name.split('.')[0] },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: props } } },
            },
          },
        ],
      },
    };
    return line(rng, t, {
      level: 'RequestResponse',
      verb: 'update',
      uri: resourcePath('customresourcedefinitions', undefined, name),
      user: iamUser(c.ciRole, c.account),
      sourceIp: c.ciRole.sourceIp,
      userAgent: c.ciRole.userAgent,
      objectRef: objectRef(rng, 'customresourcedefinitions', undefined, name),
      code: 200,
      requestObject: body,
      responseObject: { ...body, status: { conditions: [{ type: 'Established', status: 'True' }] } },
      latencyMs: rng.int(20, 300),
      reason: '',
    });
  }
  const body = {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'grafana-dashboards', namespace: 'monitoring', labels: { grafana_dashboard: '1' } },
    data: props,
  };
  return line(rng, t, {
    level: 'RequestResponse',
    verb: 'update',
    uri: resourcePath('configmaps', 'monitoring', 'grafana-dashboards'),
    user: iamUser(c.ciRole, c.account),
    sourceIp: c.ciRole.sourceIp,
    userAgent: c.ciRole.userAgent,
    objectRef: objectRef(rng, 'configmaps', 'monitoring', 'grafana-dashboards'),
    code: 200,
    requestObject: body,
    responseObject: body,
    latencyMs: rng.int(20, 300),
    reason: '',
  });
}
