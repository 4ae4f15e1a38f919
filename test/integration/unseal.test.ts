// `vault-setup unseal` and the unseal facts it relies on, against the real servers in both image layouts.
// The facts of vault-api.md about sys/init and sys/unseal are asserted here with an independent client (fetch);
// then the command is driven as holders would: shares piped on stdin, never in argv or the environment.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { watchProcesses } from '../helpers/leaks.ts';
import { serverImages } from '../helpers/rig.ts';
import { api, deploy, waitActive } from '../helpers/server.ts';

const sealStatus = async (address: string) => (await api(address, 'GET', 'sys/seal-status')).body;
const unsealCli = (dir: string, input: string, extra: string[] = []) => runCli(['unseal', '--dir', dir, '--stdin', '--json', ...extra], { input });
const wrongShare = () => randomBytes(33).toString('base64');

for (const { label, flavor, image } of serverImages()) {
  describe(`unseal (${label})`, () => {
    it('server facts, then unseal --stdin: progress, duplicates, bad shares, wrong combination, reset, restart, crash loop', { timeout: 10 * 60_000 }, async (t) => {
      await using d = await testDeployment(`un-${label.slice(0, 6)}`);
      await deploy(d, flavor, image);
      const dir = d.dir;
      let keys: string[] = [];
      let keysB64: string[] = [];
      let rootToken = '';

      await t.test('before init: the server says so, and `unseal` exits 9 (E_NOT_INITIALIZED)', async () => {
        const res = await api(d.address, 'PUT', 'sys/unseal', { body: { key: randomBytes(33).toString('hex') } });
        assert.equal(res.status, 400);
        assert.match(res.body.errors.join(' '), /Vault is not initialized/);
        const run = await unsealCli(dir, '');
        assert.equal(run.code, 9, run.stderr);
        assert.equal(run.json().error.code, 'E_NOT_INITIALIZED');
        assert.match(run.stderr, /not initialised yet.*\n.*vault-setup init/);
      });

      await t.test('facts of sys/init (vault-api.md)', async () => {
        const bad = await api(d.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 1 } });
        assert.equal(bad.status, 400);
        assert.match(bad.body.errors.join(' '), /invalid seal configuration/);
        const init = await api(d.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
        assert.equal(init.status, 200);
        ({ keys, keys_base64: keysB64, root_token: rootToken } = init.body);
        assert.equal(keys.length, 3);
        for (const [i, k] of keys.entries()) {
          assert.match(k, /^[0-9a-f]{66}$/, 'a share is 33 bytes');
          assert.equal(Buffer.from(keysB64[i] as string, 'base64').toString('hex'), k);
        }
        const after = await sealStatus(d.address);
        assert.deepEqual([after.initialized, after.sealed, after.t, after.n, after.progress], [true, true, 2, 3, 0], 'init does not unseal');
        const twice = await api(d.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
        assert.equal(twice.status, 400);
        assert.match(twice.body.errors.join(' '), /already initialized/);
      });

      await t.test('facts of sys/unseal (vault-api.md)', async () => {
        const notKey = await api(d.address, 'PUT', 'sys/unseal', { body: { key: 'zz!!' } });
        assert.equal(notKey.status, 400);
        assert.match(notKey.body.errors.join(' '), /'key' must be a valid hex or base64 string/);
        const short = await api(d.address, 'PUT', 'sys/unseal', { body: { key: randomBytes(8).toString('hex') } });
        assert.equal(short.status, 400);
        assert.match(short.body.errors.join(' '), /invalid key/);
        assert.equal((await sealStatus(d.address)).progress, 0, 'malformed and too short keys are not counted');

        // Finding (not in vault-api.md): a well-formed key of the wrong length (here 20 bytes) IS counted; the
        // round then fails as a whole. That is why vault-setup checks the length itself before sending.
        const truncated = await api(d.address, 'PUT', 'sys/unseal', { body: { key: (keys[0] as string).slice(0, 40) } });
        assert.equal(truncated.status, 200);
        assert.equal(truncated.body.progress, 1);
        await api(d.address, 'PUT', 'sys/unseal', { body: { reset: true } });

        // hex and base64 are both accepted; the same share twice in a round is ignored.
        const first = await api(d.address, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
        assert.equal(first.body.progress, 1);
        const nonce = first.body.nonce;
        const again = await api(d.address, 'PUT', 'sys/unseal', { body: { key: keysB64[0] } });
        assert.equal(again.status, 200);
        assert.equal(again.body.progress, 1, 'the same share (other spelling) does not count twice');
        assert.equal(again.body.nonce, nonce);

        // A well-formed wrong share is counted; at the threshold the combination fails and the round is discarded.
        const wrong = await api(d.address, 'PUT', 'sys/unseal', { body: { key: randomBytes(33).toString('hex') } });
        assert.ok([400, 500].includes(wrong.status), `status ${wrong.status}`);
        assert.match(wrong.body.errors.join(' '), /invalid key|message authentication failed/);
        const gone = await sealStatus(d.address);
        assert.deepEqual([gone.sealed, gone.progress, gone.nonce], [true, 0, ''], 'the round is discarded, whatever the outcome');

        // reset discards a round in progress.
        await api(d.address, 'PUT', 'sys/unseal', { body: { key: keys[1] } });
        const reset = await api(d.address, 'PUT', 'sys/unseal', { body: { reset: true } });
        assert.equal(reset.status, 200);
        assert.equal(reset.body.progress, 0);
      });

      await t.test('no terminal and no --stdin: exit 15, and no share is taken from argv or env', async () => {
        const run = await runCli(['unseal', '--dir', dir]);
        assert.equal(run.code, 15, run.stderr);
        assert.match(run.stderr, /no terminal to ask for shares.*\n.*--stdin/);
        const extra = await runCli(['unseal', '--dir', dir, '--stdin', keys[0] as string], { input: '' });
        assert.equal(extra.code, 2, extra.stderr);
        assert.match(extra.stderr, /shares are never accepted on the command line/);
        assert.ok(!extra.stderr.includes(keys[0] as string), 'the argument is not echoed');
        assert.equal((await sealStatus(d.address)).progress, 0, 'a share given as an argument is never used');
      });

      await t.test('a malformed line: exit 11 (E_BAD_SHARE), its line named, nothing sent, the share not echoed', async () => {
        const almost = (keys[0] as string).slice(0, 64); // one byte short: would be counted by the server
        const run = await unsealCli(dir, `\n${almost}\n`);
        assert.equal(run.code, 11, run.stderr);
        assert.equal(run.json().error.code, 'E_BAD_SHARE');
        assert.match(run.stderr, /line 2 of standard input: 64 hex characters is not a share/);
        assert.ok(!run.stderr.includes(almost) && !run.stdout.includes(almost));
        assert.equal((await sealStatus(d.address)).progress, 0);
      });

      await t.test('a malformed line after a good one: the progress the server kept is reported truthfully', async () => {
        const almost = (keys[1] as string).slice(0, 64);
        const run = await unsealCli(dir, `${keys[0]}\n${almost}\n`);
        assert.equal(run.code, 11, run.stderr);
        assert.match(run.stderr, /line 2 of standard input: 64 hex characters is not a share/);
        assert.match(run.json().error.hint, /that line was not sent, but the share before it was: the server holds 1\/2/);
        assert.doesNotMatch(run.stderr, /nothing was sent/);
        assert.equal((await sealStatus(d.address)).progress, 1);
        assert.equal((await api(d.address, 'PUT', 'sys/unseal', { body: { reset: true } })).status, 200);
      });

      await t.test('a wrong combination: exit 10 (E_UNSEAL_FAILED), which share is unknowable, round discarded', async () => {
        const run = await unsealCli(dir, `${keys[0]}\n${wrongShare()}\n`);
        assert.equal(run.code, 10, run.stderr);
        assert.equal(run.json().error.code, 'E_UNSEAL_FAILED');
        assert.match(run.stderr, /cannot tell which share was wrong/);
        const s = await sealStatus(d.address);
        assert.deepEqual([s.sealed, s.progress], [true, 0]);
      });

      await t.test('one holder: one share, still sealed 1/2, exit 0; --reset discards it', async () => {
        const run = await unsealCli(dir, `${keysB64[2]}\n`);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(pick(run.json(), 'sealed', 'progress', 'threshold', 'sharesEntered'), { sealed: true, progress: 1, threshold: 2, sharesEntered: 1 });
        const reset = await runCli(['unseal', '--dir', dir, '--reset', '--json']);
        assert.equal(reset.code, 0, reset.stderr);
        assert.equal(reset.json().progress, 0);
        assert.equal((await sealStatus(d.address)).progress, 0);
      });

      await t.test('another holder\'s progress counts and is shown; the same share twice does not count', async () => {
        await api(d.address, 'PUT', 'sys/unseal', { body: { key: keys[1] } }); // another holder, elsewhere
        const watch = watchProcesses([...keys, ...keysB64, rootToken]);
        const run = await runCli(['unseal', '--dir', dir, '--stdin'], { input: `${keysB64[1]}\n${keys[2]}\n` });
        const leaks = watch.stop();
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /sealed: 1\/2/);
        assert.match(run.stderr, /already entered in this round/);
        assert.match(run.stdout, /Unsealed/);
        assert.equal((await sealStatus(d.address)).sealed, false);
        assert.deepEqual(leaks, [], 'no process argv or environment held a share while unseal ran');
        assert.ok(watch.samples() > 0);
      });

      await t.test('already unsealed: exit 17 (E_ALREADY_UNSEALED), no share used', async () => {
        const run = await unsealCli(dir, `${keys[0]}\n`);
        assert.equal(run.code, 17, run.stderr);
        assert.equal(run.json().error.code, 'E_ALREADY_UNSEALED');
        // Without a terminal and without --stdin, the same answer: the server is open, nothing is asked (not 15).
        const noTerminal = await runCli(['unseal', '--dir', dir]);
        assert.equal(noTerminal.code, 17, noTerminal.stderr);
        assert.match(noTerminal.stderr, /already unsealed; no share was used/);
        const reset = await api(d.address, 'PUT', 'sys/unseal', { body: { reset: true } });
        assert.equal(reset.status, 400);
        assert.match(reset.body.errors.join(' '), /vault is unsealed/);
      });

      await t.test('after a stop (a host reboot), unseal starts the container and unseals it', async () => {
        docker('stop', d.name);
        assert.equal(docker('inspect', '-f', '{{.State.Running}}', d.name).trim(), 'false');
        const run = await unsealCli(dir, `${keys[2]}\n${keys[0]}\n`);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(pick(run.json(), 'started', 'sealed', 'sharesEntered'), { started: true, sealed: false, sharesEntered: 2 });
        await waitActive(d.address);
        const self = await api(d.address, 'GET', 'auth/token/lookup-self', { token: rootToken });
        assert.equal(self.status, 200, 'the server serves requests again');
      });

      await t.test('a crash-looping container: exit 8 (E_CRASH_LOOP) with its log lines', async () => {
        docker('stop', d.name);
        const config = path.join(dir, 'config', 'vault.hcl');
        fs.writeFileSync(config, `${fs.readFileSync(config, 'utf8')}\nthis is not hcl {{{\n`);
        const run = await runCli(['unseal', '--dir', dir, '--stdin', '--wait', '20s'], { input: `${keys[0]}\n` });
        assert.equal(run.code, 8, run.stderr);
        assert.match(run.stderr, /does not stay up/);
        assert.match(run.stderr, /last log lines/);
        assert.ok(!run.stderr.includes(keys[0] as string));
      });
    });
  });
}

function pick(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
