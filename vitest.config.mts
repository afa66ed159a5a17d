import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 hides.
    execArgv: ['--openssl-legacy-provider'],
    // aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22); Node 20 needs a polyfill.
    setupFiles: ['test/helpers/setup.ts'],
    env: {
      TZ: 'UTC',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_DEV: 'false',
    },
  },
});
