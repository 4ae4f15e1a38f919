// init, third phase, against the real servers of both image layouts: what the app token can and cannot do is
// checked with the official OpenBao CLI; the audit log, the root token and leaks are checked on the host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { createContext } from '../../src/context.ts';
import { deploymentPaths } from '../../src/deployment.ts';
import { VaultApi } from '../../src/services/vault-api.ts';
import { configurePhase } from '../../src/tasks/configure.tasks.ts';
import { configureOptions } from '../../src/commands/init.ts';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment, type TestDeployment } from '../helpers/deployment.ts';
import { rig, serverImages } from '../helpers/rig.ts';
import { api, deploy, initAndUnseal, waitActive } from '../helpers/server.ts';

const SEEDED = ['openrouter', 'telegram', 'github', 'database', 'cockpit'];

/** Values for the built-in catalog's prompt fields, unique per run so a leak search cannot match by accident. */
function playbookValues(): Record<string, string> {
  const r = () => Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
  return {
    OPENROUTER_API_KEY: `sk-or-${r()}`,
    TELEGRAM_BOT_TOKEN: `123456:${r()}`,
    TELEGRAM_CHAT_ID: `chat-${r()}`,
    GITHUB_TOKEN: `ghp_${r()}`,
    DB_PASSWORD: `pw-${r()}`,
  };
}

