import { describe, expect, it } from 'vitest';
import { readGoQuoted } from '../../../src/core/parse/go-quote.ts';
import { type KlogFields, parseKlogLine } from '../../../src/core/parse/index.ts';
import { klogPairSpans } from '../../../src/core/parse/klog.ts';
import { addKv, newKv } from '../../../src/core/parse/kv.ts';

const CWL = Date.UTC(2024, 2, 23, 15, 2, 50); // 2024-03-23T15:02:50Z

function kv(o: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null), o);
}

interface Row {
  readonly note: string;
  readonly line: string;
  readonly cwl?: number;
  readonly want: Partial<KlogFields>;
}

// Each row imitates a real line shape; "sample" rows are verbatim from test/fixtures/samples.
const HEADERS: readonly Row[] = [
  {
    note: 'sample cloud-controller-manager line: INFO, 6-digit microseconds, padded thread id',
    line: 'I0323 15:02:49.728729      11 tagging_controller.go:152] Skip putting node ip-10-0-101-15.ec2.internal in work queue since it was already tagged earlier.',
    want: {
      status: 'ok',
      error: null,
      time: '2024-03-23T15:02:49.728729Z',
      severity: 'INFO',
      threadId: 11,
      sourceFile: 'tagging_controller.go',
      sourceLine: 152,
      msg: 'Skip putting node ip-10-0-101-15.ec2.internal in work queue since it was already tagged earlier.',
    },
  },
  {
    note: 'sample kube-controller-manager line: WARNING',
    line: 'W0228 08:04:01.913700       1 client_config.go:552] Neither --kubeconfig nor --master was specified.  Using the inClusterConfig.  This might not work.',
    want: {
      severity: 'WARNING',
      time: '2024-02-28T08:04:01.913700Z',
      msg: 'Neither --kubeconfig nor --master was specified.  Using the inClusterConfig.  This might not work.',
    },
  },
  {
    note: 'sample line: ERROR with a trailing colon and no detail',
    line: 'E0214 09:00:41.888060       1 node_lifecycle_controller.go:154] error checking if node p-dacc-prod-934cf32a-69d98d65d8-bsn7s is shutdown: unexpected input:',
    want: { severity: 'ERROR', sourceLine: 154, time: '2024-02-14T09:00:41.888060Z' },
  },
  {
    note: 'FATAL, as klog.Fatal writes it just before exiting',
    line: 'F0323 15:02:49.000001   22765 server.go:123] failed to listen on 0.0.0.0:6443: address already in use',
    want: { severity: 'FATAL', threadId: 22765, time: '2024-03-23T15:02:49.000001Z' },
  },
  {
    note: 'microseconds are kept exactly, including leading zeros',
    line: 'I0323 15:02:49.000100 1 a.go:1] x',
    want: { time: '2024-03-23T15:02:49.000100Z', msg: 'x' },
  },
  {
    note: 'year rollover: a 31 December line delivered on 1 January keeps last year',
    line: 'I1231 23:59:59.999999       1 controller.go:606] quota admission added evaluator for: endpoints',
    cwl: Date.UTC(2025, 0, 1, 0, 0, 1, 200),
    want: { time: '2024-12-31T23:59:59.999999Z', status: 'ok' },
  },
  {
    note: 'year rollover the other way: a 1 January line stamped on 31 December (clock skew) is next year',
    line: 'I0101 00:00:00.000001       1 controller.go:606] quota admission added evaluator for: endpoints',
    cwl: Date.UTC(2024, 11, 31, 23, 59, 59, 900),
    want: { time: '2025-01-01T00:00:00.000001Z', status: 'ok' },
  },
  {
    note: '29 February in a leap year',
    line: 'I0229 12:00:00.500000 1 a.go:1] leap',
    cwl: Date.UTC(2024, 1, 29, 12, 0, 1),
    want: { time: '2024-02-29T12:00:00.500000Z', status: 'ok' },
  },
  {
    note: 'an impossible header date is partial, the rest still read',
    line: 'I1341 12:00:00.500000 1 a.go:1] bad month',
    want: { status: 'partial', time: null, severity: 'INFO', msg: 'bad month' },
  },
  {
    note: 'a header with an empty message',
    line: 'I0323 15:02:49.728729 1 a.go:1]',
    want: { status: 'ok', msg: '' },
  },
];

