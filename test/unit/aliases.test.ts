// The renamed options: init's --token-file is now --app-token-file, restore's --force is --force-foreign-snapshot.
// The old names still work (they mean exactly the new ones) and each use says so in one line on stderr.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli.ts';
import { spec as restoreSpec } from '../../src/commands/restore.options.ts';
import { parseInvocation } from '../../src/options/spec.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-aliases-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => (stderr += c));
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end();
  const code = await main({ argv, env: { PATH: process.env.PATH, HOME: tmp, NO_COLOR: '1' }, stdout: out, stderr: err, stdin });
  return { code, stdout, stderr };
}

describe('deprecated option names', () => {
  it('init --token-file is read as --app-token-file (a link given there is refused before anything is deployed) and warns', async () => {
    const victim = path.join(tmp, 'victim');
    fs.writeFileSync(victim, 'mine\n');
    const link = path.join(tmp, 'app.token');
    fs.symlinkSync(victim, link);
    const dir = path.join(tmp, 'deployment');
    for (const flag of ['--token-file', '--app-token-file']) {
      const run = await cli(['init', '--dir', dir, '--yes', '--print-keys', '--json', flag, link]);
      assert.equal(run.code, 7, run.stderr);
      assert.equal(JSON.parse(run.stdout).error.code, 'E_UNSAFE_PATH');
      const warned = run.stderr.split('\n').filter((l) => /deprecated/.test(l));
      assert.deepEqual(warned, flag === '--token-file' ? ['vault-setup init: --token-file is deprecated: use --app-token-file (same meaning).'] : []);
    }
    assert.equal(fs.existsSync(dir), false, 'nothing written');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'mine\n');
  });

  it('restore --force means --force-foreign-snapshot and warns', async () => {
    const parsed = parseInvocation(restoreSpec, ['x.snap', '--force', '--yes']);
    assert.deepEqual(parsed.flags, { 'force-foreign-snapshot': true, yes: true });
    assert.deepEqual(parsed.warnings, ['--force is deprecated: use --force-foreign-snapshot (same meaning)']);
    assert.deepEqual(parseInvocation(restoreSpec, ['x.snap', '--force-foreign-snapshot']).warnings, []);
    const run = await cli(['restore', path.join(tmp, 'none.snap'), '--force', '--json']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^vault-setup restore: --force is deprecated: use --force-foreign-snapshot \(same meaning\)\.$/m);
    assert.equal(JSON.parse(run.stdout).error.code, 'E_USAGE');
  });

  it('the old names are not in the help; the new ones are', async () => {
    const init = await cli(['init', '--help']);
    assert.match(init.stdout, /--app-token-file PATH/);
    assert.doesNotMatch(init.stdout, / --token-file/);
    const restore = await cli(['restore', '--help']);
    assert.match(restore.stdout, /--force-foreign-snapshot/);
    assert.doesNotMatch(restore.stdout, /--force /);
  });
});
