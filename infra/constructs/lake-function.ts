import { join } from 'node:path';
import { type Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RETAIN_UNLESS_ROLLED_BACK } from './storage.ts';

/** Repository root: bundling entry points and the lockfile are resolved from here. */
export const REPO_ROOT = join(__dirname, '..', '..');

// parquet-wasm's node entry is CommonJS and reads its .wasm via __dirname; ESM output has neither.
const ESM_CJS_BANNER =
  "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; " +
  "import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); " +
  'const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);';

export interface LakeFunctionProps {
  /** Base name of the entry point: `<functionsDir>/<entry>.ts`. */
  readonly entry: string;
  /** Folder of the entry points; defaults to `functions/`. */
  readonly functionsDir?: string;
  /** Physical function name. */
  readonly functionName: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Retention of the function's own log group. */
  readonly logRetention: logs.RetentionDays;
  /** Key that encrypts the function's log group (default: CloudWatch Logs' own encryption). */
  readonly logKey?: kms.IKey;
  readonly description?: string;
  readonly environment?: Readonly<Record<string, string>>;
  /** Cap on concurrent executions (protects downstream quotas); unset = account pool. */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda entry from `functions/` bundled locally by esbuild (no Docker): arm64, Node 24,
 * ESM, explicit memory and timeout, and an explicit KMS-encrypted log group with retention
 * (reading `fn.logGroup` would create a LogRetention custom resource instead).
 */
export class LakeFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  /** Execution role: only its own log group until bindings add more (no AWS managed policy). */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: LakeFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention,
      encryptionKey: props.logKey,
      removalPolicy: RETAIN_UNLESS_ROLLED_BACK,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    // parquet-wasm loads its .wasm from next to the bundle at import time; ship it with every
    // bundle that references it (the workflow composition root imports compaction everywhere).
    const wasmCopy = (inputDir: string, outputDir: string) => [
      `if grep -q parquet_wasm_bg.wasm ${outputDir}/index.mjs; then cp ${inputDir}/node_modules/parquet-wasm/node/parquet_wasm_bg.wasm ${outputDir}/; fi`,
    ];
    this.fn = new nodejs.NodejsFunction(this, 'Fn', {
      functionName: props.functionName,
      description: props.description,
      entry: join(props.functionsDir ?? join(REPO_ROOT, 'functions'), `${props.entry}.ts`),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Bundle our pinned SDK instead of the runtime's copy: same code in tests and in AWS.
        externalModules: [],
        banner: ESM_CJS_BANNER,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: wasmCopy,
        },
      },
    });
  }

  /** ARN pattern that matches the function's versions and aliases (what Firehose and SFN invoke). */
  get qualifiedArnPattern(): string {
    return `${this.fn.functionArn}:*`;
  }

  /** The logical id token of the function as cdk-nag prints it, e.g. `<TransformFn1234.Arn>`. */
  get nagArnToken(): string {
    return `<${Stack.of(this).getLogicalId(this.fn.node.defaultChild as lambda.CfnFunction)}.Arn>`;
  }
}
