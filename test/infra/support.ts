import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type CentralOverrides } from '../../infra/app.ts';
import { type EksLogLakeConfig, parseConfig } from '../../infra/config.ts';

/** A realistic configuration: two member accounts (one per subscription mode) and Splunk on. */
export const RAW_CONFIG = {
  prefix: 'eks-log-lake',
  central: { account: '111111111111', region: 'eu-west-1' },
  members: [
    {
      account: '222222222222',
      clusters: ['prod-eu-1', 'prod-eu-2'],
      subscription: 'filter',
      logGroupRetentionDays: 7,
      enableControlPlaneLogs: true,
    },
    { account: '333333333333', clusters: [], subscription: 'account-policy' },
  ],
  athenaBytesScannedCutoff: 5 * 1024 ** 3,
  // Shorter than raw (90 days by default), so the stack test sees this value and not the default.
  quarantineRetentionDays: 30,
  splunk: {
    enabled: true,
    principalArn: 'arn:aws:iam::444444444444:role/splunk-heavy-forwarder',
    externalId: 'splunk-ext-id',
  },
} as const;

export const CONFIG: EksLogLakeConfig = parseConfig(RAW_CONFIG);

export const FIXTURES = join(__dirname, 'fixtures');

/** An app that skips esbuild bundling (all tests but the one that bundles for real). */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** Builds the whole app (central + members, nag plugin registered; the real workflow by default). */
export function synthAll(config: EksLogLakeConfig = CONFIG, overrides: CentralOverrides = {}) {
  const app = testApp();
  const { central, members } = buildApp(app, config, overrides);
  return {
    app,
    central,
    members,
    centralTemplate: Template.fromStack(central),
    memberTemplates: members.map((m) => Template.fromStack(m)),
  };
}

export type Statement = {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: any;
};

/** Every IAM statement of every IAM::Policy and inline role policy in a template. */
export function iamStatements(template: Template): Array<{ logicalId: string; statement: Statement }> {
  const out: Array<{ logicalId: string; statement: Statement }> = [];
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const s of res.Properties.PolicyDocument.Statement) out.push({ logicalId: id, statement: s });
  }
  for (const [id, res] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const p of res.Properties.Policies ?? []) {
      for (const s of p.PolicyDocument.Statement) out.push({ logicalId: id, statement: s });
    }
  }
  return out;
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Statements of the policies attached to a role whose logical id starts with `rolePrefix`. */
export function roleStatements(template: Template, roleLogicalIdPrefix: string): Statement[] {
  const out: Statement[] = [];
  for (const res of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = asArray(res.Properties.Roles as Array<{ Ref: string }>);
    if (roles.some((r) => r.Ref?.startsWith(roleLogicalIdPrefix))) out.push(...res.Properties.PolicyDocument.Statement);
  }
  return out;
}

/** Flattens Fn::Join/Fn::GetAtt/Ref into a readable string (`<Logical.Arn>/raw/*`) for assertions. */
export function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, any>;
    if ('Fn::Join' in o) return (o['Fn::Join'][1] as unknown[]).map(flat).join(o['Fn::Join'][0]);
    if ('Fn::GetAtt' in o) return `<${o['Fn::GetAtt'][0]}.${o['Fn::GetAtt'][1]}>`;
    if ('Ref' in o) return `<${o.Ref}>`;
  }
  return JSON.stringify(v);
}
