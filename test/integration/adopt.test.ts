// `vault-setup adopt` on a deployment built by the playbook's own steps (seed 004, chapter 2.7), as far as the rig
// allows: its docker-compose.yml and vault.hcl word for word with the rig's Vault 1.17.6 image and a free port,
// `docker-compose up -d`, the playbook's `docker exec ... chown`, `operator init` 5/3 and the unseals through the HTTP
// API (as the CLI does), KV v2 at secret/, the five `kv put`s, `token create -policy=default`, an unseal.sh with three
// keys, and an app's .env holding the root token. Then `adopt --yes` with the shares and the operator's password on
// stdin and the root token in VAULT_TOKEN; an independent client checks what the server holds afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { findLeaks } from '../helpers/leaks.ts';
import { runInProcess, scriptedPrompter } from '../helpers/in-process.ts';
import { call, unseal, waitActive, type Server } from '../helpers/day2.ts';
import { docker, freePort, removeContainers } from '../helpers/deployment.ts';
import { rig, vault117Image } from '../helpers/rig.ts';

// Step 10's secrets, with values in place of the placeholders (quotes, a colon, a long one).
const SECRETS: Record<string, Record<string, string>> = {
  openrouter: { api_key: 'sk-or-v1-0123456789abcdef' },
  telegram: { bot_token: '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11', chat_id: '-1001234567890' },
  github: { token: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
  database: { host: '127.0.0.1', port: '5432', name: 'oa_system', user: 'oa_admin', password: 'S7r0ng "pass" \\ word' },
  cockpit: { jwt_secret: 'a'.repeat(64), admin_password: 'adm1n-p@ss' },
};
const PASSWORD = 'operator-password-for-adopt';

const playbookCompose = (image: string, name: string, port: number) => `version: "3.8"

services:
  vault:
    image: ${image}
    container_name: ${name}
    restart: unless-stopped
    ports:
      - "127.0.0.1:${port}:8200"
    environment:
      VAULT_ADDR: "http://127.0.0.1:8200"
    cap_add:
      - IPC_LOCK
    volumes:
      - ./config:/vault/config:ro
      - ./data:/vault/data
    command: server -config=/vault/config/vault.hcl
    networks:
      - vault-net

networks:
  vault-net:
    driver: bridge
`;

const PLAYBOOK_HCL = `storage "file" {
  path = "/vault/data"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = 1
}

api_addr = "http://127.0.0.1:8200"

ui = true

disable_mlock = true
`;

async function waitAnswering(server: Server): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await call(server, 'GET', 'sys/seal-status').catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${server.address} never answered`);
}

interface Playbook {
  dir: string;
  home: string;
  root: string;
  name: string;
  port: number;
  server: Server;
  keys: string[];
  hexKeys: string[];
  rootToken: string;
  oldAppToken: string;
  script: string;
  appEnv: string;
}

/** A deployment made by the playbook's steps 1-12 (and the unseal.sh it forbids), with the given image. */
async function playbookDeployment(t: { after(fn: () => void): void }, image: string, skip: string[] = []): Promise<Playbook> {
  const name = `vstest-adopt-${randomBytes(3).toString('hex')}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-adopt-'));
  // ~/docker/vault: the directory's name is the compose project, as with `cd ~/docker/vault && docker compose up -d`.
  const dir = path.join(root, 'docker', name);
  const home = path.join(root, 'home');
  t.after(() => {
    removeContainers(name);
    fs.rmSync(root, { recursive: true, force: true });
  });
  const port = await freePort();
  const server: Server = { address: `http://127.0.0.1:${port}` };

  // Steps 1-4: the files, the start, the ownership fix.
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), playbookCompose(image, name, port));
  fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), PLAYBOOK_HCL);
  execFileSync('docker-compose', ['up', '-d'], { cwd: dir, stdio: 'ignore' });
  docker('exec', name, 'chown', '-R', 'vault:vault', '/vault/data');
  await waitAnswering(server);

  // Steps 5-12 through the HTTP API, as the CLI's commands do.
  const init = await call(server, 'PUT', 'sys/init', { body: { secret_shares: 5, secret_threshold: 3 } });
  assert.equal(init.status, 200, JSON.stringify(init.body));
  const keys = init.body.keys_base64 as string[];
  const rootToken = init.body.root_token as string;
  await unseal(server, keys.slice(0, 3));
  await waitActive(server);
  assert.equal((await call(server, 'POST', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } })).status, 204);
  for (const [key, data] of Object.entries(SECRETS).filter(([k]) => !skip.includes(k))) {
    for (let i = 0; ; i++) {
      const res = await call(server, 'POST', `secret/data/${key}`, { token: rootToken, body: { data } });
      if (res.status === 200) break;
      assert.ok(i < 100 && JSON.stringify(res.body).includes('Upgrading'), JSON.stringify(res.body));
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const created = await call(server, 'POST', 'auth/token/create', { token: rootToken, body: { display_name: 'openclaw-app', ttl: '720h', renewable: true, policies: ['default'] } });
  assert.equal(created.status, 200);
  // What the playbook warns against, and what people write anyway.
  const script = path.join(dir, 'unseal.sh');
  fs.writeFileSync(script, `#!/bin/sh\n${keys.slice(0, 3).map((k) => `docker exec -e VAULT_ADDR=http://127.0.0.1:8200 vault vault operator unseal ${k}`).join('\n')}\n`, { mode: 0o700 });
  const appEnv = path.join(home, 'openclaw', '.env');
  fs.mkdirSync(path.dirname(appEnv), { recursive: true });
  fs.writeFileSync(appEnv, `VAULT_ADDR=http://127.0.0.1:${port}\nVAULT_TOKEN=${rootToken}\n`, { mode: 0o600 });
  return { dir, home, root, name, port, server, keys, hexKeys: init.body.keys as string[], rootToken, oldAppToken: created.body.auth.client_token as string, script, appEnv };
}

/** What every adopted deployment holds: the hardened files, raft, audit, the scoped token reading every secret. */
async function assertAdopted(p: Playbook, out: any, tokenFile: string, skipped: string[] = []): Promise<string> {
  const hcl = fs.readFileSync(path.join(p.dir, 'config', 'vault.hcl'), 'utf8');
  assert.match(hcl, /^ui = false$/m);
  assert.match(hcl, new RegExp(`address += "127\\.0\\.0\\.1:${p.port}"`));
  assert.doesNotMatch(hcl, /address\s*=\s*"0\.0\.0\.0/);
  assert.match(hcl, /storage "raft" \{/);
  assert.doesNotMatch(hcl, /storage "file"/);
  const compose = fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8');
  assert.match(compose, /network_mode: host/);
  assert.doesNotMatch(compose, /ports:/);
  assert.match(compose, /no-new-privileges:true/);
  assert.ok(fs.existsSync(path.join(p.dir, 'data', 'raft', 'raft.db')), 'the data is raft now');
  assert.ok(fs.statSync(out.migrate.snapshot).size > 0, 'the first snapshot exists');
  assert.equal((await call(p.server, 'GET', 'sys/seal-status')).body.sealed, false);
  // Audit on: the device writes the requests made since.
  const audit = path.join(p.dir, 'logs', 'audit.log');
  assert.ok(fs.existsSync(audit) && fs.statSync(audit).size > 0, 'the audit log is written');
  // The scoped app token reads every secret, byte for byte, and nothing more.
  const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
  assert.deepEqual((await call(p.server, 'GET', 'auth/token/lookup-self', { token: appToken })).body.data.policies, ['openclaw']);
  for (const [key, data] of Object.entries(SECRETS).filter(([k]) => !skipped.includes(k))) {
    const res = await call(p.server, 'GET', `secret/data/${key}`, { token: appToken });
    assert.equal(res.status, 200, key);
    assert.deepEqual(res.body.data.data, data, `secret/${key} byte for byte`);
  }
  assert.equal((await call(p.server, 'POST', 'secret/data/openrouter', { token: appToken, body: { data: { api_key: 'x' } } })).status, 403, 'the app token cannot write');
  const record = JSON.parse(fs.readFileSync(path.join(p.dir, 'vault-setup.json'), 'utf8'));
  assert.equal(record.storage, 'raft');
  assert.equal(record.name, p.name);
  assert.equal(record.app, 'openclaw');
  assert.equal(record.threshold, 3);
  return appToken;
}

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
  for (const id of ['key-material', 'audit-device', 'no-root-token', 'container']) assert.ok(failing.includes(id), `the report fails ${id}: ${failing.join(', ')}`);
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
  assert.match(second.stderr, /stopped before "Stop the server, migrate file storage to raft, and take the first snapshot\?"/);
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
