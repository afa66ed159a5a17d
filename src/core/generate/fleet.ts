import type { KnownLogType } from '../types.ts';
import type { Rng } from './rng.ts';

/** An IAM principal that signs in to a cluster through aws-iam-authenticator. */
export interface IamIdentity {
  /** Role ARN as the authenticator maps it (`arn:aws:iam::<acct>:role/<name>`). */
  readonly roleArn: string;
  /** Session ARN as STS reports it. */
  readonly sessionArn: string;
  readonly sessionName: string;
  /** Kubernetes username the mapping grants. */
  readonly username: string;
  readonly groups: readonly string[];
  readonly roleId: string;
  readonly accessKeyId: string;
  /** Where the user's kubectl calls come from. */
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** One CloudWatch stream of a cluster's log group. */
export interface StreamSpec {
  readonly logType: KnownLogType;
  readonly name: string;
}

/** One EKS cluster: its log group and streams, and the nodes, workloads and people its logs mention. */
export interface ClusterSpec {
  readonly account: string;
  readonly name: string;
  readonly logGroup: string;
  readonly region: string;
  /** Kubernetes minor version, e.g. `1.30`. */
  readonly version: string;
  readonly gitVersion: string;
  readonly gitCommit: string;
  /** Relative traffic weight among clusters. */
  readonly weight: number;
  /** API server instances: their audit, klog and authenticator streams and addresses. */
  readonly apiServers: readonly { audit: StreamSpec; apiserver: StreamSpec; authenticator: StreamSpec; ip: string }[];
  /** Leader-elected components: every instance's stream; index `leader[type]` is active. */
  readonly scheduler: readonly StreamSpec[];
  readonly controllerManager: readonly StreamSpec[];
  readonly cloudControllerManager: readonly StreamSpec[];
  readonly nodes: readonly string[];
  readonly nodeIps: readonly string[];
  readonly namespaces: readonly string[];
  /** Deployments as `namespace/name`, each with a replica-set hash. */
  readonly workloads: readonly { namespace: string; name: string; rsHash: string }[];
  readonly humans: readonly IamIdentity[];
  readonly nodeRole: IamIdentity;
  readonly ciRole: IamIdentity;
}

const CLUSTER_NAMES = [
  'prod-payments',
  'prod-checkout',
  'staging-platform',
  'prod-search',
  'dev-data',
  'ml-training',
  'edge-gateway',
  'shared-services',
  'prod-identity',
  'analytics',
];

const VERSIONS = [
  ['1.29', 'v1.29.10-eks-7f9249a', '7f9249a'],
  ['1.30', 'v1.30.6-eks-7f9249a', '7f9249a'],
  ['1.31', 'v1.31.2-eks-7f9249a', '7f9249a'],
] as const;

const APP_NAMESPACES = ['payments', 'checkout', 'search', 'web', 'data-pipeline', 'monitoring', 'ingress-nginx'];
const APP_NAMES = [
  'api',
  'web',
  'worker',
  'gateway',
  'ledger',
  'indexer',
  'cache',
  'scheduler',
  'notifier',
  'exporter',
];
const PEOPLE = ['alice', 'bob', 'carol', 'dmitri', 'eun-ji', 'farah', 'gustavo', 'hana', 'ivan', 'jun'];
const ROLE_NAMES = ['PlatformAdmin', 'SRE', 'Developer', 'ReadOnly'] as const;

function upperAlnum(rng: Rng, n: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = '';
  for (let i = 0; i < n; i++) s += chars[rng.int(0, chars.length - 1)];
  return s;
}

function privateIp(rng: Rng, second: number): string {
  return `10.${second}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function identity(
  rng: Rng,
  account: string,
  roleName: string,
  sessionName: string,
  username: string,
  groups: readonly string[],
  sourceIp: string,
  userAgent: string,
): IamIdentity {
  return {
    roleArn: `arn:aws:iam::${account}:role/${roleName}`,
    sessionArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    sessionName,
    username,
    groups,
    roleId: `AROA${upperAlnum(rng, 17)}`,
    accessKeyId: `ASIA${upperAlnum(rng, 16)}`,
    sourceIp,
    userAgent,
  };
}

/** Builds the accounts' clusters, each with its streams, nodes, workloads and people. */
export function buildFleet(
  rng: Rng,
  accounts: readonly string[],
  clustersPerAccount: number,
  region: string,
): ClusterSpec[] {
  const clusters: ClusterSpec[] = [];
  let n = 0;
  for (const account of accounts) {
    for (let c = 0; c < clustersPerAccount; c++, n++) {
      const base = CLUSTER_NAMES[n % CLUSTER_NAMES.length]!;
      const name = n < CLUSTER_NAMES.length ? base : `${base}-${Math.floor(n / CLUSTER_NAMES.length) + 1}`;
      const [version, gitVersion, gitCommit] = rng.pick(VERSIONS);
      const second = rng.int(0, 63);
      const stream = (logType: KnownLogType): StreamSpec => ({ logType, name: `${logType}-${rng.hex(32)}` });
      const apiServers = [0, 1].map(() => ({
        audit: stream('kube-apiserver-audit'),
        apiserver: stream('kube-apiserver'),
        authenticator: stream('authenticator'),
        ip: privateIp(rng, second),
      }));
      const nodeCount = rng.int(3, 12);
      const nodeIps = Array.from({ length: nodeCount }, () => privateIp(rng, second));
      const nodes = nodeIps.map((ip) => `ip-${ip.replaceAll('.', '-')}.${region}.compute.internal`);
      const namespaces = ['default', 'kube-system', ...APP_NAMESPACES.filter(() => rng.chance(0.6))];
      const appNamespaces = namespaces.filter((x) => x !== 'default' && x !== 'kube-system');
      if (appNamespaces.length === 0) appNamespaces.push('web');
      const workloads = Array.from({ length: rng.int(4, 10) }, (_, i) => ({
        namespace: rng.pick(appNamespaces),
        name: `${APP_NAMES[i % APP_NAMES.length]}`,
        rsHash: rng.hex(10).replace(/^[0-9]/, 'c'),
      }));
      workloads.push(
        { namespace: 'kube-system', name: 'coredns', rsHash: rng.hex(10) },
        { namespace: 'kube-system', name: 'aws-load-balancer-controller', rsHash: rng.hex(10) },
      );
      const humans = PEOPLE.filter(() => rng.chance(0.5))
        .slice(0, 5)
        .map((person, i) => {
          const roleName = ROLE_NAMES[i % ROLE_NAMES.length]!;
          const groups =
            roleName === 'PlatformAdmin'
              ? ['system:masters', 'system:authenticated']
              : roleName === 'ReadOnly'
                ? ['eks:read-only', 'system:authenticated']
                : [`eks:${roleName.toLowerCase()}`, 'system:authenticated'];
          return identity(
            rng,
            account,
            roleName,
            person,
            `${roleName.toLowerCase()}:${person}`,
            groups,
            `198.51.100.${rng.int(2, 250)}`,
            `kubectl/v${version}.${rng.int(0, 9)} (darwin/arm64) kubernetes/${rng.hex(7)}`,
          );
        });
      if (humans.length === 0) {
        humans.push(
          identity(
            rng,
            account,
            'PlatformAdmin',
            'alice',
            'platformadmin:alice',
            ['system:masters', 'system:authenticated'],
            '198.51.100.7',
            `kubectl/v${version}.3 (linux/amd64) kubernetes/${rng.hex(7)}`,
          ),
        );
      }
      const nodeRole = identity(
        rng,
        account,
        `${name}-node-group-role`,
        `i-0${rng.hex(16)}`,
        'system:node:{{EC2PrivateDNSName}}',
        ['system:bootstrappers', 'system:nodes'],
        nodeIps[0]!,
        `kubelet/${gitVersion} (linux/amd64) kubernetes/${gitCommit}`,
      );
      const ciRole = identity(
        rng,
        account,
        'GitHubActionsDeploy',
        `gha-${rng.digits(10)}`,
        'ci:deployer',
        ['deployers', 'system:authenticated'],
        `203.0.113.${rng.int(2, 250)}`,
        `Helm/3.16.${rng.int(0, 4)}`,
      );
      clusters.push({
        account,
        name,
        logGroup: `/aws/eks/${name}/cluster`,
        region,
        version,
        gitVersion,
        gitCommit,
        weight: rng.pick([0.4, 0.7, 1, 1, 1.5, 2.5]),
        apiServers,
        scheduler: [stream('kube-scheduler'), stream('kube-scheduler')],
        controllerManager: [stream('kube-controller-manager'), stream('kube-controller-manager')],
        cloudControllerManager: [stream('cloud-controller-manager'), stream('cloud-controller-manager')],
        nodes,
        nodeIps,
        namespaces,
        workloads,
        humans,
        nodeRole,
        ciRole,
      });
    }
  }
  return clusters;
}
