// `migrate --storage raft` stopped at every stage it records (a crash injected in process, right after
// migrate-state.json says the stage is done), plus one real SIGKILL of the CLI during `operator migrate`; every stop is
// followed by the same command, which says it resumes from that stage. One OpenBao 2.6.2 deployment on file storage
// carried through the chain (a migration happens once per deployment): each re-run resumes the previous stop and is
// itself stopped at the next stage, the last one finishes. The end is what an uninterrupted migration leaves: raft,
// unsealed, every secret byte for byte (KV v2 versions, KV v1), the policy, every token and no new one, one snapshot,
// nothing left behind.
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

const POLICY = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n';
const SECRETS: Record<string, Record<string, string>> = {
  openrouter: { api_key: 'sk-or-crash-migrate' },
  'app/db': { user: 'oa_admin', password: 'p@ss "quoted" \\ back' },
  'app/nested/deep/unicode': { value: 'grüße ✓\nline two\ttab' },
};
const STAGES = ['inventoried', 'stopped', 'migrated', 'switched', 'checked', 'snapshot'];
/** What a re-run prints for a stage an earlier run recorded. */
const ALREADY: Record<string, RegExp> = {
  stopped: /2\/6 Container: already stopped/,
  migrated: /3\/6 data\.raft\/: already migrated/,
  switched: /4\/6 Raft: already switched/,
  checked: /5\/6 Read back: already checked/,
  snapshot: /6\/6 Snapshot: already taken/,
};

