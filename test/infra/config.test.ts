import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/env.ts';
import { readQuietClusters, readWorkflowConfig } from '../../functions/shared/workflow-config.ts';
import { closestKey, firesEverySchedulePeriod, parseConfig } from '../../infra/config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { RAW_CONFIG, synthAll } from './support.ts';

const base = RAW_CONFIG as unknown as Record<string, unknown>;

describe('parseConfig', () => {
  it('accepts the cdk.json the repository ships', () => {
    const cdk = JSON.parse(readFileSync(resolve(__dirname, '../../cdk.json'), 'utf8'));
    const config = parseConfig(cdk.context.eksLogLake);
    expect(config.members.map((m) => m.account)).toEqual(['222222222222', '333333333333']);
  });

  it('fills defaults and allows exactly the central and member accounts when no allow-list is given', () => {
    const c = parseConfig(base);
    expect(c.allowedSourceAccounts).toEqual(['111111111111', '222222222222', '333333333333']);
    expect(c.schedule).toBe('rate(15 minutes)');
    expect(c.rawRetentionDays).toBe(90);
    expect(c.logRetentionDays).toBe(30);
    expect(c.members[1]!.logGroupRetentionDays).toBe(7);
    expect(c.members[0]!.region).toBe('eu-west-1');
    expect(c.nonEksLogGroups).toBe('keep');
    expect(c.workflow).toEqual({
      lateHorizonHours: 48,
      maxBackfillDays: 90,
      leaseTtlSeconds: 1800,
      gcGraceHours: 24,
      poisonAfterFailedRuns: 3,
      maxCatchUpHours: 96,
      quietClusters: { lookbackHours: 24, silentHours: 2, ignored: [] },
    });
  });

  it.each([
    ['a missing context', undefined, /context object is missing/],
    [
      'a short account id',
      { ...base, central: { account: '1234', region: 'eu-west-1' } },
      /central\.account: "1234" is not valid/,
    ],
    [
      'a prefix too long for bucket names',
      { ...base, prefix: 'a-very-long-prefix-xyz' },
      /prefix: "a-very-long-prefix-xyz" is not valid/,
    ],
    ['a bad region', { ...base, central: { account: '111111111111', region: 'Europe' } }, /central\.region/],
    ['a bad organization id', { ...base, organizationId: 'org-1' }, /organizationId: "org-1" is not valid/],
    [
      'a retention CloudWatch does not offer',
      { ...base, logRetentionDays: 10 },
      /logRetentionDays: must be one of 1, 3, 5/,
    ],
    [
      'a filter member without clusters',
      { ...base, members: [{ account: '222222222222', clusters: [] }] },
      /clusters: list at least one cluster/,
    ],
    [
      'a cluster name with a slash',
      { ...base, members: [{ account: '222222222222', clusters: ['a/b'] }] },
      /clusters\[0\]: "a\/b" is not valid/,
    ],
    [
      'a member missing from an explicit allow-list',
      { ...base, allowedSourceAccounts: ['222222222222'] },
      /member account 333333333333 is missing/,
    ],
    ['Splunk on without a principal', { ...base, splunk: { enabled: true } }, /splunk\.principalArn: required/],
    ['a malformed schedule', { ...base, schedule: 'every 15 minutes' }, /schedule: "every 15 minutes" is not valid/],
    [
      'a transition after expiry',
      { ...base, rawRetentionDays: 60, rawTransitionDays: 90 },
      /rawTransitionDays: must be below/,
    ],
    ['a duplicated member', { ...base, members: [RAW_CONFIG.members[0], RAW_CONFIG.members[0]] }, /listed twice/],
    [
      'a zero quarantine retention',
      { ...base, quarantineRetentionDays: 0 },
      /quarantineRetentionDays: must be an integer between 1 and 3650, got 0/,
    ],
    [
      'a quarantine retention given as text',
      { ...base, quarantineRetentionDays: '30' },
      /quarantineRetentionDays: must be an integer/,
    ],
    [
      'a zero poison limit',
      { ...base, workflow: { poisonAfterFailedRuns: 0 } },
      /workflow\.poisonAfterFailedRuns: must be an integer between 1 and 100, got 0/,
    ],
    [
      'a fractional poison limit',
      { ...base, workflow: { poisonAfterFailedRuns: 2.5 } },
      /workflow\.poisonAfterFailedRuns: must be an integer/,
    ],
    [
      'an unknown non-EKS log group mode',
      { ...base, nonEksLogGroups: 'delete' },
      /nonEksLogGroups: must be "keep", "drop", "quarantine", got "delete"/,
    ],
    ['a non-EKS log group mode given as a flag', { ...base, nonEksLogGroups: true }, /nonEksLogGroups: must be/],
  ])('rejects %s with a message naming the field', (_name, raw, message) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(message);
  });

  it.each([
    ['follows the raw retention when unset', { rawRetentionDays: 120 }, 120],
    ['follows the default raw retention when neither is set', {}, 90],
    ['takes an explicit value, shorter than raw', { rawRetentionDays: 120, quarantineRetentionDays: 14 }, 14],
    [
      'takes an explicit value, longer than raw',
      { rawRetentionDays: 30, quarantineRetentionDays: 365, workflow: { maxBackfillDays: 30 } },
      365,
    ],
  ])('keeps quarantine/ as long as configured: %s', (_name, overrides, days) => {
    const { quarantineRetentionDays: _unset, ...withoutQuarantine } = base;
    expect(parseConfig({ ...withoutQuarantine, ...overrides }).quarantineRetentionDays).toBe(days);
  });

  it.each(['keep', 'drop', 'quarantine'] as const)('takes nonEksLogGroups %s as given', (mode) => {
    expect(parseConfig({ ...base, nonEksLogGroups: mode }).nonEksLogGroups).toBe(mode);
  });

  it('reads the catch-up bound from workflow.maxCatchUpHours', () => {
    expect(parseConfig({ ...base, workflow: { maxCatchUpHours: 72 } }).workflow.maxCatchUpHours).toBe(72);
  });

  it('hands workflow.maxCatchUpHours to the PlanWindow Lambda only, as MAX_CATCH_UP_HOURS', () => {
    const { centralTemplate } = synthAll(parseConfig({ ...base, workflow: { maxCatchUpHours: 72 } }));
    const withBound = Object.values(centralTemplate.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties)
      .filter((p) => p.Environment?.Variables?.[ENV.MAX_CATCH_UP_HOURS] !== undefined)
      .map((p) => [p.FunctionName, p.Environment.Variables[ENV.MAX_CATCH_UP_HOURS]]);
    expect(withBound).toEqual([['eks-log-lake-plan-window', '72']]);
    // The alarm an operator reads names the deployed bound, not the default.
    expect(alarmDescription(centralTemplate, 'BackfillRequired')).toContain('past the 72 hours');
  });

  it('hands workflow.quietClusters to the WriteLedger Lambda only, which reads back the same settings', () => {
    const quietClusters = {
      lookbackHours: 48,
      silentHours: 3,
      ignored: ['222222222222/prod-eu-retired', '333333333333/_unknown'],
    };
    const config = parseConfig({ ...base, workflow: { quietClusters } });
    expect(config.workflow.quietClusters).toEqual(quietClusters);
    const { centralTemplate } = synthAll(config);
    const functions = Object.values(centralTemplate.findResources('AWS::Lambda::Function')).map((f) => f.Properties);
    const withQuiet = functions.filter((p) =>
      Object.keys(p.Environment?.Variables ?? {}).some((name) => name.startsWith('QUIET_CLUSTERS_')),
    );
    expect(withQuiet.map((p) => p.FunctionName)).toEqual(['eks-log-lake-write-ledger']);
    const env = withQuiet[0]!.Environment.Variables as Record<string, string>;
    expect(env).toMatchObject({
      [ENV.QUIET_CLUSTERS_LOOKBACK_HOURS]: '48',
      [ENV.QUIET_CLUSTERS_SILENT_HOURS]: '3',
      [ENV.QUIET_CLUSTERS_IGNORED]: '222222222222/prod-eu-retired,333333333333/_unknown',
    });
    expect(readWorkflowConfig(env).quietClusters).toEqual(quietClusters);
    expect(alarmDescription(centralTemplate, 'QuietClusters')).toContain(
      'in the last 48 hours sent none in the last 3 complete hours',
    );
  });

  it('reads the poison limit from workflow.poisonAfterFailedRuns', () => {
    expect(parseConfig({ ...base, workflow: { poisonAfterFailedRuns: 5 } }).workflow.poisonAfterFailedRuns).toBe(5);
  });

  it('lists every problem at once', () => {
    const raw = { ...base, prefix: 'Bad_Prefix', logRetentionDays: 2, schedule: 'now' };
    try {
      parseConfig(raw);
      expect.unreachable();
    } catch (err) {
      const lines = (err as Error).message.split('\n').filter((l) => l.startsWith('  - '));
      expect(lines).toHaveLength(3);
    }
  });

  it('admits the whole organization by default when an organization id is set', () => {
    const c = parseConfig({ central: RAW_CONFIG.central, organizationId: 'o-abcdef1234' });
    expect(c.organizationId).toBe('o-abcdef1234');
    expect(c.members).toEqual([]);
    expect(c.allowedSourceAccounts).toEqual([]);
  });

  it('refuses an empty allow-list without an organization', () => {
    expect(() => parseConfig({ central: RAW_CONFIG.central, allowedSourceAccounts: [] })).toThrow(
      /an empty allow-list admits anyone/,
    );
  });

  /** The problem lines of the one ConfigError `raw` raises. */
  function problemsOf(raw: unknown): string[] {
    try {
      parseConfig(raw);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message
        .split('\n')
        .filter((l) => l.startsWith('  - '))
        .map((l) => l.slice(4));
    }
    return expect.unreachable('the configuration was accepted') as never;
  }

  const TOP_KNOWN =
    'prefix, central, organizationId, members, allowedSourceAccounts, nonEksLogGroups, rawRetentionDays, rawTransitionDays, quarantineRetentionDays, curatedRetentionDays, athenaResultsRetentionDays, logRetentionDays, schedule, athenaBytesScannedCutoff, splunk, workflow, alarmEmail, transformReservedConcurrency';
  const WORKFLOW_KNOWN =
    'lateHorizonHours, maxBackfillDays, leaseTtlSeconds, gcGraceHours, poisonAfterFailedRuns, maxCatchUpHours, quietClusters';
  const MEMBER_KNOWN = 'account, region, clusters, subscription, logGroupRetentionDays, enableControlPlaneLogs';
  const [filterMember, policyMember] = RAW_CONFIG.members;

  it.each([
    [
      'a top-level typo',
      { ...base, rawRetentionDay: 30 },
      `eksLogLake.rawRetentionDay: unknown key (did you mean "rawRetentionDays"?); known keys: ${TOP_KNOWN}`,
    ],
    [
      'a workflow typo',
      { ...base, workflow: { lateHorizonHour: 72 } },
      `eksLogLake.workflow.lateHorizonHour: unknown key (did you mean "lateHorizonHours"?); known keys: ${WORKFLOW_KNOWN}`,
    ],
    [
      'splunk.enable, which would leave Splunk off',
      { ...base, splunk: { ...RAW_CONFIG.splunk, enable: true } },
      'eksLogLake.splunk.enable: unknown key (did you mean "enabled"?); known keys: enabled, principalArn, externalId',
    ],
    [
      'a member key missing its unit',
      { ...base, members: [{ ...filterMember, logGroupRetention: 3 }, policyMember] },
      `eksLogLake.members[0].logGroupRetention: unknown key (did you mean "logGroupRetentionDays"?); known keys: ${MEMBER_KNOWN}`,
    ],
    [
      'a central key',
      { ...base, central: { ...RAW_CONFIG.central, acount: '111111111111' } },
      'eksLogLake.central.acount: unknown key (did you mean "account"?); known keys: account, region',
    ],
    [
      'a catch-up bound in the singular',
      { ...base, workflow: { maxCatchUpHour: 48 } },
      `eksLogLake.workflow.maxCatchUpHour: unknown key (did you mean "maxCatchUpHours"?); known keys: ${WORKFLOW_KNOWN}`,
    ],
    [
      'a quiet-cluster key in the singular',
      { ...base, workflow: { quietClusters: { silentHour: 3 } } },
      'eksLogLake.workflow.quietClusters.silentHour: unknown key (did you mean "silentHours"?); known keys: lookbackHours, silentHours, ignored',
    ],
    [
      'a key like no known one',
      { ...base, colour: 'blue' },
      `eksLogLake.colour: unknown key; known keys: ${TOP_KNOWN}`,
    ],
  ])('rejects %s with its path and the known keys', (_name, raw, problem) => {
    expect(problemsOf(raw)).toEqual([problem]);
  });

  const SCHEDULE_HINT =
    'each run compacts the 15-minute window before it and the alarms expect that cadence, so it must fire every 15 minutes all day: "rate(15 minutes)" or "cron(M/15 * * * ? *)" with M from 0 to 14';

  it.each([
    'rate(0 minutes)',
    'rate(2 hours)',
    'rate(30 minutes)',
    'rate(5 minutes)',
    'rate(15 minute)',
    'cron(0/15 8-18 * * ? *)',
    'cron(0/30 * * * ? *)',
    'cron(0,15,30 * * * ? *)',
    'cron(0/15 * * * MON-FRI *)',
    'every 15 minutes',
  ])('rejects the schedule %s, which does not start one run per 15-minute window', (schedule) => {
    expect(problemsOf({ ...base, schedule })).toEqual([
      `eksLogLake.schedule: "${schedule}" is not valid: ${SCHEDULE_HINT}`,
    ]);
  });

  it.each([
    'rate(15 minutes)',
    'cron(0/15 * * * ? *)',
    'cron(*/15 * * * ? *)',
    'cron(5/15 * * * ? *)',
    'cron(7,22,37,52 * ? * * *)',
  ])('accepts the schedule %s', (schedule) => {
    expect(firesEverySchedulePeriod(schedule)).toBe(true);
    expect(parseConfig({ ...base, schedule }).schedule).toBe(schedule);
  });

  it.each([
    [
      'raw kept a day while late objects are planned for 30 days',
      { rawRetentionDays: 1, quarantineRetentionDays: 7, workflow: { lateHorizonHours: 720, maxBackfillDays: 1 } },
      'eksLogLake.rawRetentionDays: must be at least 35 days, got 1: raw objects must outlive by a day the 816 h a scheduled run may list (workflow.lateHorizonHours 720 h plus workflow.maxCatchUpHours 96 h of catch-up after an outage), and last workflow.maxBackfillDays (1); keep raw longer or lower those',
    ],
    [
      'raw kept exactly as long as a 30-day late horizon plus the 4-day catch-up',
      { rawRetentionDays: 34, workflow: { lateHorizonHours: 720, maxBackfillDays: 34 } },
      'eksLogLake.rawRetentionDays: must be at least 35 days, got 34: raw objects must outlive by a day the 816 h a scheduled run may list (workflow.lateHorizonHours 720 h plus workflow.maxCatchUpHours 96 h of catch-up after an outage), and last workflow.maxBackfillDays (34); keep raw longer or lower those',
    ],
    [
      'raw kept shorter than the longest backfill',
      { rawRetentionDays: 30 },
      'eksLogLake.rawRetentionDays: must be at least 90 days, got 30: raw objects must outlive by a day the 144 h a scheduled run may list (workflow.lateHorizonHours 48 h plus workflow.maxCatchUpHours 96 h of catch-up after an outage), and last workflow.maxBackfillDays (90); keep raw longer or lower those',
    ],
    [
      'a lease that can expire during one Task',
      { workflow: { leaseTtlSeconds: 600 } },
      'eksLogLake.workflow.leaseTtlSeconds: must be at least 1800, got 600: the lease renews only once half of it is gone, and a Task runs up to 900 s without renewing it',
    ],
    [
      'a lease just under twice the longest Task',
      { workflow: { leaseTtlSeconds: 1799 } },
      'eksLogLake.workflow.leaseTtlSeconds: must be at least 1800, got 1799: the lease renews only once half of it is gone, and a Task runs up to 900 s without renewing it',
    ],
    [
      'raw kept a day shorter than a 30-day late horizon plus a 5-day catch-up',
      { rawRetentionDays: 35, workflow: { lateHorizonHours: 720, maxBackfillDays: 35, maxCatchUpHours: 120 } },
      'eksLogLake.rawRetentionDays: must be at least 36 days, got 35: raw objects must outlive by a day the 840 h a scheduled run may list (workflow.lateHorizonHours 720 h plus workflow.maxCatchUpHours 120 h of catch-up after an outage), and last workflow.maxBackfillDays (35); keep raw longer or lower those',
    ],
    [
      'a catch-up shorter than a held lease blocks the scheduled runs',
      { workflow: { leaseTtlSeconds: 7200, maxCatchUpHours: 2 } },
      'eksLogLake.workflow.maxCatchUpHours: must be at least 3 (the lease TTL of 7200 s plus an hour), got 2: a run that dies holding the lease blocks the scheduled runs until it expires, and the next run must then catch up by itself',
    ],
    [
      'a quarantine gone before anyone looks',
      { quarantineRetentionDays: 3 },
      'eksLogLake.quarantineRetentionDays: must be at least 7 days, got 3: a quarantined object alarms once and must still be there when someone looks',
    ],
    [
      'a quarantine that follows a short raw retention',
      {
        rawRetentionDays: 6,
        quarantineRetentionDays: undefined,
        workflow: { lateHorizonHours: 1, maxBackfillDays: 6 },
      },
      'eksLogLake.quarantineRetentionDays: must be at least 7 days, got 6: a quarantined object alarms once and must still be there when someone looks (it defaults to rawRetentionDays; set it)',
    ],
    [
      'a log group retention on an account-policy member without clusters',
      { members: [filterMember, { ...policyMember, logGroupRetentionDays: 3 }] },
      'eksLogLake.members[1].logGroupRetentionDays: applies to the listed clusters only and this member lists none: list the clusters or remove the key',
    ],
    [
      'control-plane logging on an account-policy member without clusters',
      { members: [filterMember, { ...policyMember, enableControlPlaneLogs: true }] },
      'eksLogLake.members[1].enableControlPlaneLogs: applies to the listed clusters only and this member lists none: list the clusters or remove the key',
    ],
  ])('rejects %s', (_name, overrides, problem) => {
    const raw: Record<string, unknown> = { ...base, ...overrides };
    if (raw.quarantineRetentionDays === undefined) delete raw.quarantineRetentionDays;
    expect(problemsOf(raw)).toEqual([problem]);
  });

  it.each([
    [0, 'no catch-up at all'],
    [121, 'a catch-up past what one execution history holds'],
    [2.5, 'a fractional catch-up'],
    ['96', 'a catch-up given as text'],
  ])('rejects workflow.maxCatchUpHours %j (%s), saying why', (hours, _name) => {
    expect(problemsOf({ ...base, workflow: { maxCatchUpHours: hours } })).toEqual([
      `eksLogLake.workflow.maxCatchUpHours: must be an integer between 1 and 120, got ${JSON.stringify(hours)}: a longer catch-up would near the 25,000 events of one Step Functions execution history (ADR 0003); a longer lag is named as a backfill instead`,
    ]);
  });

  const QUIET = 'eksLogLake.workflow.quietClusters';
  const ID_HINT = '<12-digit account>/<EKS cluster name>, e.g. 111122223333/prod-eu-1';
  const LOOKBACK_HINT = 'a cluster is expected to keep delivering for this many hours after it last did';
  const retired = (n: number) => Array.from({ length: n }, (_, i) => `222222222222/retired-cluster-${i}`);

  it.each([
    [
      'a look-back of one hour',
      { lookbackHours: 1 },
      [`${QUIET}.lookbackHours: must be an integer between 2 and 720, got 1: ${LOOKBACK_HINT}`],
    ],
    [
      'a look-back past 30 days',
      { lookbackHours: 721 },
      [`${QUIET}.lookbackHours: must be an integer between 2 and 720, got 721: ${LOOKBACK_HINT}`],
    ],
    [
      'a look-back given as text',
      { lookbackHours: '24' },
      [`${QUIET}.lookbackHours: must be an integer between 2 and 720, got "24": ${LOOKBACK_HINT}`],
    ],
    ['no silent hour', { silentHours: 0 }, [`${QUIET}.silentHours: must be an integer between 1 and 719, got 0`]],
    [
      'a fractional silence',
      { silentHours: 1.5 },
      [`${QUIET}.silentHours: must be an integer between 1 and 719, got 1.5`],
    ],
    [
      'a silence as long as the default look-back',
      { silentHours: 24 },
      [
        `${QUIET}.silentHours: must be below lookbackHours (24), got 24: a cluster is quiet when it delivered within lookbackHours but not in the last silentHours, so no cluster ever would be`,
      ],
    ],
    [
      'a silence longer than its look-back',
      { lookbackHours: 6, silentHours: 12 },
      [
        `${QUIET}.silentHours: must be below lookbackHours (6), got 12: a cluster is quiet when it delivered within lookbackHours but not in the last silentHours, so no cluster ever would be`,
      ],
    ],
    [
      'ignored ids without an account, with a short account, with a bad cluster name, and twice',
      {
        ignored: [
          'prod-eu-1',
          '22222222222/prod-eu-1',
          '222222222222/prod eu 1',
          '222222222222/',
          '222222222222/prod-eu-2',
          '222222222222/prod-eu-2',
        ],
      },
      [
        `${QUIET}.ignored[0]: "prod-eu-1" is not valid (${ID_HINT})`,
        `${QUIET}.ignored[1]: "22222222222/prod-eu-1" is not valid (${ID_HINT})`,
        `${QUIET}.ignored[2]: "222222222222/prod eu 1" is not valid (${ID_HINT})`,
        `${QUIET}.ignored[3]: "222222222222/" is not valid (${ID_HINT})`,
        `${QUIET}.ignored[5]: 222222222222/prod-eu-2 is listed twice`,
      ],
    ],
    [
      'ignored as one string',
      { ignored: '222222222222/prod-eu-1' },
      [`${QUIET}.ignored: must be a list of ${ID_HINT}`],
    ],
    [
      'an ignore list longer than a Lambda environment can hold',
      { ignored: retired(70) },
      [
        `${QUIET}.ignored: is ${retired(70).join(',').length} characters long, more than 2000: it is one Lambda environment variable (4 KB for all of them); a retired cluster leaves the sightings index lookbackHours after its last event, so list only those retired since`,
      ],
    ],
  ])('rejects workflow.quietClusters with %s, saying why', (_name, quietClusters, problems) => {
    expect(problemsOf({ ...base, workflow: { quietClusters } })).toEqual(problems);
  });

  it('rejects workflow.quietClusters that is not an object', () => {
    expect(problemsOf({ ...base, workflow: { quietClusters: 24 } })).toEqual([
      `${QUIET}: must be an object with lookbackHours, silentHours and ignored`,
    ]);
  });

  it.each([
    [{}, { lookbackHours: 24, silentHours: 2, ignored: [] }],
    [{ silentHours: 1 }, { lookbackHours: 24, silentHours: 1, ignored: [] }],
    [
      { lookbackHours: 720, silentHours: 719 },
      { lookbackHours: 720, silentHours: 719, ignored: [] },
    ],
    [
      { lookbackHours: 2, silentHours: 1, ignored: retired(50) },
      { lookbackHours: 2, silentHours: 1, ignored: retired(50) },
    ],
  ])('fills workflow.quietClusters %j to %j', (quietClusters, expected) => {
    expect(parseConfig({ ...base, workflow: { quietClusters } }).workflow.quietClusters).toEqual(expected);
  });

  it.each([
    ['raw exactly as long as the longest backfill', { rawRetentionDays: 90 }],
    [
      'raw a day longer than a 30-day late horizon plus the 4-day catch-up',
      { rawRetentionDays: 35, workflow: { lateHorizonHours: 720, maxBackfillDays: 35 } },
    ],
    ['a lease of twice the longest Task', { workflow: { leaseTtlSeconds: 1800 } }],
    ['the largest catch-up one execution history allows', { workflow: { maxCatchUpHours: 120 } }],
    ['the shortest catch-up the default lease allows', { workflow: { maxCatchUpHours: 2 } }],
    ['a week of quarantine', { quarantineRetentionDays: 7 }],
    [
      'an account-policy member with clusters and their retention',
      { members: [filterMember, { ...policyMember, clusters: ['prod-eu-3'], logGroupRetentionDays: 3 }] },
    ],
  ])('accepts %s', (_name, overrides) => {
    expect(() => parseConfig({ ...base, ...overrides })).not.toThrow();
  });

  it.each([
    ['lateHorizonHour', ['lateHorizonHours', 'maxBackfillDays'], 'lateHorizonHours'],
    ['LATEHORIZONHOURS', ['lateHorizonHours'], 'lateHorizonHours'],
    ['enable', ['enabled', 'principalArn'], 'enabled'],
    ['colour', ['prefix', 'central', 'schedule'], undefined],
  ])('suggests for %s among %j: %s', (key, known, guess) => {
    expect(closestKey(key, known)).toBe(guess);
  });
});

