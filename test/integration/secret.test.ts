// `vault-setup secret put|list|get` against OpenBao and the real Vault: values from stdin and the environment
// arrive byte-exact, argv never carries one, create-only unless --overwrite, list and get show no value unasked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { call, putSecret, readyServer } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';

// Two servers with their own code: OpenBao and the real Vault (the Vault-layout OpenBao adds nothing here).
const SERVERS = serverImages().filter((s) => s.label !== 'openbao-in-vault-layout');

for (const { label, flavor, image } of SERVERS) {
  test(`secret: ${label}`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`se-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image);
    const root = server.rootToken;
    const env = { VAULT_TOKEN: root };
    const dir = ['--dir', d.dir];
    const read = async (key: string) => (await call(server, 'GET', `secret/data/${key}`, { token: root })).body?.data;

    // Spaces, quotes, a dollar, a unicode letter, an inner line break: everything a shell would mangle.
    const piped = ` sk-"pipe" $HOME ü\nsecond line `;
    const fromEnv = 'env-value-Ω-' + 'x'.repeat(300);

    await t.test('put --stdin: the value arrives byte-exact (one trailing line break dropped), created with cas 0', async () => {
      const run = await runCli(['secret', 'put', 'secret/openrouter', 'api_key', '--stdin', ...dir, '--json'], { env, input: `${piped}\n` });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.json(), { path: 'secret/openrouter', fields: ['api_key'], kept: [], version: 1, created: true });
      assert.deepEqual((await read('openrouter')).data, { api_key: piped });
      assert.ok(!run.stdout.includes('sk-"pipe"') && !run.stderr.includes('sk-"pipe"'));
    });

    await t.test('put --from-env: two fields, one from the environment and one from stdin', async () => {
      const run = await runCli(['secret', 'put', 'team/api', 'token', 'url', '--from-env', 'token=API_TOKEN', '--stdin', ...dir], { env: { ...env, API_TOKEN: fromEnv }, input: 'https://example.test' });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Created secret\/team\/api \(version 1\): token, url/);
      assert.deepEqual((await read('team/api')).data, { token: fromEnv, url: 'https://example.test' });
    });

    await t.test('FIELD=value in argv is refused with the reason, the value not repeated, nothing written', async () => {
      const run = await runCli(['secret', 'put', 'secret/leaky', 'password=hunter2-argv', ...dir], { env });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /refused "password=\.\.\.": a value on the command line is visible in `ps`/);
      assert.ok(!run.stderr.includes('hunter2-argv'));
      assert.equal((await call(server, 'GET', 'secret/data/leaky', { token: root })).status, 404);
    });

    await t.test('create-only: an existing secret is kept unless --overwrite, which replaces it', async () => {
      const again = await runCli(['secret', 'put', 'secret/openrouter', 'api_key', '--stdin', ...dir], { env, input: 'other' });
      assert.equal(again.code, 2, again.stderr);
      assert.match(again.stderr, /secret\/openrouter already exists \(version 1\); nothing was written/);
      assert.deepEqual((await read('openrouter')).data, { api_key: piped });
      const over = await runCli(['secret', 'put', 'secret/openrouter', 'api_key', '--stdin', '--overwrite', ...dir, '--json'], { env, input: 'replaced' });
      assert.equal(over.code, 0, over.stderr);
      assert.equal(over.json().version, 2);
      assert.deepEqual((await read('openrouter')).data, { api_key: 'replaced' });
      // Replacing one field of several keeps the others (a new password must not drop the host beside it).
      await putSecret(server, root, 'database', { host: 'db.internal', port: '5432', password: 'old-db-password' });
      const one = await runCli(['secret', 'put', 'secret/database', 'password', '--stdin', '--overwrite', ...dir, '--json'], { env, input: 'new-db-password' });
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(one.json().kept, ['host', 'port']);
      assert.deepEqual((await read('database')).data, { host: 'db.internal', port: '5432', password: 'new-db-password' });
      assert.ok(!one.stdout.includes('db.internal') && !one.stderr.includes('old-db-password'), 'kept values are not shown');
      assert.equal((await call(server, 'DELETE', 'secret/metadata/database', { token: root })).status, 204);
    });

    await t.test('no terminal and no --stdin/--from-env: one line saying how, nothing written', async () => {
      const run = await runCli(['secret', 'put', 'secret/nothing', 'key', ...dir], { env });
      assert.equal(run.code, 15, run.stderr);
      assert.match(run.stderr, /no terminal to ask the value of key/);
      assert.equal((await call(server, 'GET', 'secret/data/nothing', { token: root })).status, 404);
    });

    await t.test('list: paths and field names, never a value', async () => {
      await putSecret(server, root, 'deep/er/one', { a: 'list-value-secret-1', b: 'list-value-secret-2' });
      const run = await runCli(['secret', 'list', ...dir, '--json'], { env });
      assert.equal(run.code, 0, run.stderr);
      const paths = run.json().secrets.map((s: any) => [s.path, s.fields]);
      assert.deepEqual(paths, [
        ['secret/deep/er/one', ['a', 'b']],
        ['secret/openrouter', ['api_key']],
        ['secret/team/api', ['token', 'url']],
      ]);
      const human = await runCli(['secret', 'list', 'secret/deep', ...dir], { env });
      assert.equal(human.stdout, 'secret/deep/er/one  a, b\n');
      for (const out of [run.stdout, human.stdout, run.stderr]) assert.ok(!out.includes('list-value-secret') && !out.includes('replaced'));
    });

    await t.test('get: field names only unless asked; --field prints the value alone; --json --show-values', async () => {
      const plain = await runCli(['secret', 'get', 'secret/team/api', ...dir, '--json'], { env });
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(plain.json(), { path: 'secret/team/api', version: 1, fields: ['token', 'url'] });
      const field = await runCli(['secret', 'get', 'secret/team/api', '--field', 'token', ...dir], { env });
      assert.equal(field.code, 0, field.stderr);
      assert.equal(field.stdout, `${fromEnv}\n`);
      const all = await runCli(['secret', 'get', 'secret/team/api', '--show-values', ...dir, '--json'], { env });
      assert.deepEqual(all.json().data, { token: fromEnv, url: 'https://example.test' });
      const missing = await runCli(['secret', 'get', 'secret/team/api', '--field', 'nope', ...dir], { env });
      assert.equal(missing.code, 27, missing.stderr);
      assert.match(missing.stderr, /secret\/team\/api has no field nope/);
      const absent = await runCli(['secret', 'get', 'secret/team/nope', ...dir], { env });
      assert.equal(absent.code, 27, absent.stderr);
      assert.match(absent.stderr, /there is no secret at secret\/team\/nope/);
    });
  });
}
