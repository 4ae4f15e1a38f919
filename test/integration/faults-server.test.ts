// The server goes away at the worst moments, on both rig images: right after init returned the shares (--print-keys
// and PGP), and between two shares of an unseal round. Each time: a message that names the step, the cause and the
// next action; the documented exit code; and a re-run that resumes without ever initialising the server again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configureArgs } from '../helpers/ceremony.ts';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { gpgHome } from '../helpers/gpg.ts';
import { dialedThrough, liveCli } from '../helpers/live-cli.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { serverImages } from '../helpers/rig.ts';
import { call } from '../helpers/day2.ts';
import { eventually } from '../helpers/eventually.ts';
import { api, deploy } from '../helpers/server.ts';

const sealStatus = async (address: string) => (await api(address, 'GET', 'sys/seal-status')).body;

/** Until the API answers again after a restart (any seal state). */
const waitAnswers = (address: string): Promise<any> => eventually(`${address} answers again`, () => sealStatus(address));

/** The --print-keys JSON at the start of stdout (without --json it comes first, before anything else). */
function printedInit(stdout: string): { unseal_keys_b64: string[]; unseal_keys_hex: string[]; root_token: string } {
  const end = stdout.indexOf('\n}\n');
  assert.ok(stdout.startsWith('{') && end > 0, `stdout starts with the init JSON:\n${stdout}`);
  return JSON.parse(stdout.slice(0, end + 2));
}

