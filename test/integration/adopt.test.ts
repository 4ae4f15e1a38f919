// `vault-setup adopt` on a deployment built by the playbook's own steps (seed 004, chapter 2.7), as far as the rig
// allows: its docker-compose.yml and vault.hcl word for word with the rig's Vault 1.17.6 image and a free port,
// `docker-compose up -d`, the playbook's `docker exec ... chown`, `operator init` 5/3 and the unseals through the HTTP
// API (as the CLI does), KV v2 at secret/, the five `kv put`s, `token create -policy=default`, an unseal.sh with three
// keys, and an app's .env holding the root token. Then `adopt --yes` with the shares and the operator's password on
// stdin and the root token in VAULT_TOKEN; an independent client checks what the server holds afterwards.
// The playbook deployment itself: test/helpers/playbook.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { findLeaks } from '../helpers/leaks.ts';
import { runInProcess, scriptedPrompter } from '../helpers/in-process.ts';
import { call } from '../helpers/day2.ts';
import { docker } from '../helpers/deployment.ts';
import { PASSWORD, SECRETS, assertAdopted, playbookCompose, playbookDeployment } from '../helpers/playbook.ts';
import { rig, vault117Image } from '../helpers/rig.ts';

test('adopt: a playbook deployment (Vault 1.17.6, file storage, root token in use) becomes the hardened shape', { timeout: 10 * 60_000 }, async (t) => {
  const p = await playbookDeployment(t, vault117Image());
  const { dir, home, root, name, server, keys, rootToken, oldAppToken, script, appEnv } = p;

  const report = await runCli(['adopt', '--dir', dir, '--report-only', '--json'], { env: { VAULT_TOKEN: rootToken, HOME: home } });
  assert.equal(report.code, 0, report.stderr);
  const seen = report.json();
  assert.equal(seen.changed, false);
  assert.deepEqual(seen.unseal_scripts.map((s: any) => [s.file, s.shares]), [[script, 3]]);
  assert.deepEqual(seen.files_with_root_token, [appEnv]);
  const failing = seen.report.findings.filter((f: any) => f.status === 'fail').map((f: any) => f.id);
  for (const id of ['key-material', 'audit-device', 'no-root-token']) assert.ok(failing.includes(id), `the report fails ${id}: ${failing.join(', ')}`);
  // The playbook's container (compose project named after the directory, service `vault`) is found, and running.
  assert.deepEqual(seen.report.findings.filter((f: any) => ['container', 'restarts'].includes(f.id)), [], `the container is found running: ${JSON.stringify(seen.report.findings)}`);
  assert.equal(docker('network', 'ls', '-q', '--filter', `name=^${name}_vault-net$`).trim() === '', false, 'the playbook made its network');
  assert.match(report.stderr, /UNSEAL KEYS IN PLAIN TEXT: .*unseal\.sh calls unseal with 3 keys/);
  assert.match(report.stderr, /sends nothing anywhere/);

  const tokenFile = path.join(root, 'app-token');
  const input = `${keys.slice(2, 5).join('\n')}\n${PASSWORD}\n`;
  const run = await runCli(['adopt', '--dir', dir, '--yes', '--stdin', '--password-stdin', '--app-token-file', tokenFile, '--revoke-old-app-token', '--shred-unseal-script', '--json'], {
    env: { VAULT_TOKEN: rootToken, HOME: home },
    input,
    timeoutMs: 8 * 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  const out = run.json();
  for (const secret of [...keys, ...p.hexKeys, rootToken, oldAppToken, PASSWORD, SECRETS.github!.token as string]) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'no share, token, password or value in the output');
  }

  const appToken = await assertAdopted(p, out, tokenFile);
  assert.equal(fs.readFileSync(path.join(dir, 'docker-compose.yml.pre-adopt'), 'utf8'), playbookCompose(vault117Image(), name, p.port), 'the original is kept');
  // The old container's network went with it: nothing else used it, and the result says so.
  assert.equal(docker('network', 'ls', '-q', '--filter', `name=^${name}_vault-net$`).trim(), '', 'the playbook\'s network is removed');
  assert.match(out.steps.find((s: any) => s.step === 'shape').detail, new RegExp(`network ${name}_vault-net removed`));

  // The old tokens: root revoked, the -policy=default app token revoked as asked; the app that read root is named.
  assert.equal((await call(server, 'GET', 'auth/token/lookup-self', { token: rootToken })).status, 403, 'the root token is revoked');
  assert.equal((await call(server, 'GET', 'auth/token/lookup-self', { token: oldAppToken })).status, 403, 'the old app token is revoked');
  assert.equal(out.old_app_tokens.found.length, 1);
  assert.equal(out.old_app_tokens.found[0].display_name, 'token-openclaw-app');
  assert.deepEqual(out.root_token, { status: 'revoked', files_holding_it: [appEnv] });

  // The operator login works.
  const login = await call(server, 'POST', 'auth/userpass/login/admin', { body: { password: PASSWORD } });
  assert.equal(login.status, 200, JSON.stringify(login.body));

  // The unseal script: found, shredded.
  assert.deepEqual(out.unseal_scripts.map((s: any) => [s.file, s.shares, s.shredded]), [[script, 3, true]]);
  assert.equal(fs.existsSync(script), false);

  // Nothing secret was left on disk, in the containers' logs or their configuration (the app's .env is the test's).
  const leaks = await findLeaks({ secrets: [...keys, rootToken, oldAppToken, PASSWORD, appToken], dirs: [dir, home], containers: [name], exclude: [appEnv] });
  assert.deepEqual(leaks, []);
  assert.ok(out.report.after.fail < out.report.before.fail, `fewer failing checks: ${JSON.stringify(out.report)}`);
  assert.equal(out.rekey_advised, true);
  t.diagnostic(`verify failures ${out.report.before.fail} -> ${out.report.after.fail}; adopt ${out.seconds}s, of which migrate ${out.migrate.seconds.total}s`);

  // The same shares open it after a restart (unseal reads the deployment as it is now).
  docker('restart', name);
  const opened = await runCli(['unseal', '--dir', dir, '--stdin', '--json'], { input: `${keys.slice(0, 3).join('\n')}\n` });
  assert.equal(opened.code, 0, opened.stderr);
  assert.deepEqual((await call(server, 'GET', 'secret/data/database', { token: appToken })).body.data.data, SECRETS.database);
});

