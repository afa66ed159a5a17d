import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from './config.ts';
import { CentralStack } from './stacks/central-stack.ts';

/** Builds the central stack and one member stack per source account from the `eksLogLake` context. */
export function buildApp(app: App): App {
  const config = parseConfig(app.node.tryGetContext('eksLogLake'));
  const central = new CentralStack(app, `${pascal(config.prefix)}Central`, {
    env: { account: config.central.account, region: config.central.region },
    config,
    description: 'eks-log-lake central account: EKS control-plane logs to S3, Parquet, Glue, Athena and Splunk',
  });
  void central;
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

function pascal(s: string): string {
  return s
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

if (require.main === module) buildApp(new App());
