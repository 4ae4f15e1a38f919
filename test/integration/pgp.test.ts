// init --pgp-keys: holders with real GnuPG keys (binary and armored exports, RSA and Curve25519). The server
// encrypts each share to its holder; the encrypted shares land in --keys-out (0600) and the --json `init` member;
// each holder decrypts with gpg and pipes the share into `vault-setup unseal --stdin`; a re-run of init resumes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { gpgHome } from '../helpers/gpg.ts';
import { assertNoLeaks, watchProcesses } from '../helpers/leaks.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';
import { configureArgs } from '../helpers/ceremony.ts';

/** A holder at their terminal: `gpg -d share-N.asc | vault-setup unseal --dir DIR --stdin`, a real shell pipeline. */
function holderUnseals(gnupgHome: string, shareFile: string, dir: string, home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const script = 'set -o pipefail; gpg --batch --quiet --decrypt "$1" | "$2" "$3" unseal --dir "$4" --stdin';
    const child = spawn('bash', ['-c', script, 'holder', shareFile, process.execPath, `${ROOT}src/cli.ts`, dir], {
      env: { PATH: process.env.PATH, HOME: home, GNUPGHOME: gnupgHome, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

for (const { label, flavor, image } of serverImages()) {
  describe(`pgp ceremony (${label})`, () => {
    it('shares encrypted to each holder, in --pgp-keys order; holders unseal with gpg | unseal --stdin; init resumes', { timeout: 10 * 60_000 }, async (t) => {
      const since = Date.now();
      await using d = await testDeployment(`pgp-${label.slice(0, 6)}`);
      using gpg = gpgHome();
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-pgp-home-'));
      t.after(() => fs.rmSync(home, { recursive: true, force: true }));
      const alice = gpg.holder('alice');
      const bob = gpg.holder('bob');
      const carol = gpg.holder('carol', 'future-default'); // ed25519 / cv25519
      const root = gpg.holder('rootkeeper');
      const keysOut = path.join(d.dir, 'keys');
      const pgpArgs = ['--pgp-keys', [alice.binaryFile, bob.armoredFile, carol.armoredFile].join(','), '--root-token-pgp-key', root.armoredFile, '--threshold', '2', '--keys-out', keysOut];
      const env = { HOME: home };

      let result: any;
      await t.test('init --pgp-keys --yes --json: initialised, sealed, how to resume; encrypted shares in files and JSON', async () => {
        const run = await runCli(['init', ...d.args(flavor, image), ...pgpArgs, ...configureArgs(d.dir), '--yes', '--json'], { env });
        assert.equal(run.code, 0, run.stderr);
        // Whose keys the shares go to, by fingerprint, before init (on stderr, also with --json).
        const grouped = (fpr: string) => fpr.replace(/(.{4})(?!$)/g, '$1 ');
        [alice, bob, carol].forEach((h, i) => assert.match(run.stderr, new RegExp(`  share ${i + 1} -> ${path.basename(i === 0 ? h.binaryFile : h.armoredFile).replace(/\./g, '\\.')}: ${grouped(h.fingerprint)}`, 'i')));
        assert.match(run.stderr, new RegExp(`  root token -> ${path.basename(root.armoredFile).replace(/\./g, '\\.')}: ${grouped(root.fingerprint)}`, 'i'));
        result = run.json();
        assert.equal(result.initialized, true);
        assert.equal(result.sealed, true);
        assert.deepEqual(Object.keys(result.init).sort(), ['root_token', 'unseal_keys_b64', 'unseal_keys_hex', 'unseal_shares', 'unseal_threshold']);
        assert.equal(result.init.unseal_shares, 3);
        assert.equal(result.init.unseal_threshold, 2);
        assert.match(result.resume, /gpg -d .*share-N\.asc \| vault-setup unseal --dir .* --stdin/);
        assert.match(result.resume, /vault-setup init --dir /);
        assert.ok(!('configure' in result), 'nothing is configured while sealed');
        const s = (await api(d.address, 'GET', 'sys/seal-status')).body;
        assert.deepEqual([s.initialized, s.sealed, s.t, s.n], [true, true, 2, 3]);
      });

      const shares: string[] = [];
      let rootToken = '';
      await t.test('each share file is 0600, decrypts with its holder\'s key only, and matches the JSON (same order)', async () => {
        const holders = [alice, bob, carol];
        assert.deepEqual(fs.readdirSync(keysOut).sort(), ['root-token.asc', 'share-1.asc', 'share-2.asc', 'share-3.asc']);
        for (const [i, holder] of holders.entries()) {
          const file = path.join(keysOut, `share-${i + 1}.asc`);
          assert.equal(fs.statSync(file).mode & 0o777, 0o600);
          const text = fs.readFileSync(file, 'utf8');
          assert.match(text, new RegExp(`Comment: share ${i + 1} of 3 \\(threshold 2\\), encrypted to ${holder.name}\\.`));
          const share = gpg.decrypt(file).trim();
          assert.match(share, /^[0-9a-f]{66}$/, 'a decrypted share is the hex share as text');
          shares.push(share);
          // The JSON holds the same ciphertext, in the same order.
          assert.equal(gpg.decrypt(Buffer.from(result.init.unseal_keys_b64[i], 'base64')).trim(), share);
          assert.equal(Buffer.from(result.init.unseal_keys_hex[i], 'hex').toString('base64'), result.init.unseal_keys_b64[i]);
        }
        // The share of holder 1 is encrypted to holder 1 only: without alice's secret key it does not decrypt.
        using other = gpgHome();
        other.holder('mallory');
        assert.throws(() => other.decrypt(path.join(keysOut, 'share-1.asc')), /No secret key|decryption failed/);
        rootToken = gpg.decrypt(path.join(keysOut, 'root-token.asc')).trim();
        assert.ok(rootToken.length > 10);
        assert.equal(gpg.decrypt(Buffer.from(result.init.root_token, 'base64')).trim(), rootToken);
      });

      await t.test('holders unseal from their own terminals: gpg -d share-N.asc | vault-setup unseal --stdin', async () => {
        const watch = watchProcesses([...shares, rootToken]);
        const first = await holderUnseals(gpg.home, path.join(keysOut, 'share-3.asc'), d.dir, home);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /Still sealed: 1\/2/);
        const second = await holderUnseals(gpg.home, path.join(keysOut, 'share-1.asc'), d.dir, home);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stderr, /sealed: 1\/2/, 'the second holder sees the first one\'s progress');
        assert.match(second.stdout, /Unsealed/);
        assert.deepEqual(watch.stop(), [], 'no argv or environment held a share while the holders unsealed');
        assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.sealed, false);
      });

      await t.test('init again with the same flags and the root token in BAO_TOKEN: resumes and configures', async () => {
        const run = await runCli(['init', ...d.args(flavor, image), ...pgpArgs, ...configureArgs(d.dir), '--yes', '--json'], { env: { ...env, BAO_TOKEN: rootToken } });
        assert.equal(run.code, 0, run.stderr);
        const again = run.json();
        assert.equal(again.sealed, false);
        assert.ok(!('init' in again), 'no init member: nothing was initialised in this run');
        assert.ok(!('resume' in again));
        assert.deepEqual(again.steps.filter((s: any) => ['init', 'unseal'].includes(s.id)).map((s: any) => `${s.id}:${s.status}`), ['init:kept', 'unseal:kept']);
        assert.ok('configure' in again, 'configuration ran');
      });

      await t.test('no share or root token in any file, log or docker inspect', async () => {
        await assertNoLeaks([...shares, rootToken], { dirs: [d.dir, home], since, containers: [d.name] });
      });
    });

    it('--wait-unseal: init waits while holders unseal, then carries on with the root token in memory', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`pgw-${label.slice(0, 6)}`);
      using gpg = gpgHome();
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-pgp-home-'));
      try {
        const holders = [gpg.holder('h1'), gpg.holder('h2')];
        const keysOut = path.join(d.dir, 'keys');
        const args = ['init', ...d.args(flavor, image), '--pgp-keys', holders.map((h) => h.armoredFile).join(','), '--print-keys', '--keys-out', keysOut, '--wait-unseal', '5m', ...configureArgs(d.dir), '--yes', '--json'];
        let settled = false;
        const init = runCli(args, { env: { HOME: home } }).finally(() => (settled = true));
        // The holders act when their encrypted share appears.
        while (!fs.existsSync(path.join(keysOut, 'share-2.asc'))) {
          if (settled) assert.fail(`init ended before writing the shares:\n${(await init).stderr}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        for (const n of [1, 2]) {
          const run = await holderUnseals(gpg.home, path.join(keysOut, `share-${n}.asc`), d.dir, home);
          assert.equal(run.code, 0, run.stderr);
        }
        const run = await init;
        assert.equal(run.code, 0, run.stderr);
        const result = run.json();
        assert.equal(result.sealed, false);
        assert.ok(!('resume' in result));
        assert.ok('configure' in result, 'configured with the root token held in memory');
        assert.equal(result.steps.find((s: any) => s.id === 'unseal').status, 'done');
        assert.equal(result.init.unseal_keys_b64.length, 2);
        assert.ok(!fs.existsSync(path.join(keysOut, 'root-token.asc')), 'no root-token file: it was not encrypted');
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  });
}
