import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectTraffic, type Delivery, type TrafficOptions } from '../../../src/core/generate/traffic.ts';

const BASE: TrafficOptions = {
  seed: 42,
  start: new Date('2026-11-27T09:00:00Z'),
  durationMinutes: 10,
  accounts: ['111122223333', '444455556666'],
  clustersPerAccount: 2,
  eventsPerMinute: 1500,
};

const STREAM =
  /^(kube-apiserver-audit|kube-apiserver|kube-scheduler|kube-controller-manager|cloud-controller-manager|authenticator|etcd)-[0-9a-f]{32}$/;
const KLOG_HEADER = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6} {1,7}\d+ [\w.-]+:\d+\] /;

/** The parsed JSON value, or undefined when `text` is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const firstDeliveries = (ds: Delivery[]) => ds.filter((d) => d.kind === 'normal' || d.kind === 'late');
const typeOf = (stream: string) => stream.replace(/-[0-9a-f]{32}$/, '');

describe('generateTraffic', () => {
  const { deliveries, truth } = collectTraffic(BASE);
  const firsts = firstDeliveries(deliveries);
  const events = firsts.flatMap((d) => d.message.logEvents.map((e) => ({ d, e })));

  it('yields the same deliveries for the same seed and start', () => {
    const again = collectTraffic(BASE);
    expect(JSON.stringify(again.deliveries)).toBe(JSON.stringify(deliveries));
    expect(again.truth).toEqual(truth);
  });

  it('yields different traffic for a different seed', () => {
    const other = collectTraffic({ ...BASE, seed: 43 });
    expect(other.deliveries[1]!.message.logEvents[0]!.message).not.toBe(deliveries[1]!.message.logEvents[0]!.message);
  });

  it('yields deliveries in non-decreasing arrival order', () => {
    for (let i = 1; i < deliveries.length; i++) {
      expect(deliveries[i]!.arrival.getTime()).toBeGreaterThanOrEqual(deliveries[i - 1]!.arrival.getTime());
    }
  });

  it('counts every event it emits in the ground truth', () => {
    expect(events.length).toBe(truth.events.unique);
    const dupEvents = deliveries
      .filter((d) => d.kind === 'duplicate')
      .reduce((n, d) => n + d.message.logEvents.length, 0);
    expect(dupEvents).toBe(truth.events.duplicate);
    expect(deliveries.filter((d) => d.kind === 'control').length).toBe(truth.messages.control);
    expect(firsts.length).toBe(truth.messages.data);
    const byType: Record<string, number> = {};
    for (const { d } of events) {
      const t = typeOf(d.message.logStream);
      const k = t === 'etcd' ? 'unknown' : t;
      byType[k] = (byType[k] ?? 0) + 1;
    }
    for (const [k, v] of Object.entries(truth.events.byLogType)) expect(byType[k] ?? 0, k).toBe(v);
    expect(truth.messageChars).toBe(events.reduce((n, x) => n + x.e.message.length, 0));
  });

  it('gives every event a unique 56-digit decimal id, increasing timestamps within a message', () => {
    const ids = new Set<string>();
    for (const { e } of events) {
      expect(e.id).toMatch(/^\d{56}$/);
      ids.add(e.id);
    }
    expect(ids.size).toBe(events.length);
    for (const d of firsts) {
      const ts = d.message.logEvents.map((e) => e.timestamp);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
    }
  });

  it('re-delivers duplicates as byte-identical copies of an earlier message, arriving later', () => {
    const seen = new Map<string, number>();
    for (const d of deliveries) {
      if (d.kind === 'control') continue;
      const key = JSON.stringify(d.message);
      if (d.kind === 'duplicate') {
        expect(seen.get(key)).toBeDefined();
        expect(d.arrival.getTime()).toBeGreaterThan(seen.get(key)!);
      } else seen.set(key, d.arrival.getTime());
    }
    expect(truth.messages.duplicate).toBeGreaterThan(0);
  });

  it('delivers late messages at least an hour after their events', () => {
    const late = deliveries.filter((d) => d.kind === 'late');
    expect(late.length).toBe(truth.messages.late);
    for (const d of late) {
      const newest = Math.max(...d.message.logEvents.map((e) => e.timestamp));
      expect(d.arrival.getTime() - newest).toBeGreaterThanOrEqual(3_600_000);
    }
  });

  it('names streams and log groups as EKS does and sets the owner to a source account', () => {
    for (const d of firsts) {
      expect(d.message.messageType).toBe('DATA_MESSAGE');
      expect(d.message.logStream).toMatch(STREAM);
      expect(d.message.logGroup).toMatch(/^\/aws\/eks\/[a-z0-9-]+\/cluster$/);
      expect(BASE.accounts).toContain(d.message.owner);
    }
  });

  it('emits control messages shaped as CloudWatch sends them', () => {
    const c = deliveries.find((d) => d.kind === 'control')!;
    expect(c.message).toMatchObject({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
    });
    expect(c.message.logEvents[0]!.message).toMatch(/^CWL CONTROL MESSAGE/);
  });

  it('writes audit events that parse as audit.k8s.io/v1 Events, except the planted truncations', () => {
    const audit = events.filter(({ d }) => typeOf(d.message.logStream) === 'kube-apiserver-audit').map(({ e }) => e);
    const parsed = audit.map((e) => ({ e, ev: parseJson(e.message) }));
    const truncated = parsed.filter((p) => p.ev === undefined).map((p) => p.e.message);
    expect(truncated).toHaveLength(truth.malformed.truncated_audit);
    expect(truncated.length).toBeGreaterThan(0);
    // Cut short inside an audit Event, not some other text that fails to parse.
    for (const m of truncated) expect(m).toMatch(/^\{"kind":"Event","apiVersion":"audit\.k8s\.io\/v1",/);
    for (const { e, ev } of parsed) {
      if (ev === undefined) continue;
      expect(ev, e.id).toMatchObject({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        requestReceivedTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      });
    }
  });

  it('writes klog lines with a header, except the planted header-less lines', () => {
    let headerless = 0;
    for (const { d, e } of events) {
      const t = typeOf(d.message.logStream);
      if (t === 'kube-apiserver-audit' || t === 'authenticator' || t === 'etcd') continue;
      if (!KLOG_HEADER.test(e.message)) headerless++;
    }
    expect(headerless).toBe(truth.malformed.no_klog_header);
  });

  it('includes multi-line key=< blocks, trace continuations and structured klog tails', () => {
    const api = events.filter(({ d }) => typeOf(d.message.logStream) === 'kube-apiserver').map(({ e }) => e.message);
    expect(api.some((m) => /err=<\n\t.*\n >$/s.test(m))).toBe(true);
    expect(api.some((m) => /^I.*Trace\[\d+\]: "Update".*\nTrace\[\d+\]: /s.test(m))).toBe(true);
    expect(api.some((m) => /\] "allocated clusterIPs" service="[^"]+"/.test(m))).toBe(true);
  });

  it('writes authenticator lines as logfmt with STS responses, grants and denials', () => {
    const auth = events.filter(({ d }) => typeOf(d.message.logStream) === 'authenticator').map(({ e }) => e.message);
    for (const m of auth) expect(m).toMatch(/^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=(info|warning) msg="/);
    for (const msg of ['STS response', 'access granted', 'access denied'])
      expect(auth.some((m) => m.includes(`msg="${msg}"`))).toBe(true);
  });

  it('puts most bytes in the audit stream and makes a few audit events 50–200 KB', () => {
    const { truth: t, deliveries: ds } = collectTraffic({ ...BASE, largeEventRate: 1 / 2000 });
    let audit = 0;
    let all = 0;
    let large = 0;
    for (const d of firstDeliveries(ds))
      for (const e of d.message.logEvents) {
        all += e.message.length;
        if (typeOf(d.message.logStream) === 'kube-apiserver-audit') {
          audit += e.message.length;
          if (e.message.length >= 50_000) {
            large++;
            expect(e.message.length).toBeLessThan(215_000);
            expect(JSON.parse(e.message).level).toBe('RequestResponse');
          }
        }
      }
    expect(audit / all).toBeGreaterThan(0.85);
    expect(large).toBe(t.largeAuditEvents);
    expect(large).toBeGreaterThan(0);
  });

  it('plants each queryable fact in the messages it reports', () => {
    const p = truth.planted;
    const find = (pred: (m: string) => boolean) => events.find(({ e }) => pred(e.message));
    const sd = p.secretDeletions[0]!;
    const del = find((m) => m.includes('"verb":"delete"') && m.includes(`/secrets/${sd.name}"`));
    expect(del).toBeDefined();
    expect(JSON.parse(del!.e.message).user.username).toBe(sd.username);
    expect(del!.d.message.logGroup).toBe(sd.logGroup);

    const ex = p.podExecs[0]!;
    const exec = JSON.parse(find((m) => m.includes(`/pods/${ex.pod}/exec?`))!.e.message);
    expect(exec.objectRef).toMatchObject({
      resource: 'pods',
      subresource: 'exec',
      namespace: ex.namespace,
      name: ex.pod,
    });
    expect(exec.requestReceivedTimestamp).toBe(ex.time);
    expect(p.iamMappings.some((m) => m.username === ex.username && m.logGroup === ex.logGroup)).toBe(true);

    const b = p.clusterAdminBindings[0]!;
    const binding = JSON.parse(find((m) => m.includes(`"name":"${b.binding}"`))!.e.message);
    expect(binding.requestObject.roleRef.name).toBe('cluster-admin');
    expect(binding.requestObject.subjects[0].name).toBe(b.subject);

    const top = [...p.forbidden].sort((x, y) => y.count - x.count)[0]!;
    expect(top.count).toBeGreaterThanOrEqual(30);
    const forbiddenLines = events.filter(
      ({ e, d }) =>
        d.message.logGroup === top.logGroup &&
        e.message.includes('"code":403') &&
        e.message.includes(`"username":"${top.username}"`) &&
        e.message.includes(`"sourceIPs":["${top.sourceIp}"]`),
    );
    expect(forbiddenLines.length).toBe(top.count);

    expect(p.authenticatorDenials.some((x) => x.arn?.includes('AWSReservedSSO_Developer_') && x.count === 5)).toBe(
      true,
    );
    expect(p.schedulingFailures.some((x) => x.pod.includes('/spark-driver-') && x.count === 4)).toBe(true);
    const lc = p.leaderChanges[0]!;
    expect(
      find((m) => m.includes('successfully acquired lease kube-system/kube-controller-manager'))!.d.message.logStream,
    ).toBe(lc.logStream);
    expect(p.iamMappings.some((x) => x.username.startsWith('system:node:') && x.arn.endsWith('-node-group-role'))).toBe(
      true,
    );
  });

  it('counts every 403, denial and unschedulable pod it wrote', () => {
    const total403 = events.filter(
      ({ d, e }) => typeOf(d.message.logStream) === 'kube-apiserver-audit' && /"code":403\}/.test(e.message),
    ).length;
    expect(truth.planted.forbidden.reduce((n, x) => n + x.count, 0)).toBe(total403);
    const denied = events.filter(({ e }) => e.message.includes('msg="access denied"')).length;
    expect(truth.planted.authenticatorDenials.reduce((n, x) => n + x.count, 0)).toBe(denied);
    const unsched = events.filter(({ e }) => e.message.includes('"Unable to schedule pod; no fit; waiting"')).length;
    expect(truth.planted.schedulingFailures.reduce((n, x) => n + x.count, 0)).toBe(unsched);
  });

  it('holds conservation and id uniqueness for any seed and size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 50, max: 600 }),
        (seed, minutes, rate) => {
          const { deliveries: ds, truth: t } = collectTraffic({
            ...BASE,
            seed,
            durationMinutes: minutes,
            eventsPerMinute: rate,
            duplicateRate: 0.05,
            lateRate: 0.05,
          });
          const ids = new Set<string>();
          let n = 0;
          for (const d of firstDeliveries(ds))
            for (const e of d.message.logEvents) {
              ids.add(`${d.message.owner}|${d.message.logGroup}|${e.id}`);
              n++;
            }
          expect(ids.size).toBe(n);
          expect(n).toBe(t.events.unique);
          const dup = ds.filter((d) => d.kind === 'duplicate').reduce((k, d) => k + d.message.logEvents.length, 0);
          expect(dup).toBe(t.events.duplicate);
          expect(t.malformed.unknown_stream).toBeGreaterThan(0);
          expect(t.planted.secretDeletions).toHaveLength(1);
        },
      ),
      { numRuns: 15 },
    );
  });
});