const STRUCTURED: readonly Row[] = [
  {
    note: 'sample kube-scheduler structured line: quoted and bare values',
    line: 'I0323 15:07:05.946516      12 schedule_one.go:266] "Successfully bound pod to node" pod="openverso/ueransim-gnb-84c9b57c64-tz46g" node="ip-10-0-102-34.ec2.internal" evaluatedNodes=6 feasibleNodes=6',
    want: {
      msg: 'Successfully bound pod to node',
      kv: kv({
        pod: 'openverso/ueransim-gnb-84c9b57c64-tz46g',
        node: 'ip-10-0-102-34.ec2.internal',
        evaluatedNodes: '6',
        feasibleNodes: '6',
      }),
    },
  },
  {
    note: 'sample kube-apiserver line: a map[…] value',
    line: 'I0323 15:09:30.969664      11 alloc.go:327] "allocated clusterIPs" service="default/open5gs-amf-ngap" clusterIPs=map[IPv4:172.20.188.198]',
    want: {
      msg: 'allocated clusterIPs',
      kv: kv({ service: 'default/open5gs-amf-ngap', clusterIPs: 'map[IPv4:172.20.188.198]' }),
    },
  },
  {
    note: 'sample line: escaped quotes, brackets, = and spaces inside a quoted value',
    line: 'I1005 04:02:24.181644       1 tlsconfig.go:200] "Loaded serving cert" certName="Generated self signed cert" certDetail="\\"localhost@1664942543\\" [serving] validServingFor=[127.0.0.1,localhost,localhost] issuer=\\"localhost-ca@1664942543\\""',
    want: {
      msg: 'Loaded serving cert',
      kv: kv({
        certName: 'Generated self signed cert',
        certDetail:
          '"localhost@1664942543" [serving] validServingFor=[127.0.0.1,localhost,localhost] issuer="localhost-ca@1664942543"',
      }),
    },
  },
  {
    note: 'err="…" as klog.ErrorS writes it, with \\\\ and \\n escapes',
    line: 'E0815 11:20:25.263257       1 controller.go:114] "Reconciler error" err="open C:\\\\tmp\\\\x: denied\\nretrying" controller="node"',
    want: {
      severity: 'ERROR',
      msg: 'Reconciler error',
      kv: kv({ err: 'open C:\\tmp\\x: denied\nretrying', controller: 'node' }),
    },
  },
  {
    note: 'a [a b] slice value with spaces, and a struct value',
    line: 'I0815 11:20:25.263257       1 x.go:1] "Syncing" zones=[us-east-1a us-east-1b] obj={Name:web Namespace:default} ready=true',
    want: {
      msg: 'Syncing',
      kv: kv({ zones: '[us-east-1a us-east-1b]', obj: '{Name:web Namespace:default}', ready: 'true' }),
    },
  },
  {
    note: 'a multi-line value key=< … > with tab-indented lines (klog writeStringValue)',
    line: 'I0815 11:20:25.263257       1 x.go:1] "Config" data=<\n\tapiVersion: v1\n\tkind: Config\n >',
    want: { status: 'ok', msg: 'Config', kv: kv({ data: 'apiVersion: v1\nkind: Config' }) },
  },
  {
    note: 'a multi-line value followed by more pairs',
    line: 'I0815 11:20:25.263257       1 x.go:1] "Patch" body=<\n\t{"a": 1}\n\t{"b": 2}\n > size=2',
    want: { msg: 'Patch', kv: kv({ body: '{"a": 1}\n{"b": 2}', size: '2' }) },
  },
  {
    note: 'a quoted message alone',
    line: 'I0815 11:20:25.263257       1 x.go:1] "Starting controller"',
    want: { msg: 'Starting controller', kv: kv({}) },
  },
  {
    note: 'a message with unicode escapes',
    line: 'I0815 11:20:25.263257       1 x.go:1] "caf\\u00e9 \\U0001F600" k="\\x41\\101"',
    want: { msg: 'café 😀', kv: kv({ k: 'AA' }) },
  },
  {
    note: 'a repeated key keeps both values',
    line: 'I0815 11:20:25.263257       1 x.go:1] "dup" k=1 k=2',
    want: { kv: kv({ k: '1', 'k#2': '2' }) },
  },
  {
    note: 'a __proto__ key is an ordinary entry',
    line: 'I0815 11:20:25.263257       1 x.go:1] "p" __proto__="x"',
    want: { kv: JSON.parse('{"__proto__":"x"}') },
  },
];

