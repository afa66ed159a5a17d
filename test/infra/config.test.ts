import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../infra/config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { RAW_CONFIG } from './support.ts';

const base = RAW_CONFIG as unknown as Record<string, unknown>;

describe('parseConfig', () => {
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
    ['takes an explicit value, longer than raw', { rawRetentionDays: 30, quarantineRetentionDays: 365 }, 365],
  ])('keeps quarantine/ as long as configured: %s', (_name, overrides, days) => {
    const { quarantineRetentionDays: _unset, ...withoutQuarantine } = base;
    expect(parseConfig({ ...withoutQuarantine, ...overrides }).quarantineRetentionDays).toBe(days);
  });

  it.each(['keep', 'drop', 'quarantine'] as const)('takes nonEksLogGroups %s as given', (mode) => {
    expect(parseConfig({ ...base, nonEksLogGroups: mode }).nonEksLogGroups).toBe(mode);
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
});
