// `adopt` stopped at every step it records (adopt-state.json) and at every stage of the storage migration it runs
// (migrate-state.json), crashes injected in process right after each is written, plus one real SIGKILL of the CLI
// while it recreates the container; every stop is followed by the same command, which says where it resumes. One
// playbook deployment (OpenBao 2.6.2 in the Vault layout, file storage) carried through the chain (adopt happens once
// per deployment): each re-run resumes the previous stop and is itself stopped at the next, the last one finishes.
// The end is what an uninterrupted adopt leaves: the hardened shape, raft, every secret byte for byte, one scoped app
// token (never a second), one operator login, the old tokens revoked, the script shredded, nothing left behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { dockerEvents, runUntilCrash } from '../helpers/crash.ts';
import { runInProcess } from '../helpers/in-process.ts';
import { liveCli } from '../helpers/live-cli.ts';
import { call } from '../helpers/day2.ts';
import { docker } from '../helpers/deployment.ts';
import { PASSWORD, SECRETS, assertAdopted, playbookDeployment } from '../helpers/playbook.ts';
import { rig } from '../helpers/rig.ts';

/** Every stage an uninterrupted adopt of a playbook deployment records, in order. */
const STAGES = [
  'adopt:shape',
  'migrate:inventoried', 'migrate:stopped', 'migrate:migrated', 'migrate:switched', 'migrate:checked', 'migrate:snapshot',
  'adopt:raft', 'adopt:configured', 'adopt:old-app-token', 'adopt:recorded', 'adopt:root-token',
];
/** Where the migration has the server stopped: between stopping it and starting it on raft. */
const SERVER_DOWN = new Set(['migrate:stopped', 'migrate:migrated']);

