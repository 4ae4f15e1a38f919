// The installed entry point, run from a checkout that was never built: one line saying what to do, exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

test('bin/vault-setup.js without dist/: "not built yet" and the command that builds it, exit 2, no stack', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-bin-'));
  try {
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(path.resolve('bin/vault-setup.js'), path.join(root, 'bin', 'vault-setup.js'));
    fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n');
    const run = spawnSync(process.execPath, [path.join(root, 'bin', 'vault-setup.js'), 'status'], { encoding: 'utf8' });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /vault-setup is not built yet: dist\/cli\.js is missing/);
    assert.match(run.stderr, /npm ci && npm run build/);
    assert.doesNotMatch(run.stderr, /ERR_MODULE_NOT_FOUND|at .*:\d+:\d+/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