describe('readQuietClusters (the WriteLedger Lambda environment)', () => {
  it('leaves the defaults to WriteLedger when no variable is set', () => {
    expect(readQuietClusters({})).toBeUndefined();
    expect(readWorkflowConfig({}).quietClusters).toBeUndefined();
  });

  it.each([
    [{ QUIET_CLUSTERS_SILENT_HOURS: '3' }, { lookbackHours: 24, silentHours: 3, ignored: [] }],
    [
      { QUIET_CLUSTERS_IGNORED: ' 222222222222/prod-eu-1 ,333333333333/_unknown,' },
      { lookbackHours: 24, silentHours: 2, ignored: ['222222222222/prod-eu-1', '333333333333/_unknown'] },
    ],
  ])('reads %j', (env, expected) => {
    expect(readQuietClusters(env)).toEqual(expected);
  });

  it.each([
    [
      { QUIET_CLUSTERS_LOOKBACK_HOURS: 'a day' },
      "QUIET_CLUSTERS_LOOKBACK_HOURS must be a positive integer, got 'a day'",
    ],
    [
      { QUIET_CLUSTERS_LOOKBACK_HOURS: '1' },
      'QUIET_CLUSTERS_LOOKBACK_HOURS must be an integer between 2 and 720, got 1',
    ],
    [{ QUIET_CLUSTERS_SILENT_HOURS: '24' }, 'QUIET_CLUSTERS_SILENT_HOURS must be below lookbackHours (24), got 24'],
    [
      { QUIET_CLUSTERS_IGNORED: '222222222222/prod-eu-1,prod-eu-2' },
      'QUIET_CLUSTERS_IGNORED "prod-eu-2" is not valid (<12-digit account>/<EKS cluster name>, e.g. 111122223333/prod-eu-1)',
    ],
  ])('refuses %j with a ConfigError naming the variable', (env, message) => {
    expect(() => readQuietClusters(env)).toThrow(ConfigError);
    expect(() => readWorkflowConfig(env)).toThrow(message);
  });
});

/** The description of the central alarm whose logical id starts with `Monitoring<name>`. */
function alarmDescription(template: ReturnType<typeof synthAll>['centralTemplate'], name: string): string {
  const found = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
    id.startsWith(`Monitoring${name}`),
  );
  expect(found).toHaveLength(1);
  return String(found[0]![1].Properties.AlarmDescription);
}
