// Exit codes: the README's table is the contract. It lists exactly the codes the CLI uses, every error code maps to
// one of them, and the codes that need no server are produced here by the real CLI, each with a message that says
// what went wrong and a hint that says what to do. Codes that need a real server are asserted where that state is
// made: 1 (leaks.test.ts, a forced crash), 4 and 5 and 7 (deploy.test.ts), 10, 11, 17 (unseal.test.ts), 13, 14
// (verify.test.ts), 16 (faults-proxy.test.ts), 130 (faults-interrupt.test.ts, faults-server.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT, VaultSetupError, type ErrorCode } from '../../src/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/deployment.ts';
import { liveCli } from '../helpers/live-cli.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { ROOT, rig } from '../helpers/rig.ts';

/** The rows of README.md's "## Exit codes" table: code -> meaning. */
function readmeTable(): Map<number, string> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Exit codes');
  assert.ok(start >= 0, 'README.md has an "## Exit codes" section');
  const section = readme.slice(start + 1).split(/\n## /)[0] as string;
  const rows = new Map<number, string>();
  for (const m of section.matchAll(/^\| (\d+) \| (.+) \|$/gm)) rows.set(Number(m[1]), m[2] as string);
  return rows;
}

/** Every member of the ErrorCode union, read from errors.ts (a type has no runtime list). */
function errorCodes(): ErrorCode[] {
  const source = fs.readFileSync(path.join(ROOT, 'src', 'errors.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'(E_[A-Z_]+)'/g)].map((m) => m[1] as ErrorCode);
}

describe('faults: exit codes', () => {
  it('the README table lists exactly the codes of EXIT; every error code exits with a documented one', () => {
    const table = readmeTable();
    assert.deepEqual([...table.keys()].sort((a, b) => a - b), [...new Set(Object.values(EXIT))].sort((a, b) => a - b));
    const codes = errorCodes();
    assert.ok(codes.length >= 20, `found the error codes (${codes.length})`);
    for (const code of codes) assert.ok(table.has(new VaultSetupError(code, 'x').exitCode), `${code} exits with a documented code`);
  });

  it('the codes that need no server, from the real CLI: message, hint, --json error object', { timeout: 5 * 60_000 }, async (t) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-exit-'));
    t.after(() => fs.rmSync(work, { recursive: true, force: true }));
    const image = rig().openbaoImage;
    const closed = `http://127.0.0.1:${await freePort()}`;
    const dir = (name: string) => {
      const d = path.join(work, name);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const initArgs = (d: string, port: number) => ['init', '--dir', d, '--flavor', 'openbao', '--image', image, '--name', `vsexit-${path.basename(d)}`, '--port', String(port), '--yes', '--print-keys', '--json'];

    const cases: { code: number; name: string; args: string[]; env?: NodeJS.ProcessEnv; errorCode?: string; message: RegExp; hint?: RegExp }[] = [
      { code: 0, name: 'help', args: ['status', '--help'], message: /^vault-setup status/ },
      { code: 2, name: 'a bad flag', args: ['status', '--bogus'], message: /✖ vault-setup status: unknown option --bogus\n  → see `vault-setup status --help` for its options/ },
      { code: 2, name: 'a bad value', args: ['init', '--dir', dir('usage'), '--port', 'x', '--json'], errorCode: 'E_USAGE', message: /--port must be a whole number/ },
      {
        code: 3,
        name: 'Docker Engine unreachable',
        args: initArgs(dir('docker'), 18999),
        env: { DOCKER_HOST: `unix://${path.join(work, 'no-such.sock')}` },
        errorCode: 'E_DOCKER_UNREACHABLE',
        message: /Docker Engine is unreachable/,
        hint: /start Docker/,
      },
      { code: 7, name: 'a symlinked deployment dir', args: initArgs(symlinkDir(work), 18998), errorCode: 'E_UNSAFE_PATH', message: /is a symbolic link to .*does not write through links/, hint: /./ },
      { code: 8, name: 'a server that does not answer', args: ['unseal', '--addr', closed, '--stdin', '--json'], errorCode: 'E_SERVER_UNREACHABLE', message: /did not answer \(ECONNREFUSED, 5 attempts\)/, hint: /vault-setup status/ },
      { code: 9, name: 'no deployment', args: ['status', '--dir', dir('empty'), '--json'], errorCode: 'E_NOT_DEPLOYED', message: /no vault-setup deployment in/, hint: /--dir .*--addr/ },
      { code: 12, name: 'an unreadable token file', args: ['agent', 'list', '--addr', closed, '--token-file', path.join(work, 'none'), '--json'], errorCode: 'E_AUTH', message: /cannot read the token file .* \(ENOENT\)/, hint: /check the path/ },
      { code: 15, name: 'nobody to ask for shares', args: ['unseal', '--addr', closed, '--json'], errorCode: 'E_NEEDS_ANSWER', message: /no terminal to ask for shares/, hint: /--stdin/ },
      { code: 15, name: 'init with nobody to show the shares to', args: initArgs(dir('unattended'), 18997).filter((a) => a !== '--print-keys'), errorCode: 'E_NEEDS_ANSWER', message: /the unseal shares cannot be shown to anyone/, hint: /--print-keys/ },
    ];
    for (const c of cases) {
      await t.test(`${c.code}: ${c.name}`, async () => {
        const run = await runCli(c.args, { env: c.env ?? {} });
        assert.equal(run.code, c.code, run.stderr);
        if (c.errorCode === undefined) {
          assert.match(`${run.stdout}${run.stderr}`, c.message);
          return;
        }
        const { error } = run.json();
        assert.equal(error.code, c.errorCode);
        assert.equal(error.exitCode, c.code);
        assert.match(error.message, c.message);
        if (c.hint !== undefined) assert.match(error.hint, c.hint, 'a hint says what to do');
        assert.doesNotMatch(run.stderr, /internal error/);
      });
    }

    await t.test('5: the port is taken (nothing written)', async () => {
      const port = await freePort();
      const holder = net.createServer().listen(port, '127.0.0.1');
      t.after(() => holder.close());
      const d = dir('port');
      const run = await runCli(initArgs(d, port));
      assert.equal(run.code, 5, run.stderr);
      assert.equal(run.json().error.code, 'E_PORT_TAKEN');
      assert.match(run.json().error.hint, /choose another --port/);
      assert.deepEqual(fs.readdirSync(d), []);
    });

    await t.test('6: a hand-edited file differs (the diff is shown, nothing replaced)', async () => {
      const d = dir('conflict');
      const compose = path.join(d, 'docker-compose.yml');
      fs.writeFileSync(compose, 'services: {}\n');
      const run = await runCli(initArgs(d, await freePort()));
      assert.equal(run.code, 6, run.stderr);
      assert.equal(run.json().error.code, 'E_FILE_CONFLICT');
      assert.match(run.json().error.hint, /--force/);
      assert.equal(fs.readFileSync(compose, 'utf8'), 'services: {}\n');
    });

    await t.test('130: SIGTERM while a command waits for the server', async () => {
      await using proxy = await faultProxy(closed);
      proxy.inject({ hang: true });
      const cli = liveCli(['unseal', '--addr', proxy.address, '--stdin']);
      while (proxy.seen.length === 0) await new Promise((r) => setTimeout(r, 50)); // its first request is waiting
      cli.signal('SIGTERM');
      assert.equal(await cli.exited, 130, cli.stderr());
      assert.match(cli.stderr(), /interrupted \(SIGTERM\); run the same command to resume/);
    });
  });
});

/** A deployment dir that is a symlink to a real one: refused (the link could point anywhere). */
function symlinkDir(work: string): string {
  const real = path.join(work, 'real');
  fs.mkdirSync(real, { recursive: true });
  const link = path.join(work, 'link');
  fs.symlinkSync(real, link);
  return link;
}
