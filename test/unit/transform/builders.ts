import { gunzipSync, gzipSync } from 'node:zlib';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import type { CwlLogEvent } from '../../../src/core/types.ts';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const CLUSTER = 'prod-payments';
export const LOG_GROUP = `/aws/eks/${CLUSTER}/cluster`;
const T0 = Date.UTC(2026, 10, 27, 3, 0, 0);

export const STREAMS = {
  'kube-apiserver-audit': 'kube-apiserver-audit-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'kube-apiserver': 'kube-apiserver-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'kube-scheduler': 'kube-scheduler-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'kube-controller-manager': 'kube-controller-manager-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'cloud-controller-manager': 'cloud-controller-manager-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  authenticator: 'authenticator-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
} as const;

/** Real-shaped lines of each stream type (drawn from public EKS and Kubernetes logs). */
export const SAMPLE_LINES: Record<keyof typeof STREAMS, readonly string[]> = {
  'kube-apiserver-audit': [
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"9151d8b4-0630-4020-8e18-c65369a13249","stage":"ResponseComplete","requestURI":"/apis/policy/v1/poddisruptionbudgets?limit=500\\u0026resourceVersion=0","verb":"list","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"sourceIPs":["10.0.60.42"],"userAgent":"kube-scheduler/v1.24.13 (linux/amd64) kubernetes/6305d65/scheduler","objectRef":{"resource":"poddisruptionbudgets","apiGroup":"policy","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"poddisruptionbudgets.policy is forbidden: User \\"system:kube-scheduler\\" cannot list resource \\"poddisruptionbudgets\\" in API group \\"policy\\" at the cluster scope","reason":"Forbidden","details":{"group":"policy","kind":"poddisruptionbudgets"},"code":403},"requestReceivedTimestamp":"2023-05-20T04:14:53.795931Z","stageTimestamp":"2023-05-20T04:14:53.798812Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}',
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1111cba1-f11c-1e11-b111-b1cad11111d1","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler?timeout=10s","verb":"update","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"sourceIPs":["111.11.111.1"],"userAgent":"kube-scheduler/v1.19.8 (linux/amd64) kubernetes/96780e1/leader-election","objectRef":{"resource":"leases","namespace":"kube-system","name":"kube-scheduler","uid":"e1b111d1-11e1-1ac1-b1ed-11ef1d1b1111","apiGroup":"coordination.k8s.io","apiVersion":"v1","resourceVersion":"64428650"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2021-07-18T23:59:59.568148Z","stageTimestamp":"2021-07-18T23:59:59.572799Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \\"system:kube-scheduler\\" of ClusterRole \\"system:kube-scheduler\\" to User \\"system:kube-scheduler\\""}}',
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","metadata":{"creationTimestamp":"2017-09-11T19:58:37Z"},"level":"Metadata","timestamp":"2017-09-11T19:58:37Z","auditID":"719a5b90-e21b-44a2-94ec-67e16493dad6","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?includeUninitialized=true","verb":"list","user":{"username":"system:admin","groups":["system:masters","system:authenticated"]},"impersonatedUser":{"username":"bob","groups":["system:authenticated"]},"sourceIPs":["::1"],"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}',
  ],
  'kube-apiserver': [
    'I0323 15:09:30.969664      11 alloc.go:327] "allocated clusterIPs" service="default/open5gs-amf-ngap" clusterIPs=map[IPv4:172.20.188.198]',
    'I0320 21:30:55.216715       1 flags.go:33] FLAG: --audit-log-batch-max-size="1"',
  ],
  'kube-scheduler': [
    'I0323 15:07:05.946516      12 schedule_one.go:266] "Successfully bound pod to node" pod="openverso/ueransim-gnb-84c9b57c64-tz46g" node="ip-10-0-102-34.ec2.internal" evaluatedNodes=6 feasibleNodes=6',
    'I0504 12:16:01.540233       1 schedule_one.go:80] "Attempting to schedule pod" pod="default/det-20001-gpu1"',
  ],
  'kube-controller-manager': [
    'E0323 15:00:23.228069      11 horizontal.go:226] failed to compute desired number of replicas based on listed metrics for Deployment/openverso/open5gs-amf: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)',
    'I0805 15:31:33.992629       1 node_lifecycle_controller.go:380] Sending events to api server.',
  ],
  'cloud-controller-manager': [
    'I0323 15:02:49.728729      11 tagging_controller.go:152] Skip putting node ip-10-0-101-15.ec2.internal in work queue since it was already tagged earlier.',
    'I0819 05:39:14.047672      12 tagging_controller.go:152] Skip putting node ip-10-251-163-233.us-east-2.compute.internal in work queue since it was already tagged earlier.',
  ],
  authenticator: [
    'time="2023-03-23T15:00:41Z" level=info msg="STS response" accesskeyid=ASIAQ52MI263MY5EWZW2 accountid=064047601590 arn="arn:aws:sts::064047601590:assumed-role/test_node_group_role/i-0429e7bc1c0bb2932" client="127.0.0.1:52552" method=POST path=/authenticate session=i-0429e7bc1c0bb2932 userid=AROAQ52MI263K3VH2HACL',
    'time="2025-12-24T19:52:38Z" level=info msg="STS response" accesskeyid=ASIA5PYP2AD2ANOSYXTN accountid=927209226484 arn="arn:aws:sts::927209226484:assumed-role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL/EKSAuthTokenSession" client="127.0.0.1:38940" method=POST path=/authenticate session=EKSAuthTokenSession stsendpoint=sts.us-east-1.amazonaws.com userid=AROA5PYP2AD2O47IG7477',
  ],
};

