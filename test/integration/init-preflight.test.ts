// A run that could not finish configuring must not initialise the server: what configure will need and can be
// known before anything happens (secret values from the environment, where the app token goes) is checked first.
// On a new directory that is before a file is written or a container started; on a deployed, uninitialised
// server the refusal says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';

const containersOf = (project: string): string => docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`).trim();

describe('init checks what configure needs before it deploys', () => {
  const { flavor, image } = serverImages()[0] as { flavor: string; image: string };

  it('missing secret values or no place for the app token: exit 15 with no file written and no container started', async () => {
    await using d = await testDeployment('preflight');
    const missing = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--app-token-file', `${d.dir}/app-token`, '--json']);
    assert.equal(missing.code, 15, missing.stderr);
    assert.match(missing.stderr, /5 secret values are missing: openrouter\.api_key \(or set OPENROUTER_API_KEY\)/);
    assert.match(missing.stderr, /or seed nothing with --secrets none; nothing was changed/);
    assert.equal(missing.json().init, undefined, 'no shares were made, so none are printed');
    assert.deepEqual(fs.readdirSync(d.dir), [], 'no file was written');
    assert.equal(containersOf(d.name), '', 'no container was started');

    const env = { OPENROUTER_API_KEY: 'sk-or-x', TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_CHAT_ID: '1', GITHUB_TOKEN: 'ghp_x', DB_PASSWORD: 'pw-x' };
    const nowhere = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json'], { env });
    assert.equal(nowhere.code, 15, nowhere.stderr);
    assert.match(nowhere.stderr, /--app-token-file PATH .*--wrap-ttl .*--show-token/);
    assert.deepEqual(fs.readdirSync(d.dir), []);
    assert.equal(containersOf(d.name), '');

    // The ceremony's options too: who receives the shares is decided before anything is deployed.
    const keysOut = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--keys-out', `${d.dir}/keys`, '--app-token-file', `${d.dir}/app-token`, '--json'], { env });
    assert.equal(keysOut.code, 2, keysOut.stderr);
    assert.match(keysOut.stderr, /--keys-out writes PGP-encrypted shares only/);
    assert.deepEqual(fs.readdirSync(d.dir), []);
    assert.equal(containersOf(d.name), '');
  });

  it('on a deployed, uninitialised server the refusal says what is running, and nothing is initialised', async () => {
    await using d = await testDeployment('preflight-deployed');
    const deployed = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const missing = await runCli(['init', '--dir', d.dir, '--yes', '--print-keys', '--app-token-file', `${d.dir}/app-token`]);
    assert.equal(missing.code, 15, missing.stderr);
    assert.match(missing.stderr, new RegExp(`the server is deployed at ${d.address} and not initialised; fix that and run the same command again`));
    assert.equal(missing.stdout, '', 'no shares were made, so none are printed');
    assert.deepEqual(await fetch(`${d.address}/v1/sys/init`).then((r) => r.json()), { initialized: false });

    const env = { OPENROUTER_API_KEY: 'sk-or-x', TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_CHAT_ID: '1', GITHUB_TOKEN: 'ghp_x', DB_PASSWORD: 'pw-x' };
    const ok = await runCli(['init', '--dir', d.dir, '--yes', '--print-keys', '--app-token-file', `${d.dir}/app-token`, '--json'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json().init.unseal_keys_hex.length, 5);
    assert.equal(ok.json().sealed, false);
  });

  it('--print-keys into a regular file on the server: a warning on stderr that names the file, before the shares are printed there', async () => {
    await using d = await testDeployment('keysfile');
    const out = path.join(d.dir, '..', `${path.basename(d.dir)}-init.json`);
    fs.mkdirSync(d.dir, { recursive: true });
    const fd = fs.openSync(out, 'w', 0o600);
    try {
      const run = spawnSync(process.execPath, [`${ROOT}src/cli.ts`, 'init', ...d.args(flavor, image), '--yes', '--print-keys', '--secrets', 'none', '--app-token-file', path.join(d.dir, 'app-token'), '--no-operator'], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 180_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`warning: --print-keys output goes to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: every share and the root token land on this server's disk in clear`));
      assert.match(fs.readFileSync(out, 'utf8'), /"unseal_keys_b64"/, 'the shares went where the operator sent them');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(out, { force: true });
    }
  });
});
