// `vault-setup migrate --storage raft` on real servers with file storage: OpenBao 2.6.2 (the rig's Vault-layout image)
// and HashiCorp Vault 1.17.6. Secrets in KV v2 (nested, several versions) and KV v1, a policy and tokens go in over
// the HTTP API; after the migration an independent client reads every one back, byte for byte, from a raft node.
// The Vault run is interrupted (SIGINT) during `operator migrate` and resumed. A stand-in for an OpenBao whose
// `operator migrate` no longer reads file storage shows the refusal before anything changes.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { dockerEvents } from '../helpers/crash.ts';
import { liveCli } from '../helpers/live-cli.ts';
import { findLeaks } from '../helpers/leaks.ts';
import { call, mintToken, putPolicy, putSecret, readyServer, unseal, type Initialised, type Server } from '../helpers/day2.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { ROOT, rig, vault117Image } from '../helpers/rig.ts';

const POLICY = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n';
const NO_FILE = 'vault-setup-test/openbao-no-file-storage:2.7.2';

const SECRETS: Record<string, Record<string, string>> = {
  openrouter: { api_key: 'sk-or-migrate' },
  'app/db': { user: 'oa_admin', password: 'p@ss "quoted" \\ back' },
  'app/nested/deep/unicode': { value: 'grüße ✓\nline two\ttab' },
};

async function seed(server: Server & Initialised): Promise<{ tokens: string[] }> {
  const root = server.rootToken;
  for (const [key, data] of Object.entries(SECRETS)) await putSecret(server, root, key, data);
  await putSecret(server, root, 'app/db', SECRETS['app/db'] as Record<string, string>); // a second version
  assert.equal((await call(server, 'POST', 'sys/mounts/legacy', { token: root, body: { type: 'kv', options: { version: '1' } } })).status, 204);
  assert.equal((await call(server, 'PUT', 'legacy/old/key', { token: root, body: { v: 'v1 value' } })).status, 204);
  await putPolicy(server, root, 'app', POLICY);
  // The playbook's app token: `vault token create -policy=default -ttl=720h`.
  const playbook = await call(server, 'POST', 'auth/token/create', { token: root, body: { policies: ['default'], ttl: '720h', renewable: true, display_name: 'openclaw-app' } });
  assert.equal(playbook.status, 200);
  return { tokens: [await mintToken(server, root, ['app']), playbook.body.auth.client_token as string] };
}

async function accessorCount(server: Server, token: string): Promise<number> {
  return ((await call(server, 'LIST', 'auth/token/accessors', { token })).body.data.keys as string[]).length;
}

async function assertHoldsEverything(server: Server & Initialised, tokens: string[], accessors: number): Promise<void> {
  const root = server.rootToken;
  for (const [key, data] of Object.entries(SECRETS)) {
    const res = await call(server, 'GET', `secret/data/${key}`, { token: root });
    assert.equal(res.status, 200, key);
    assert.deepEqual(res.body.data.data, data, `secret/${key} byte for byte`);
  }
  assert.equal((await call(server, 'GET', 'secret/metadata/app/db', { token: root })).body.data.current_version, 2);
  assert.deepEqual((await call(server, 'GET', 'legacy/old/key', { token: root })).body.data, { v: 'v1 value' });
  assert.equal((await call(server, 'GET', 'sys/policies/acl/app', { token: root })).body.data.policy, POLICY);
  for (const token of tokens) assert.equal((await call(server, 'POST', 'auth/token/lookup', { token: root, body: { token } })).status, 200, 'a token made before is still known');
  assert.equal((await call(server, 'GET', 'auth/token/lookup-self', { token: tokens[1] })).status, 200, 'a default-policy token still works');
  assert.equal((await call(server, 'GET', 'secret/data/app/db', { token: tokens[0] })).body.data.data.user, 'oa_admin', 'the app token reads with its policy');
  assert.equal(await accessorCount(server, root), accessors);
}

