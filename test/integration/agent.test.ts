// `vault-setup agent` against the real servers, over https with the generated CA. The server is read back with an
// independent client, and the agents' own client (Python hvac) logs in with what `agent add` delivered.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { approleLogin, call, mintToken, putPolicy, putSecret, readyServer, unwrapSecretId, pythonBin } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';

/** Runs a short hvac program; the credentials travel on stdin, never in argv or the environment. */
function hvac(program: string, input: Record<string, unknown>): Promise<any> {
  const prelude = 'import hvac, json, sys, time\nargs = json.load(sys.stdin)\nclient = lambda: hvac.Client(url=args["addr"], verify=args.get("ca") or True)\n';
  return new Promise((resolve, reject) => {
    const child = execFile(pythonBin(), ['-c', prelude + program], { env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`hvac program failed: ${stderr}`));
      resolve(JSON.parse(stdout));
    });
    child.stdin?.end(JSON.stringify(input));
  });
}

const LOGIN_AND_READ = `
c = client()
c.auth.approle.login(role_id=args["role_id"], secret_id=args["secret_id"])
own = c.secrets.kv.v2.read_secret_version(path=args["path"], mount_point="secret", raise_on_deleted_version=True)
try:
    c.secrets.kv.v2.read_secret_version(path=args["other"], mount_point="secret", raise_on_deleted_version=True)
    other = "read"
except hvac.exceptions.Forbidden:
    other = "forbidden"
print(json.dumps({"value": own["data"]["data"], "other": other, "policies": c.auth.token.lookup_self()["data"]["policies"]}))
`;

const LOGINS = `
out = []
for i in range(args["times"]):
    try:
        client().auth.approle.login(role_id=args["role_id"], secret_id=args["secret_id"])
        out.append("ok")
    except hvac.exceptions.VaultError as e:
        out.append("refused: " + str(e).splitlines()[0])
print(json.dumps(out))
`;

const UNTIL_REFUSED = `
accepted = 0
deadline = time.time() + args["deadline"]
while True:
    try:
        client().auth.approle.login(role_id=args["role_id"], secret_id=args["secret_id"])
        accepted += 1
    except hvac.exceptions.VaultError as e:
        print(json.dumps({"accepted": accepted, "refused": str(e).splitlines()[0]}))
        break
    if time.time() > deadline:
        print(json.dumps({"accepted": accepted, "refused": None}))
        break
    time.sleep(2)
`;

