import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { CentralStack } from '../../infra/stacks/central-stack.ts';
import { CONFIG, FIXTURES } from './support.ts';

// The one test that runs esbuild for real (every other infra test skips bundling). The fixture
// definition names three real Task entries, so the bundles are the ones that ship.
let outdir: string;
let assets: Record<string, string>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'eks-log-lake-cdk-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new CentralStack(app, 'Bundled', {
    env: { account: CONFIG.central.account, region: CONFIG.central.region },
    config: CONFIG,
    namedQueries: [],
    definitionPath: join(FIXTURES, 'compaction.asl.json'),
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template;
  assets = {};
  for (const fn of Object.values(template.Resources as Record<string, any>)) {
    if (fn.Type !== 'AWS::Lambda::Function') continue;
    assets[fn.Properties.FunctionName] = join(outdir, fn.Metadata['aws:asset:path']);
  }
}, 180_000);

describe('Lambda bundles', () => {
  it('bundles every function locally as ESM with a source map', () => {
    expect(Object.keys(assets).sort()).toEqual(
      ['merge-partition', 'run-athena-steps', 'transform', 'validate-input'].map((n) => `eks-log-lake-${n}`),
    );
    for (const dir of Object.values(assets)) {
      expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it("ships parquet-wasm's .wasm next to every bundle that loads it, and only there", () => {
    for (const [name, dir] of Object.entries(assets)) {
      const loadsWasm = readFileSync(join(dir, 'index.mjs'), 'utf8').includes('parquet_wasm_bg.wasm');
      expect(readdirSync(dir).includes('parquet_wasm_bg.wasm'), name).toBe(loadsWasm);
    }
    expect(readdirSync(assets['eks-log-lake-merge-partition']!)).toContain('parquet_wasm_bg.wasm');
    expect(readdirSync(assets['eks-log-lake-transform']!)).not.toContain('parquet_wasm_bg.wasm');
  });

  it('loads parquet-wasm inside an ESM bundle through the __dirname banner', async () => {
    // The compaction code initialises parquet-wasm at import: a missing .wasm or __dirname throws here.
    const mod = await import(pathToFileURL(join(assets['eks-log-lake-merge-partition']!, 'index.mjs')).href);
    expect(typeof mod.handler).toBe('function');
  });

  it('runs a bundled workflow Task with exactly the environment the stack gives it', async () => {
    Object.assign(process.env, {
      AWS_REGION: CONFIG.central.region,
      LAKE_BUCKET: 'lake',
      GLUE_DATABASE: 'eks_log_lake',
    });
    const mod = await import(pathToFileURL(join(assets['eks-log-lake-validate-input']!, 'index.mjs')).href);
    // Cold start reads its config first (a missing variable is a ConfigError); a bad window then
    // fails validation, which proves the handler got past its configuration.
    const run = mod.handler({ input: { from: 'yesterday', to: 'today' }, executionName: 'infra-test' });
    await expect(run).rejects.toMatchObject({ name: 'InvalidInputError' });
  });

  it('runs the bundled transform on a real subscription message and partitions it by log_type', async () => {
    Object.assign(process.env, {
      AWS_REGION: CONFIG.central.region,
      ALLOWED_ACCOUNTS: '111122223333',
      DELIVERY_STREAM_NAME: 'eks-log-lake-raw',
    });
    const mod = await import(pathToFileURL(join(assets['eks-log-lake-transform']!, 'index.mjs')).href);
    const data = readFileSync(join(__dirname, '..', 'fixtures', 'messages', 'kube-scheduler.json.gz')).toString(
      'base64',
    );
    const res = await mod.handler({
      invocationId: 'i-1',
      deliveryStreamArn: 'arn:aws:firehose:eu-west-1:111111111111:deliverystream/eks-log-lake-raw',
      region: 'eu-west-1',
      records: [{ recordId: 'r-1', approximateArrivalTimestamp: 1711206430000, data }],
    });
    expect(res.records).toHaveLength(1);
    expect(res.records[0].result).toBe('Ok');
    expect(res.records[0].metadata.partitionKeys).toEqual({ log_type: 'kube-scheduler' });
  });
});
