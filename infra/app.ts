import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type EksLogLakeConfig, parseConfig } from './config.ts';
import { CentralStack, type CentralStackProps } from './stacks/central-stack.ts';
import { MemberStack } from './stacks/member-stack.ts';

/** `eks-log-lake` → `EksLogLake`: stack id prefix. */
export function pascalCase(s: string): string {
  return s
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** Extra central-stack inputs (tests point the workflow at a fixture definition). */
export type CentralOverrides = Partial<Omit<CentralStackProps, 'config' | 'env'>>;

/**
 * Adds the central stack and one member stack per source account to `app` from `config`,
 * and runs cdk-nag AwsSolutions on every synth.
 */
export function buildApp(app: App, config: EksLogLakeConfig, overrides: CentralOverrides = {}) {
  const name = pascalCase(config.prefix);
  const central = new CentralStack(app, `${name}Central`, {
    env: { account: config.central.account, region: config.central.region },
    config,
    description: 'eks-log-lake central account: EKS control-plane logs to S3, Parquet, Glue, Athena and Splunk',
    ...overrides,
  });
  const members = config.members.map(
    (member) =>
      new MemberStack(app, `${name}Member${member.account}`, {
        env: { account: member.account, region: member.region },
        config,
        member,
        description: `eks-log-lake member account ${member.account}: EKS log groups to the central Destination`,
      }),
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { central, members };
}

if (require.main === module) {
  const app = new App();
  buildApp(app, parseConfig(app.node.tryGetContext('eksLogLake')));
}
