#!/usr/bin/env node
// Installs from the lockfile when node_modules is missing or does not match it,
// so `npm start` and `npm test` work on a fresh clone with no other command.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { execSync } = require('node:child_process');

const root = join(__dirname, '..');
function stale() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return 'node_modules is missing';
  const want = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(installed, 'utf8')).packages ?? {};
  for (const [path, meta] of Object.entries(want)) {
    if (path === '' || meta.link || meta.optional || meta.peer) continue;
    if (have[path]?.version !== meta.version) return `${path} is not ${meta.version}`;
  }
  return undefined;
}
const why = stale();
if (why) {
  console.error(`eks-log-lake: installing dependencies from the lockfile (${why})`);
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