for (const { label, flavor, image } of serverImages()) {
  describe(`faults: the server goes away (${label})`, () => {
    it('restarted right after init (--print-keys): the ceremony carries on with the shares in memory, nothing is initialised twice', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`fr-${label.slice(0, 6)}`);
      await deploy(d, flavor, image);
      // Deterministic: init talks through the fault proxy, which restarts the container once the server has
      // answered the last of the shares init enters from memory, before init reads that answer.
      await using proxy = await faultProxy(d.address);
      proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, times: 1, rewrite: (body) => body });
      proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, times: 1, rewrite: (body) => (docker('restart', d.name), body) });
      const cli = liveCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--shares', '3', '--threshold', '2', ...configureArgs(d.dir)], { entry: dialedThrough(proxy.address) });
      const code = await cli.exited;
      assert.equal(code, 0, cli.stderr());
      assert.match(cli.stderr(), /The server is sealed again \(progress 0\/2\): it restarted after the shares were entered\. Entering the 2 shares held in memory once more\./);
      assert.equal(proxy.count(/^sys\/init$/, 'PUT'), 1, 'initialised once');
      assert.equal(proxy.count(/^sys\/unseal$/, 'PUT'), 4, 'two shares, then the same two once more');
      const printed = printedInit(cli.stdout());
      const after = await sealStatus(d.address);
      assert.deepEqual([after.sealed, after.n, after.t], [false, 3, 2], 'unsealed with the shares of the one init');
      assert.equal(cli.stdout(), `${JSON.stringify(printed, null, 2)}\n`, 'stdout holds the init JSON alone');
      assert.match(cli.stderr(), /Deployed/);
      // The printed shares are the server's: after one more restart two of them unseal it.
      docker('restart', d.name);
      await waitAnswers(d.address);
      const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${printed.unseal_keys_b64[2]}\n${printed.unseal_keys_hex[0]}\n` });
      assert.equal(unseal.code, 0, unseal.stderr);
      assert.equal(unseal.json().sealed, false);
    });

    it('stopped after init, killed between two shares: each failure names its step and the way on; re-runs resume', { timeout: 10 * 60_000 }, async (t) => {
      await using d = await testDeployment(`fs-${label.slice(0, 6)}`);
      await deploy(d, flavor, image);
      const first = await sealStatus(d.address);
      let printed: ReturnType<typeof printedInit> | undefined;
      let cluster = '';

      await t.test('the container stops after init returned (--print-keys): exit 8, the shares were printed, how to resume', async () => {
        // Deterministic: the fault proxy stops the container once the server has answered sys/init, before init
        // reads the answer (the shares), so init holds the shares of a server that is gone.
        await using proxy = await faultProxy(d.address);
        // From then on the server is gone: every later connection is cut, as a stopped container's port would.
        proxy.inject({ method: 'PUT', path: /^sys\/init$/, times: 1, rewrite: (body) => (docker('stop', d.name), proxy.inject({ drop: true }), body) });
        const cli = liveCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', ...configureArgs(d.dir)], { entry: dialedThrough(proxy.address) });
        const code = await cli.exited;
        assert.equal(code, 8, cli.stderr());
        printed = printedInit(cli.stdout());
        const stderr = cli.stderr();
        assert.match(stderr, /the key ceremony stopped after init \(the server is initialised; its shares are printed on stdout\)/, 'names the step');
        assert.match(stderr, /did not answer \((ECONNREFUSED|ECONNRESET)/, 'names the cause');
        assert.match(stderr, /unseal with those shares \(vault-setup unseal\) and re-run init with the root token in VAULT_TOKEN: it resumes and never initialises again/, 'says what to do');
        assert.doesNotMatch(stderr, /internal error/);
        for (const secret of [...printed.unseal_keys_b64, printed.root_token]) assert.ok(!stderr.includes(secret), 'no secret on stderr');
        assert.equal(first.initialized, false);
      });

      await t.test('unseal starts the container and takes the printed shares; init resumes with the root token, nothing initialised twice', async () => {
        const keys = printed as NonNullable<typeof printed>;
        const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin'], { input: `${keys.unseal_keys_b64.slice(1, 4).join('\n')}\n` });
        assert.equal(unseal.code, 0, unseal.stderr);
        assert.match(unseal.stderr, /Started the container .*any unseal progress from before it stopped is gone/);
        assert.match(unseal.stderr, /is sealed: 0\/3/);
        const container = docker('inspect', '-f', '{{.Id}}', d.name).trim();
        // Resumed from the deployment record alone: no --flavor, --image, --name or --port.
        const resumed = await runCli(['init', '--dir', d.dir, '--yes', ...configureArgs(d.dir), '--json'], { env: { VAULT_TOKEN: keys.root_token } });
        assert.equal(resumed.code, 0, resumed.stderr);
        const result = resumed.json();
        assert.equal(result.image, image);
        assert.equal(result.steps.find((s: any) => s.id === 'image')?.detail, 'present', 'no pull');
        assert.equal(docker('inspect', '-f', '{{.Id}}', d.name).trim(), container, 'same container');
        assert.deepEqual(result.steps.filter((s: any) => ['init', 'unseal'].includes(s.id)).map((s: any) => `${s.id}:${s.status}`), ['init:kept', 'unseal:kept']);
        assert.ok(!('init' in result), 'no new shares');
        assert.equal(result.configure.rootToken.status, 'revoked');
        cluster = (await sealStatus(d.address)).cluster_id;
      });

      await t.test('docker kill between two shares of `unseal`: exit 8 naming the round, the lost progress and the re-run', async () => {
        const keys = printed as NonNullable<typeof printed>;
        docker('restart', d.name);
        await waitAnswers(d.address);
        const cli = liveCli(['unseal', '--dir', d.dir, '--stdin']);
        cli.write(`${keys.unseal_keys_hex[0]}\n`);
        await cli.waitFor(/Share accepted: 1\/3/, { stream: 'stderr' });
        docker('kill', d.name);
        cli.write(`${keys.unseal_keys_hex[1]}\n`);
        cli.end();
        const code = await cli.exited;
        assert.equal(code, 8, cli.stderr());
        const stderr = cli.stderr();
        assert.match(stderr, /the unseal round stopped at share 2 of 3: the server at .* did not answer \((ECONNREFUSED|ECONNRESET)/);
        assert.match(stderr, /comes back sealed with its progress at 0\/3: run `vault-setup unseal --dir .*` again \(it starts the container if it is stopped\) and enter 3 shares/);
        assert.ok(!keys.unseal_keys_hex.some((k) => stderr.includes(k)));
      });

      await t.test('the re-run starts the container, says the progress restarted, and unseals with three shares', async () => {
        const keys = printed as NonNullable<typeof printed>;
        const run = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys.unseal_keys_hex.slice(2, 5).join('\n')}\n` });
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual([run.json().started, run.json().sealed, run.json().sharesEntered], [true, false, 3]);
        const s = await sealStatus(d.address);
        assert.deepEqual([s.sealed, s.cluster_id], [false, cluster], 'the same server, never initialised again');
      });
    });

    it('PGP: the server restarts between init and the holders; the progress restarts, holders unseal, init resumes', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`fp-${label.slice(0, 6)}`);
      using gpg = gpgHome();
      const holders = [gpg.holder('h1'), gpg.holder('h2'), gpg.holder('h3')];
      const ops = gpg.holder('ops');
      const keysOut = path.join(d.dir, 'keys');
      const args = ['init', ...d.args(flavor, image), '--yes', '--pgp-keys', holders.map((h) => h.armoredFile).join(','), '--threshold', '2', '--root-token-pgp-key', ops.armoredFile, '--keys-out', keysOut, ...configureArgs(d.dir)];
      const init = await runCli(args);
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, /Next: the server is sealed \(0\/2\)/);
      const share = (i: number) => gpg.decrypt(path.join(keysOut, `share-${i}.asc`)).trim();

      const one = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${share(1)}\n` });
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.json().progress, 1);
      docker('restart', d.name);
      await waitAnswers(d.address);
      const two = await runCli(['unseal', '--dir', d.dir, '--stdin'], { input: `${share(2)}\n` });
      assert.equal(two.code, 0, two.stderr);
      assert.match(two.stderr, /is sealed: 0\/2/, 'the restart discarded holder 1\'s share');
      assert.match(two.stdout, /Still sealed: 1\/2/);
      const three = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${share(1)}\n` });
      assert.equal(three.code, 0, three.stderr);
      assert.equal(three.json().sealed, false);

      const rootToken = gpg.decrypt(path.join(keysOut, 'root-token.asc')).trim();
      const resumed = await runCli([...args, '--json'], { env: { VAULT_TOKEN: rootToken } });
      assert.equal(resumed.code, 0, resumed.stderr);
      const result = resumed.json();
      assert.deepEqual(result.steps.filter((s: any) => ['init', 'unseal'].includes(s.id)).map((s: any) => `${s.id}:${s.status}`), ['init:kept', 'unseal:kept']);
      assert.ok(!('init' in result));
      // Never initialised again: after a restart the first init's shares still unseal it.
      docker('restart', d.name);
      await waitAnswers(d.address);
      const again = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${share(3)}\n${share(2)}\n` });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().sealed, false);
      assert.deepEqual(fs.readdirSync(keysOut).sort(), ['root-token.asc', 'share-1.asc', 'share-2.asc', 'share-3.asc'], 'the encrypted shares are untouched');
    });

    it('--json: when init fails after init (server stopped while waiting; configure refused), the init member is in the one object', { timeout: 10 * 60_000 }, async (t) => {
      using gpg = gpgHome();
      const holders = [gpg.holder('j1'), gpg.holder('j2')];
      const decrypt = (b64: string) => gpg.decrypt(Buffer.from(b64, 'base64')).trim();
      // PGP with --print-keys: init waits for the holders with the root token in memory; nothing is shown before the end.
      const start = (d: Awaited<ReturnType<typeof testDeployment>>, extra: string[]) => {
        const keysOut = path.join(d.dir, 'keys');
        const cli = liveCli(['init', ...d.args(flavor, image), '--yes', '--json', '--pgp-keys', holders.map((h) => h.armoredFile).join(','), '--print-keys', '--keys-out', keysOut, '--wait-unseal', '10m', ...extra]);
        return { cli, keysOut };
      };
      const waitForShares = async (keysOut: string) => {
        for (let i = 0; i < 600 && !fs.existsSync(path.join(keysOut, 'share-2.asc')); i++) await new Promise((r) => setTimeout(r, 100));
      };

      await t.test('the container stops while init waits for the holders: exit 8, the error says where the shares are', async () => {
        await using d = await testDeployment(`fj-${label.slice(0, 6)}`);
        await deploy(d, flavor, image);
        const { cli, keysOut } = start(d, configureArgs(d.dir));
        await waitForShares(keysOut);
        docker('stop', d.name);
        assert.equal(await cli.exited, 8, cli.stderr());
        const out = JSON.parse(cli.stdout());
        assert.equal(out.error.code, 'E_SERVER_UNREACHABLE');
        assert.match(out.error.message, /^the key ceremony stopped after init \(the server is initialised; its shares are encrypted in .*keys\): the server at .* did not answer/);
        assert.match(out.error.hint, /re-run init with the root token in VAULT_TOKEN: it resumes and never initialises again$/);
        assert.equal(out.init.unseal_keys_b64.length, 2);
        // They are the server's: started again, the two holders unseal it, and init resumes with the handed-over root token.
        docker('start', d.name);
        await waitAnswers(d.address);
        const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${out.init.unseal_keys_b64.map(decrypt).join('\n')}\n` });
        assert.equal(unseal.code, 0, unseal.stderr);
        const resumed = await runCli(['init', ...d.args(flavor, image), '--yes', ...configureArgs(d.dir), '--json'], { env: { VAULT_TOKEN: out.init.root_token } });
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.equal(resumed.json().configure.rootToken.status, 'revoked');
      });

      await t.test('configure fails after the holders unsealed (the token file appeared meanwhile): exit 6 with the init member', async () => {
        await using d = await testDeployment(`fc-${label.slice(0, 6)}`);
        await deploy(d, flavor, image);
        const tokenFile = path.join(d.dir, 'app-token');
        const { cli, keysOut } = start(d, configureArgs(d.dir));
        await waitForShares(keysOut);
        fs.writeFileSync(tokenFile, 'someone else\'s\n'); // after init's pre-checks, before configure writes it
        const shares = [1, 2].map((i) => gpg.decrypt(path.join(keysOut, `share-${i}.asc`)).trim());
        const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${shares.join('\n')}\n` });
        assert.equal(unseal.code, 0, unseal.stderr);
        assert.equal(await cli.exited, 6, cli.stderr());
        const out = JSON.parse(cli.stdout());
        assert.equal(out.error.code, 'E_FILE_CONFLICT');
        assert.equal(out.init.unseal_keys_b64.length, 2);
        assert.ok(out.init.root_token.length > 10, 'the root token (asked in clear with --print-keys) is handed over');
        assert.equal(fs.readFileSync(tokenFile, 'utf8'), 'someone else\'s\n', 'the file is not replaced');
        const check = await call({ address: d.address }, 'GET', 'auth/token/lookup-self', { token: out.init.root_token });
        assert.equal(check.status, 200, 'the handed-over root token is live: configure can be resumed with it');
      });
    });

    it('--json PGP --wait-unseal: SIGTERM while init waits for the holders prints the init member, exit 130', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`fw-${label.slice(0, 6)}`);
      using gpg = gpgHome();
      const holders = [gpg.holder('w1'), gpg.holder('w2')];
      await deploy(d, flavor, image);
      const keysOut = path.join(d.dir, 'keys');
      const cli = liveCli(['init', ...d.args(flavor, image), '--yes', '--json', '--pgp-keys', holders.map((h) => h.armoredFile).join(','), '--print-keys', '--keys-out', keysOut, '--wait-unseal', '10m', ...configureArgs(d.dir)]);
      // Waiting for the holders: the encrypted shares are written, the server initialised.
      for (let i = 0; i < 600 && !fs.existsSync(path.join(keysOut, 'share-2.asc')); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await sealStatus(d.address)).initialized, true);
      cli.signal('SIGTERM');
      const code = await cli.exited;
      assert.equal(code, 130, cli.stderr());
      const out = JSON.parse(cli.stdout());
      assert.equal(out.error.code, 'E_INTERRUPTED');
      assert.equal(out.init.unseal_keys_b64.length, 2);
      assert.ok(typeof out.init.root_token === 'string' && out.init.root_token.length > 10, 'the root token (asked in clear with --print-keys) is handed over');
      assert.match(cli.stderr(), /interrupted after init; the shares are in the `init` member/);
      // The handed-over shares are the server's.
      const keys = out.init.unseal_keys_b64.map((b64: string) => gpg.decrypt(Buffer.from(b64, 'base64')).trim());
      const unseal = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys.join('\n')}\n` });
      assert.equal(unseal.code, 0, unseal.stderr);
      assert.equal(unseal.json().sealed, false);
    });
  });
}
