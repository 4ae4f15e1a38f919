// Day 2 after init retired the root token, on OpenBao 2.7 (the quorum turns the generate-root listener option on
// for each round) and the real Vault: `secret put --grant` (refused under the operator login, done with --quorum,
// kept in vault-setup.json so a resumed `init --quorum` and a later `agent add` render it again), `init --operator`
// refused with the command that works, and `restore --quorum`. After each quorum command no token with the root
// policy is alive; the operator login (which may list accessors) is the observer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { configureArgs } from '../helpers/ceremony.ts';
import { runCli } from '../helpers/cli.ts';
import { approleLogin, call, unwrapSecretId } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { eventually } from '../helpers/eventually.ts';
import { dialedThrough, liveCli } from '../helpers/live-cli.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { assertNoLeaks, watchProcesses } from '../helpers/leaks.ts';
import { serverImages } from '../helpers/rig.ts';

const SERVERS = serverImages().filter((s) => s.label !== 'openbao-in-vault-layout');
const PASSWORD = `day2 operator password ${randomBytes(4).toString('hex')}`;

for (const { label, flavor, image } of SERVERS) {
  test(`day 2: ${label}`, { timeout: 15 * 60_000 }, async (t) => {
    const since = Date.now();
    const tag = randomBytes(6).toString('hex');
    const value = (name: string) => `${name}-${label}-${tag}`;
    await using d = await testDeployment(`d2-${label.slice(0, 6)}`);
    const server = { address: d.address };
    const dir = ['--dir', d.dir];
    const init = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json', '--password-stdin', ...configureArgs(d.dir).filter((a) => a !== '--no-operator')], { input: `${PASSWORD}\n` });
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json().configure.rootToken.status, 'revoked');
    const keys: string[] = init.json().init.unseal_keys_b64;
    const shares = (from: number) => `${keys.slice(from, from + 3).join('\n')}\n`;
    const appToken = fs.readFileSync(path.join(d.dir, 'app-token'), 'utf8').trim();
    const record = () => JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    const operatorToken = async () => {
      const res = await call(server, 'POST', 'auth/userpass/login/admin', { body: { password: PASSWORD } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.auth.client_token as string;
    };
    /** Accessors of live tokens with the root policy, as the operator login sees them. */
    const rootTokens = async () => {
      const observer = await operatorToken();
      const list = await call(server, 'LIST', 'auth/token/accessors', { token: observer });
      assert.equal(list.status, 200, JSON.stringify(list.body));
      const roots: string[] = [];
      for (const accessor of list.body.data.keys as string[]) {
        const info = await call(server, 'POST', 'auth/token/lookup-accessor', { token: observer, body: { accessor } });
        if (info.status === 200 && (info.body.data.policies as string[]).includes('root')) roots.push(accessor);
      }
      await call(server, 'POST', 'auth/token/revoke-self', { token: observer });
      return roots;
    };
    const read = async (token: string, key: string) => call(server, 'GET', `secret/data/${key}`, { token });
    assert.deepEqual(await rootTokens(), [], 'init left no root token');
    // From here on no share and no password is in any process's argv or environment (values come with --from-env:
    // the operator put them in the CLI's own environment).
    const watch = watchProcesses([...keys, PASSWORD]);

    await t.test('secret put --grant under the operator login: refused before anything is asked, saying --quorum', async () => {
      const run = await runCli(['secret', 'put', 'secret/granted', 'key', '--from-env', 'key=V', '--grant', 'openclaw', '--operator', 'admin', '--password-stdin', ...dir], { env: { V: value('never-written') }, input: `${PASSWORD}\n` });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--grant changes the policy openclaw: a privilege change, which the operator login \(--operator admin\) may not make/);
      assert.match(run.stderr, /secret put secret\/granted key --grant openclaw --quorum/);
      assert.equal((await read(await operatorToken(), 'granted')).status, 404);
      // The operator's token handed over as VAULT_TOKEN: the policy check refuses it before the secret is written.
      const held = await operatorToken();
      const viaEnv = await runCli(['secret', 'put', 'secret/granted', 'key', '--from-env', 'key=V', '--grant', 'openclaw', ...dir], { env: { V: value('never-written'), VAULT_TOKEN: held } });
      assert.equal(viaEnv.code, 12, viaEnv.stderr);
      assert.match(viaEnv.stderr, /the token may not change the policy openclaw: --grant openclaw is a privilege change; nothing was written/);
      assert.match(viaEnv.stderr, /add --quorum/);
      assert.equal((await read(held, 'granted')).status, 404);
      await call(server, 'POST', 'auth/token/revoke-self', { token: held });
    });

    await t.test('secret put --grant APP --quorum --stdin: written, the app token reads it, the grant recorded, no root token alive', async () => {
      const run = await runCli(['secret', 'put', 'secret/granted', 'key', '--from-env', 'key=V', '--grant', 'openclaw', '--quorum', '--stdin', ...dir, '--json'], { env: { V: value('granted-value') }, input: shares(0), timeoutMs: 240_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.json().grants, [{ to: 'openclaw', policy: 'openclaw', status: 'added', recorded: true }]);
      const got = await read(appToken, 'granted');
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.data.data.key, value('granted-value'));
      assert.deepEqual(record().grants, [{ app: 'openclaw', granted: ['granted'] }]);
      assert.deepEqual(await rootTokens(), []);
      for (const key of keys) assert.ok(!run.stderr.includes(key) && !run.stdout.includes(key));
    });

    await t.test('a grant touches only policies vault-setup wrote for that app or agent; with --quorum --stdin the values come from elsewhere', async () => {
      const noValue = await runCli(['secret', 'put', 'secret/x', 'key', '--grant', 'openclaw', '--quorum', '--stdin', ...dir], { input: shares(0) });
      assert.equal(noValue.code, 15, noValue.stderr);
      assert.match(noValue.stderr, /with --quorum --stdin, standard input carries the shares: no way to read the value of key/);
      assert.match(noValue.stderr, /--from-env key=VAR/);
      const op = await operatorToken();
      const policy = async () => (await call(server, 'GET', 'sys/policies/acl/vault-setup-operator', { token: op })).body.data.policy as string;
      const before = await policy();
      // Not the deployment's app: refused from the record before a share is asked (no quorum round, no restart).
      const run = await runCli(['secret', 'put', 'secret/op', 'key', '--from-env', 'key=V', '--grant', 'vault-setup-operator', '--quorum', '--stdin', ...dir], { env: { V: value('never-written') }, input: shares(1), timeoutMs: 240_000 });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /--grant vault-setup-operator: this deployment has no app vault-setup-operator \(app openclaw; .*\); nothing was asked or written/);
      assert.doesNotMatch(run.stderr, /generate-root|restart/i);
      const ghost = await runCli(['secret', 'put', 'secret/op', 'key', '--from-env', 'key=V', '--grant', 'agent:ghost', '--quorum', '--stdin', ...dir], { env: { V: value('never-written') }, input: shares(1) });
      assert.equal(ghost.code, 2, ghost.stderr);
      assert.match(ghost.stderr, /this deployment has no agent ghost/);
      assert.match(ghost.stderr, /vault-setup agent add ghost --secret secret\/PATH --quorum/);
      // A record that names it anyway (edited by hand): the policy on the server is not one vault-setup wrote for an
      // app, and is left alone.
      const recordFile = path.join(d.dir, 'vault-setup.json');
      const kept = fs.readFileSync(recordFile);
      fs.writeFileSync(recordFile, JSON.stringify({ ...record(), app: 'vault-setup-operator' }));
      try {
        const edited = await runCli(['secret', 'put', 'secret/op', 'key', '--from-env', 'key=V', '--grant', 'vault-setup-operator', '--quorum', '--stdin', ...dir], { env: { V: value('never-written') }, input: shares(1), timeoutMs: 240_000 });
        assert.equal(edited.code, 2, edited.stderr);
        assert.match(edited.stderr, /the policy vault-setup-operator was not written by vault-setup for vault-setup-operator; it is left alone and nothing was written/);
      } finally {
        fs.writeFileSync(recordFile, kept);
      }
      assert.equal(await policy(), before);
      assert.equal((await read(op, 'op')).status, 404);
      assert.deepEqual(await rootTokens(), [], 'the quorum token of the refused run was revoked');
    });

    await t.test('init --operator: refused with the command that works', async () => {
      const run = await runCli(['init', ...dir, '--operator', 'admin', '--yes']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /the operator login may not configure the server/);
      assert.ok(run.stderr.includes(`vault-setup init --dir ${d.dir} --quorum`), run.stderr);
    });

    await t.test('a resumed init without a token names --quorum', async () => {
      const run = await runCli(['init', ...dir, '--yes']);
      assert.equal(run.code, 12, run.stderr);
      assert.ok(run.stderr.includes(`vault-setup init --dir ${d.dir} --quorum`), run.stderr);
    });

    await t.test('init --quorum --stdin resumes configure: the policy keeps the grant, the app token still reads it, an outdated operator policy is brought up to date, no root token alive', async () => {
      // The operator policy of an earlier release (its agent-policy rule named policies agents never had).
      const gen = await runCli(['generate-root', '--stdin', ...dir, '--json'], { input: shares(2), timeoutMs: 240_000 });
      assert.equal(gen.code, 0, gen.stderr);
      const root = gen.json().root_token as string;
      const current = String((await call(server, 'GET', 'sys/policies/acl/vault-setup-operator', { token: root })).body.data.policy);
      const outdated = current.replace('path "sys/policies/acl/agent-*"', 'path "sys/policies/acl/vault-setup-agent-*"');
      assert.notEqual(outdated, current);
      assert.equal((await call(server, 'PUT', 'sys/policies/acl/vault-setup-operator', { token: root, body: { policy: outdated } })).status, 204);
      assert.equal((await call(server, 'POST', 'auth/token/revoke-self', { token: root })).status, 204);

      const run = await runCli(['init', ...dir, '--quorum', '--stdin', '--yes', '--json'], { input: shares(1), timeoutMs: 300_000 });
      assert.equal(run.code, 0, run.stderr);
      const configure = run.json().configure;
      assert.deepEqual(configure.operator, { status: 'kept', name: 'admin', reason: 'it exists', policy: 'updated' });
      assert.equal(configure.policy.status, 'kept');
      assert.deepEqual(configure.policy.paths, ['ceremony-test', 'granted']);
      assert.equal(configure.appToken.status, 'kept');
      assert.equal(configure.rootToken.status, 'revoked');
      assert.doesNotMatch(run.stderr, /Could not revoke/);
      assert.equal((await read(appToken, 'granted')).status, 200);
      assert.equal((await read(appToken, 'ceremony-test')).status, 200);
      assert.deepEqual(await rootTokens(), []);
    });

    await t.test('verify --operator: the login inspects the server (no root token alive, its own policy), the app token is checked as the app\'s; its token revoked', async () => {
      const accessorsBefore = (await call(server, 'LIST', 'auth/token/accessors', { token: await operatorToken() })).body.data.keys.length;
      const plain = await runCli(['verify', ...dir, '--json'], { env: { VAULT_TOKEN: appToken } });
      const byId = (run: typeof plain) => Object.fromEntries(run.json().checks.map((c: { id: string; status: string }) => [c.id, c.status]));
      assert.equal(byId(plain)['no-root-token'], 'skip', 'the app token may not list accessors');
      const run = await runCli(['verify', ...dir, '--operator', 'admin', '--password-stdin', '--json'], { env: { VAULT_TOKEN: appToken }, input: `${PASSWORD}\n` });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.json().inspector, { operator: 'admin' });
      const checks = byId(run);
      assert.deepEqual([checks['no-root-token'], checks['operator-policy'], checks.capabilities, checks['token-policies']], ['pass', 'pass', 'pass', 'pass']);
      // The two operator tokens made for the count above and for verify are gone again, or going: none is left by verify.
      const after = (await call(server, 'LIST', 'auth/token/accessors', { token: await operatorToken() })).body.data.keys.length;
      assert.equal(after, accessorsBefore + 1, 'only the token made for this count is new');
      const wrong = await runCli(['verify', ...dir, '--operator', 'admin', '--password-stdin', '--json'], { input: 'not the password\n' });
      assert.equal(wrong.code, 12, wrong.stderr);
    });

    await t.test('secret put --grant agent:NAME --quorum: the agent reads it, and a later agent add keeps it', async () => {
      const add = await runCli(['agent', 'add', 'bot', '--secret', 'secret/ceremony-test', '--quorum', '--stdin', ...dir, '--json'], { input: shares(2), timeoutMs: 240_000 });
      assert.equal(add.code, 0, add.stderr);
      const put = await runCli(['secret', 'put', 'secret/for-bot', 'key', '--from-env', 'key=V', '--grant', 'agent:bot', '--quorum', '--stdin', ...dir, '--json'], { env: { V: value('bot-value') }, input: shares(0), timeoutMs: 240_000 });
      assert.equal(put.code, 0, put.stderr);
      assert.deepEqual(put.json().grants, [{ to: 'agent:bot', policy: 'agent-bot', status: 'added', recorded: true }]);
      // Without --json, as a person sees it: the kept grant is named.
      const again = await runCli(['agent', 'add', 'bot', '--secret', 'secret/ceremony-test', '--quorum', '--stdin', ...dir], { input: shares(1), timeoutMs: 240_000 });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /Kept in the policy, granted by `secret put --grant agent:bot`: secret\/for-bot\./);
      const roleId = /^role_id: +(\S+)$/m.exec(again.stdout)?.[1];
      const wrapped = /^wrapped secret_id: +(\S+)$/m.exec(again.stdout)?.[1];
      assert.ok(roleId !== undefined && wrapped !== undefined, again.stdout);
      const login = await approleLogin(server, roleId, await unwrapSecretId(server, wrapped));
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const got = await read(login.body.auth.client_token, 'for-bot');
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.data.data.key, value('bot-value'));
      assert.deepEqual(record().grants, [{ agent: 'bot', paths: ['ceremony-test'], granted: ['for-bot'] }, { app: 'openclaw', granted: ['granted'] }]);
      // The operator login sees what each agent reads (its policy reads agent-NAME policies, and nothing else's).
      const list = await runCli(['agent', 'list', '--operator', 'admin', '--password-stdin', ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(list.json().agents.map((a: any) => [a.agent, a.paths]), [['bot', ['secret/ceremony-test', 'secret/for-bot']]]);
      assert.deepEqual(await rootTokens(), []);
    });

    await t.test('SIGTERM once the quorum made its root token (secret put --grant): exit 130, the token revoked, nothing written', async () => {
      // Deterministic: every connection goes through the fault proxy, which holds the first request after the round
      // (the grant's read of the policy); SIGTERM lands while the run waits there.
      await using proxy = await faultProxy(d.address);
      proxy.inject({ method: 'GET', path: /^sys\/policies\/acl\/openclaw$/, hang: true });
      const cli = liveCli(['secret', 'put', 'secret/stopped', 'key', '--from-env', 'key=V', '--grant', 'openclaw', '--quorum', '--stdin', ...dir], { env: { V: value('never-written') }, entry: dialedThrough(proxy.address) });
      cli.write(shares(1));
      cli.end();
      await eventually('the run waits after the round', async () => (proxy.count(/^sys\/policies\/acl\/openclaw$/, 'GET') > 0 ? true : undefined), { timeoutMs: 180_000 });
      // The generated root token was exchanged for an expiring one and revoked at once.
      assert.equal(proxy.count(/^auth\/token\/create-orphan$/, 'POST'), 1);
      assert.equal(proxy.count(/^auth\/token\/revoke-self$/, 'POST'), 1);
      cli.signal('SIGTERM');
      assert.equal(await cli.exited, 130, cli.stderr());
      assert.match(cli.stderr(), /Interrupted: the root token made for this command is revoked/);
      assert.equal(proxy.count(/^auth\/token\/revoke-self$/, 'POST'), 2);
      assert.deepEqual(await rootTokens(), []);
      assert.equal((await read(await operatorToken(), 'stopped')).status, 404);
      assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
    });

    await t.test('restore --quorum --stdin: restored, the quorum token went with the replaced data, no root token alive', async () => {
      const file = path.join(d.dir, 'backups', 'day2.snap');
      const backup = await runCli(['backup', '--operator', 'admin', '--password-stdin', '--out', file, ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(backup.code, 0, backup.stderr);
      const after = await runCli(['secret', 'put', 'secret/after', 'key', '--from-env', 'key=V', '--operator', 'admin', '--password-stdin', ...dir], { env: { V: value('after-value') }, input: `${PASSWORD}\n` });
      assert.equal(after.code, 0, after.stderr);
      const refused = await runCli(['restore', file, '--operator', 'admin', '--yes', ...dir]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.ok(refused.stderr.includes(`the operator login may not restore a snapshot`), refused.stderr);
      assert.ok(refused.stderr.includes(`vault-setup restore ${file} --quorum --dir ${d.dir}`), refused.stderr);
      const run = await runCli(['restore', file, '--quorum', '--stdin', '--yes', ...dir, '--json'], { input: shares(2), timeoutMs: 300_000 });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.equal(out.sealed, false);
      assert.equal(out.quorum_token, 'gone');
      assert.doesNotMatch(run.stderr, /Could not revoke/);
      const op = await operatorToken();
      assert.equal((await read(op, 'after')).status, 404, 'the secret written after the backup is gone');
      assert.equal((await read(op, 'granted')).status, 200);
      assert.equal((await read(appToken, 'granted')).status, 200);
      assert.deepEqual(await rootTokens(), []);
      for (const key of keys) assert.ok(!run.stderr.includes(key) && !run.stdout.includes(key));
    });

    await t.test('nothing left behind: no share or password in any argv or environment; no share, the password or a value in the deployment dir, the temp dirs, the container log or inspect', async () => {
      assert.deepEqual(watch.stop(), [], 'a share or the password in some process argv or environment');
      await assertNoLeaks([...keys, PASSWORD, ...['granted-value', 'bot-value', 'after-value', 'never-written'].map(value)], { dirs: [d.dir], containers: [d.name], since, recentDirs: [os.tmpdir()] });
    });
  });
}
