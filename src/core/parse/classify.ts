import type { KnownLogType, LogType } from '../types.ts';

// Longest prefix first: `kube-apiserver-` is a prefix of `kube-apiserver-audit-`.
const PREFIXES: readonly (readonly [string, KnownLogType])[] = (
  [
    ['kube-apiserver-audit-', 'kube-apiserver-audit'],
    ['kube-apiserver-', 'kube-apiserver'],
    ['kube-scheduler-', 'kube-scheduler'],
    ['kube-controller-manager-', 'kube-controller-manager'],
    ['cloud-controller-manager-', 'cloud-controller-manager'],
    ['authenticator-', 'authenticator'],
  ] as const
)
  .slice()
  .sort((a, b) => b[0].length - a[0].length);

/** The stream kind of an EKS log stream name, by its longest matching prefix; `unknown` if none. */
export function classifyLogStream(logStream: string): LogType {
  for (const [prefix, type] of PREFIXES) {
    if (logStream.startsWith(prefix)) return type;
  }
  return 'unknown';
}

const EKS_GROUP_RE = /^\/aws\/eks\/([^/]+)\/cluster$/;

/** The cluster name of an EKS control-plane log group `/aws/eks/<cluster>/cluster`, else null. */
export function clusterFromLogGroup(logGroup: string): string | null {
  const m = EKS_GROUP_RE.exec(logGroup);
  return m ? m[1]! : null;
}