test('migrate --storage raft: stopped at each recorded stage and killed once, each re-run resumes there; the end is an uninterrupted migration\'s', { timeout: 12 * 60_000 }, async (t) => {
  await using d = await testDeployment('crmig');
  const server = await readyServer(d, 'vault', rig().vaultLayoutImage, ['--storage', 'file']);
  const root = server.rootToken;
  for (const [key, data] of Object.entries(SECRETS)) await putSecret(server, root, key, data);
  await putSecret(server, root, 'app/db', SECRETS['app/db'] as Record<string, string>); // a second version
  assert.equal((await call(server, 'POST', 'sys/mounts/legacy', { token: root, body: { type: 'kv', options: { version: '1' } } })).status, 204);
  assert.equal((await call(server, 'PUT', 'legacy/old/key', { token: root, body: { v: 'v1 value' } })).status, 204);
  await putPolicy(server, root, 'app', POLICY);
  const appToken = await mintToken(server, root, ['app']);
  const accessors = async () => ((await call(server, 'LIST', 'auth/token/accessors', { token: root })).body.data.keys as string[]).sort();
  const accessorsBefore = await accessors();
  const env = { VAULT_TOKEN: root };
  const input = `${server.keys.slice(1, 4).join('\n')}\n`;
  const args = ['migrate', '--storage', 'raft', '--dir', d.dir, '--stdin'];
  const stateStage = () => JSON.parse(fs.readFileSync(path.join(d.dir, 'migrate-state.json'), 'utf8')).stage as string;

  /** A re-run after a stop at STAGE: it says so, and skips what was recorded done. */
  const assertResumed = (stderr: string, stage: string) => {
    assert.match(stderr, new RegExp(`1/6 Resuming the migration recorded in migrate-state\\.json \\(last stage: ${stage}\\)`));
    for (const s of STAGES.slice(1, STAGES.indexOf(stage) + 1)) assert.match(stderr, ALREADY[s] as RegExp, `${s} is not done again`);
    assert.doesNotMatch(stderr, /The migration failed|Putting the file storage back/);
  };

  let previous: string | undefined;
  for (const at of STAGES) {
    await t.test(`${previous === undefined ? 'a first run' : `the re-run after "${previous}"`} stopped right after "${at}" is recorded`, async () => {
      const crashed = await runUntilCrash(`migrate:${at}`, args, { env, input });
      if (previous !== undefined) assertResumed(crashed.stderr(), previous);
      assert.equal(crashed.seen.at(-1), `migrate:${at}`);
      assert.equal(stateStage(), at);
      const state = fs.readFileSync(path.join(d.dir, 'migrate-state.json'), 'utf8');
      for (const secret of [...server.keys, root, appToken, 'sk-or-crash-migrate']) assert.ok(!state.includes(secret), 'no secret in the state file');
      previous = at;
    });
    if (at === 'stopped') {
      await t.test('the re-run after "stopped" killed (SIGKILL) while `operator migrate` runs in its one-shot container', async (t) => {
        // Killed the moment its `operator migrate` container starts: the container is left behind, still migrating.
        const started = dockerEvents(['--filter', `label=org.vault-setup.project=${d.name}`, '--filter', 'event=start']);
        t.after(() => started.kill());
        const cli = liveCli(args, { env });
        cli.write(input);
        cli.end();
        await cli.waitFor(/3\/6 `operator migrate`/, { stream: 'stderr' });
        await started.first(new RegExp(`${d.name}-migrate-`));
        cli.signal('SIGKILL');
        assert.equal(await cli.exited, 137);
        started.kill();
        assert.notEqual(docker('ps', '-aq', '--filter', `name=${d.name}-migrate-`).trim(), '', 'the killed run left its one-shot container');
        assertResumed(cli.stderr(), 'stopped');
        assert.equal(stateStage(), 'stopped');
      });
    }
  }

  await t.test('the last re-run finishes: the state an uninterrupted migration leaves', async () => {
    const recorded = recordStages();
    const run = await runInProcess(args, { env, input, overrides: recorded.overrides });
    assert.equal(run.code, 0, run.stderr);
    assertResumed(run.stderr, 'snapshot');
    assert.deepEqual(recorded.seen, [], 'nothing left to record: every stage was done before');
    assert.match(run.stdout, /Migrated .* to raft storage: 4 keys, \d+ policies and \d+ token accessors read back/);
    assert.match(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), /storage "raft" \{/);
    assert.doesNotMatch(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), /storage "file"/);
    assert.match(fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8'), /org\.vault-setup\.storage: raft/);
    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    assert.deepEqual([record.storage, record.nodeId], ['raft', `${d.name}-1`]);
    const raft = await call(server, 'GET', 'sys/storage/raft/configuration', { token: root });
    assert.equal(raft.body.data.config.servers[0].node_id, `${d.name}-1`);
    assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
    for (const [key, data] of Object.entries(SECRETS)) assert.deepEqual((await call(server, 'GET', `secret/data/${key}`, { token: root })).body.data.data, data, `secret/${key} byte for byte`);
    assert.equal((await call(server, 'GET', 'secret/metadata/app/db', { token: root })).body.data.current_version, 2, 'no version added or lost');
    assert.equal((await call(server, 'GET', 'secret/metadata/openrouter', { token: root })).body.data.current_version, 1);
    assert.deepEqual((await call(server, 'GET', 'legacy/old/key', { token: root })).body.data, { v: 'v1 value' });
    assert.equal((await call(server, 'GET', 'sys/policies/acl/app', { token: root })).body.data.policy, POLICY);
    assert.equal((await call(server, 'GET', 'secret/data/app/db', { token: appToken })).body.data.data.user, 'oa_admin', 'the app token still reads');
    assert.deepEqual(await accessors(), accessorsBefore, 'the same tokens: none lost, none made');
    const snaps = fs.readdirSync(path.join(d.dir, 'backups')).filter((f) => f.endsWith('.snap'));
    assert.equal(snaps.length, 1, `one snapshot, taken once: ${snaps.join(', ')}`);
    assert.deepEqual(fs.readdirSync(d.dir).filter((f) => /pre-migrate|data\.|migrate|\.tmp$/.test(f)), [], 'no old data, copy, config or state left');
    assert.deepEqual(fs.readdirSync(path.join(d.dir, 'config')).filter((f) => /pre-migrate|\.tmp/.test(f)), []);
    assert.equal(docker('ps', '-aq', '--filter', `label=org.vault-setup.project=${d.name}`).trim(), '', 'no one-shot container left');
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${d.name}`).trim().split('\n').length, 1, 'one server container');
    for (const key of server.keys) assert.ok(!run.stdout.includes(key) && !run.stderr.includes(key), 'no share in the output');
  });
});
