// The server answers 5xx, slowly, not at all, or with something that is not its API: a fault-injecting proxy on the
// loopback sits between vault-setup and the real server. Commands that take --addr (status, unseal, verify) are run
// through it as the CLI; init computes its address from --port, so its phases and VaultApi are driven directly over
// the proxy. Reads are retried a bounded number of times with growing delays; a write is never repeated behind the
// operator's back; giving up names the request, the cause and the next step. One image: this is about the client.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { createContext } from '../../src/context.ts';
import { deploymentPaths } from '../../src/deployment.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { VaultApi } from '../../src/services/vault-api.ts';
import { configurePhase } from '../../src/tasks/configure.tasks.ts';
import { configureOptions } from '../../src/commands/init.ts';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { call, readyServer, waitActive } from '../helpers/day2.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { serverImages } from '../helpers/rig.ts';

const { label, flavor, image } = serverImages()[0] as ReturnType<typeof serverImages>[number];

/** A clock that sleeps for real and remembers each backoff delay it was asked for. */
function recordingClock(): { now(): number; sleep(ms: number): Promise<void>; sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleeps, now: () => Date.now(), sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, ms))) };
}

async function rejection(promise: Promise<unknown>): Promise<VaultSetupError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof VaultSetupError, `a VaultSetupError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe(`faults: 5xx, slow and wrong answers through a proxy (${label})`, () => {
  it('status, unseal, verify and the configure phase under injected faults', { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`fx-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image);
    await using proxy = await faultProxy(d.address);
    const seal = async () => assert.equal((await call(server, 'PUT', 'sys/seal', { token: server.rootToken })).status, 204);
    const shares = (n: number) => `${server.keys.slice(0, n).join('\n')}\n`;

    t.beforeEach(() => proxy.clear());

    await t.test('VaultApi: reads retry 5xx and dropped connections with doubling delays, then succeed', async () => {
      const clock = recordingClock();
      const api = new VaultApi({ address: proxy.address, clock });
      try {
        proxy.inject({ method: 'GET', path: /^sys\/mounts$/, status: 503, times: 2 });
        proxy.inject({ method: 'GET', path: /^sys\/mounts$/, drop: true, times: 1 });
        const before = proxy.count(/^sys\/mounts$/);
        const res = await api.request('GET', 'sys/mounts', { token: server.rootToken });
        assert.equal(res.status, 200);
        assert.ok('secret/' in (res.body.data ?? res.body));
        assert.equal(proxy.count(/^sys\/mounts$/) - before, 4, 'two 503s, one dropped connection, then the answer');
        // The dropped kept-alive connection is indistinguishable from a stale one: resent at once, no backoff.
        assert.deepEqual(clock.sleeps, [200, 400]);
      } finally {
        api.close();
        proxy.clear();
      }
    });

    await t.test('VaultApi: gives up after 5 attempts (200..1600 ms apart), naming the request, the answer and what to do', async () => {
      const clock = recordingClock();
      const api = new VaultApi({ address: proxy.address, clock });
      try {
        proxy.inject({ method: 'LIST', path: /^sys\/policies\/acl$/, status: 500, body: JSON.stringify({ errors: ['internal error'] }) });
        const before = proxy.count(/^sys\/policies\/acl$/);
        const error = await rejection(api.request('LIST', 'sys/policies/acl', { token: server.rootToken }));
        assert.equal(error.code, 'E_SERVER');
        assert.equal(error.exitCode, 16);
        assert.equal(error.message, 'the server answered 500 to LIST sys/policies/acl: internal error (gave up after 5 attempts)');
        assert.match(error.hint ?? '', /vault-setup status.*docker logs.*run the command again/);
        assert.equal(proxy.count(/^sys\/policies\/acl$/) - before, 5, 'bounded');
        assert.deepEqual(clock.sleeps, [200, 400, 800, 1600]);
      } finally {
        api.close();
        proxy.clear();
      }
    });

    await t.test('VaultApi: a server that never answers times out per attempt; the error says so', async () => {
      const api = new VaultApi({ address: proxy.address, attempts: 3, timeoutMs: 300, clock: recordingClock() });
      try {
        proxy.inject({ path: /^sys\/seal-status$/, hang: true });
        const before = proxy.count(/^sys\/seal-status$/);
        const error = await rejection(api.sealStatus());
        assert.equal(error.code, 'E_SERVER_UNREACHABLE');
        assert.match(error.message, new RegExp(`^the server at ${proxy.address} did not answer \\(ETIMEDOUT, 3 attempts\\)$`));
        assert.match(error.hint ?? '', /is the container running\? try `vault-setup status`/);
        assert.equal(proxy.count(/^sys\/seal-status$/) - before, 3);
      } finally {
        api.close();
        proxy.clear();
      }
    });

    await t.test('VaultApi: writes are sent once; a sealed 503 and a success that is not JSON are not retried', async () => {
      const api = new VaultApi({ address: proxy.address, clock: recordingClock() });
      try {
        proxy.inject({ method: 'PUT', path: /^sys\/policies\/acl\/faulty$/, status: 503, times: 1 });
        const write = await rejection(api.request('PUT', 'sys/policies/acl/faulty', { token: server.rootToken, body: { policy: 'path "x" { capabilities = ["read"] }' } }));
        assert.equal(write.code, 'E_SERVER');
        assert.equal(proxy.count(/^sys\/policies\/acl\/faulty$/, 'PUT'), 1, 'never repeated');
        assert.equal((await call(server, 'GET', 'sys/policies/acl/faulty', { token: server.rootToken })).status, 404, 'and not written');

        proxy.inject({ path: /^sys\/mounts$/, status: 503, body: JSON.stringify({ errors: ['Vault is sealed'] }) });
        const before = proxy.count(/^sys\/mounts$/);
        const sealed = await rejection(api.request('GET', 'sys/mounts', { token: server.rootToken }));
        assert.equal(sealed.code, 'E_SEALED');
        assert.equal(proxy.count(/^sys\/mounts$/) - before, 1, 'waiting does not unseal a server: one try');
        proxy.clear();

        proxy.inject({ path: /^sys\/health/, rewrite: () => '<html>Sign in to the network</html>' });
        const portal = await rejection(api.health());
        assert.equal(portal.code, 'E_SERVER');
        assert.match(portal.message, /^the answer to GET sys\/health.* is not JSON \(HTTP 200\): <html>Sign in/);
        assert.match(portal.hint ?? '', /really the Vault\/OpenBao API/);
        assert.equal(proxy.count(/^sys\/health/), 1);
      } finally {
        api.close();
        proxy.clear();
      }
    });

    await t.test('status --addr: one attempt, the 503 is reported (exit 0); slow answers are waited for', async () => {
      proxy.inject({ path: /^sys\/seal-status$/, status: 503, times: 1 });
      const failed = await runCli(['status', '--addr', proxy.address, '--dir', d.dir, '--json']);
      assert.equal(failed.code, 0, failed.stderr);
      assert.deepEqual(failed.json().server, { reachable: false, error: 'the server answered 503 to GET sys/seal-status: injected 503' });
      proxy.inject({ delayMs: 1500 });
      const slow = await runCli(['status', '--addr', proxy.address, '--dir', d.dir, '--json']);
      assert.equal(slow.code, 0, slow.stderr);
      assert.equal(slow.json().server.reachable, true);
      proxy.clear();
    });

    await t.test('unseal --addr: transient 503s, a dropped connection and a slow server are ridden out', async () => {
      await seal();
      proxy.inject({ method: 'GET', path: /^sys\/seal-status$/, status: 503, times: 2 });
      proxy.inject({ method: 'GET', path: /^sys\/seal-status$/, drop: true, times: 1 });
      proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, delayMs: 700 });
      const before = proxy.seen.length;
      const run = await runCli(['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: shares(3) });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().sealed, false);
      assert.equal(proxy.seen.slice(before).filter((s) => s.injected && /seal-status/.test(s.path)).length, 3);
      proxy.clear();
      await waitActive(server);
    });

    await t.test('unseal --addr, the server keeps answering 503: exit 16 after 5 tries, the request and the way on named', async () => {
      await seal();
      proxy.inject({ method: 'GET', path: /^sys\/seal-status$/, status: 503 });
      const before = proxy.count(/^sys\/seal-status$/);
      const run = await runCli(['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: shares(3) });
      assert.equal(run.code, 16, run.stderr);
      assert.equal(run.json().error.code, 'E_SERVER');
      assert.match(run.stderr, /vault-setup unseal: the server answered 503 to GET sys\/seal-status: injected 503 \(gave up after 5 attempts\)\n.*→ check `vault-setup status` and `docker logs <container>`, then run the command again/);
      assert.equal(proxy.count(/^sys\/seal-status$/) - before, 5);
      proxy.clear();
    });

    await t.test('unseal --addr, a share answered 503: sent once, exit 16 naming the round and how to check the progress', async () => {
      proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, status: 503, times: 1 });
      const before = proxy.count(/^sys\/unseal$/, 'PUT');
      const run = await runCli(['unseal', '--addr', proxy.address, '--stdin'], { input: shares(3) });
      assert.equal(run.code, 16, run.stderr);
      assert.match(run.stderr, /the unseal round stopped at share 1 of 3: the server answered 503 to PUT sys\/unseal: injected 503/);
      assert.match(run.stderr, new RegExp(`the last share may not have counted: \`vault-setup status\` shows the progress; .* then run \`vault-setup unseal --addr ${proxy.address}\` again`));
      assert.equal(proxy.count(/^sys\/unseal$/, 'PUT') - before, 1, 'a share is never sent twice');
      assert.ok(!server.keys.some((k) => run.stderr.includes(k) || run.stdout.includes(k)));
      const s = (await call(server, 'GET', 'sys/seal-status')).body;
      assert.deepEqual([s.sealed, s.progress], [true, 0]);
      proxy.clear();
      const again = await runCli(['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: shares(3) });
      assert.equal(again.code, 0, again.stderr);
      await waitActive(server);
    });

    await t.test('verify --addr against a server answering 503: failures reported as findings (exit 13), no crash', async () => {
      proxy.inject({ status: 503 });
      const run = await runCli(['verify', '--addr', proxy.address, '--dir', d.dir, '--json']);
      assert.equal(run.code, 13, run.stderr);
      const report = run.json();
      assert.equal(report.status, 'failed');
      assert.ok(report.checks.some((c: any) => c.status === 'fail' && /503/.test(`${c.finding ?? ''} ${c.message ?? ''} ${JSON.stringify(c)}`)), JSON.stringify(report.checks.filter((c: any) => c.status === 'fail')));
      assert.doesNotMatch(run.stderr, /internal error/);
      proxy.clear();
    });

    await t.test('configure phase over the proxy: reads ride out 503s; a write that fails stops with the step named; a re-run keeps everything', async () => {
      const catalog = path.join(os.tmpdir(), `vs-fx-catalog-${process.pid}.yaml`);
      fs.writeFileSync(catalog, 'secrets:\n  app/one:\n    key: { from: generate, format: hex, bytes: 16 }\n  app/two:\n    key: { from: generate, format: hex, bytes: 16 }\n');
      t.after(() => fs.rmSync(catalog, { force: true }));
      const tokenFile = path.join(d.dir, 'app-token');
      const sink = new PassThrough();
      sink.resume();
      const ctx = createContext({ json: true, yes: true, env: {}, streams: { stdout: sink, stderr: sink }, stdin: Object.assign(new PassThrough(), { isTTY: false }) });
      const api = new VaultApi({ address: proxy.address, clock: ctx.clock });
      const seal = (await call(server, 'GET', 'sys/seal-status')).body;
      const input = {
        api,
        server: { product: 'openbao' as const, version: seal.version, raw: `OpenBao v${seal.version}` },
        layout: LAYOUTS[flavor],
        paths: deploymentPaths(d.dir),
        name: d.name,
        options: configureOptions({ secrets: catalog, 'token-file': tokenFile, 'keep-root-token': true, 'show-token': true }),
        rootToken: server.rootToken,
      };
      try {
        proxy.inject({ method: 'GET', path: /^sys\/(mounts|audit)$/, status: 503, times: 2 });
        proxy.inject({ method: 'PUT', path: /^sys\/policies\/acl\/openclaw$/, status: 503, times: 1 });
        const error = await rejection(configurePhase(ctx, input));
        assert.equal(error.code, 'E_SERVER');
        assert.equal(error.message, 'the server answered 503 to PUT sys/policies/acl/openclaw: injected 503');
        assert.match(error.hint ?? '', /run the command again \(init resumes where it stopped\)/);
        const version = async (p: string) => (await call(server, 'GET', `secret/metadata/${p}`, { token: server.rootToken })).body?.data?.current_version;
        assert.deepEqual([await version('app/one'), await version('app/two')], [1, 1], 'the secrets before the failed step are written');
        assert.ok(!fs.existsSync(tokenFile), 'no app token was minted');

        const again = await configurePhase(ctx, input);
        assert.deepEqual(again.data.secrets, [
          { path: 'app/one', status: 'kept', fields: ['key'], version: 1 },
          { path: 'app/two', status: 'kept', fields: ['key'], version: 1 },
        ]);
        assert.equal((again.data.policy as any).status, 'created');
        assert.equal((again.data.appToken as any).status, 'created');
        assert.deepEqual([await version('app/one'), await version('app/two')], [1, 1], 'nothing written twice');
        const third = await configurePhase(ctx, input);
        assert.equal((third.data.appToken as any).status, 'kept', 'one app token, found again');
        assert.equal((third.data.appToken as any).accessor, (again.data.appToken as any).accessor);
      } finally {
        api.close();
        proxy.clear();
      }
    });
  });
});
