import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, QueryFailedError, RetryableError } from '../../src/core/errors.ts';
import type { CuratedTableName } from '../../src/core/schema.ts';
import { renderNamed } from '../../src/core/sql/catalogue.ts';
import type { SqlEngine } from '../../src/core/sql/quote.ts';
import type { QueryEngine } from '../../src/ports.ts';

/** One curated partition every engine under contract must see (planted, or answered as recorded). */
export interface ContractPartition {
  readonly table: CuratedTableName;
  readonly values: readonly [string, string, string, string];
  readonly gen: string;
  readonly rows: readonly Record<string, unknown>[];
}

/** An engine under test plus what the contract observes of it. */
export interface QueryEngineFixture {
  readonly engine: QueryEngine;
  /** Dialect its named queries render in, and the root lake-relative locations resolve under. */
  readonly dialect: SqlEngine;
  readonly lakeRoot: string;
  /** Statements that reached the backend since the last call, in order. */
  takeSent(): string[];
  close(): Promise<void>;
}

const ACCOUNT = '111122223333';
const CLUSTER = 'prod-eu-1';
const COREDNS = 'system:serviceaccount:kube-system:coredns';
const COREDNS_AGENT = 'coredns/v1.11.1 (linux/amd64) kubernetes/0e3d6bb';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/eks-admin/alice';
const KUBECTL_AGENT = 'kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625';

/** CloudWatch Logs event ids have 56 digits; the last digits keep these apart. */
export const EVENT_IDS = [1, 2, 3, 4, 5].map((n) => `3780904621782973658781247459237728740931658723033967820${n}`);

const audit = (n: number, fields: Record<string, unknown>) => ({
  time: `2026-02-01T05:0${n}:00Z`,
  event_id: EVENT_IDS[n - 1],
  cwl_timestamp: `2026-02-01T05:0${n}:00.250Z`,
  region: 'eu-west-1',
  audit_id: `6c8f4f4e-1d2b-4c0a-9d7e-00000000000${n}`,
  level: 'Metadata',
  user_groups: ['system:authenticated'],
  source_ips: ['10.0.12.34'],
  ...fields,
});

/**
 * The audit partition every engine answers over: two completed coredns lists, alice's denied
 * get (and its RequestReceived stage, which the top-callers query skips), an anonymous 401.
 */
export const CONTRACT_PARTITION: ContractPartition = {
  table: 'audit_events',
  values: [ACCOUNT, CLUSTER, '2026-02-01', '05'],
  gen: 'contract',
  rows: [
    audit(1, {
      stage: 'ResponseComplete',
      verb: 'list',
      username: COREDNS,
      user_agent: COREDNS_AGENT,
      resource: 'endpointslices',
      response_code: 200,
      latency_ms: 2.5,
    }),
    audit(2, {
      stage: 'ResponseComplete',
      verb: 'list',
      username: COREDNS,
      user_agent: COREDNS_AGENT,
      resource: 'namespaces',
      response_code: 200,
      latency_ms: 1.25,
    }),
    audit(3, {
      stage: 'ResponseComplete',
      verb: 'get',
      username: ALICE,
      user_agent: KUBECTL_AGENT,
      resource: 'secrets',
      namespace: 'payments',
      response_code: 403,
      latency_ms: 0.75,
    }),
    audit(4, { stage: 'RequestReceived', verb: 'get', username: ALICE, user_agent: KUBECTL_AGENT }),
    audit(5, {
      stage: 'ResponseComplete',
      verb: 'get',
      username: 'system:anonymous',
      user_groups: ['system:unauthenticated'],
      request_uri: '/version',
      response_code: 401,
    }),
  ],
};

/** Named queries and the rows every engine must return for them over CONTRACT_PARTITION. */
export const NAMED_CASES = [
  {
    label: 'top callers of the day with the default limit',
    name: 'list-top-callers',
    params: { dtFrom: '2026-02-01', dtTo: '2026-02-01' },
    rows: [
      { account: ACCOUNT, cluster: CLUSTER, username: COREDNS, user_agent: COREDNS_AGENT, requests: 2, errors: 0 },
      { account: ACCOUNT, cluster: CLUSTER, username: ALICE, user_agent: KUBECTL_AGENT, requests: 1, errors: 1 },
      {
        account: ACCOUNT,
        cluster: CLUSTER,
        username: 'system:anonymous',
        user_agent: null,
        requests: 1,
        errors: 1,
      },
    ],
  },
  {
    label: 'top callers with an explicit limit',
    name: 'list-top-callers',
    params: { dtFrom: '2026-01-31', dtTo: '2026-02-01', limit: '1' },
    rows: [
      { account: ACCOUNT, cluster: CLUSTER, username: COREDNS, user_agent: COREDNS_AGENT, requests: 2, errors: 0 },
    ],
  },
  {
    label: 'a day with no partition',
    name: 'list-top-callers',
    params: { dtFrom: '2026-03-01', dtTo: '2026-03-01' },
    rows: [],
  },
] as const;

