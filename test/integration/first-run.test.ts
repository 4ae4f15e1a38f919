// The first run without a terminal: `init --print-keys` leaves the init JSON alone on stdout (a pipe to jq, gpg or
// ssh gets nothing else) and says the rest on stderr; `--secrets none` makes a server with no seeded secrets whose
// app policy grants nothing under secret/, and `verify` agrees with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';

describe('the first run, unattended', () => {
  const { flavor, image } = serverImages()[0] as { flavor: string; image: string };

  it('--print-keys without --json: stdout is the init JSON only; --secrets none seeds nothing and verify agrees', async () => {
    await using d = await testDeployment('first-run');
    const tokenFile = path.join(d.dir, 'app-token');
    const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--secrets', 'none', '--app-token-file', tokenFile, '--keep-root-token']);
    assert.equal(run.code, 0, run.stderr);

    // What `init --print-keys | jq` sees: one JSON document, nothing before or after it.
    const jq = spawnSync('jq', ['-e', '.unseal_keys_hex | length'], { input: run.stdout, encoding: 'utf8' });
    assert.equal(jq.status, 0, jq.stderr);
    assert.equal(jq.stdout.trim(), '5');
    assert.deepEqual(Object.keys(JSON.parse(run.stdout)).sort(), ['root_token', 'unseal_keys_b64', 'unseal_keys_hex', 'unseal_shares', 'unseal_threshold']);
    assert.match(run.stderr, /Deployed OpenBao v\S+ in /);
    assert.match(run.stderr, /Secrets: none seeded \(--secrets none\)/);
    assert.match(run.stderr, /Policy "openclaw" \(created\): token self-service only, nothing under secret\//);
    assert.match(run.stderr, new RegExp(`Next steps:\\n  vault-setup verify --dir ${d.dir} --token-file ${tokenFile} +prove the deployment is healthy and safe\\n  vault-setup unseal --dir ${d.dir} +after a reboot`));
    assert.match(run.stderr, /vault-setup backup --dir \S+ +a snapshot now/);
    assert.match(run.stderr, /vault-setup agent add NAME --secret secret\/PATH --dir \S+ +AppRole credentials/);

    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    assert.deepEqual(record.catalog, { file: 'none', paths: [] });
    assert.deepEqual(record.skippedFields, []);

    // The app's token: its own policy only, nothing under secret/ (not even the playbook's paths).
    const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
    const self = await api(d.address, 'GET', 'auth/token/lookup-self', { token: appToken });
    assert.deepEqual(self.body.data.policies, ['openclaw']);
    const caps = await api(d.address, 'POST', 'sys/capabilities-self', { token: appToken, body: { paths: ['secret/data/openrouter', 'secret/metadata/', 'secret/data/anything'] } });
    assert.deepEqual([caps.body['secret/data/openrouter'], caps.body['secret/metadata/'], caps.body['secret/data/anything']], [['deny'], ['deny'], ['deny']]);

    // A re-run resumes with the recorded "none": nothing seeded, nothing changed (it retires the root token it was given).
    const again = await runCli(['init', '--dir', d.dir, '--yes', '--json'], { env: { VAULT_TOKEN: JSON.parse(run.stdout).root_token } });
    assert.equal(again.code, 0, again.stderr);
    const configured = again.json().configure;
    assert.deepEqual([configured.catalog, configured.secrets, configured.policy.status, configured.policy.paths, configured.appToken.status, configured.rootToken.status], ['none', [], 'kept', [], 'kept', 'revoked']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).catalog, { file: 'none', paths: [] });

    const verify = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json']);
    assert.equal(verify.code, 0, verify.stdout);
    const checks = new Map((verify.json().checks as { id: string; status: string; finding: string }[]).map((c) => [c.id, c]));
    assert.deepEqual([checks.get('catalog-paths')?.status, checks.get('catalog-paths')?.finding], ['pass', 'no catalog paths to check (catalog: none (init --secrets none))']);
    assert.equal(checks.get('capabilities')?.status, 'pass');
    assert.match(checks.get('capabilities')?.finding ?? '', /read-only on the 0 catalog paths, denied on 8 paths outside/);
    assert.equal(checks.get('kv-v2')?.status, 'skip');
  });
});
