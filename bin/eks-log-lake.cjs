#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx eks-log-lake` works straight after `npm ci`.
require('tsx/cjs');
require('../src/cli/main.ts').runCli(process.argv);
