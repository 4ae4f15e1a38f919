// `vault-setup backup` / `restore` on the real servers, and the restore drill: seed, back up, destroy the deployment
// (container and data dir), init a fresh one in the same place, restore, unseal with the ORIGINAL shares, and the
// secrets, policies, app token and agent login all work again. Shares stay in this process's memory.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { approleLogin, call, deploy, initAndUnseal, mintToken, mountKv, putPolicy, putSecret, readyServer, unseal, unwrapSecretId, waitActive } from '../helpers/day2.ts';
import { removeContainers, testDeployment } from '../helpers/deployment.ts';
import { ROOT, rig, serverImages } from '../helpers/rig.ts';

const APP_POLICY = 'path "secret/data/*" {\n  capabilities = ["read"]\n}\n';
const BACKUP_POLICY = 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n';

/** Runs the CLI in a real terminal (a private tmux server), answers the one question with `answer`, returns the screen. */
async function inTerminal(args: string[], env: Record<string, string>, answer: string): Promise<{ code: number; screen: string }> {
  const socket = `vs-bk-${Math.random().toString(16).slice(2, 10)}`;
  const tmux = (...a: string[]) => spawnSync('tmux', ['-L', socket, ...a], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', TERM: 'xterm-256color', NO_COLOR: '1', ...env } });
  const cli = [process.execPath, path.join(ROOT, 'src', 'cli.ts'), ...args].map((a) => `'${a}'`).join(' ');
  tmux('new-session', '-d', '-x', '200', '-y', '50', 'sh', '-c', `${cli}; echo "exit=$?"; sleep 60`);
  try {
    const screen = () => tmux('capture-pane', '-p', '-J').stdout;
    const until = async (re: RegExp) => {
      for (let i = 0; i < 600 && !re.test(screen()); i++) await new Promise((r) => setTimeout(r, 100));
      return screen();
    };
    await until(/\? Replace ALL data|exit=\d+/);
    tmux('send-keys', answer, 'Enter');
    const text = await until(/exit=\d+/);
    return { code: Number(/exit=(\d+)/.exec(text)?.[1] ?? -1), screen: text };
  } finally {
    tmux('kill-server');
  }
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

for (const { label, flavor, image } of serverImages()) {
  test(`backup and restore drill: ${label}`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`bk-${label.slice(0, 6)}`);
    const vault = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-backups-')); // off the deployment, as an operator keeps it
    t.after(() => fs.rmSync(vault, { recursive: true, force: true }));
    const server = await readyServer(d, flavor, image);
    const original = { keys: server.keys, rootToken: server.rootToken };
    const root = { VAULT_TOKEN: original.rootToken };
    const dir = ['--dir', d.dir];

    // The state to bring back: secrets, a policy with an app token, an agent with its credentials.
    await putSecret(server, original.rootToken, 'openrouter', { api_key: 'sk-or-drill' });
    await putSecret(server, original.rootToken, 'github', { token: 'ghp-drill' });
    await putPolicy(server, original.rootToken, 'app', APP_POLICY);
    const appToken = await mintToken(server, original.rootToken, ['app']);
    const agent = await runCli(['agent', 'add', 'bot', '--secret', 'secret/openrouter', ...dir, '--json'], { env: root });
    assert.equal(agent.code, 0, agent.stderr);
    const roleId = agent.json().role_id as string;
    const secretId = await unwrapSecretId(server, agent.json().wrapped_secret_id);
    await putPolicy(server, original.rootToken, 'backup', BACKUP_POLICY);
    const backupToken = await mintToken(server, original.rootToken, ['backup']);
    const snap = path.join(vault, 'drill.snap');

    await t.test('backup with the minimal policy: 0600, atomically, checksum in sha256sum format', async () => {
      const run = await runCli(['backup', ...dir, '--out', snap, '--json'], { env: { VAULT_TOKEN: backupToken } });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.equal(out.file, snap);
      assert.equal(out.checksum_file, `${snap}.sha256`);
      assert.equal(out.sha256, sha256(snap));
      assert.equal(out.bytes, fs.statSync(snap).size);
      assert.equal(fs.statSync(snap).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(`${snap}.sha256`, 'utf8'), `${out.sha256}  drill.snap\n`);
      assert.match(execFileSync('sha256sum', ['-c', 'drill.snap.sha256'], { cwd: vault, encoding: 'utf8' }), /drill.snap: OK/);
      assert.deepEqual(fs.readdirSync(vault).sort(), ['drill.snap', 'drill.snap.sha256'], 'no temp file left');
      // A raft snapshot: a gzip tar with the server's own checksums.
      assert.match(execFileSync('tar', ['tzf', snap], { encoding: 'utf8' }), /meta\.json[\s\S]*state\.bin[\s\S]*SHA256SUMS/);
    });

    await t.test('backup: default file under <dir>/backups; never overwrites; a token without read is told what it lacks', async () => {
      const run = await runCli(['backup', ...dir, '--json'], { env: root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.json().file, new RegExp(`^${d.dir}/backups/\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z\\.snap$`));
      assert.equal(fs.statSync(path.join(d.dir, 'backups')).mode & 0o777, 0o700);
      // Two runs at once (within one second) get two names; neither fails on the other's file.
      const pair = await Promise.all([runCli(['backup', ...dir, '--json'], { env: root }), runCli(['backup', ...dir, '--json'], { env: root })]);
      for (const p of pair) assert.equal(p.code, 0, p.stderr);
      const files = pair.map((p) => p.json().file as string);
      assert.notEqual(files[0], files[1]);
      for (const f of files) assert.equal(fs.readFileSync(`${f}.sha256`, 'utf8'), `${createHash('sha256').update(fs.readFileSync(f)).digest('hex')}  ${path.basename(f)}\n`);

      const again = await runCli(['backup', ...dir, '--out', snap], { env: root });
      assert.equal(again.code, 6, again.stderr);
      assert.match(again.stderr, /already exists/);

      const denied = await runCli(['backup', ...dir, '--out', path.join(vault, 'denied.snap')], { env: { VAULT_TOKEN: appToken } });
      assert.equal(denied.code, 12, denied.stderr);
      assert.match(denied.stderr, /the token lacks "read" on sys\/storage\/raft\/snapshot/);
      assert.deepEqual(fs.readdirSync(vault).sort(), ['drill.snap', 'drill.snap.sha256'], 'nothing half-written');
    });

    await t.test('restore refuses a damaged snapshot, a missing checksum, and asks before replacing', async () => {
      const bad = path.join(vault, 'bad.snap');
      const bytes = fs.readFileSync(snap);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
      fs.writeFileSync(bad, bytes);
      fs.writeFileSync(`${bad}.sha256`, fs.readFileSync(`${snap}.sha256`, 'utf8').replace('drill.snap', 'bad.snap'));
      const damaged = await runCli(['restore', bad, ...dir, '--yes'], { env: root });
      assert.equal(damaged.code, 2, damaged.stderr);
      assert.match(damaged.stderr, /does not match its checksum/);
      fs.rmSync(`${bad}.sha256`);
      const missing = await runCli(['restore', bad, ...dir, '--yes'], { env: root });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /bad\.snap\.sha256 is missing/);
      fs.rmSync(bad);
      const unasked = await runCli(['restore', snap, ...dir], { env: root });
      assert.equal(unasked.code, 15, unasked.stderr);
      assert.match(unasked.stderr, /pass --yes/);
    });

    await t.test('restore in a terminal asks first: "n" changes nothing, "y" restores', async () => {
      await putSecret(server, original.rootToken, 'openrouter', { api_key: 'changed-after-backup' });
      const no = await inTerminal(['restore', snap, ...dir], { VAULT_TOKEN: original.rootToken }, 'n');
      assert.match(no.screen, /Replace ALL data of http:\/\/127\.0\.0\.1:\d+ \(secrets, policies, tokens\) with drill\.snap\?/);
      assert.equal(no.code, 130, no.screen);
      assert.match(no.screen, /restore cancelled: nothing was changed/);
      assert.deepEqual((await call(server, 'GET', 'secret/data/openrouter', { token: original.rootToken })).body.data.data, { api_key: 'changed-after-backup' });
      const yes = await inTerminal(['restore', snap, ...dir], { VAULT_TOKEN: original.rootToken }, 'y');
      assert.equal(yes.code, 0, yes.screen);
      assert.match(yes.screen, /Restored drill\.snap into/);
      await waitActive(server);
      assert.deepEqual((await call(server, 'GET', 'secret/data/openrouter', { token: original.rootToken })).body.data.data, { api_key: 'sk-or-drill' });
    });

    await t.test('restore into the same cluster: data as it was, server stays unsealed', async () => {
      await putSecret(server, original.rootToken, 'openrouter', { api_key: 'changed-after-backup' });
      const run = await runCli(['restore', snap, ...dir, '--yes', '--json'], { env: root });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().sealed, false);
      await waitActive(server);
      const read = await call(server, 'GET', 'secret/data/openrouter', { token: original.rootToken });
      assert.deepEqual(read.body.data.data, { api_key: 'sk-or-drill' });
    });

    await t.test('drill: destroy, fresh init in the same place, restore --force-foreign-snapshot, unseal with the ORIGINAL shares', async () => {
      removeContainers(d.name);
      execFileSync('rm', ['-rf', d.dir]);
      fs.mkdirSync(d.dir);
      const fresh = await deploy(d, flavor, image);
      const freshInit = await initAndUnseal(fresh, 1, 1);
      const freshRoot = { VAULT_TOKEN: freshInit.rootToken };
      assert.equal((await call(fresh, 'GET', 'secret/data/openrouter', { token: freshInit.rootToken })).status, 404, 'a fresh, empty server: no secret/ mount');

      const refused = await runCli(['restore', snap, ...dir, '--yes'], { env: freshRoot });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /another cluster/);
      assert.match(refused.stderr, /--force-foreign-snapshot/);

      const run = await runCli(['restore', snap, ...dir, '--yes', '--force-foreign-snapshot', '--json'], { env: freshRoot });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.equal(out.forced, true);
      assert.equal(out.sealed, true);
      assert.equal(out.threshold, 3);
      assert.equal(out.shares, 5);
      assert.match(out.next, /unseal it with 3 of the 5 ORIGINAL shares/);

      // The fresh cluster's key no longer opens it; the original shares do.
      const wrong = await call(fresh, 'PUT', 'sys/unseal', { body: { key: freshInit.keys[0] } });
      assert.notEqual(wrong.body?.sealed, false);
      await call(fresh, 'PUT', 'sys/unseal', { body: { reset: true } });
      await unseal(fresh, original.keys.slice(2, 5));

      const secret = await call(fresh, 'GET', 'secret/data/openrouter', { token: original.rootToken });
      assert.deepEqual(secret.body.data.data, { api_key: 'sk-or-drill' });
      const app = await call(fresh, 'GET', 'secret/data/github', { token: appToken });
      assert.deepEqual(app.body.data.data, { token: 'ghp-drill' });
      const policy = await call(fresh, 'GET', 'sys/policies/acl/app', { token: original.rootToken });
      assert.equal(policy.body.data.policy, APP_POLICY);
      const login = await approleLogin(fresh, roleId, secretId);
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const agentRead = await call(fresh, 'GET', 'secret/data/openrouter', { token: login.body.auth.client_token });
      assert.deepEqual(agentRead.body.data.data, { api_key: 'sk-or-drill' });
      assert.equal((await call(fresh, 'GET', 'secret/data/github', { token: login.body.auth.client_token })).status, 403);
      assert.equal((await call(fresh, 'GET', 'auth/token/lookup-self', { token: freshInit.rootToken })).status, 403, 'the fresh root token is gone');
      const list = await runCli(['agent', 'list', ...dir, '--json'], { env: root });
      assert.equal(list.json().agents[0].agent, 'bot');
    });
  });
}

test('backup with file storage says what to do instead', { timeout: 5 * 60_000 }, async () => {
  await using d = await testDeployment('bk-file');
  const server = await deploy(d, 'vault', rig().vaultLayoutImage, ['--storage', 'file']);
  const init = await initAndUnseal(server, 1, 1);
  await mountKv(server, init.rootToken);
  const run = await runCli(['backup', '--dir', d.dir], { env: { VAULT_TOKEN: init.rootToken } });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /file storage, which has no snapshot API/);
  assert.match(run.stderr, new RegExp(`docker stop ${d.name} && sudo tar czf vault-data.tgz -C ${d.dir} data && docker start ${d.name}`));
  assert.match(run.stderr, /stopping seals the server/);
  assert.equal(fs.existsSync(path.join(d.dir, 'backups')), false);
});