let nextId = 0n;
/** CloudWatch-shaped event ids: 56-digit decimal strings, unique within a test run. */
export function eventId(): string {
  nextId++;
  return (37_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + nextId).toString();
}

export function events(messages: readonly string[], t0 = T0): CwlLogEvent[] {
  return messages.map((message, i) => ({ id: eventId(), timestamp: t0 + i, message }));
}

export interface MessageInit {
  messageType?: string;
  owner?: string;
  logGroup?: string;
  logStream?: string;
  subscriptionFilters?: string[];
  logEvents?: unknown[];
}

/** A subscription message object as CloudWatch Logs sends it. */
export function message(init: MessageInit = {}): Record<string, unknown> {
  return {
    messageType: init.messageType ?? 'DATA_MESSAGE',
    owner: init.owner ?? ACCOUNT,
    logGroup: init.logGroup ?? LOG_GROUP,
    logStream: init.logStream ?? STREAMS['kube-apiserver-audit'],
    subscriptionFilters: init.subscriptionFilters ?? ['eks-to-firehose'],
    logEvents: init.logEvents ?? [],
  };
}

/** The health check CloudWatch Logs sends a new destination (no log group, no stream). */
export function controlMessage(): Record<string, unknown> {
  return message({
    messageType: 'CONTROL_MESSAGE',
    owner: 'CloudwatchLogs',
    logGroup: '',
    logStream: '',
    subscriptionFilters: [],
    logEvents: events(['CWL CONTROL MESSAGE: Checking health of destination Firehose.']),
  });
}

/** base64(gzip(JSON)) — the record data Firehose hands the transform. */
export function encodeMessage(msg: unknown): string {
  return gzipSync(JSON.stringify(msg)).toString('base64');
}

export function firehoseEvent(datas: readonly string[]): FirehoseTransformationEvent {
  return {
    invocationId: 'invocation-1',
    deliveryStreamArn: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/eks-log-lake',
    region: 'eu-west-1',
    records: datas.map((data, i) => ({
      recordId: `49546986683135544286507457936321625675700192471156785154${String(i).padStart(4, '0')}`,
      approximateArrivalTimestamp: T0,
      data,
    })),
  };
}

/** The NDJSON lines of one Ok record's data (base64 of a gzip member). */
export function decodeOkLines(data: string): string[] {
  const text = gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error('record data does not end with a newline');
  return text.slice(0, -1).split('\n');
}

export function responseBytes(response: FirehoseTransformationResult): number {
  return Buffer.byteLength(JSON.stringify(response));
}
