// `upgrade` stopped at every stage it records (a crash injected in process, right after upgrade-state.json says the
// stage is done) and run again: it says it resumes from that stage, and ends as an uninterrupted run does: the new
// image in the compose file, the container and the record, unsealed, every secret byte for byte, one snapshot per
// upgrade, no token made, nothing left behind. Then one real SIGKILL of the CLI while it copies data/.
// One OpenBao deployment carried through: the same 2.7.2 image under two tags, so each stage is a real upgrade
// (the image changes: snapshot, stop, copy, recreate, unseal) back and forth.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { dockerEvents, recordStages, runUntilCrash } from '../helpers/crash.ts';
import { runInProcess } from '../helpers/in-process.ts';
import { liveCli } from '../helpers/live-cli.ts';
import { call, mintToken, putPolicy, putSecret, readyServer } from '../helpers/day2.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { rig } from '../helpers/rig.ts';

const A = 'vault-setup-test/openbao-crash-a:2.7.2';
const B = 'vault-setup-test/openbao-crash-b:2.7.2';
const SECRETS: Record<string, Record<string, string>> = {
  openrouter: { api_key: 'sk-or-crash-upgrade' },
  'app/db': { user: 'oa_admin', password: 'p@ss "quoted" \\ back\ttab grüße ✓' },
};
const POLICY = 'path "secret/data/*" {\n  capabilities = ["read"]\n}\n';