test('adopt: killed while it recreates the container, then stopped at each recorded step and migration stage; each re-run resumes there, the end is an uninterrupted adopt\'s', { timeout: 12 * 60_000 }, async (t) => {
  const p = await playbookDeployment(t, rig().vaultLayoutImage);
  // An independent reader that outlives the root token adopt revokes (an orphan, so not revoked with it).
  const orphan = await call(p.server, 'POST', 'auth/token/create-orphan', { token: p.rootToken, body: { policies: ['root'], display_name: 'test-observer' } });
  assert.equal(orphan.status, 200);
  const observer = orphan.body.auth.client_token as string;
  const tokenFile = path.join(p.root, 'app-token');
  const env = { VAULT_TOKEN: p.rootToken, HOME: p.home };
  const input = `${p.keys.slice(0, 3).join('\n')}\n${PASSWORD}\n`;
  const args = ['adopt', '--dir', p.dir, '--yes', '--stdin', '--password-stdin', '--app-token-file', tokenFile, '--revoke-old-app-token', '--shred-unseal-script'];

  /** Tokens vault-setup made for the app (its metadata names it): never more than one. */
  const scopedTokens = async (): Promise<string[]> => {
    const list = await call(p.server, 'LIST', 'auth/token/accessors', { token: observer });
    const ours: string[] = [];
    for (const accessor of list.body.data.keys as string[]) {
      const res = await call(p.server, 'POST', 'auth/token/lookup-accessor', { token: observer, body: { accessor } });
      if (res.body?.data?.meta?.['vault-setup-app'] === 'openclaw') ours.push(accessor);
    }
    return ours;
  };
  /** What holds after a stop at AT: stopped mid-migration, the server is down (the re-run starts and unseals it); else it answers unsealed, no secret changed, at most one scoped token. */
  const assertNothingLostOrDoubled = async (at: string): Promise<void> => {
    const seal = await call(p.server, 'GET', 'sys/seal-status').catch(() => undefined);
    if (SERVER_DOWN.has(at)) {
      assert.equal(seal, undefined, `after "${at}" the server is stopped: ${JSON.stringify(seal?.body)}`);
      return;
    }
    assert.equal(seal?.status, 200, `after "${at}" the server answers`);
    assert.equal(seal.body.sealed, false, `after "${at}" the server is unsealed`);
    for (const [key, data] of Object.entries(SECRETS)) {
      const res = await call(p.server, 'GET', `secret/data/${key}`, { token: observer });
      assert.deepEqual(res.body.data.data, data, `secret/${key} byte for byte`);
      assert.equal(res.body.data.metadata.version, 1, `secret/${key} written once`);
    }
    assert.ok((await scopedTokens()).length <= 1, 'never a second scoped app token');
  };
  const resumeLine = (stage: string): RegExp => {
    const [command, name] = stage.split(':') as [string, string];
    if (command === 'adopt') return new RegExp(`Resuming the adopt recorded in adopt-state\\.json \\(last step done: ${name}\\)`);
    return new RegExp(`2/5 File storage to raft: resuming the migration recorded in migrate-state\\.json \\(last stage: ${name}\\)[\\s\\S]*1/6 Resuming the migration recorded in migrate-state\\.json \\(last stage: ${name}\\)`);
  };

  await t.test('SIGKILL the moment the hardened container\'s ownership fix starts (the playbook\'s container is gone, the new one not up)', async (t) => {
    const started = dockerEvents(['--filter', `label=org.vault-setup.project=${p.name}`, '--filter', 'event=start']);
    t.after(() => started.kill());
    const cli = liveCli(args, { env });
    cli.write(input);
    cli.end();
    await cli.waitFor(/1\/5 The hardened shape/, { stream: 'stderr' });
    await started.first(new RegExp(`${p.name}-chown-`));
    cli.signal('SIGKILL');
    assert.equal(await cli.exited, 137);
    started.kill();
    assert.match(fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8'), /network_mode: host/, 'the hardened files were written');
    assert.equal(fs.existsSync(path.join(p.dir, 'adopt-state.json')), false, 'no step recorded yet');
  });

  let previous: string | undefined;
  for (const at of STAGES) {
    await t.test(`the re-run after ${previous === undefined ? 'the kill' : `"${previous}"`} stopped right after "${at}" is recorded`, async () => {
      const after = previous;
      previous = at;
      const crashed = await runUntilCrash(at, args, { env, input });
      if (after === undefined) assert.match(crashed.stderr(), /The hardened container is not running \(an adopt was interrupted while it recreated it\): starting it/);
      else assert.match(crashed.stderr(), resumeLine(after));
      assert.equal(crashed.seen.at(-1), at);
      for (const file of ['adopt-state.json', 'migrate-state.json']) {
        const text = fs.existsSync(path.join(p.dir, file)) ? fs.readFileSync(path.join(p.dir, file), 'utf8') : '';
        for (const secret of [...p.keys, p.rootToken, PASSWORD]) assert.ok(!text.includes(secret), `no secret in ${file}`);
      }
      await assertNothingLostOrDoubled(at);
    });
  }

  await t.test('the last re-run finishes: the state an uninterrupted adopt leaves, nothing doubled, nothing left behind', async () => {
    const run = await runInProcess([...args, '--json'], { env, input });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.json(), { dir: p.dir, changed: false, adopted: true });
    const snaps = fs.readdirSync(path.join(p.dir, 'backups')).filter((f) => f.endsWith('.snap'));
    assert.equal(snaps.length, 1, `one snapshot, taken once: ${snaps.join(', ')}`);
    const appToken = await assertAdopted(p, { migrate: { snapshot: path.join(p.dir, 'backups', snaps[0] as string) } }, tokenFile);
    for (const [key] of Object.entries(SECRETS)) assert.equal((await call(p.server, 'GET', `secret/metadata/${key}`, { token: observer })).body.data.current_version, 1, `secret/${key} written once`);
    const scoped = await scopedTokens();
    assert.equal(scoped.length, 1, 'one scoped app token');
    assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: appToken })).body.data.accessor, scoped[0], 'the one in the file');
    assert.deepEqual((await call(p.server, 'LIST', 'auth/userpass/users', { token: observer })).body.data.keys, ['admin'], 'one operator login');
    assert.equal((await call(p.server, 'POST', 'auth/userpass/login/admin', { body: { password: PASSWORD } })).status, 200);
    assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: p.rootToken })).status, 403, 'the root token is revoked');
    assert.equal((await call(p.server, 'GET', 'auth/token/lookup-self', { token: p.oldAppToken })).status, 403, 'the old app token is revoked');
    assert.equal(fs.existsSync(p.script), false, 'the unseal script is shredded');
    assert.deepEqual(fs.readdirSync(p.dir).filter((f) => /state\.json$|pre-migrate|data\.|\.tmp$/.test(f)), [], 'no state, old data or partial file left');
    assert.deepEqual(fs.readdirSync(path.join(p.dir, 'config')).filter((f) => /pre-migrate|\.tmp/.test(f)), []);
    assert.equal(docker('ps', '-aq', '--filter', `label=org.vault-setup.project=${p.name}`).trim(), '', 'no one-shot container left');
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${p.name}`).trim().split('\n').length, 1, 'one server container');
  });
});
