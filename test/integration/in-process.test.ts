// The commands called in this process (main() with fake streams, a scripted prompter) against the real server and
// Docker Engine: init, a restart, unseal with shares typed at the scripted prompter, verify, agent. No second
// process: every answer is scripted and nothing races. One image: this is about the commands' wiring; the server
// matrix is covered by the suites that run the CLI as a child process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configureArgs } from '../helpers/ceremony.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { eventually } from '../helpers/eventually.ts';
import { runInProcess, scriptedPrompter } from '../helpers/in-process.ts';
import { serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';

const { label, flavor, image } = serverImages()[0] as ReturnType<typeof serverImages>[number];

describe(`commands in process (${label})`, () => {
  it('init, unseal after a restart (scripted prompter), verify, agent add', { timeout: 8 * 60_000 }, async (t) => {
    await using d = await testDeployment(`ip-${label.slice(0, 6)}`);
    let shares: string[] = [];
    let rootToken = '';

    await t.test('init --yes --print-keys --json: deployed, initialised, unsealed, configured', async () => {
      const run = await runInProcess(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json', '--shares', '3', '--threshold', '2', '--keep-root-token', '--show-token', ...configureArgs(d.dir)]);
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.deepEqual([out.initialized, out.sealed], [true, false]);
      assert.deepEqual([out.init.unseal_shares, out.init.unseal_threshold], [3, 2]);
      shares = out.init.unseal_keys_b64;
      rootToken = out.configure.rootToken.token;
      assert.equal(out.configure.rootToken.status, 'kept');
      assert.equal(fs.statSync(path.join(d.dir, 'app-token')).mode & 0o777, 0o600);
      const seal = (await api(d.address, 'GET', 'sys/seal-status')).body;
      assert.deepEqual([seal.sealed, seal.t, seal.n], [false, 2, 3]);
    });

    await t.test('unseal after a restart: two shares typed at the (scripted) masked prompt', async () => {
      docker('restart', d.name);
      await eventually('the restarted server answers sealed', async () => ((await api(d.address, 'GET', 'sys/seal-status')).body?.sealed === true ? true : undefined));
      const prompter = scriptedPrompter([shares[2] as string, shares[0] as string]);
      const run = await runInProcess(['unseal', '--dir', d.dir, '--json'], { prompter });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(prompter.asked, ['Share 1 of 2 (hidden; empty to stop)', 'Share 2 of 2 (hidden; empty to stop)']);
      const out = run.json();
      assert.deepEqual([out.sealed, out.sharesEntered, out.threshold], [false, 2, 2]);
      assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.sealed, false);
      for (const share of shares) assert.ok(!run.stdout.includes(share) && !run.stderr.includes(share), 'no share in the output');
    });

    await t.test('verify --json with the app token: nothing fails', async () => {
      const run = await runInProcess(['verify', '--dir', d.dir, '--json', '--token-file', path.join(d.dir, 'app-token'), '--secrets', path.join(d.dir, 'test-catalog.yaml')]);
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.equal(out.summary.fail, 0, JSON.stringify(out.checks?.filter?.((c: { status: string }) => c.status === 'fail')));
      assert.notEqual(out.status, 'failed');
    });

    await t.test('agent add --json: a role on exactly its path, read back by an independent client', async () => {
      const run = await runInProcess(['agent', 'add', 'bot', '--secret', 'secret/ceremony-test', '--dir', d.dir, '--json'], { env: { VAULT_TOKEN: rootToken } });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.equal(out.agent, 'bot');
      const role = await api(d.address, 'GET', 'auth/approle/role/bot/role-id', { token: rootToken });
      assert.equal(role.status, 200);
      assert.equal(role.body.data.role_id, out.role_id);
      const policy = await api(d.address, 'GET', 'sys/policies/acl/agent-bot', { token: rootToken });
      assert.match(policy.body.data.policy, /path "secret\/data\/ceremony-test"/);
      assert.ok(!run.stdout.includes(rootToken) && !run.stderr.includes(rootToken), 'the token is not in the output');
    });
  });
});