for (const { label, flavor, image } of serverImages()) {
  test(`agent: ${label} (https with the generated CA)`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`ag-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image, ['--tls', 'self-signed']);
    const root = server.rootToken;
    const env = { VAULT_TOKEN: root };
    const dir = ['--dir', d.dir];
    const ca = path.join(d.dir, 'ca.crt');
    await putSecret(server, root, 'openrouter', { api_key: 'sk-or-test-1' });
    await putSecret(server, root, 'github', { token: 'ghp-test-2' });

    let roleId = '';
    await t.test('add: policy on exactly the paths, role with that policy only, a wrapped secret_id', async () => {
      const run = await runCli(['agent', 'add', 'bot', '--secret', 'secret/openrouter', ...dir, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      assert.deepEqual(Object.keys(out).slice(0, 5), ['agent', 'role_id', 'wrapped_secret_id', 'wrap_ttl', 'policy']);
      assert.equal(out.agent, 'bot');
      assert.equal(out.policy, 'agent-bot');
      assert.equal(out.wrap_ttl, 600);
      assert.equal(out.approle, 'enabled');
      roleId = out.role_id;

      const auth = await call(server, 'GET', 'sys/auth', { token: root });
      assert.equal(auth.body.data['approle/'].type, 'approle');
      const policy = (await call(server, 'GET', 'sys/policies/acl/agent-bot', { token: root })).body.data.policy as string;
      const paths = [...policy.matchAll(/path "([^"]+)" \{\n  capabilities = (\[[^\]]*\])/g)].map((m) => `${m[1]} ${m[2]}`);
      assert.deepEqual(paths, [
        'secret/data/openrouter ["read"]',
        'secret/metadata/openrouter ["read", "list"]',
        'auth/token/renew-self ["update"]',
        'auth/token/lookup-self ["read"]',
        'auth/token/revoke-self ["update"]',
      ]);
      const role = (await call(server, 'GET', 'auth/approle/role/bot', { token: root })).body.data;
      assert.deepEqual(role.token_policies, ['agent-bot']);
      assert.equal(role.token_no_default_policy, true);
      assert.equal(role.token_ttl, 3600);
      assert.equal(role.token_max_ttl, 86400);
      assert.equal(role.secret_id_ttl, 30 * 86400);
      assert.equal(role.secret_id_num_uses, 0);

      // The wrapping token is single use: the agent unwraps it once; a second unwrap is refused.
      const secretId = await unwrapSecretId(server, out.wrapped_secret_id);
      const again = await call(server, 'POST', 'sys/wrapping/unwrap', { token: out.wrapped_secret_id });
      assert.notEqual(again.status, 200);
      const result = await hvac(LOGIN_AND_READ, { addr: server.address, ca, role_id: roleId, secret_id: secretId, path: 'openrouter', other: 'github' });
      assert.deepEqual(result.value, { api_key: 'sk-or-test-1' });
      assert.equal(result.other, 'forbidden');
      assert.deepEqual(result.policies, ['agent-bot']);
      assert.doesNotMatch(run.stderr, /sk-or-test-1/);
    });

    await t.test('add again: AppRole already there, role updated in place (same role_id)', async () => {
      const run = await runCli(['agent', 'add', 'bot', '--secret', 'secret/openrouter,secret/github', ...dir, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().approle, 'present');
      assert.equal(run.json().created, false);
      assert.equal(run.json().role_id, roleId);
      assert.deepEqual(run.json().changes, []);
      assert.deepEqual(run.json().missing_paths, []);
      assert.doesNotMatch(run.stderr, /does not exist yet/);
    });

    await t.test('add again keeps an earlier --cidr, use limit and TTL, and says what a given flag changes', async () => {
      const first = await runCli(['agent', 'add', 'kept', '--secret', 'secret/openrouter', '--cidr', '10.9.0.0/16', '--secret-id-uses', '5', '--token-ttl', '30m', ...dir, '--json'], { env });
      assert.equal(first.code, 0, first.stderr);
      const again = await runCli(['agent', 'add', 'kept', '--secret', 'secret/openrouter', ...dir, '--json'], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.json().changes, []);
      let role = (await call(server, 'GET', 'auth/approle/role/kept', { token: root })).body.data;
      assert.deepEqual(role.secret_id_bound_cidrs, ['10.9.0.0/16']);
      assert.deepEqual(role.token_bound_cidrs, ['10.9.0.0/16']);
      assert.equal(role.secret_id_num_uses, 5);
      assert.equal(role.token_ttl, 1800);
      const changed = await runCli(['agent', 'add', 'kept', '--secret', 'secret/openrouter', '--token-ttl', '2h', ...dir], { env });
      assert.equal(changed.code, 0, changed.stderr);
      assert.match(changed.stderr, /Role settings changed: token TTL 1800s -> 7200s\./);
      role = (await call(server, 'GET', 'auth/approle/role/kept', { token: root })).body.data;
      assert.equal(role.token_ttl, 7200);
      assert.deepEqual(role.secret_id_bound_cidrs, ['10.9.0.0/16']);
      assert.equal((await runCli(['agent', 'remove', 'kept', ...dir], { env })).code, 0);
    });

    await t.test('add with a path that holds no secret (a typo): done, with a warning naming it', async () => {
      const run = await runCli(['agent', 'add', 'typo', '--secret', 'secret/opnerouter,secret/github', ...dir], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /⚠ secret\/opnerouter does not exist yet: the agent can read it once written\. A typo\?/);
      assert.doesNotMatch(run.stderr, /secret\/github does not exist/);
      const json = await runCli(['agent', 'add', 'typo', '--secret', 'secret/opnerouter', ...dir, '--json'], { env });
      assert.deepEqual(json.json().missing_paths, ['secret/opnerouter']);
      assert.equal((await runCli(['agent', 'remove', 'typo', ...dir, '--yes'], { env })).code, 0);
    });

    await t.test('--out-dir: role_id and the unwrapped secret_id, 0600; never overwritten without --force', async () => {
      const out = path.join(d.dir, 'creds');
      const run = await runCli(['agent', 'rotate', 'bot', ...dir, '--out-dir', out, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().wrapped_secret_id, null);
      for (const f of ['role_id', 'secret_id']) assert.equal(fs.statSync(path.join(out, f)).mode & 0o777, 0o600);
      const secretId = fs.readFileSync(path.join(out, 'secret_id'), 'utf8').trim();
      assert.equal(fs.readFileSync(path.join(out, 'role_id'), 'utf8').trim(), roleId);
      assert.equal((await approleLogin(server, roleId, secretId)).status, 200);
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(secretId));

      const before = (await call(server, 'LIST', 'auth/approle/role/bot/secret-id', { token: root })).body.data.keys.length;
      const refused = await runCli(['agent', 'rotate', 'bot', ...dir, '--out-dir', out], { env });
      assert.equal(refused.code, 6, refused.stderr);
      assert.match(refused.stderr, /secret_id already exists/);
      assert.equal(fs.readFileSync(path.join(out, 'secret_id'), 'utf8').trim(), secretId);
      const after = (await call(server, 'LIST', 'auth/approle/role/bot/secret-id', { token: root })).body.data.keys.length;
      assert.equal(after, before, 'a refused run issues no secret_id');

      const forced = await runCli(['agent', 'rotate', 'bot', ...dir, '--out-dir', out, '--force'], { env });
      assert.equal(forced.code, 0, forced.stderr);
      assert.notEqual(fs.readFileSync(path.join(out, 'secret_id'), 'utf8').trim(), secretId);
    });

    await t.test('rotate --revoke-old: earlier secret_ids stop working, the new one works; list counts one', async () => {
      const old = await unwrapSecretId(server, (await runCli(['agent', 'rotate', 'bot', ...dir, '--json'], { env })).json().wrapped_secret_id);
      assert.equal((await approleLogin(server, roleId, old)).status, 200);
      const run = await runCli(['agent', 'rotate', 'bot', ...dir, '--revoke-old', '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.json().revoked_secret_ids >= 1);
      const fresh = await unwrapSecretId(server, run.json().wrapped_secret_id);
      assert.notEqual((await approleLogin(server, roleId, old)).status, 200);
      assert.equal((await approleLogin(server, roleId, fresh)).status, 200);

      const list = await runCli(['agent', 'list', ...dir, '--json'], { env });
      assert.equal(list.code, 0, list.stderr);
      const [bot] = list.json().agents;
      assert.deepEqual(bot, {
        agent: 'bot',
        policy: 'agent-bot',
        paths: ['secret/openrouter', 'secret/github'],
        token_ttl: 3600,
        token_max_ttl: 86400,
        secret_id_ttl: 30 * 86400,
        secret_id_num_uses: 0,
        bound_cidrs: [],
        live_secret_ids: 1,
      });
      assert.doesNotMatch(list.stdout + list.stderr, new RegExp(`${fresh}|sk-or-test-1`));
      const human = await runCli(['agent', 'list', ...dir], { env });
      assert.match(human.stdout, /bot {2}\(policy agent-bot\)\n {2}reads: {6}secret\/openrouter, secret\/github\n.*1h \(max 24h\); secret_id TTL 720h, uses unlimited\n {2}secret_ids: 1 live/);
    });

    await t.test('hvac: a used-up secret_id (--secret-id-uses 1) and an expired one are refused', async () => {
      const once = await runCli(['agent', 'add', 'once', '--secret', 'secret/openrouter', '--secret-id-uses', '1', ...dir, '--json'], { env });
      assert.equal(once.code, 0, once.stderr);
      const onceId = await unwrapSecretId(server, once.json().wrapped_secret_id);
      const logins = await hvac(LOGINS, { addr: server.address, ca, role_id: once.json().role_id, secret_id: onceId, times: 2 });
      assert.equal(logins[0], 'ok');
      assert.match(logins[1], /^refused: .*(invalid secret id|invalid role or secret ID)/i);

      const short = await runCli(['agent', 'add', 'short', '--secret', 'secret/openrouter', '--secret-id-ttl', '2s', ...dir, '--json'], { env });
      assert.equal(short.code, 0, short.stderr);
      const shortId = await unwrapSecretId(server, short.json().wrapped_secret_id);
      await new Promise((r) => setTimeout(r, 3000)); // let the 2s secret_id expire
      const expired = await hvac(UNTIL_REFUSED, { addr: server.address, ca, role_id: short.json().role_id, secret_id: shortId, deadline: 180 });
      assert.match(String(expired.refused), /invalid (secret id|role or secret ID)/i);
      // Measured: OpenBao 2.7 refuses at once; OpenBao 2.6 and Vault 1.17.6 let an expired secret_id log in until
      // their periodic tidy removes it (tens of seconds; 26 logins on Vault 1.17.6). The README tells agent
      // authors; here the servers that fixed it (OpenBao 2.7+) must refuse the first try.
      const seal = (await call(server, 'GET', 'sys/seal-status')).body as { version: string; build_date?: string };
      const tidiesLate = seal.build_date !== undefined || /^2\.[0-6]\./.test(seal.version);
      if (!tidiesLate) assert.equal(expired.accepted, 0, `${seal.version} accepted an expired secret_id`);
    });

    await t.test('--cidr binds login to the source network', async () => {
      const run = await runCli(['agent', 'add', 'fenced', '--secret', 'secret/openrouter', '--cidr', '10.255.255.0/24', ...dir, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      const role = (await call(server, 'GET', 'auth/approle/role/fenced', { token: root })).body.data;
      assert.deepEqual(role.secret_id_bound_cidrs, ['10.255.255.0/24']);
      assert.deepEqual(role.token_bound_cidrs, ['10.255.255.0/24']);
      const login = await approleLogin(server, run.json().role_id, await unwrapSecretId(server, run.json().wrapped_secret_id));
      assert.equal(login.status, 400);
      assert.match(JSON.stringify(login.body), /CIDR/);
    });

    await t.test('a token without the rights: the error names the capability and path', async () => {
      await putPolicy(server, root, 'reader', 'path "secret/data/*" { capabilities = ["read"] }\npath "sys/auth" { capabilities = ["read"] }\npath "auth/approle/role/*" { capabilities = ["read"] }\n');
      const weak = await mintToken(server, root, ['reader']);
      const run = await runCli(['agent', 'add', 'nope', '--secret', 'secret/openrouter', ...dir], { env: { VAULT_TOKEN: weak } });
      assert.equal(run.code, 12, run.stderr);
      assert.match(run.stderr, /the token lacks "create" \+ "update" on sys\/policies\/acl\/agent-nope/);
      assert.doesNotMatch(run.stderr, new RegExp(weak));
      assert.equal((await call(server, 'GET', 'sys/policies/acl/agent-nope', { token: root })).status, 404);
    });

    await t.test('bad input is refused before the server is touched', async () => {
      for (const [args, pattern] of [
        [['agent', 'add', 'x', ...dir], /needs --secret/],
        [['agent', 'add', 'x', '--secret', 'secret/*', ...dir], /not a KV path/],
        [['agent', 'add', 'x/y', '--secret', 'a', ...dir], /not allowed/],
        [['agent', 'add', 'x', '--secret', 'a', '--cidr', 'nope', ...dir], /not an IP network/],
        [['agent', 'add', 'x', '--secret', 'a', '--token-ttl', '48h', ...dir], /longer than --token-max-ttl/],
        [['agent', 'frobnicate', ...dir], /unknown agent command/],
      ] as const) {
        const run = await runCli([...args], { env });
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, pattern);
      }
      const rotate = await runCli(['agent', 'rotate', 'ghost', ...dir], { env });
      assert.equal(rotate.code, 2);
      assert.match(rotate.stderr, /no agent "ghost"/);
    });

    await t.test('remove: role, secret_ids and policy are gone; the agent token loses access', async () => {
      const add = await runCli(['agent', 'add', 'gone', '--secret', 'secret/openrouter', ...dir, '--json'], { env });
      const login = await approleLogin(server, add.json().role_id, await unwrapSecretId(server, add.json().wrapped_secret_id));
      const agentToken = login.body.auth.client_token as string;
      assert.equal((await call(server, 'GET', 'secret/data/openrouter', { token: agentToken })).status, 200);
      const run = await runCli(['agent', 'remove', 'gone', ...dir, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.json(), { agent: 'gone', removed: true, role: true, policy: true });
      assert.equal((await call(server, 'GET', 'auth/approle/role/gone', { token: root })).status, 404);
      assert.equal((await call(server, 'GET', 'sys/policies/acl/agent-gone', { token: root })).status, 404);
      assert.equal((await call(server, 'GET', 'secret/data/openrouter', { token: agentToken })).status, 403);
      const again = await runCli(['agent', 'remove', 'gone', ...dir, '--json'], { env });
      assert.equal(again.code, 0);
      assert.equal(again.json().removed, false);
    });

    await t.test('another auth method at approle/ is a clear error, never replaced', async () => {
      await call(server, 'DELETE', 'sys/auth/approle', { token: root });
      const mounted = await call(server, 'POST', 'sys/auth/approle', { token: root, body: { type: 'userpass' } });
      assert.equal(mounted.status, 204);
      const run = await runCli(['agent', 'add', 'bot2', '--secret', 'secret/openrouter', ...dir], { env });
      assert.equal(run.code, 9, run.stderr);
      assert.match(run.stderr, /"userpass" is mounted at approle\/, not AppRole/);
      assert.equal((await call(server, 'GET', 'sys/auth', { token: root })).body.data['approle/'].type, 'userpass');
      const list = await runCli(['agent', 'list', ...dir, '--json'], { env });
      assert.deepEqual(list.json(), { agents: [] });
    });
  });
}