test('adopt: OpenBao 2.6.2, the root token on stdin, --keep-old-tokens, no operator password, the script left', { timeout: 10 * 60_000 }, async (t) => {
  // The operator skipped step 10's cockpit secret: adopt seeds it (the catalog generates both fields), create-only.
  const p = await playbookDeployment(t, rig().vaultLayoutImage, ['cockpit']);
  const tokenFile = path.join(p.root, 'app-token');
  const run = await runCli(['adopt', '--dir', p.dir, '--yes', '--stdin', '--keep-old-tokens', '--app-token-file', tokenFile, '--json'], {
    env: { HOME: p.home },
    input: `${p.rootToken}\n${p.keys.slice(0, 3).join('\n')}\n`,
    timeoutMs: 8 * 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  const out = run.json();
  for (const secret of [...p.keys, ...p.hexKeys, p.rootToken, p.oldAppToken]) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'no share or token in the output');
  const appToken = await assertAdopted(p, out, tokenFile, ['cockpit']);
  const cockpit = (await call(p.server, 'GET', 'secret/data/cockpit', { token: appToken })).body.data.data;
  assert.match(cockpit.jwt_secret, /^[0-9a-f]{64}$/);
  assert.equal(cockpit.admin_password.length, 24);
  assert.deepEqual(Object.fromEntries(out.configure.secrets.map((x: any) => [x.path, x.status])), { openrouter: 'kept', telegram: 'kept', github: 'kept', database: 'kept', cockpit: 'created' });
  for (const secret of [cockpit.jwt_secret, cockpit.admin_password]) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a generated value is not shown');
  assert.match(fs.readFileSync(path.join(p.dir, 'config', 'vault.hcl'), 'utf8'), /^audit "file" "file" \{/m, 'OpenBao gets its audit device declared');
  // Both old tokens still work, as asked; the script is still there, and the result says so.
  assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: p.rootToken })).status, 200);
  assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: p.oldAppToken })).status, 200);
  assert.deepEqual(out.root_token, { status: 'kept', files_holding_it: [p.appEnv] });
  assert.deepEqual(out.old_app_tokens.revoked, []);
  assert.equal(out.configure.operator.status, 'not-created');
  assert.deepEqual(out.unseal_scripts.map((s: any) => [s.file, s.shares, s.shredded]), [[p.script, 3, false]]);
  assert.ok(fs.existsSync(p.script));

  const again = await runCli(['adopt', '--dir', p.dir, '--yes', '--json'], { env: { HOME: p.home, VAULT_TOKEN: p.rootToken } });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.json(), { dir: p.dir, changed: false, adopted: true });
});

