import { describe, expect, it } from 'vitest';
import { collectTraffic } from '../../src/core/generate/traffic.ts';
import { checkPlantedAnswers, eventDateRange } from '../../src/demo/expectations.ts';
import type { QueryRow } from '../../src/ports.ts';

const { truth } = collectTraffic({
  seed: 3,
  start: new Date('2026-11-27T10:00:00Z'),
  durationMinutes: 5,
  accounts: ['111122223333', '444455556666'],
  clustersPerAccount: 2,
  eventsPerMinute: 200,
});

describe('checkPlantedAnswers', () => {
  it('asks every planted question over the dates the events span', async () => {
    const asked: { name: string; params: Readonly<Record<string, string>> }[] = [];
    const checks = await checkPlantedAnswers(truth, async (name, params) => {
      asked.push({ name, params });
      return [];
    });
    expect(asked.map((a) => a.name)).toEqual([
      'find-object-changes',
      'find-pod-exec-sessions',
      'find-cluster-admin-bindings',
      'list-denied-requests',
      'find-iam-principal',
      'list-authenticator-denials',
      'find-scheduler-failures',
      'find-leader-election-changes',
    ]);
    for (const a of asked) expect(a.params).toMatchObject(eventDateRange(truth));
    // No rows: no planted answer can be found.
    expect(checks.filter((c) => c.found)).toEqual([]);
  });

  it('finds an answer only in rows that carry the planted values', async () => {
    const sd = truth.planted.secretDeletions[0]!;
    const right: QueryRow = { verb: 'delete', username: sd.username, cluster: sd.cluster };
    const wrongUser: QueryRow = { ...right, username: 'someone-else' };
    for (const [rows, found] of [
      [[right], true],
      [[wrongUser], false],
      [[right, { ...right, cluster: 'another-cluster' }], false],
    ] as const) {
      const [check] = await checkPlantedAnswers(truth, async (name) =>
        name === 'find-object-changes' ? [...rows] : [],
      );
      expect(check!.found).toBe(found);
    }
  });

  it('accepts any of several (user, address) pairs tied for the most 403s', async () => {
    const top = [...truth.planted.forbidden].sort((a, b) => b.count - a.count)[0]!;
    const row = { username: top.username, source_ip: top.sourceIp, cluster: top.cluster, requests: top.count };
    const answer = async (rows: QueryRow[]) =>
      (await checkPlantedAnswers(truth, async (name) => (name === 'list-denied-requests' ? rows : []))).find(
        (c) => c.query === 'list-denied-requests',
      )!.found;
    expect(await answer([row])).toBe(true);
    expect(await answer([{ ...row, requests: top.count - 1 }])).toBe(false);
    expect(await answer([{ ...row, source_ip: '192.0.2.1' }])).toBe(false);
  });
});
