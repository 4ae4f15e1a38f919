// A run that could not finish configuring must not initialise the server: what configure will need and can be
// known before the ceremony (secret values, where the app token goes) is checked first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';

describe('init checks what configure needs before the ceremony', () => {
  const { flavor, image } = serverImages()[0] as { flavor: string; image: string };

  it('missing secret values or no place for the app token: exit 15, server left uninitialised, no keys printed', async () => {
    await using d = await testDeployment('preflight');
    const missing = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--app-token-file', `${d.dir}/app-token`, '--json']);
    assert.equal(missing.code, 15, missing.stderr);
    assert.match(missing.stderr, /5 secret values are missing: openrouter\.api_key \(or set OPENROUTER_API_KEY\)/);
    assert.equal(missing.json().init, undefined, 'no shares were made, so none are printed');
    assert.deepEqual(await fetch(`${d.address}/v1/sys/init`).then((r) => r.json()), { initialized: false });

    const env = { OPENROUTER_API_KEY: 'sk-or-x', TELEGRAM_BOT_TOKEN: '1:x', TELEGRAM_CHAT_ID: '1', GITHUB_TOKEN: 'ghp_x', DB_PASSWORD: 'pw-x' };
    const nowhere = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json'], { env });
    assert.equal(nowhere.code, 15, nowhere.stderr);
    assert.match(nowhere.stderr, /--token-file|--wrap-ttl|--show-token/);
    assert.deepEqual(await fetch(`${d.address}/v1/sys/init`).then((r) => r.json()), { initialized: false });

    const ok = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--app-token-file', `${d.dir}/app-token`, '--json'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json().init.unseal_keys_hex.length, 5);
    assert.equal(ok.json().sealed, false);
  });
});