test('adopt: each step waits for its confirmation; a "no" stops there, and the next run goes on from there', { timeout: 10 * 60_000 }, async (t) => {
  const p = await playbookDeployment(t, vault117Image());
  const composeBefore = fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8');
  const containerBefore = docker('inspect', '-f', '{{.Id}}', p.name).trim();
  const env = { VAULT_TOKEN: p.rootToken, HOME: p.home };

  // The shares at masked prompts, then "no" to the first step: nothing changes.
  const refused = scriptedPrompter([...p.keys.slice(0, 3), false]);
  const first = await runInProcess(['adopt', '--dir', p.dir], { env, prompter: refused });
  assert.equal(first.code, 2, first.stderr);
  assert.match(first.stderr, /stopped before "Rewrite docker-compose\.yml and config\/vault\.hcl as shown, and recreate the container\?"/);
  assert.match(first.stderr, /--- docker-compose\.yml\n/, 'the diff was shown before the question');
  assert.deepEqual(refused.asked, ['Share 1 of 3', 'Share 2 of 3', 'Share 3 of 3', 'Rewrite docker-compose.yml and config/vault.hcl as shown, and recreate the container?']);
  assert.equal(fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8'), composeBefore);
  assert.equal(docker('inspect', '-f', '{{.Id}}', p.name).trim(), containerBefore);

  // "yes" to the shape, "no" to the migration: the new shape runs, unsealed, still on file storage.
  const partly = scriptedPrompter([...p.keys.slice(1, 4), true, false]);
  const second = await runInProcess(['adopt', '--dir', p.dir], { env, prompter: partly });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /stopped before "Stop the server, migrate file storage to raft as shown, and take the first snapshot\?"/);
  assert.match(second.stderr, /--- config\/vault\.hcl\n[\s\S]*\+ *storage "raft" \{[\s\S]*stopped before "Stop the server/, 'the vault.hcl change was shown before the question');
  assert.match(fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8'), /network_mode: host/);
  assert.match(fs.readFileSync(path.join(p.dir, 'config', 'vault.hcl'), 'utf8'), /storage "file"/);
  assert.equal((await call(p.server, 'GET', 'sys/seal-status')).body.sealed, false);
  assert.equal(fs.existsSync(path.join(p.dir, 'vault-setup.json')), false);

  // The rest with --yes: the shape is found done, the other steps run.
  const tokenFile = path.join(p.root, 'app-token');
  const third = await runCli(['adopt', '--dir', p.dir, '--yes', '--stdin', '--app-token-file', tokenFile, '--json'], { env, input: `${p.keys.slice(0, 3).join('\n')}\n`, timeoutMs: 8 * 60_000 });
  assert.equal(third.code, 0, third.stderr);
  const out = third.json();
  assert.deepEqual(out.steps.find((s: any) => s.step === 'shape'), { step: 'shape', status: 'kept', detail: 'docker-compose.yml and config/vault.hcl are in the hardened shape' });
  await assertAdopted(p, out, tokenFile);
  assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: p.rootToken })).status, 403, 'the root token is revoked');
});
