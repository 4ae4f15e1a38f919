// The README's agent examples (examples/agent.ts on Node, examples/agent.py on hvac) run against the real servers
// over https with the generated CA, with credentials from `vault-setup agent add`: they read, renew and fail closed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { putSecret, pythonBin, readyServer } from '../helpers/day2.ts';
import { freePort, testDeployment } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const EXAMPLES = [
  { name: 'TypeScript (Node fetch)', cmd: () => process.execPath, file: 'agent.ts', caEnv: 'NODE_EXTRA_CA_CERTS' },
  { name: 'Python (hvac)', cmd: pythonBin, file: 'agent.py', caEnv: 'VAULT_CACERT' },
];

function runExample(example: (typeof EXAMPLES)[number], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(example.cmd(), [path.join(ROOT, 'examples', example.file), '--once'], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

for (const { label, flavor, image } of serverImages()) {
  test(`README agent examples: ${label}`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`ex-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image, ['--tls', 'self-signed']);
    const env = { VAULT_TOKEN: server.rootToken };
    const ca = path.join(d.dir, 'ca.crt');
    await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-example-1' });
    await putSecret(server, server.rootToken, 'github', { token: 'ghp-example-2' });
    const add = await runCli(['agent', 'add', 'example', '--secret', 'secret/openrouter,secret/github', '--dir', d.dir, '--json'], { env });
    assert.equal(add.code, 0, add.stderr);
    const narrow = await runCli(['agent', 'add', 'narrow', '--secret', 'secret/openrouter', '--dir', d.dir, '--json'], { env });
    assert.equal(narrow.code, 0, narrow.stderr);

    for (const example of EXAMPLES) {
      const wrapped = async (agent: string) => (await runCli(['agent', 'rotate', agent, '--dir', d.dir, '--json'], { env })).json().wrapped_secret_id as string;
      const base = (roleId: string) => ({ VAULT_ADDR: server.address, VAULT_ROLE_ID: roleId, [example.caEnv]: ca });

      await t.test(`${example.name}: unwrap, login, read, renew; values never printed`, async () => {
        const token = await wrapped('example');
        const run = await runExample(example, { ...base(add.json().role_id), VAULT_WRAPPED_SECRET_ID: token, VAULT_SECRET_PATHS: 'openrouter,github' });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, 'ok: read secret/openrouter (fields: api_key)\nok: read secret/github (fields: token)\nok: token renewed (ttl 3600s)\n');
        assert.doesNotMatch(run.stdout + run.stderr, /sk-or-example-1|ghp-example-2/);

        const replay = await runExample(example, { ...base(add.json().role_id), VAULT_WRAPPED_SECRET_ID: token, VAULT_SECRET_PATHS: 'openrouter' });
        assert.equal(replay.code, 1, 'a wrapping token works once');
        assert.match(replay.stderr, /^fail closed: /m);
        assert.equal(replay.stdout, '');
      });

      await t.test(`${example.name}: a path outside its policy fails closed`, async () => {
        const run = await runExample(example, { ...base(narrow.json().role_id), VAULT_WRAPPED_SECRET_ID: await wrapped('narrow'), VAULT_SECRET_PATHS: 'openrouter,github' });
        assert.equal(run.code, 1);
        assert.equal(run.stdout, 'ok: read secret/openrouter (fields: api_key)\n');
        assert.match(run.stderr, /^fail closed: .*(403|permission denied|Forbidden)/im);
      });

      await t.test(`${example.name}: the server gone means no secret (fail closed)`, async () => {
        const gone = `https://127.0.0.1:${await freePort()}`;
        const run = await runExample(example, { ...base(add.json().role_id), VAULT_ADDR: gone, VAULT_WRAPPED_SECRET_ID: await wrapped('example'), VAULT_SECRET_PATHS: 'openrouter' });
        assert.equal(run.code, 1);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, /^fail closed: /m);
      });

      await t.test(`${example.name}: a cluster's node list: one that does not answer is skipped, the next serves`, async () => {
        const gone = `https://127.0.0.1:${await freePort()}`;
        const run = await runExample(example, { ...base(add.json().role_id), VAULT_ADDR: `${gone},${server.address}`, VAULT_WRAPPED_SECRET_ID: await wrapped('example'), VAULT_SECRET_PATHS: 'openrouter' });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, 'ok: read secret/openrouter (fields: api_key)\nok: token renewed (ttl 3600s)\n');
        assert.match(run.stderr, new RegExp(`^${gone.replace(/[.]/g, '\\.')} does not answer; trying the next node$`, 'm'));
      });

      await t.test(`${example.name}: a secret_id file from --out-dir`, async () => {
        const out = path.join(d.dir, `creds-${example.file}`);
        const rotate = await runCli(['agent', 'rotate', 'example', '--dir', d.dir, '--out-dir', out], { env });
        assert.equal(rotate.code, 0, rotate.stderr);
        const run = await runExample(example, { ...base(add.json().role_id), VAULT_SECRET_ID_FILE: path.join(out, 'secret_id'), VAULT_SECRET_PATHS: 'github' });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, 'ok: read secret/github (fields: token)\nok: token renewed (ttl 3600s)\n');
      });
    }
  });
}
