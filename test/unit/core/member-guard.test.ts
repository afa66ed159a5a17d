import { describe, expect, it } from 'vitest';
import { checkSubscriptionFilters, EKS_LOG_TYPES, missingLogTypes } from '../../../src/core/member-guard.ts';

const LOG_GROUP = '/aws/eks/prod-eu-1/cluster';
const OURS = 'eks-log-lake-to-central';

describe('checkSubscriptionFilters', () => {
  it.each([
    [[], null],
    [[OURS], null],
    [['datadog'], null],
    [['datadog', OURS], null],
    [['datadog', 'splunk-firehose'], /already has 2 subscription filters \(datadog, splunk-firehose\)/],
  ])('with existing %j answers %s', (existing, expected) => {
    const res = checkSubscriptionFilters(LOG_GROUP, existing, OURS);
    if (expected === null) expect(res).toBeNull();
    else expect(res).toMatch(expected);
  });
});

describe('missingLogTypes', () => {
  it('lists the control-plane types still off', () => {
    expect(missingLogTypes(['api', 'audit'])).toEqual(['authenticator', 'controllerManager', 'scheduler']);
    expect(missingLogTypes([...EKS_LOG_TYPES])).toEqual([]);
  });
});