function bao(d: TestDeployment, token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = path.join(d.dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(rig().bao, args, { env: { PATH: process.env.PATH, HOME: home, BAO_ADDR: d.address, BAO_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every regular file under `root` (changed since `since`) that contains one of `needles`. */
function filesContaining(root: string, needles: string[], since: number, except: string[] = []): string[] {
  const hits: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile() && !except.includes(file)) {
        try {
          const stat = fs.statSync(file);
          if (stat.mtimeMs < since || stat.size > 20_000_000) continue;
          const text = fs.readFileSync(file, 'latin1');
          for (const n of needles) if (text.includes(n)) hits.push(`${file} holds ${n.slice(0, 4)}...`);
        } catch {
          // vanished or unreadable: not ours
        }
      }
    }
  };
  walk(root);
  return hits;
}

function assertNoLeaks(d: TestDeployment, secrets: string[], since: number, except: string[] = []): void {
  assert.deepEqual(filesContaining(d.dir, secrets, since, except), [], 'deployment dir');
  assert.deepEqual(filesContaining(os.tmpdir(), secrets, since, except), [], 'tmpdir');
  if (process.env.HOME) assert.deepEqual(filesContaining(process.env.HOME, secrets, since, except), [], '$HOME');
  const logs = docker('logs', d.name) + docker('inspect', d.name);
  for (const s of secrets) assert.ok(!logs.includes(s), 'container logs / docker inspect');
}

for (const { label, flavor, image } of serverImages()) {
  const layout = LAYOUTS[flavor];

  describe(`configure (${label})`, () => {
    it('a fresh server: secrets, a least-privilege app token, audit on, root revoked; nothing leaks', async () => {
      const since = Date.now();
      await using d = await testDeployment(`cfg-${label}`);
      await deploy(d, flavor, image);
      const { rootToken } = await initAndUnseal(d.address);
      const values = playbookValues();
      const tokenFile = path.join(d.dir, 'app.token');
      const serverApi = new VaultApi({ address: d.address });
      const ctx = createContext({ json: true, yes: true, env: { ...values } });
      const server = await ctx.docker.identifyImage(image);
      assert.ok(server);
      const input = { api: serverApi, server, layout, paths: deploymentPaths(d.dir), name: d.name, rootToken };
      try {
        // Refusals first: each happens before anything is written.
        const missing = createContext({ json: true, yes: true, env: { GITHUB_TOKEN: values.GITHUB_TOKEN } });
        await assert.rejects(configurePhase(missing, { ...input, options: configureOptions({ 'app-token-file': tokenFile }) }), (e: any) => {
          assert.equal(e.code, 'E_NEEDS_ANSWER');
          assert.equal(e.message, '4 secret values are missing: openrouter.api_key (or set OPENROUTER_API_KEY), telegram.bot_token (or set TELEGRAM_BOT_TOKEN), telegram.chat_id (or set TELEGRAM_CHAT_ID), database.password (or set DB_PASSWORD)');
          return true;
        });
        await assert.rejects(configurePhase(ctx, { ...input, options: configureOptions({}) }), (e: any) => e.code === 'E_NEEDS_ANSWER' && /--app-token-file PATH/.test(e.hint));
        fs.writeFileSync(tokenFile, 'mine\n');
        await assert.rejects(configurePhase(ctx, { ...input, options: configureOptions({ 'app-token-file': tokenFile }) }), (e: any) => e.code === 'E_FILE_CONFLICT' && e.exitCode === 6);
        assert.equal(fs.readFileSync(tokenFile, 'utf8'), 'mine\n');
        fs.unlinkSync(tokenFile);
        const mounts = await api(d.address, 'GET', 'sys/mounts', { token: rootToken });
        assert.equal(mounts.body['secret/'], undefined, 'nothing written by the refused runs');
        assert.equal((await api(d.address, 'GET', 'sys/policies/acl/openclaw', { token: rootToken })).status, 404);

        const outcome = await configurePhase(ctx, { ...input, options: configureOptions({ 'app-token-file': tokenFile }) });
        const data = outcome.data as any;
        assert.deepEqual(
          data.secrets.map((s: any) => [s.path, s.status, s.version]),
          SEEDED.map((p) => [p, 'created', 1]),
        );
        assert.deepEqual(data.kv, { mount: 'secret/', status: 'created' });
        assert.equal(data.policy.status, 'created');
        assert.equal(data.appToken.status, 'created');
        assert.equal(data.appToken.delivered, 'file');
        assert.equal(data.appToken.token, undefined, 'the result never holds the token unless asked');
        assert.equal(data.rootToken.status, 'revoked');
        assert.match(data.rootToken.newRoot, /generate-root/);
        // OpenBao refuses API-created audit devices: the template declares one. Decided by the server, not --flavor.
        assert.equal(data.audit.filePath, `${layout.home}/logs/audit.log`);
        assert.equal(data.audit.status, server.product === 'openbao' ? 'kept' : 'created');
        assert.deepEqual(
          outcome.steps.map((s) => `${s.id}:${s.status}`),
          ['audit:' + (server.product === 'openbao' ? 'kept' : 'done'), 'kv:done', ...SEEDED.map((p) => `secret:${p}:done`), 'policy:done', 'app-token:done', 'root-token:done'],
        );
        assert.doesNotMatch(JSON.stringify(outcome), new RegExp(Object.values(values).join('|')), 'values never in the outcome');

        // The token file: 0600, just the token.
        assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
        const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
        assert.doesNotMatch(JSON.stringify(outcome), new RegExp(appToken));

        // Root token revoked.
        assert.equal((await api(d.address, 'GET', 'auth/token/lookup-self', { token: rootToken })).status, 403);

        // The official CLI, with the app token, reads every seeded secret...
        const read = async (p: string) => {
          const r = await bao(d, appToken, 'kv', 'get', '-format=json', '-mount=secret', p);
          assert.equal(r.code, 0, r.stderr);
          return JSON.parse(r.stdout).data.data as Record<string, string>;
        };
        assert.deepEqual(await read('openrouter'), { api_key: values.OPENROUTER_API_KEY });
        assert.deepEqual(await read('telegram'), { bot_token: values.TELEGRAM_BOT_TOKEN, chat_id: values.TELEGRAM_CHAT_ID });
        assert.deepEqual(await read('github'), { token: values.GITHUB_TOKEN });
        assert.deepEqual(await read('database'), { host: '127.0.0.1', port: '5432', name: 'oa_system', user: 'oa_admin', password: values.DB_PASSWORD });
        const cockpit = await read('cockpit');
        assert.match(cockpit.jwt_secret as string, /^[0-9a-f]{64}$/);
        assert.match(cockpit.admin_password as string, /^[A-Za-z0-9]{24}$/);
        // ...and nothing else: writing, an unseeded path, listing sys/, minting tokens.
        const denied = async (...args: string[]) => {
          const r = await bao(d, appToken, ...args);
          assert.notEqual(r.code, 0, args.join(' '));
          assert.match(r.stderr, /permission denied|403/, args.join(' '));
        };
        await denied('kv', 'put', '-mount=secret', 'openrouter', 'api_key=stolen');
        await denied('kv', 'put', '-mount=secret', 'newpath', 'a=b');
        await denied('kv', 'get', '-mount=secret', 'unseeded');
        await denied('kv', 'delete', '-mount=secret', 'github');
        await denied('list', 'sys/policies/acl');
        await denied('secrets', 'list');
        await denied('token', 'create', '-policy=openclaw');
        const policyFile = path.join(d.dir, 'wide.hcl');
        fs.writeFileSync(policyFile, 'path "*" { capabilities = ["sudo", "read", "update", "create", "list", "delete"] }\n');
        await denied('policy', 'write', 'openclaw', policyFile);

        // The token itself: only the app policy, renewable, the asked TTL, an orphan (it outlived the root token).
        const self = await bao(d, appToken, 'token', 'lookup', '-format=json');
        assert.equal(self.code, 0, self.stderr);
        const td = JSON.parse(self.stdout).data;
        assert.deepEqual(td.policies, ['openclaw']);
        assert.equal(td.renewable, true);
        assert.equal(td.orphan, true);
        assert.equal(td.display_name, 'token-openclaw');
        assert.ok(td.ttl > 719 * 3600 && td.ttl <= 720 * 3600, `ttl ${td.ttl}`);
        assert.equal((await bao(d, appToken, 'token', 'renew')).code, 0);

        // sys/capabilities-self says exactly what the policy grants.
        const probe = [
          ...SEEDED.flatMap((p) => [`secret/data/${p}`, `secret/metadata/${p}`]),
          'auth/token/lookup-self', 'auth/token/renew-self', 'auth/token/revoke-self', 'sys/capabilities-self',
          'secret/data/unseeded', 'secret/data/openrouter/child', 'secret/delete/openrouter', 'sys/mounts', 'sys/policies/acl/openclaw', 'auth/token/create', 'cubbyhole/x',
        ];
        const caps = await api(d.address, 'POST', 'sys/capabilities-self', { token: appToken, body: { paths: probe } });
        assert.equal(caps.status, 200);
        const expected: Record<string, string[]> = {
          ...Object.fromEntries(SEEDED.flatMap((p) => [[`secret/data/${p}`, ['read']], [`secret/metadata/${p}`, ['list', 'read']]])),
          'auth/token/lookup-self': ['read'],
          'auth/token/renew-self': ['update'],
          'auth/token/revoke-self': ['update'],
          'sys/capabilities-self': ['update'],
        };
        for (const p of probe) assert.deepEqual([...caps.body.data[p]].sort(), expected[p] ?? ['deny'], p);

        // The audit log on the host records those requests, with every secret value HMACed.
        const audit = fs.readFileSync(path.join(d.dir, 'logs', 'audit.log'), 'utf8');
        const entries = audit.trim().split('\n').map((l) => JSON.parse(l));
        const byApp = entries.filter((e) => e.auth?.display_name === 'token-openclaw');
        for (const p of SEEDED) assert.ok(byApp.some((e) => e.type === 'response' && e.request.path === `secret/data/${p}`), `read of ${p} audited`);
        assert.ok(byApp.some((e) => e.request.path === 'secret/data/unseeded' && /permission denied/.test(e.error ?? '')), 'denial audited');
        assert.ok(entries.some((e) => e.request?.path === 'secret/data/openrouter' && e.request.operation === 'create' && /^hmac-sha256:/.test(e.request.data?.data?.api_key)));
        for (const v of [...Object.values(values), cockpit.jwt_secret as string, cockpit.admin_password as string, appToken, rootToken]) {
          assert.ok(!audit.includes(v), 'no plaintext secret or token in the audit log');
        }

        assertNoLeaks(d, [...Object.values(values), cockpit.jwt_secret as string, cockpit.admin_password as string, appToken, rootToken], since, [tokenFile]);
      } finally {
        serverApi.close();
      }
    });

    it('audit follows what the server answers: no device and refused through the API -> a clear error; allowed -> enabled through the API', async () => {
      await using d = await testDeployment(`cfga-${label}`);
      await deploy(d, flavor, image);
      // Take the declared device away: the server now has none, and (by default) refuses API creation.
      const config = path.join(d.dir, 'config', 'vault.hcl');
      const original = fs.readFileSync(config, 'utf8');
      const bare = original.replace(/\n(#[^\n]*\n)?audit "file" "file" \{[\s\S]*?\n\}\n/, '\n');
      assert.doesNotMatch(bare, /audit "file"/);
      const restart = async (text: string, keys?: string[]) => {
        fs.writeFileSync(config, text);
        docker('restart', d.name);
        for (let i = 0; i < 100 && (await fetch(`${d.address}/v1/sys/seal-status`).catch(() => undefined)) === undefined; i++) await new Promise((r) => setTimeout(r, 200));
        for (const key of keys ?? []) await api(d.address, 'PUT', 'sys/unseal', { body: { key } });
        if (keys) await waitActive(d.address);
      };
      await restart(bare);
      const { keys, rootToken } = await initAndUnseal(d.address);
      const serverApi = new VaultApi({ address: d.address });
      const ctx = createContext({ json: true, yes: true, env: playbookValues() });
      const server = await ctx.docker.identifyImage(image);
      assert.ok(server);
      const input = { api: serverApi, server, layout, paths: deploymentPaths(d.dir), name: d.name, rootToken, options: configureOptions({ 'app-token-file': path.join(d.dir, 'app.token') }) };
      try {
        if (server.product === 'openbao') {
          // OpenBao refuses API-created devices by default: a clear error, nothing else written.
          await assert.rejects(configurePhase(ctx, input), (e: any) => {
            assert.equal(e.code, 'E_SERVER');
            assert.match(e.message, /refused to enable the file audit device: .*declarative/);
            assert.match(e.hint, /declare audit "file" "file" .* in config\/vault\.hcl/);
            return true;
          });
          assert.equal((await api(d.address, 'GET', 'sys/mounts', { token: rootToken })).body['secret/'], undefined, 'audit comes first: nothing else written');
          // The same server told to allow API creation: the phase enables the device through the API.
          await restart(`unsafe_allow_api_audit_creation = true\n${bare}`, keys.slice(0, 2));
        }
        const outcome = await configurePhase(ctx, input);
        const audit = (outcome.data as any).audit;
        assert.deepEqual(audit, { status: 'created', device: 'file/', filePath: `${layout.home}/logs/audit.log`, via: 'api' });
        const devices = await api(d.address, 'GET', 'sys/audit', { token: rootToken });
        assert.equal(devices.status, 403, 'root revoked at the end');
        const log = fs.readFileSync(path.join(d.dir, 'logs', 'audit.log'), 'utf8');
        assert.match(log, /"path":"secret\/data\/openrouter"/);
        assert.ok(!log.includes(rootToken));
      } finally {
        serverApi.close();
      }
    });

    it('resumed with VAULT_TOKEN: wrapped delivery, a re-run keeps everything, KV v1 is never touched', async () => {
      const since = Date.now();
      await using d = await testDeployment(`cfgr-${label}`);
      await deploy(d, flavor, image);
      const { rootToken } = await initAndUnseal(d.address);
      const home = path.join(d.dir, 'home');
      fs.mkdirSync(home);
      const catalog = path.join(d.dir, 'catalog.yaml');
      fs.writeFileSync(
        catalog,
        `secrets:
  apps/agent:
    api_key: { from: prompt, env: AGENT_KEY }
    region: { from: env, var: AGENT_REGION, sensitive: false }
    signing_key: { from: generate, format: base64, bytes: 32 }
  db:
    password: { from: generate, format: password, length: 30, charset: alnum-symbols }
`,
      );
      const args = [...d.args(flavor, image), '--secrets', catalog, '--app', 'agent', '--json'];
      const env = { HOME: home, VAULT_TOKEN: rootToken };
      const agentKey = `ak-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

      // A KV v1 engine at secret/: a clear error, and it stays v1.
      await api(d.address, 'POST', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '1' } } });
      const v1 = await runCli(['init', ...args, '--yes', '--show-token'], { env: { ...env, AGENT_KEY: agentKey, AGENT_REGION: 'eu-west' } });
      assert.equal(v1.code, 9, v1.stderr);
      assert.match(v1.stderr, /secret\/ is already mounted as a KV version 1 engine, not KV v2; vault-setup will not change it/);
      assert.equal(v1.json().error.code, 'E_MOUNT_CONFLICT');
      assert.equal((await api(d.address, 'GET', 'sys/mounts', { token: rootToken })).body['secret/'].options.version, '1');
      assert.equal((await api(d.address, 'DELETE', 'sys/mounts/secret', { token: rootToken })).status, 204);

      // No TTY and no way to hand over the token: refused before anything is written.
      const nowhere = await runCli(['init', ...args, '--yes'], { env: { ...env, AGENT_KEY: agentKey, AGENT_REGION: 'eu-west' } });
      assert.equal(nowhere.code, 15, nowhere.stderr);
      assert.match(nowhere.stderr, /nowhere to go[\s\S]*--app-token-file PATH/);
      assert.equal((await api(d.address, 'GET', 'sys/mounts', { token: rootToken })).body['secret/'], undefined);

      // First run: wrapped delivery, the root token kept on request.
      const first = await runCli(['init', ...args, '--yes', '--wrap-ttl', '5m', '--keep-root-token'], { env: { ...env, AGENT_KEY: agentKey, AGENT_REGION: 'eu-west' } });
      assert.equal(first.code, 0, first.stderr);
      const r1 = first.json().configure;
      assert.deepEqual(r1.secrets.map((s: any) => [s.path, s.status]), [['apps/agent', 'created'], ['db', 'created']]);
      assert.equal(r1.appToken.delivered, 'result');
      assert.equal(r1.appToken.token, undefined);
      assert.equal(r1.rootToken.status, 'kept');
      const wrapping = r1.appToken.wrappingToken as string;
      assert.ok(wrapping.length > 10);
      const unwrapped = await bao(d, wrapping, 'unwrap', '-format=json');
      assert.equal(unwrapped.code, 0, unwrapped.stderr);
      const appToken = JSON.parse(unwrapped.stdout).auth.client_token as string;
      assert.equal(JSON.parse(unwrapped.stdout).auth.accessor, r1.appToken.accessor);
      assert.notEqual((await bao(d, wrapping, 'unwrap')).code, 0, 'the wrapping token is single-use');
      const agent = await bao(d, appToken, 'kv', 'get', '-format=json', '-mount=secret', 'apps/agent');
      assert.equal(agent.code, 0, agent.stderr);
      const agentData = JSON.parse(agent.stdout).data.data;
      assert.equal(agentData.api_key, agentKey);
      assert.equal(agentData.region, 'eu-west');
      assert.equal(Buffer.from(agentData.signing_key, 'base64').length, 32);
      const db = JSON.parse((await bao(d, appToken, 'kv', 'get', '-format=json', '-mount=secret', 'db')).stdout).data.data;
      assert.equal(db.password.length, 30);
      assert.equal((await api(d.address, 'GET', 'auth/token/lookup-self', { token: rootToken })).status, 200, 'root kept');

      // Second run: no values needed (everything exists), everything kept, versions unchanged.
      const before = await api(d.address, 'GET', 'secret/metadata/apps/agent', { token: rootToken });
      const second = await runCli(['init', ...args, '--yes', '--keep-root-token'], { env });
      assert.equal(second.code, 0, second.stderr);
      const r2 = second.json().configure;
      assert.deepEqual(r2.secrets.map((s: any) => [s.path, s.status, s.version]), [['apps/agent', 'kept', 1], ['db', 'kept', 1]]);
      assert.equal(r2.kv.status, 'kept');
      assert.equal(r2.policy.status, 'kept');
      assert.equal(r2.appToken.status, 'kept');
      assert.equal(r2.appToken.accessor, r1.appToken.accessor);
      assert.ok(second.json().steps.filter((s: any) => ['kv', 'policy', 'app-token'].includes(s.id) || s.id.startsWith('secret:')).every((s: any) => s.status === 'kept'));
      const after = await api(d.address, 'GET', 'secret/metadata/apps/agent', { token: rootToken });
      assert.deepEqual(after.body.data.versions, before.body.data.versions);
      assert.equal(after.body.data.updated_time, before.body.data.updated_time);

      // A human run says what it kept, never a value.
      const human = await runCli(['init', ...d.args(flavor, image), '--secrets', catalog, '--app', 'agent', '--yes', '--overwrite'], {
        env: { ...env, AGENT_KEY: `${agentKey}-v2`, AGENT_REGION: 'eu-north' },
      });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /Secrets \(.*catalog\.yaml\): updated: apps\/agent, db \[--overwrite\]/);
      assert.match(human.stdout, /App token: kept \(accessor /);
      assert.match(human.stdout, /The root token you supplied was revoked\.\n\s+To get a new one when needed: .*generate-root/);
      assert.doesNotMatch(human.stdout + human.stderr, new RegExp(`${agentKey}|${rootToken}|${appToken}`));
      const agent2 = JSON.parse((await bao(d, appToken, 'kv', 'get', '-format=json', '-mount=secret', 'apps/agent')).stdout).data;
      assert.equal(agent2.data.api_key, `${agentKey}-v2`);
      assert.equal(agent2.metadata.version, 2);
      assert.equal((await api(d.address, 'GET', 'auth/token/lookup-self', { token: rootToken })).status, 403, 'root revoked');

      // Without a privileged token there is nothing to configure with.
      const noToken = await runCli(['init', ...args, '--yes'], { env: { HOME: home } });
      assert.equal(noToken.code, 12, noToken.stderr);
      assert.match(noToken.stderr, /needs a privileged token[\s\S]*VAULT_TOKEN/);
      const revoked = await runCli(['init', ...args, '--yes'], { env });
      assert.equal(revoked.code, 12);
      assert.match(revoked.stderr, /refused the token/);
      assert.doesNotMatch(revoked.stderr + revoked.stdout, new RegExp(rootToken));

      assertNoLeaks(d, [agentKey, `${agentKey}-v2`, agentData.signing_key, db.password, appToken, rootToken, wrapping], since);
    });
  });
}