function assertMigrated(dir: string, name: string, out: any, server: Server & Initialised): void {
  const hcl = fs.readFileSync(path.join(dir, 'config', 'vault.hcl'), 'utf8');
  assert.match(hcl, /storage "raft" \{/);
  assert.doesNotMatch(hcl, /storage "file"/);
  assert.match(out.config_diff, /- *storage "file"/);
  assert.ok(fs.statSync(out.snapshot).size > 0);
  assert.equal(fs.statSync(out.snapshot).mode & 0o777, 0o600);
  assert.match(execFileSync('sha256sum', ['-c', path.basename(out.checksum_file)], { cwd: path.dirname(out.snapshot), encoding: 'utf8' }), /: OK/);
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'vault-setup.json'), 'utf8'));
  assert.equal(record.storage, 'raft');
  assert.equal(record.nodeId, `${name}-1`);
  assert.equal(out.record_updated, true);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => /pre-migrate|data\.raft|migrate/.test(f)), [], 'no old data, copy, config or state left');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'config')).filter((f) => /pre-migrate/.test(f)), []);
  assert.deepEqual(docker('ps', '-aq', '--filter', `name=${name}-migrate-`).trim(), '', 'no one-shot container left');
  assert.equal(out.keys, 4);
  assert.equal(out.policies >= 2, true);
  void server;
}

async function raftNode(server: Server & Initialised): Promise<string> {
  const res = await call(server, 'GET', 'sys/storage/raft/configuration', { token: server.rootToken });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.config.servers[0].node_id as string;
}

