// `vault-setup watch` against the real servers, with a loopback receiver standing in for the webhook, ntfy,
// Telegram and the heartbeat: exactly one message when a restart seals the server, one when it is unsealed
// again, a deliberate seal (`seal --reason`) reported as such, and no share or token in any message, output or
// file. watch never holds a key: the shares stay in this test's memory and are sent over the API by the test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { call, readyServer, unseal, waitSealed } from '../helpers/day2.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { findLeaks, needles } from '../helpers/leaks.ts';
import { serverImages } from '../helpers/rig.ts';
import { LAYOUTS } from '../../src/config/flavor.ts';

interface Received {
  path: string;
  body: string;
}

/** A loopback HTTP server that records every request it gets. */
async function receiver(): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, got, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const secretsIn = (text: string, secrets: string[]): number[] => {
  const haystack = Buffer.from(text);
  return [...new Set(needles(secrets).filter((n) => haystack.indexOf(n.bytes) >= 0).map((n) => n.secret))];
};

for (const { label, flavor, image } of serverImages()) {
  test(`watch: notifications on a change of state (${label})`, { timeout: 8 * 60_000 }, async (t) => {
    await using d = await testDeployment(`wt-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image);
    // As init leaves it: a file audit device (verify's token-less audit-log check fails without one). Servers that
    // take audit devices only from their config already have it there.
    const audit = await call(server, 'GET', 'sys/audit', { token: server.rootToken });
    if (Object.keys(audit.body.data ?? {}).length === 0) {
      const made = await call(server, 'PUT', 'sys/audit/file', { token: server.rootToken, body: { type: 'file', options: { file_path: `${LAYOUTS[flavor].home}/logs/audit.log` } } });
      assert.equal(made.status, 204, JSON.stringify(made.body));
    }
    const rx = await receiver();
    const op = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-wt-op-'));
    t.after(async () => {
      await rx.close();
      fs.rmSync(op, { recursive: true, force: true });
    });
    const botToken = '4242424242:AAE-test-bot-token-not-real-xyz';
    const tokenFile = path.join(op, 'telegram-token');
    fs.writeFileSync(tokenFile, `${botToken}\n`, { mode: 0o600 });
    const secrets = [...server.keys, server.rootToken];
    const outputs: string[] = [];
    const watch = async (expectCode: number) => {
      const run = await runCli(['watch', '--once', '--dir', d.dir, '--json', '--notify', `${rx.url}/hook`, '--ntfy', 'vault-alerts', '--ntfy-server', `${rx.url}/ntfy`, '--telegram=-1001234', '--telegram-token-file', tokenFile, '--telegram-api', `${rx.url}/tg`, '--heartbeat', `${rx.url}/beat`]);
      outputs.push(run.stdout, run.stderr);
      assert.equal(run.code, expectCode, `${run.stdout}\n${run.stderr}`);
      return run.json();
    };
    const hooks = () => rx.got.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body));
    const count = (p: string) => rx.got.filter((r) => r.path === p || r.path.startsWith(p)).length;

    await t.test('healthy: the first run notifies nothing, pings the heartbeat, keeps its state in the deployment', async () => {
      const first = await watch(0);
      assert.equal(first.state, 'healthy', JSON.stringify(first.problems));
      assert.equal(first.role, 'active');
      assert.equal(first.notified, null);
      assert.equal(first.heartbeat.ok, true);
      await watch(0);
      assert.equal(hooks().length, 0);
      assert.equal(count('/beat'), 2);
      const file = path.join(d.dir, '.vault-setup-watch.json');
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).watch.state, 'healthy');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    await t.test('a restart seals the server: exactly one message on each channel, no heartbeat, exit 13', async () => {
      docker('restart', d.name);
      await waitSealed(server);
      const sealed = await watch(13);
      assert.equal(sealed.state, 'sealed');
      assert.equal(sealed.notified, 'change');
      assert.equal(sealed.fix, `vault-setup unseal --dir ${d.dir}`);
      assert.equal(sealed.heartbeat, null);
      await watch(13);
      await watch(13);
      assert.equal(hooks().length, 1, 'one message for one change');
      const m = hooks()[0];
      assert.equal(m.state, 'sealed');
      assert.equal(m.previous, 'healthy');
      assert.equal(m.host, os.hostname());
      assert.match(m.since, /^\d{4}-\d\d-\d\dT/);
      assert.equal(m.fix, `vault-setup unseal --dir ${d.dir}`);
      assert.equal(count('/ntfy/vault-alerts'), 1);
      const ntfy = rx.got.find((r) => r.path === '/ntfy/vault-alerts');
      assert.match(ntfy?.body ?? '', new RegExp(`^${os.hostname()}: sealed since \\S+\\n.* is sealed: every agent is failing closed\\nFix: vault-setup unseal --dir ${d.dir}$`));
      const tg = rx.got.filter((r) => r.path === `/tg/bot${botToken}/sendMessage`);
      assert.equal(tg.length, 1);
      assert.equal(JSON.parse(tg[0]?.body ?? '{}').chat_id, '-1001234');
      assert.equal(count('/beat'), 2, 'no heartbeat while sealed: the dead-man\'s switch fires too');
    });

    await t.test('unsealed again (by the share holders, not by watch): exactly one message', async () => {
      await unseal(server, server.keys.slice(0, 3));
      const back = await watch(0);
      assert.equal(back.state, 'healthy');
      assert.equal(back.notified, 'change');
      await watch(0);
      assert.equal(hooks().length, 2);
      assert.equal(hooks()[1].state, 'healthy');
      assert.equal(hooks()[1].previous, 'sealed');
    });

    await t.test('seal --reason: reported as deliberate, not as an incident; the record ends with the unseal', async () => {
      const noReason = await runCli(['seal', '--dir', d.dir], { env: { VAULT_TOKEN: server.rootToken } });
      assert.equal(noReason.code, 2, noReason.stderr);
      assert.match(noReason.stderr, /seal needs --reason TEXT/);
      assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false, 'nothing sealed without a reason');
      const sealed = await runCli(['seal', '--dir', d.dir, '--reason', 'incident 19: rotating the app token', '--json'], { env: { VAULT_TOKEN: server.rootToken } });
      outputs.push(sealed.stdout, sealed.stderr);
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, true);
      const seen = await watch(0);
      assert.equal(seen.state, 'sealed-deliberately');
      assert.equal(seen.level, 'warn');
      assert.match(seen.summary, /sealed on purpose at .* \(reason: incident 19: rotating the app token\)/);
      assert.equal(hooks().length, 3);
      assert.equal(hooks()[2].state, 'sealed-deliberately');
      assert.equal(hooks()[2].level, 'warn');
      const strict = await runCli(['watch', '--once', '--dir', d.dir, '--strict', '--json']);
      assert.equal(strict.code, 14, strict.stderr);
      await unseal(server, server.keys.slice(1, 4));
      assert.equal((await watch(0)).state, 'healthy');
      assert.equal(hooks().length, 4);
      assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, '.vault-setup-watch.json'), 'utf8')).seal, undefined, 'the deliberate seal is over');
    });

    await t.test('a restart after a deliberate seal is an incident again', async () => {
      const sealed = await runCli(['seal', '--dir', d.dir, '--reason', 'maintenance'], { env: { VAULT_TOKEN: server.rootToken } });
      assert.equal(sealed.code, 0, sealed.stderr);
      await new Promise((r) => setTimeout(r, 1100)); // Docker's StartedAt must be later than the recorded seal
      docker('restart', d.name);
      await waitSealed(server);
      assert.equal((await watch(13)).state, 'sealed');
      await unseal(server, server.keys.slice(0, 3));
      await watch(0);
    });

    await t.test('a token that may not seal: exit 12, the server unsealed, no deliberate seal recorded', async () => {
      const res = await call(server, 'POST', 'auth/token/create', { token: server.rootToken, body: { policies: ['default'], ttl: '10m' } });
      const weak = res.body.auth.client_token as string;
      secrets.push(weak);
      const denied = await runCli(['seal', '--dir', d.dir, '--reason', 'nope'], { env: { VAULT_TOKEN: weak } });
      outputs.push(denied.stdout, denied.stderr);
      assert.equal(denied.code, 12, denied.stderr);
      assert.match(denied.stderr, /lacks "update" \+ "sudo" on sys\/seal/);
      assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, false);
      assert.equal(JSON.parse(fs.readFileSync(path.join(d.dir, '.vault-setup-watch.json'), 'utf8')).seal, undefined);
    });

    await t.test('a stopped container is named as stopped, with the command that starts it', async () => {
      docker('stop', d.name);
      // A run with no channel sends nothing and remembers nothing as sent: the next run with channels still tells.
      const hooksBefore = hooks().length;
      const bare = await runCli(['watch', '--once', '--dir', d.dir, '--json']);
      outputs.push(bare.stdout, bare.stderr);
      assert.equal(bare.code, 13, bare.stderr);
      assert.equal(bare.json().notified, null);
      const stopped = await watch(13);
      assert.equal(stopped.notified, 'change');
      assert.equal(hooks().length, hooksBefore + 1);
      assert.equal(stopped.state, 'unreachable');
      assert.equal(stopped.problems[0].id, 'container-stopped');
      assert.match(stopped.summary, new RegExp(`^the container ${d.name} is exited \\(exit code \\d+\\): nothing answers at `));
      assert.equal(stopped.fix, `vault-setup unseal --dir ${d.dir}`);
      assert.equal(hooks().at(-1).state, 'unreachable');
    });

    await t.test('no share, root token or bot token in a message, an output or a file', async () => {
      const messages = rx.got.map((r) => r.body).join('\n');
      assert.deepEqual(secretsIn(messages, [...secrets, botToken]), []);
      assert.deepEqual(secretsIn(outputs.join('\n'), [...secrets, botToken]), []);
      assert.deepEqual(await findLeaks({ secrets: [...secrets, botToken], dirs: [d.dir], exclude: [] }), []);
    });
  });
}
