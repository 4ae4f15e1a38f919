// The operator login on OpenBao and the real Vault: init creates it (password from --password-stdin) before it
// retires root; day-2 commands log in with --operator, and the login's token is gone when they end; the policy
// grants the daily work and none of the ways to make oneself root; it can seal.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { configureArgs } from '../helpers/ceremony.ts';
import { runCli } from '../helpers/cli.ts';
import { call, unseal, waitSealed } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';

const SERVERS = serverImages().filter((s) => s.label !== 'openbao-in-vault-layout');
const PASSWORD = 'operator pass "one" $x ü';

for (const { label, flavor, image } of SERVERS) {
  test(`operator: ${label}`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`op-${label.slice(0, 6)}`);
    const server = { address: d.address };
    const dir = ['--dir', d.dir];
    const login = async (password = PASSWORD) => call(server, 'POST', 'auth/userpass/login/admin', { body: { password } });
    const operatorToken = async () => {
      const res = await login();
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.auth.client_token as string;
    };
    const accessors = async (token: string) => new Set<string>((await call(server, 'LIST', 'auth/token/accessors', { token })).body?.data?.keys ?? []);

    // --keep-root-token only so that the suite can set up an agent below; the root token is revoked right after,
    // which leaves the server as a default init does.
    const args = configureArgs(d.dir).filter((a) => a !== '--no-operator');
    const init = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json', '--keep-root-token', '--show-token', '--password-stdin', ...args], { input: `${PASSWORD}\n` });
    assert.equal(init.code, 0, init.stderr);
    const result = init.json();
    const keys: string[] = result.init.unseal_keys_b64;
    const root: string = result.init.root_token;
    assert.deepEqual(result.configure.operator, { status: 'created', name: 'admin', policy: 'vault-setup-operator', token_max_ttl: '1h' });
    const agent = await runCli(['agent', 'add', 'bot', '--secret', 'secret/ceremony-test', ...dir, '--json'], { env: { VAULT_TOKEN: root } });
    assert.equal(agent.code, 0, agent.stderr);
    const add = await runCli(['operator', 'add', 'ops2', '--password-stdin', ...dir, '--json'], { env: { VAULT_TOKEN: root }, input: 'second operator pw\n' });
    assert.equal(add.code, 0, add.stderr);
    assert.deepEqual(add.json(), { operator: 'ops2', created: true, policy: 'vault-setup-operator', mount: 'auth/userpass', token_max_ttl: '1h' });
    assert.equal((await call(server, 'POST', 'auth/userpass/login/ops2', { body: { password: 'second operator pw' } })).status, 200);
    const removed = await runCli(['operator', 'remove', 'ops2', ...dir, '--json'], { env: { VAULT_TOKEN: root } });
    assert.deepEqual(removed.json(), { operator: 'ops2', removed: true });
    assert.equal((await call(server, 'POST', 'auth/userpass/login/ops2', { body: { password: 'second operator pw' } })).status, 400);
    assert.equal((await call(server, 'POST', 'auth/token/revoke-self', { token: root })).status, 204);

    await t.test('the login: policy vault-setup-operator (and default), tokens of 1 h at most', async () => {
      const res = await login();
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.auth.token_policies.sort(), ['default', 'vault-setup-operator']);
      assert.ok(res.body.auth.lease_duration <= 3600 && res.body.auth.lease_duration > 0, String(res.body.auth.lease_duration));
      assert.equal((await login('wrong password!')).status, 400);
    });

    await t.test('secret put --operator --password-stdin (value from the environment): written, the login revoked', async () => {
      const mine = await operatorToken();
      const before = await accessors(mine);
      const run = await runCli(['secret', 'put', 'secret/day2', 'api_key', '--from-env', 'api_key=DAY2_KEY', '--operator', 'admin', '--password-stdin', ...dir, '--json'], { env: { DAY2_KEY: 'day2-value-Ω' }, input: `${PASSWORD}\n` });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().version, 1);
      assert.deepEqual((await call(server, 'GET', 'secret/data/day2', { token: mine })).body.data.data, { api_key: 'day2-value-Ω' });
      assert.deepEqual([...(await accessors(mine))].filter((a) => !before.has(a)), [], 'the command left a token alive');
    });

    await t.test('agent rotate --operator: a new secret_id, the login revoked; agent add is a privilege change (403)', async () => {
      const mine = await operatorToken();
      const before = await accessors(mine);
      const run = await runCli(['agent', 'rotate', 'bot', '--operator', 'admin', '--password-stdin', ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(run.code, 0, run.stderr);
      const wrapped = run.json().wrapped_secret_id as string;
      assert.equal((await call(server, 'POST', 'sys/wrapping/unwrap', { token: wrapped })).status, 200);
      const add = await runCli(['agent', 'add', 'other', '--secret', 'secret/day2', '--operator', 'admin', '--password-stdin', ...dir], { input: `${PASSWORD}\n` });
      assert.equal(add.code, 12, add.stderr);
      assert.match(add.stderr, /the operator admin may not add or remove agents: a new policy and role are a privilege change/);
      assert.match(add.stderr, /→ run the same command with --quorum/);
      const listed = await runCli(['agent', 'list', '--operator', 'admin', '--password-stdin', ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(JSON.stringify(listed.json()).includes('bot'), listed.stdout);
      assert.deepEqual([...(await accessors(mine))].filter((a) => !before.has(a)), []);
    });

    await t.test('every escalation is refused: policies, tokens with chosen policies, logins, roles, auth methods, rekey, generate-root, rotate', async () => {
      const mine = await operatorToken();
      const attempts: [string, string, unknown][] = [
        ['PUT', 'sys/policies/acl/evil', { policy: 'path "*" { capabilities = ["sudo","create","read","update","delete","list"] }' }],
        ['PUT', 'sys/policies/acl/vault-setup-operator', { policy: 'path "*" { capabilities = ["sudo","update"] }' }],
        ['PUT', 'sys/policies/acl/vault-setup-agent-bot', { policy: 'path "*" { capabilities = ["sudo","update"] }' }],
        ['POST', 'auth/token/create', { policies: ['root'] }],
        ['POST', 'auth/token/create-orphan', { policies: ['vault-setup-operator'] }],
        ['POST', 'auth/userpass/users/evil', { password: 'x'.repeat(16), token_policies: ['root'] }],
        ['POST', 'auth/userpass/users/admin', { password: 'x'.repeat(16), token_policies: ['root'] }],
        ['POST', 'auth/approle/role/evil', { token_policies: ['root'] }],
        ['POST', 'auth/approle/role/bot', { token_policies: ['root'] }],
        ['POST', 'sys/auth/evil', { type: 'userpass' }],
        ['POST', 'sys/rotate', {}],
        ['POST', 'sys/storage/raft/snapshot', {}],
      ];
      for (const [method, apiPath, body] of attempts) {
        const res = await call(server, method, apiPath, { token: mine, body });
        assert.equal(res.status, 403, `${method} ${apiPath}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      // Rekey and generate-root are unauthenticated endpoints on some servers: the token's own capabilities show
      // that it adds nothing there.
      const paths = ['sys/rekey/init', 'sys/rekey/update', 'sys/generate-root/attempt', 'sys/generate-root/update', 'sys/generate-root-token/attempt', 'sys/policies/acl/x', 'auth/token/create', 'sys/rotate'];
      const caps = await call(server, 'POST', 'sys/capabilities-self', { token: mine, body: { paths } });
      assert.equal(caps.status, 200, JSON.stringify(caps.body));
      for (const p of paths) assert.deepEqual(caps.body[p], ['deny'], p);
    });

    await t.test('operator add under an operator login is refused as a privilege change; passwd changes one\'s own', async () => {
      const add = await runCli(['operator', 'add', 'ops3', '--operator', 'admin', '--password-stdin', ...dir], { input: `${PASSWORD}\n` });
      assert.equal(add.code, 2, add.stderr);
      assert.match(add.stderr, /--password-stdin gives the new login's password/);
      const denied = await runCli(['operator', 'remove', 'admin', '--operator', 'admin', '--password-stdin', ...dir], { input: `${PASSWORD}\n` });
      assert.equal(denied.code, 12, denied.stderr);
      assert.match(denied.stderr, /operator admin may not add or remove logins: that is a privilege change/);
      const changed = await runCli(['operator', 'passwd', '--operator', 'admin', '--password-stdin', ...dir], { input: `${PASSWORD}\nnew-password-for-admin\n` });
      assert.equal(changed.code, 0, changed.stderr);
      assert.equal((await login()).status, 400);
      assert.equal((await login('new-password-for-admin')).status, 200);
      const back = await runCli(['operator', 'passwd', '--operator', 'admin', '--password-stdin', ...dir], { input: `new-password-for-admin\n${PASSWORD}\n` });
      assert.equal(back.code, 0, back.stderr);
    });

    await t.test('operator passwd in a terminal: a refused or mismatched new password is asked again from an empty line', async () => {
      const typed = 'typed-at-a-terminal-42';
      {
        using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'operator', 'passwd', '--operator', 'admin', ...dir], { env: { PATH: process.env.PATH } });
        await term.waitFor(/Password of the operator admin/);
        term.paste(PASSWORD);
        term.key('Enter');
        await term.waitFor(/New password for the operator admin/);
        term.type('short');
        term.key('Enter');
        await term.waitFor(/> at least 12 characters/);
        // Typed after the refusal with nothing cleared: taken as it is, not appended to "short".
        term.paste(typed);
        term.key('Enter');
        await term.waitFor(/Password for admin again/);
        term.paste(`${typed}-not-the-same`);
        term.key('Enter');
        await term.waitFor(/> the two passwords differ; type the new one again/);
        term.paste(typed);
        term.key('Enter');
        await term.waitFor(/(Password for admin again[^]*){2}/);
        term.paste(typed);
        term.key('Enter');
        assert.equal(await term.waitExit(), 0, term.screen({ history: true }));
      }
      assert.equal((await login(typed)).status, 200);
      const back = await runCli(['operator', 'passwd', '--operator', 'admin', '--password-stdin', ...dir], { input: `${typed}\n${PASSWORD}\n` });
      assert.equal(back.code, 0, back.stderr);
    });

    await t.test('verify with an operator token: the operator policy is not root-equivalent, no root token is alive', async () => {
      const run = await runCli(['verify', ...dir, '--json'], { env: { VAULT_TOKEN: await operatorToken() } });
      const checks = run.json().checks as { id: string; status: string; finding: string }[];
      const by = (id: string) => checks.find((c) => c.id === id) as { status: string; finding: string };
      assert.equal(by('operator-policy').status, 'pass', by('operator-policy').finding);
      assert.equal(by('no-root-token').status, 'pass', by('no-root-token').finding);
      // The app token may not list accessors: the check says so instead of passing.
      const app = fs.readFileSync(path.join(d.dir, 'app-token'), 'utf8').trim();
      const withApp = (await runCli(['verify', ...dir, '--json'], { env: { VAULT_TOKEN: app } })).json().checks.find((c: any) => c.id === 'no-root-token');
      assert.equal(withApp.status, 'skip');
      assert.match(withApp.finding, /may not list token accessors/);
    });

    await t.test('backup --operator: a snapshot, the login revoked afterwards', async () => {
      const out = path.join(d.dir, 'backups', 'by-operator.snap');
      const run = await runCli(['backup', '--operator', 'admin', '--password-stdin', '--out', out, ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(fs.statSync(out).size > 0);
      assert.doesNotMatch(run.stderr, /Could not revoke/);
    });

    await t.test('it can seal (the emergency stop), also with seal --operator; unsealing needs the shares', async () => {
      const mine = await operatorToken();
      assert.equal((await call(server, 'PUT', 'sys/seal', { token: mine })).status, 204);
      await waitSealed(server);
      await unseal(server, keys.slice(0, 3));
      const sealed = await runCli(['seal', '--reason', 'drill', '--operator', 'admin', '--password-stdin', ...dir, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.equal(sealed.json().already_sealed, false);
      await waitSealed(server);
      await unseal(server, keys.slice(0, 3));
    });

    await t.test('no password on disk: the deployment dir holds none', async () => {
      for (const f of fs.readdirSync(d.dir, { recursive: true }) as string[]) {
        const full = path.join(d.dir, f);
        if (fs.statSync(full).isFile()) assert.ok(!fs.readFileSync(full).includes(PASSWORD), full);
      }
    });
  });
}