/** Runs the CLI and sends SIGINT once stderr shows `line`; resolves with the exit code. */
function interruptAt(args: string[], env: NodeJS.ProcessEnv, input: string, line: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && line.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

/** OpenBao 2.7.2 whose `operator migrate` no longer knows file storage (as a later release's will not): the real binary is given a storage name it lacks and answers in its own words. */
function ensureNoFileImage(base: string): void {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-nofile-'));
  try {
    fs.writeFileSync(path.join(ctx, 'bao'), '#!/bin/sh\nif [ "$1" = operator ] && [ "$2" = migrate ]; then\n  shift 2; c=""; n=""\n  for a in "$@"; do if [ "$n" = 1 ]; then c=$a; n=""; elif [ "$a" = -config ]; then n=1; fi; done\n  sed \'s/storage_source "file"/storage_source "file-removed"/\' "$c" > /tmp/nofile.hcl\n  exec /bin/bao.real operator migrate -config /tmp/nofile.hcl\nfi\nexec /bin/bao.real "$@"\n', { mode: 0o755 });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\nRUN ["/bin/mv", "/bin/bao", "/bin/bao.real"]\nCOPY bao /bin/bao\n`);
    execFileSync('docker', ['build', '-q', '--label', 'org.vault-setup.test-image=1', '-t', NO_FILE, ctx], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}

test('migrate --storage raft: file storage to raft, every secret, policy and token kept, a snapshot after', { timeout: 15 * 60_000 }, async (t) => {
  const r = rig();
  const cases = [
    { label: 'OpenBao 2.6.2 (Vault layout)', image: r.vaultLayoutImage, interrupt: false },
    { label: 'Vault 1.17.6, interrupted during operator migrate and resumed', image: vault117Image(), interrupt: true },
  ];
  for (const c of cases) {
    await t.test(c.label, async () => {
      await using d = await testDeployment('mig');
      const server = await readyServer(d, 'vault', c.image, ['--storage', 'file']);
      assert.match(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), /storage "file"/);
      const { tokens } = await seed(server);
      const accessors = await accessorCount(server, server.rootToken);
      const env = { VAULT_TOKEN: server.rootToken };
      const shares = `${server.keys.slice(1, 4).join('\n')}\n`;
      const args = ['migrate', '--storage', 'raft', '--dir', d.dir, '--stdin'];
      const outputs: string[] = [];
      if (c.interrupt) {
        // Ctrl-C the moment its `operator migrate` one-shot starts: the server is stopped, the copy under way.
        const started = dockerEvents(['--filter', `label=org.vault-setup.project=${d.name}`, '--filter', 'event=start']);
        t.after(() => started.kill());
        const cli = liveCli(args, { env });
        cli.write(shares);
        cli.end();
        await started.first(new RegExp(`${d.name}-migrate-`));
        cli.signal('SIGINT');
        const stopped = { code: await cli.exited, stderr: cli.stderr() };
        started.kill();
        outputs.push(stopped.stderr);
        assert.equal(stopped.code, 130, stopped.stderr);
        // Where it stopped, in the operator's words: the stage, the server stopped, the resume, the way back.
        assert.match(stopped.stderr, /✖ vault-setup migrate: interrupted \(SIGINT\) during the storage migration; last stage recorded: stopped \(migrate-state\.json\)\.\n/);
        assert.match(stopped.stderr, new RegExp(`\\n  The server \\(${d.name}\\) is stopped: apps get nothing until it runs again\\.\\n`));
        assert.match(stopped.stderr, new RegExp(`\\n  Removed the one-shot \`operator migrate\` container ${d.name}-migrate-[0-9a-f]{6} `));
        assert.ok(stopped.stderr.includes(`\n  → to resume: vault-setup migrate --storage raft --dir ${d.dir}\n`), stopped.stderr);
        assert.ok(stopped.stderr.includes(`\n  → to go back to file storage instead (data/ is untouched): docker start ${d.name}, then vault-setup unseal --dir ${d.dir}, and rm ${path.join(d.dir, 'migrate-state.json')} so that a later migrate starts over\n`), stopped.stderr);
        assert.doesNotMatch(stopped.stderr, /run the same command to resume/);
        assert.equal(docker('ps', '-aq', '--filter', `name=${d.name}-migrate-`).trim(), '', 'no one-shot container left');
        assert.equal(docker('inspect', '-f', '{{.State.Running}}', d.name).trim(), 'false', 'the server is stopped, as said');
        const state = JSON.parse(fs.readFileSync(path.join(d.dir, 'migrate-state.json'), 'utf8'));
        assert.equal(state.stage, 'stopped');
        assert.equal(state.inventory.keys.length, 4);
        const stateText = fs.readFileSync(path.join(d.dir, 'migrate-state.json'), 'utf8');
        for (const secret of [...server.keys, server.rootToken, ...tokens, 'sk-or-migrate', 'oa_admin']) assert.ok(!stateText.includes(secret), 'no secret in the state file');
      }
      const run = await runCli([...args, '--json'], { env, input: shares, timeoutMs: 5 * 60_000 });
      outputs.push(run.stdout, run.stderr);
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      t.diagnostic(`${c.label}: operator migrate ${out.seconds.migrate}s, whole command ${out.seconds.total}s`);
      assertMigrated(d.dir, d.name, out, server);
      assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
      assert.equal(await raftNode(server), `${d.name}-1`);
      await assertHoldsEverything(server, tokens, accessors);
      for (const secret of [...server.keys, server.rootToken, ...tokens, 'sk-or-migrate']) assert.ok(outputs.every((o) => !o.includes(secret)), 'no share, token or value in the output');
      assert.deepEqual(await findLeaks({ secrets: [...server.keys, server.rootToken, ...tokens, 'sk-or-migrate'], dirs: [d.dir], containers: [d.name] }), [], 'no share, token or value on disk or in the container');

      // The same shares open it after a restart: the raft data is what the server now runs on.
      docker('restart', d.name);
      const res = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: shares });
      assert.equal(res.code, 0, res.stderr);
      await assertHoldsEverything(server, tokens, accessors);

      const again = await runCli([...args, '--json'], { env, input: shares });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().migrated, false, 'a second run finds raft and does nothing');
    });
  }

  await t.test('data changed while an interrupted migration waited: the check sees it, and the file storage comes back, unsealed', async () => {
    await using d = await testDeployment('migrb');
    const server = await readyServer(d, 'vault', r.vaultLayoutImage, ['--storage', 'file']);
    await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-before' });
    const env = { VAULT_TOKEN: server.rootToken };
    const shares = `${server.keys.slice(0, 3).join('\n')}\n`;
    const args = ['migrate', '--storage', 'raft', '--dir', d.dir, '--stdin'];
    const stopped = await interruptAt(args, env, shares, /3\/6 `operator migrate`/);
    assert.equal(stopped.code, 130, stopped.stderr);
    // The interrupted run's one-shot finishes on its own; then someone starts the old server and writes to it.
    for (const id of docker('ps', '-aq', '--filter', `name=${d.name}-migrate-`).trim().split('\n').filter(Boolean)) docker('wait', id);
    docker('start', d.name);
    for (let i = 0; (await call(server, 'GET', 'sys/seal-status').catch(() => undefined))?.status !== 200; i++) {
      assert.ok(i < 150, 'the old server answers again');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await unseal(server, server.keys.slice(0, 3));
    await putSecret(server, server.rootToken, 'added-while-stopped', { v: '1' });
    docker('stop', d.name);

    const run = await runCli([...args, '--json'], { env, input: shares, timeoutMs: 5 * 60_000 });
    assert.equal(run.code, 16, run.stderr);
    const error = run.json().error;
    assert.equal(error.code, 'E_SERVER');
    assert.match(error.message, /the migrated server does not hold what the old one did \(not there before: secret\/added-while-stopped@1\)\); rolled back: the server runs on its file storage again, unsealed$/);
    assert.match(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), /storage "file"/);
    assert.match(fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8'), /org\.vault-setup\.storage: file/);
    assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
    assert.deepEqual((await call(server, 'GET', 'secret/data/added-while-stopped', { token: server.rootToken })).body.data.data, { v: '1' });
    assert.deepEqual((await call(server, 'GET', 'secret/data/openrouter', { token: server.rootToken })).body.data.data, { api_key: 'sk-or-before' });
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /pre-migrate|data\.raft|migrate-state/.test(f)), [], 'nothing of the attempt left');
    assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).storage, 'file');

    // A fresh run now lists the new key too, and goes through.
    const again = await runCli([...args, '--json'], { env, input: shares, timeoutMs: 5 * 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json().keys, 2);
  });

  await t.test('an image whose operator migrate cannot read file storage: refused before anything changes (exit 23)', async () => {
    ensureNoFileImage(r.openbaoImage);
    await using d = await testDeployment('mignf');
    const server = await readyServer(d, 'vault', r.vaultLayoutImage, ['--storage', 'file']);
    await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-kept' });
    const id = docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', d.name).trim();
    const hcl = fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8');
    const run = await runCli(['migrate', '--storage', 'raft', '--dir', d.dir, '--image', NO_FILE, '--stdin', '--json'], { env: { VAULT_TOKEN: server.rootToken }, input: `${server.keys.slice(0, 3).join('\n')}\n` });
    assert.equal(run.code, 23, run.stderr);
    const error = run.json().error;
    assert.equal(error.code, 'E_NO_FILE_STORAGE');
    assert.match(error.message, /cannot read file storage: its `operator migrate` answers "Error migrating: error mounting 'storage_source': no Vault storage backend named: "file-removed""/);
    assert.match(error.hint, /--image openbao\/openbao:2\.6\.2/);
    assert.equal(docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', d.name).trim(), id, 'the server was not stopped');
    assert.equal(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), hcl);
    assert.equal(fs.existsSync(path.join(d.dir, 'migrate-state.json')), false);
    assert.deepEqual((await call(server, 'GET', 'secret/data/openrouter', { token: server.rootToken })).body.data.data, { api_key: 'sk-or-kept' });
  });
});