const UNSTRUCTURED: readonly Row[] = [
  {
    note: 'sample kube-apiserver RBAC line: quotes and brackets but not a structured tail',
    line: 'I0316 17:10:24.079927   11191 rbac.go:116] RBAC DENY: user "system:node:ip-172-16-10-37.us-east-2.compute.internal" groups ["system:nodes" "system:authenticated"] cannot "patch" resource "nodes/status" named "ip-172-16-10-37.us-east-2.compute.internal" cluster-wide',
    want: {
      msg: 'RBAC DENY: user "system:node:ip-172-16-10-37.us-east-2.compute.internal" groups ["system:nodes" "system:authenticated"] cannot "patch" resource "nodes/status" named "ip-172-16-10-37.us-east-2.compute.internal" cluster-wide',
      kv: kv({}),
    },
  },
  {
    note: 'starts with a quoted word but is plain text',
    line: 'I0316 17:10:24.079927 1 trace.go:116] "Get" url:/api/v1/pods (total time: 822ms)',
    want: { msg: '"Get" url:/api/v1/pods (total time: 822ms)', kv: kv({}) },
  },
  {
    note: 'sample multi-line utiltrace record: header line plus Trace continuation lines',
    line: 'I0529 07:21:17.521943       1 trace.go:81] Trace[469531806]: "Update /api/v1/namespaces/kube-system/endpoints/kube-dns" (started: 2019-05-29 07:21:16.945258327 +0000 UTC m=+91.073650542) (total time: 576.659948ms):\nTrace[469531806]: [576.307806ms] [573.33055ms] Object stored in database',
    cwl: Date.UTC(2019, 4, 29, 7, 21, 18),
    want: {
      status: 'ok',
      time: '2019-05-29T07:21:17.521943Z',
      msg: 'Trace[469531806]: "Update /api/v1/namespaces/kube-system/endpoints/kube-dns" (started: 2019-05-29 07:21:16.945258327 +0000 UTC m=+91.073650542) (total time: 576.659948ms):\nTrace[469531806]: [576.307806ms] [573.33055ms] Object stored in database',
    },
  },
];

// A structured line (quoted message, then at least one `key=`) whose tail stops parsing: the
// message and the pairs before the break are kept, and the line says it was only partly read.
const BROKEN_TAIL: readonly Row[] = [
  {
    note: 'a key without a value among the pairs',
    line: 'I0815 11:20:25.263257       1 controller.go:88] "Starting" controller="foo" worker count=5',
    want: {
      status: 'partial',
      error: 'klog key/value tail not parsed from offset 76',
      time: '2024-08-15T11:20:25.263257Z',
      msg: 'Starting',
      kv: kv({ controller: 'foo' }),
    },
  },
  {
    note: 'an unterminated multi-line value (cut short)',
    line: 'I0815 11:20:25.263257 1 x.go:1] "Config" data=<\n\tapiVersion: v1',
    want: { status: 'partial', msg: 'Config', kv: kv({}) },
  },
  {
    note: 'an unterminated quoted value (cut short)',
    line: 'E0815 11:20:25.263257 1 x.go:1] "Sync failed" err="timeout" node="ip-10-0-1-2',
    want: { status: 'partial', severity: 'ERROR', msg: 'Sync failed', kv: kv({ err: 'timeout' }) },
  },
  {
    note: 'text glued to the end of a quoted value',
    line: 'I0815 11:20:25.263257 1 x.go:1] "Updated" pod="kube-system/coredns"x ready=true',
    want: { status: 'partial', msg: 'Updated', kv: kv({ pod: 'kube-system/coredns' }) },
  },
  {
    note: 'a key with an empty value',
    line: 'I0815 11:20:25.263257 1 x.go:1] "Probe" pod="a" result= attempt=2',
    want: { status: 'partial', msg: 'Probe', kv: kv({ pod: 'a' }) },
  },
];

