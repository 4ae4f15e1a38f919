// The ceremony's unattended paths against the real servers: what --yes refuses (before anything is initialised),
// the --print-keys contract (field names of `vault operator init -format=json`), and that the shares and root
// token reach no file, log or `docker inspect`. Also proves the leak scanner finds what is there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { assertNoLeaks, findLeaks, watchProcesses } from '../helpers/leaks.ts';
import { serverImages } from '../helpers/rig.ts';
import { api, deploy } from '../helpers/server.ts';
import { configureArgs } from '../helpers/ceremony.ts';

const sealStatus = async (address: string) => (await api(address, 'GET', 'sys/seal-status')).body;

test('the leak scanner finds a planted share in every spelling and place it looks', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-leak-control-'));
  try {
    const share = randomBytes(33);
    const token = `s.${randomBytes(12).toString('hex')}`;
    fs.mkdirSync(path.join(dir, 'deep', 'er'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'hex.txt'), `x ${share.toString('hex').toUpperCase()} y`);
    fs.writeFileSync(path.join(dir, 'deep', 'b64.json'), JSON.stringify({ k: share.toString('base64') }));
    fs.writeFileSync(path.join(dir, 'deep', 'er', 'raw.bin'), Buffer.concat([randomBytes(100), share, randomBytes(100)]));
    fs.writeFileSync(path.join(dir, 'token.b64'), Buffer.from(token).toString('base64'));
    const found = await findLeaks({ secrets: [share.toString('base64'), token], dirs: [dir] });
    assert.deepEqual(found.map((l) => `${path.relative(dir, l.where)}:${l.secret}`).sort(), ['deep/b64.json:0', 'deep/er/raw.bin:0', 'hex.txt:0', 'token.b64:1']);
    // A process holding a secret in its argv or environment is seen while it runs.
    const watch = watchProcesses([token]);
    const child = spawn('sleep', ['1'], { env: { LEAKED: token } });
    await new Promise((r) => child.on('close', r));
    assert.ok(watch.stop().some((l) => /^\/proc\/\d+\/environ$/.test(l.where)), 'an environment holding the token is found');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const { label, flavor, image } of serverImages()) {
  describe(`unattended ceremony (${label})`, () => {
    it('--yes without PGP keys is refused before init; bad counts too; --print-keys prints the contract and unseals', { timeout: 10 * 60_000 }, async (t) => {
      const since = Date.now();
      await using d = await testDeployment(`cer-${label.slice(0, 6)}`);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-cer-home-'));
      t.after(() => fs.rmSync(home, { recursive: true, force: true }));
      const env = { HOME: home };
      await deploy(d, flavor, image);

      await t.test('--yes without --pgp-keys or --print-keys: exit 15 (an answer is needed), says why; the server stays uninitialised', async () => {
        const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--json'], { env });
        assert.equal(run.code, 15, run.stderr);
        assert.equal(run.json().error.code, 'E_NEEDS_ANSWER');
        assert.match(run.stderr, /cannot be shown to anyone/);
        assert.match(run.stderr, /--pgp-keys.*--print-keys/);
        assert.equal((await sealStatus(d.address)).initialized, false);
      });

      await t.test('invalid --shares/--threshold: exit 2 with the rule; still uninitialised', async () => {
        for (const [n, tt, pattern] of [['3', '5', /cannot be larger/], ['4', '1', /single holder/], ['256', '3', /between 1 and 255/], ['x', '2', /whole number/]] as const) {
          const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--shares', n, '--threshold', tt], { env });
          assert.equal(run.code, 2, run.stderr);
          assert.match(run.stderr, pattern);
        }
        assert.equal((await sealStatus(d.address)).initialized, false);
      });

      let printed: any;
      await t.test('--yes --print-keys (no --json): the init JSON on stdout first, then unsealed and configured', async () => {
        const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--shares', '4', '--threshold', '2', ...configureArgs(d.dir)], { env });
        assert.equal(run.code, 0, run.stderr);
        const end = run.stdout.indexOf('\n}\n');
        assert.ok(run.stdout.startsWith('{') && end > 0, run.stdout);
        printed = JSON.parse(run.stdout.slice(0, end + 2));
        assert.deepEqual(Object.keys(printed), ['unseal_keys_b64', 'unseal_keys_hex', 'unseal_shares', 'unseal_threshold', 'root_token']);
        assert.equal(printed.unseal_shares, 4);
        assert.equal(printed.unseal_threshold, 2);
        assert.equal(printed.unseal_keys_b64.length, 4);
        for (const [i, hex] of printed.unseal_keys_hex.entries()) assert.equal(Buffer.from(hex, 'hex').toString('base64'), printed.unseal_keys_b64[i]);
        assert.ok(!run.stderr.includes(printed.root_token) && !printed.unseal_keys_b64.some((k: string) => run.stderr.includes(k)), 'nothing secret on stderr');
        const s = await sealStatus(d.address);
        assert.deepEqual([s.initialized, s.sealed, s.t, s.n], [true, false, 2, 4]);
      });

      await t.test('the printed shares are the real ones: any 2 unseal the server after a restart', async () => {
        const { docker } = await import('../helpers/deployment.ts');
        docker('restart', d.name);
        const run = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${printed.unseal_keys_hex[3]}\n${printed.unseal_keys_b64[1]}\n`, env });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.json().sealed, false);
      });

      await t.test('no share or root token in any file, log or docker inspect', async () => {
        await assertNoLeaks([...printed.unseal_keys_b64, printed.root_token], { dirs: [d.dir, home], since, containers: [d.name] });
      });
    });

    it('--json --print-keys: the `init` member holds the contract', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`cej-${label.slice(0, 6)}`);
      const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json', ...configureArgs(d.dir)]);
      assert.equal(run.code, 0, run.stderr);
      const result = run.json();
      assert.deepEqual(Object.keys(result.init), ['unseal_keys_b64', 'unseal_keys_hex', 'unseal_shares', 'unseal_threshold', 'root_token']);
      assert.equal(result.init.unseal_keys_b64.length, 5, 'default 5 shares');
      assert.equal(result.init.unseal_threshold, 3, 'default threshold 3');
      assert.equal(result.sealed, false);
      assert.deepEqual(result.steps.filter((s: any) => ['init', 'unseal'].includes(s.id)).map((s: any) => `${s.id}:${s.status}`), ['init:done', 'unseal:done']);
    });
  });
}