/** A workflow statement whose `location` each engine resolves under its own lake root. */
export const ROLLUP = {
  name: 'create-audit-hourly-summary',
  params: {
    planId: 'p20260201t0515',
    account: ACCOUNT,
    cluster: CLUSTER,
    dt: '2026-02-01',
    hour: '05',
    location: `curated/audit_hourly_summary/account=${ACCOUNT}/cluster=${CLUSTER}/dt=2026-02-01/hour=05/gen=p20260201t0515/`,
  },
} as const;

/** Plain SQL both dialects accept, with scalar types the port promises to hand back alike. */
export const TYPED_SQL =
  'SELECT event_id, username, response_code, latency_ms, response_code >= 400 AS failed FROM audit_events ' +
  "WHERE dt = '2026-02-01' AND stage = 'ResponseComplete' ORDER BY event_id";

export const TYPED_ROWS = [
  { event_id: EVENT_IDS[0], username: COREDNS, response_code: 200, latency_ms: 2.5, failed: false },
  { event_id: EVENT_IDS[1], username: COREDNS, response_code: 200, latency_ms: 1.25, failed: false },
  { event_id: EVENT_IDS[2], username: ALICE, response_code: 403, latency_ms: 0.75, failed: true },
  { event_id: EVENT_IDS[4], username: 'system:anonymous', response_code: 401, latency_ms: null, failed: true },
];

/** A statement naming a column no table has; each engine fails it with its own reason. */
export const FAILING_SQL = "SELECT no_such_column FROM audit_events WHERE dt = '2026-02-01'";

const BAD_PARAMS = [
  ['a missing parameter', 'list-top-callers', { dtFrom: '2026-02-01' }, /missing parameter\(s\) dtTo/],
  [
    'an unused parameter',
    'list-top-callers',
    { dtFrom: '2026-02-01', dtTo: '2026-02-01', cluster: CLUSTER },
    /unknown parameter\(s\) cluster/,
  ],
  [
    'a date that tries to close the string',
    'list-top-callers',
    { dtFrom: "2026-02-01' OR '1'='1", dtTo: '2026-02-01' },
    /expected a date/,
  ],
  [
    'a limit that is not an integer',
    'list-top-callers',
    { dtFrom: '2026-02-01', dtTo: '2026-02-01', limit: '1; DROP TABLE audit_events' },
    /expected an integer/,
  ],
  ['an unknown query name', 'list-everything', {}, /statement named list-everything/],
] as const;

/**
 * Registers the QueryEngine contract for one engine: named queries rendered in the engine's own
 * dialect with the given parameters, bad parameters refused before the backend sees anything,
 * rows typed alike (numbers, booleans, nulls), a failed statement reported with the engine's reason.
 */
export function describeQueryEngineContract(
  name: string,
  open: (partition: ContractPartition) => Promise<QueryEngineFixture>,
): void {
  describe(`QueryEngine contract: ${name}`, () => {
    let fixture: QueryEngineFixture;
    beforeAll(async () => {
      fixture = await open(CONTRACT_PARTITION);
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it.each(NAMED_CASES)('answers $label and sends the query rendered in its own dialect', async (c) => {
      fixture.takeSent();
      expect(await fixture.engine.runNamed(c.name, c.params)).toEqual(c.rows);
      expect(fixture.takeSent()).toEqual([
        renderNamed(fixture.dialect, c.name, c.params, { lakeRoot: fixture.lakeRoot }),
      ]);
    });

    it("resolves a location parameter under the engine's own lake root", async () => {
      fixture.takeSent();
      await fixture.engine.runNamed(ROLLUP.name, ROLLUP.params);
      const sent = fixture.takeSent();
      expect(sent).toEqual([renderNamed(fixture.dialect, ROLLUP.name, ROLLUP.params, { lakeRoot: fixture.lakeRoot })]);
      expect(sent[0]).toContain(`'${fixture.lakeRoot}${ROLLUP.params.location}`);
    });

    it('returns strings, numbers, booleans and nulls typed alike when given plain SQL', async () => {
      fixture.takeSent();
      expect(await fixture.engine.runSql(TYPED_SQL)).toEqual(TYPED_ROWS);
      expect(fixture.takeSent()).toEqual([TYPED_SQL]);
    });

    it.each(BAD_PARAMS)(
      'refuses %s with InvalidInputError before the backend sees anything',
      async (_label, query, params, reason) => {
        fixture.takeSent();
        const run = fixture.engine.runNamed(query, params as Record<string, string>);
        await expect(run).rejects.toBeInstanceOf(InvalidInputError);
        await expect(run).rejects.toThrow(reason);
        expect(fixture.takeSent()).toEqual([]);
      },
    );

    it("fails a statement the engine rejects with the engine's reason, as no transient error", async () => {
      fixture.takeSent();
      const run = fixture.engine.runSql(FAILING_SQL);
      await expect(run).rejects.toThrow(/no_such_column/);
      await expect(run).rejects.toBeInstanceOf(QueryFailedError);
      await expect(run).rejects.not.toBeInstanceOf(RetryableError);
      expect(fixture.takeSent()).toEqual([FAILING_SQL]);
    });

    it('answers the next query normally after a failed one', async () => {
      await expect(fixture.engine.runSql(FAILING_SQL)).rejects.toThrow();
      expect(await fixture.engine.runSql(TYPED_SQL)).toEqual(TYPED_ROWS);
    });
  });
}
