// `init` interrupted at each stage (SIGINT, SIGTERM, SIGKILL) and run again: it resumes where it stopped, never
// initialises the server twice, never writes a secret twice or over itself (KV versions stay 1), mints one app token,
// and never loses what was shown once (--print-keys prints the shares before anything else can stop it; the
// interactive ceremony's guard is proven in test/e2e/ceremony.test.ts, --json's hand-over in faults-server).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { call } from '../helpers/day2.ts';
import { eventually } from '../helpers/eventually.ts';
import { dialedThrough, liveCli } from '../helpers/live-cli.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { serverImages } from '../helpers/rig.ts';

const SECRETS = ['one', 'two', 'three'];

for (const { label, flavor, image } of serverImages()) {
  describe(`faults: init interrupted and run again (${label})`, () => {
    it('at deploy, after init, during configure: each re-run resumes, nothing doubles, nothing shown once is lost', { timeout: 15 * 60_000 }, async (t) => {
      await using d = await testDeployment(`fi-${label.slice(0, 6)}`);
      const server = { address: d.address };
      const catalog = path.join(d.dir, '..', `${path.basename(d.dir)}-catalog.yaml`);
      fs.writeFileSync(catalog, `secrets:\n${SECRETS.map((s) => `  app/${s}:\n    key: { from: generate, format: hex, bytes: 24 }\n`).join('')}`);
      t.after(() => fs.rmSync(catalog, { force: true }));
      const tokenFile = path.join(d.dir, 'app-token');
      const args = ['init', ...d.args(flavor, image), '--yes', '--print-keys', '--secrets', catalog, '--app-token-file', tokenFile];
      const seal = async () => (await call(server, 'GET', 'sys/seal-status')).body;

      await t.test('SIGINT right after the files are written: exit 130, says how to resume; the files are complete', async () => {
        const cli = liveCli(args);
        await cli.waitFor(/✔ Write docker-compose\.yml/, { stream: 'stderr', freeze: true });
        cli.signal('SIGINT');
        cli.signal('SIGCONT');
        assert.equal(await cli.exited, 130, cli.stderr());
        assert.match(cli.stderr(), /✖ vault-setup init: interrupted \(SIGINT\); run the same command to resume/);
        assert.match(fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8'), /^services:/m);
        assert.match(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'), /listener "tcp"/);
      });

      /** init through the fault proxy, which holds the first request matching `held`: the run waits there. */
      const heldAt = async (held: { method?: string; path: RegExp }, env: NodeJS.ProcessEnv = {}) => {
        const proxy = await faultProxy(d.address);
        proxy.inject({ ...held, hang: true });
        const cli = liveCli(args, { env, entry: dialedThrough(proxy.address) });
        await eventually(`init waits at ${held.path}`, async () => (proxy.count(held.path, held.method) > 0 ? true : undefined), { timeoutMs: 180_000 });
        return { cli, proxy };
      };

      await t.test('SIGKILL while waiting for the API: nothing initialised yet', async () => {
        const { cli, proxy } = await heldAt({ method: 'GET', path: /^sys\/health/ });
        await using _ = proxy;
        cli.signal('SIGKILL');
        assert.equal(await cli.exited, 137);
        assert.equal(cli.stdout(), '', 'no shares: init did not run');
      });

      let printed: { unseal_keys_b64: string[]; root_token: string } | undefined;
      await t.test('SIGKILL right after init: the shares were printed first, before anything could stop it', async () => {
        // Held at the first share init enters from memory: initialised, shares printed, still sealed.
        const { cli, proxy } = await heldAt({ method: 'PUT', path: /^sys\/unseal$/ });
        await using _ = proxy;
        assert.match(cli.stderr(), /Initialised: 5 shares/);
        cli.signal('SIGKILL');
        assert.equal(await cli.exited, 137);
        const stdout = cli.stdout();
        printed = JSON.parse(stdout.slice(0, stdout.indexOf('\n}\n') + 2));
        assert.equal(printed?.unseal_keys_b64.length, 5);
        const s = await seal();
        assert.equal(s.initialized, true);
      });

      await t.test('the same init again: it finds the server initialised, prints no new shares, and says how to go on', async () => {
        const run = await runCli([...args, '--json']);
        assert.equal(run.code, 0, run.stderr);
        const result = run.json();
        assert.ok(!('init' in result), 'no second init');
        assert.deepEqual(result.steps.filter((s: any) => s.id === 'init').map((s: any) => s.status), ['kept']);
        // The kill landed before the first share from memory: the server is initialised and sealed.
        assert.equal(result.sealed, true);
        assert.match(result.resume, /vault-setup unseal --dir .*then run `vault-setup init .*` again: it reads the root token/);
        const keys = printed as NonNullable<typeof printed>;
        const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys.unseal_keys_b64.slice(2).join('\n')}\n` });
        assert.equal(unseal.code, 0, unseal.stderr);
        assert.equal(unseal.json().sealed, false);
        const s = await seal();
        assert.deepEqual([s.sealed, s.n, s.t], [false, 5, 3]);
      });

      const root = () => (printed as NonNullable<typeof printed>).root_token;
      const accessorsFor = async () => {
        const list = await call(server, 'LIST', 'auth/token/accessors', { token: root() });
        const ours: string[] = [];
        for (const accessor of list.body.data.keys as string[]) {
          const res = await call(server, 'POST', 'auth/token/lookup-accessor', { token: root(), body: { accessor } });
          if (res.body?.data?.meta?.['vault-setup-app'] === 'openclaw') ours.push(accessor);
        }
        return ours;
      };
      const versions = async () => {
        const out: Record<string, [number, string]> = {};
        for (const s of SECRETS) {
          const res = await call(server, 'GET', `secret/data/app/${s}`, { token: root() });
          out[s] = res.status === 200 ? [res.body.data.metadata.version, res.body.data.data.key] : [0, ''];
        }
        return out;
      };

      await t.test('SIGKILL during configure, after the first secret: the re-run keeps it and writes the rest', async () => {
        // Held at the write of the second secret: the first one is written, nothing after it.
        const { cli, proxy } = await heldAt({ path: /^secret\/data\/app\/two$/ }, { VAULT_TOKEN: root() });
        await using _ = proxy;
        assert.match(cli.stderr(), /✔ secret\/app\/one: created/);
        cli.signal('SIGKILL');
        assert.equal(await cli.exited, 137);
        const before = await versions();
        assert.equal(before.one?.[0], 1);
        assert.deepEqual(await accessorsFor(), [], 'no app token yet');
      });

      let firstValues: Record<string, [number, string]> = {};
      await t.test('SIGTERM once the app token is written: exit 130; the token is in its file, only one exists', async () => {
        const before = await versions();
        // Deterministic: every connection of this run goes through the fault proxy, which holds the first request
        // after the app token was written and shown (retiring the root token: auth/token/revoke-self).
        // SIGTERM lands while the run waits there, whatever the machine's load; the root token is not revoked yet.
        await using proxy = await faultProxy(d.address);
        proxy.inject({ method: 'POST', path: /^auth\/token\/revoke-self$/, hang: true });
        const cli = liveCli(args, { env: { VAULT_TOKEN: root() }, entry: dialedThrough(proxy.address) });
        await eventually('init waits at the root token step', async () => (proxy.count(/^auth\/token\/revoke-self$/, 'POST') > 0 ? true : undefined), { timeoutMs: 180_000 });
        cli.signal('SIGTERM');
        const code = await cli.exited;
        assert.equal(code, 130, cli.stderr());
        assert.match(cli.stderr(), /✔ App token for "openclaw" created/);
        assert.match(cli.stderr(), /interrupted \(SIGTERM\); run the same command to resume/);
        assert.match(cli.stderr(), /✔ secret\/app\/one: kept \(exists, version 1\)/);
        firstValues = await versions();
        for (const s of SECRETS) assert.equal(firstValues[s]?.[0], 1, `secret/app/${s} written once`);
        assert.deepEqual(firstValues.one, before.one, 'the secret written before the kill is unchanged');
        assert.equal((await accessorsFor()).length, 1);
        assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
        const self = await call(server, 'GET', 'auth/token/lookup-self', { token: fs.readFileSync(tokenFile, 'utf8').trim() });
        assert.deepEqual(self.body.data.policies, ['openclaw']);
      });

      await t.test('the last re-run: everything kept (same versions, values, app token), the root token retired', async () => {
        const accessors = await accessorsFor();
        const run = await runCli([...args, '--json'], { env: { VAULT_TOKEN: root() } });
        assert.equal(run.code, 0, run.stderr);
        const result = run.json();
        assert.ok(!('init' in result));
        assert.deepEqual(result.configure.secrets.map((s: any) => `${s.path}:${s.status}:${s.version}`), SECRETS.map((s) => `app/${s}:kept:1`));
        assert.equal(result.configure.appToken.status, 'kept');
        assert.deepEqual([result.configure.appToken.accessor], accessors);
        assert.equal(result.configure.rootToken.status, 'revoked');
        const app = fs.readFileSync(tokenFile, 'utf8').trim();
        for (const s of SECRETS) {
          const res = await call(server, 'GET', `secret/data/app/${s}`, { token: app });
          assert.deepEqual([res.body.data.metadata.version, res.body.data.data.key], firstValues[s]);
        }
        assert.equal((await call(server, 'GET', 'auth/token/lookup-self', { token: root() })).status, 403, 'root token revoked');
      });
    });
  });
}