test('upgrade: a crash at each recorded stage, then the same command: it resumes there and ends as an uninterrupted run', { timeout: 12 * 60_000 }, async (t) => {
  for (const tag of [A, B]) docker('tag', rig().openbaoImage, tag);
  await using d = await testDeployment('crup');
  const server = await readyServer(d, 'openbao', A);
  const root = server.rootToken;
  for (const [key, data] of Object.entries(SECRETS)) await putSecret(server, root, key, data);
  await putPolicy(server, root, 'app', POLICY);
  const appToken = await mintToken(server, root, ['app']);
  const accessors = async () => ((await call(server, 'LIST', 'auth/token/accessors', { token: root })).body.data.keys as string[]).sort();
  const accessorsBefore = await accessors();
  const env = { VAULT_TOKEN: root };
  const input = `${server.keys.slice(0, 3).join('\n')}\n`;
  const args = (image: string) => ['upgrade', '--dir', d.dir, '--image', image, '--stdin'];
  let upgrades = 0;

  /** What an uninterrupted upgrade to IMAGE leaves. */
  const assertUpgradedTo = async (image: string): Promise<void> => {
    assert.match(fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8'), new RegExp(`image: ${image.replace(/[./]/g, '\\$&')}\\n`));
    assert.equal(docker('inspect', '-f', '{{.Config.Image}}', d.name).trim(), image);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).image, image);
    assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
    for (const [key, data] of Object.entries(SECRETS)) {
      const res = await call(server, 'GET', `secret/data/${key}`, { token: appToken });
      assert.equal(res.status, 200, key);
      assert.deepEqual(res.body.data.data, data, `secret/${key} byte for byte`);
      assert.equal(res.body.data.metadata.version, 1, `secret/${key} written once`);
    }
    assert.deepEqual(await accessors(), accessorsBefore, 'no token made or lost');
    const snaps = fs.readdirSync(path.join(d.dir, 'backups')).filter((f) => f.endsWith('.snap'));
    assert.equal(snaps.length, upgrades, `one snapshot per upgrade: ${snaps.join(', ')}`);
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /upgrade-state|pre-upgrade|\.tmp$|^data\./.test(f)), [], 'no state, copy or partial file left');
    assert.deepEqual(fs.readdirSync(path.join(d.dir, 'backups')).filter((f) => /\.tmp/.test(f)), []);
    assert.equal(docker('ps', '-aq', '--filter', `label=org.vault-setup.project=${d.name}`).trim(), '', 'no one-shot container left');
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${d.name}`).trim().split('\n').length, 1, 'one server container');
  };

  let current = A;
  let stages: string[] = [];
  await t.test('uninterrupted: the stages it records, in order', async () => {
    const recorded = recordStages();
    const run = await runInProcess(args(B), { env, input, overrides: recorded.overrides });
    assert.equal(run.code, 0, run.stderr);
    upgrades++;
    current = B;
    stages = recorded.seen;
    assert.deepEqual(stages, ['upgrade:snapshot', 'upgrade:stopped', 'upgrade:copied', 'upgrade:switched', 'upgrade:unsealed']);
    await assertUpgradedTo(B);
  });

  const ORDER = ['snapshot', 'stopped', 'copied', 'switched', 'unsealed'];
  for (const at of ORDER) {
    await t.test(`crash right after "${at}" is recorded, then the same command`, async () => {
      assert.ok(stages.includes(`upgrade:${at}`));
      const image = current === A ? B : A;
      const crashed = await runUntilCrash(`upgrade:${at}`, args(image), { env, input });
      assert.deepEqual(crashed.seen, stages.slice(0, stages.indexOf(`upgrade:${at}`) + 1));
      assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'upgrade-state.json'), 'utf8')).stage, at);

      const run = await runInProcess(args(image), { env, input });
      assert.equal(run.code, 0, run.stderr);
      upgrades++;
      current = image;
      assert.match(run.stderr, new RegExp(`Resuming the upgrade to ${image.replace(/[./]/g, '\\$&')} recorded in upgrade-state\\.json \\(last stage: ${at}\\)`));
      const done = ORDER.indexOf(at);
      if (done >= 0) assert.match(run.stderr, /1\/5 Snapshot: already taken/);
      if (done >= 1) assert.match(run.stderr, /2\/5 Container: already stopped/);
      if (done >= 2) assert.match(run.stderr, /3\/5 data\.pre-upgrade\/: already copied/);
      if (done >= 3) assert.match(run.stderr, /4\/5 .*: already switched/);
      if (done >= 4) assert.match(run.stderr, /5\/5 .*: already unsealed/);
      assert.doesNotMatch(run.stderr, /Rolling back|starting over/);
      for (const key of server.keys) assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), 'no share in the output');
      await assertUpgradedTo(image);
    });
  }

  /** The real CLI upgrading to IMAGE, sent SIGNAL the moment its copying container starts. */
  const signalledWhileCopying = async (image: string, signal: NodeJS.Signals, after: (fn: () => void) => void) => {
    const started = dockerEvents(['--filter', `label=org.vault-setup.project=${d.name}`, '--filter', 'event=start']);
    after(() => started.kill());
    const cli = liveCli(args(image), { env });
    cli.write(input);
    cli.end();
    await cli.waitFor(/3\/5 Copying data\//, { stream: 'stderr' });
    await started.first(new RegExp(`${d.name}-upgrade-`));
    cli.signal(signal);
    const code = await cli.exited;
    started.kill();
    return { code, stderr: cli.stderr() };
  };

  await t.test('SIGKILL of the CLI while it copies data/, then the same command', async (t) => {
    const image = current === A ? B : A;
    // Killed the moment its copying container starts: the container is left behind, perhaps still copying.
    const killed = await signalledWhileCopying(image, 'SIGKILL', (fn) => t.after(fn));
    assert.equal(killed.code, 137);
    assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, 'upgrade-state.json'), 'utf8')).stage, 'stopped');
    assert.notEqual(docker('ps', '-aq', '--filter', `name=${d.name}-upgrade-`).trim(), '', 'the killed run left its copying container');

    const run = await runInProcess(args(image), { env, input });
    assert.equal(run.code, 0, run.stderr);
    upgrades++;
    current = image;
    assert.match(run.stderr, /Resuming the upgrade .* \(last stage: stopped\)/);
    assert.match(run.stderr, /2\/5 Container: already stopped/);
    assert.match(run.stderr, /3\/5 Copying data\//);
    await assertUpgradedTo(image);
  });

  await t.test('Ctrl-C (SIGINT) while it copies data/: exit 130, it says where it stopped and how to resume; the same command finishes', async (t) => {
    const image = current === A ? B : A;
    const interrupted = await signalledWhileCopying(image, 'SIGINT', (fn) => t.after(fn));
    assert.equal(interrupted.code, 130, interrupted.stderr);
    const said = interrupted.stderr;
    assert.match(said, /✖ vault-setup upgrade: interrupted \(SIGINT\); last stage recorded: stopped \(upgrade-state\.json\)\./);
    assert.match(said, new RegExp(`  The server \\(${d.name}\\) is stopped: apps get nothing until it runs again\\.`));
    assert.match(said, new RegExp(`  → to resume: vault-setup upgrade --dir ${d.dir.replace(/[./]/g, '\\$&')} --image ${image.replace(/[./]/g, '\\$&')}`));
    for (const key of server.keys) assert.ok(!said.includes(key), 'no share in the output');

    const run = await runInProcess(args(image), { env, input });
    assert.equal(run.code, 0, run.stderr);
    upgrades++;
    current = image;
    assert.match(run.stderr, /Resuming the upgrade .* \(last stage: stopped\)/);
    await assertUpgradedTo(image);
  });
});