const PARTIAL: readonly Row[] = [
  {
    note: 'a utiltrace continuation delivered as its own event',
    line: 'Trace[965115906]: [822.836078ms] [822.759204ms] About to write a response',
  },
  { note: 'a Go panic', line: 'panic: runtime error: invalid memory address or nil pointer dereference' },
  { note: 'a goroutine dump line', line: 'goroutine 1 [running]:' },
  { note: 'a stack frame', line: '\tk8s.io/kubernetes/cmd/kube-apiserver/app.Run(0xc000a3c000)' },
  { note: 'an empty message', line: '' },
  { note: 'a header missing its microseconds', line: 'I0323 15:02:49 1 a.go:1] short' },
].map((r) => ({
  ...r,
  want: {
    status: 'partial',
    time: null,
    severity: null,
    threadId: null,
    sourceFile: null,
    sourceLine: null,
    msg: r.line,
  },
})) as Row[];

describe('parseKlogLine', () => {
  for (const [group, rows] of [
    ['header', HEADERS],
    ['structured tail', STRUCTURED],
    ['unstructured message', UNSTRUCTURED],
    ['structured tail that does not parse to its end', BROKEN_TAIL],
    ['line without a header', PARTIAL],
  ] as const) {
    describe(group, () => {
      it.each(rows.map((r) => [r.note, r] as const))('parses %s', (_, row) => {
        const got = parseKlogLine(row.line, row.cwl ?? CWL);
        expect(got).toMatchObject(row.want);
        if (row.want.kv) expect(JSON.stringify(got.kv)).toBe(JSON.stringify(row.want.kv));
        if (got.status === 'partial') expect(got.error).toMatch(/\w/);
      });
    });
  }

  const ALL_ROWS = [...HEADERS, ...STRUCTURED, ...UNSTRUCTURED, ...BROKEN_TAIL, ...PARTIAL];
  it.each(ALL_ROWS.map((r) => [r.note, r] as const))('gives the exact span of every pair it reads in %s', (_, row) => {
    const spans = klogPairSpans(row.line) ?? [];
    const read = newKv();
    for (let p = 0; p < spans.length; p += 3) {
      const [k, v, end] = [spans[p]!, spans[p + 1]!, spans[p + 2]!];
      expect(row.line[v - 1]).toBe('=');
      const text = row.line.slice(v, end);
      // Read back as klog writes each kind: quoted, a multi-line block, or bare.
      const value = text.startsWith('"')
        ? readGoQuoted(text, 0)!.value
        : text.startsWith('<\n')
          ? text
              .slice(2, -2)
              .split('\n')
              .map((l) => l.slice(1))
              .join('\n')
              .replace(/\n$/, '')
          : text;
      addKv(read, row.line.slice(k, v - 1), value);
    }
    expect(JSON.stringify(read)).toBe(JSON.stringify(parseKlogLine(row.line, row.cwl ?? CWL).kv));
  });

  it('reads a 31 December line as the same instant whatever year January brings', () => {
    for (const year of [2023, 2024, 2030]) {
      const got = parseKlogLine('I1231 23:59:59.123456 1 a.go:1] x', Date.UTC(year + 1, 0, 1, 0, 5));
      expect(got.time).toBe(`${year}-12-31T23:59:59.123456Z`);
    }
  });

  it('never returns a 29 February in a year that has none', () => {
    const got = parseKlogLine('I0229 12:00:00.000000 1 a.go:1] x', Date.UTC(2023, 5, 1));
    expect(got.status).toBe('partial');
    expect(got.time).toBeNull();
  });
});
