// Hostile paths, against the real engine and server: catalog paths that try to leave secret/, deployment
// directories that are (or hold) symbolic links, links where a command writes a file, a --dir with spaces, a token
// file that is not one token. Each is accepted and works, or is refused with a clear error before anything is
// written through the link.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, freePort, removeContainers, testDeployment } from '../helpers/deployment.ts';
import { rig } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';

const image = () => rig().openbaoImage;
const containersOf = (project: string) => docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`).trim();

/** Every file under dir, with its content, so "nothing changed there" can be asserted. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = e.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : fs.readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

/** A refusal as the operator sees it: the exit code, one --json error object, a one-line message and a hint. */
function refused(run: { code: number; stdout: string; stderr: string; json(): any }, code: number, errorCode: string, message: RegExp): void {
  assert.equal(run.code, code, run.stderr);
  const { error } = run.json();
  assert.equal(error.code, errorCode, run.stderr);
  assert.match(error.message, message);
  assert.doesNotMatch(error.message, /\n/);
  assert.ok(typeof error.hint === 'string' && error.hint.length > 0);
}

describe('hostile catalog paths', () => {
  it('paths with "..", spaces, a leading or trailing "/", empty segments: refused before anything is deployed', { timeout: 2 * 60_000 }, async () => {
    await using d = await testDeployment('hp-cat');
    const catalog = path.join(d.dir, '..', `${path.basename(d.dir)}-catalog.yaml`);
    const hostile = ['../sys/policies/acl/root', 'a/../../b', 'with space', '/leading', 'trailing/', 'a//b', '.', '~', 'app/*', 'a\tb'];
    fs.writeFileSync(catalog, `secrets:\n${hostile.map((p) => `  ${JSON.stringify(p)}:\n    k: { from: env, var: X }\n`).join('')}  fine/path:\n    k: { from: env, var: X }\n`);
    try {
      const run = await runCli(['init', ...d.args('openbao', image()), '--yes', '--print-keys', '--json', '--secrets', catalog], { env: { X: 'v' } });
      refused(run, 2, 'E_CATALOG', new RegExp(`^secrets catalog ${catalog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: secrets\\.\\.\\./sys/policies/acl/root: "\\.\\." is not allowed in a path \\(and ${hostile.length - 1} more problems\\)$`));
      const detail = run.stderr;
      for (const why of ['"\\.\\." is not allowed', 'segment "with space"', 'no leading "/"', 'may not end with "/"', 'may not contain "//"', 'segment "~"', 'segment "\\*"', 'segment "a\\\\tb"']) assert.match(detail, new RegExp(why));
      assert.deepEqual(fs.readdirSync(d.dir), [], 'nothing written');
      assert.equal(containersOf(d.name), '', 'nothing deployed');
    } finally {
      fs.rmSync(catalog, { force: true });
    }
  });
});

describe('symbolic links where init writes', () => {
  // Each case: make the link, run init, expect E_UNSAFE_PATH (exit 7) naming the link, and the link's target unchanged.
  const cases: { name: string; extra?: string[]; setup: (dir: string, elsewhere: string) => { link: string } }[] = [
    { name: 'the deployment dir itself', setup: (dir, elsewhere) => (fs.rmdirSync(dir), fs.symlinkSync(elsewhere, dir), { link: dir }) },
    {
      name: 'docker-compose.yml',
      setup: (dir, elsewhere) => (fs.writeFileSync(path.join(elsewhere, 'victim.yml'), 'mine\n'), fs.symlinkSync(path.join(elsewhere, 'victim.yml'), path.join(dir, 'docker-compose.yml')), { link: path.join(dir, 'docker-compose.yml') }),
    },
    {
      name: 'config/vault.hcl',
      setup: (dir, elsewhere) => (fs.mkdirSync(path.join(dir, 'config')), fs.writeFileSync(path.join(elsewhere, 'victim.hcl'), 'mine\n'), fs.symlinkSync(path.join(elsewhere, 'victim.hcl'), path.join(dir, 'config', 'vault.hcl')), { link: path.join(dir, 'config', 'vault.hcl') }),
    },
    { name: 'config/ (a linked directory)', setup: (dir, elsewhere) => (fs.symlinkSync(elsewhere, path.join(dir, 'config')), { link: path.join(dir, 'config') }) },
    { name: 'data/ (chowned by a root container)', setup: (dir, elsewhere) => (fs.symlinkSync(elsewhere, path.join(dir, 'data')), { link: path.join(dir, 'data') }) },
    { name: 'logs/', setup: (dir, elsewhere) => (fs.symlinkSync(elsewhere, path.join(dir, 'logs')), { link: path.join(dir, 'logs') }) },
    {
      name: 'ca.crt with --tls self-signed',
      extra: ['--tls', 'self-signed'],
      setup: (dir, elsewhere) => (fs.writeFileSync(path.join(elsewhere, 'victim.crt'), 'mine\n'), fs.symlinkSync(path.join(elsewhere, 'victim.crt'), path.join(dir, 'ca.crt')), { link: path.join(dir, 'ca.crt') }),
    },
    { name: 'a dangling docker-compose.yml link', setup: (dir, elsewhere) => (fs.symlinkSync(path.join(elsewhere, 'not-yet'), path.join(dir, 'docker-compose.yml')), { link: path.join(dir, 'docker-compose.yml') }) },
  ];

  for (const c of cases) {
    it(`${c.name}: refused, nothing written through the link`, { timeout: 2 * 60_000 }, async () => {
      await using d = await testDeployment('hp-ln');
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-hp-elsewhere-'));
      try {
        const { link } = c.setup(d.dir, elsewhere);
        const before = snapshot(elsewhere);
        // --secrets none and --show-token: no value is missing and the app token has a place, so the run gets as far as
        // writing files.
        const run = await runCli(['init', ...d.args('openbao', image()), ...(c.extra ?? []), '--yes', '--print-keys', '--secrets', 'none', '--show-token', '--json']);
        refused(run, 7, 'E_UNSAFE_PATH', new RegExp(`^${link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a symbolic link( to .*)?; vault-setup does not write through links$`));
        assert.deepEqual(snapshot(elsewhere), before, 'the link target is unchanged');
        assert.equal(containersOf(d.name), '', 'nothing started');
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  }

  it('--app-token-file and --keys-out that are links: refused before anything is deployed', { timeout: 2 * 60_000 }, async () => {
    await using d = await testDeployment('hp-flag');
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-hp-elsewhere-'));
    const outside = path.join(os.tmpdir(), `${path.basename(d.dir)}-links`);
    fs.mkdirSync(outside);
    try {
      fs.writeFileSync(path.join(elsewhere, 'victim'), 'mine\n');
      fs.symlinkSync(path.join(elsewhere, 'victim'), path.join(outside, 'app.token'));
      fs.symlinkSync(elsewhere, path.join(outside, 'keys'));
      const token = await runCli(['init', ...d.args('openbao', image()), '--yes', '--print-keys', '--json', '--app-token-file', path.join(outside, 'app.token')]);
      refused(token, 7, 'E_UNSAFE_PATH', /app\.token is a symbolic link to .*victim; vault-setup does not write through links/);
      assert.match(token.json().error.hint, /give the real path/);
      const keys = await runCli(['init', ...d.args('openbao', image()), '--yes', '--print-keys', '--json', '--pgp-keys', 'unused.asc', '--keys-out', `${path.join(outside, 'keys')}/`]);
      refused(keys, 7, 'E_UNSAFE_PATH', /keys is a symbolic link/);
      assert.deepEqual(fs.readdirSync(d.dir), [], 'nothing written');
      assert.deepEqual(snapshot(elsewhere), { victim: 'mine\n' });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('a deployment in a directory with spaces', () => {
  it('init, status, verify, backup and agent work there; their own output links are refused; a two-line token file is a clear error', { timeout: 10 * 60_000 }, async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'vs hp spaces '));
    const dir = path.join(base, 'my vault (prod)');
    const name = `vstest-hp-sp-${process.pid}`;
    const port = await freePort();
    const address = `http://127.0.0.1:${port}`;
    try {
      const catalog = path.join(base, 'the catalog.yaml');
      fs.writeFileSync(catalog, 'secrets:\n  app/db:\n    password: { from: env, var: HP_PW }\n');
      const tokenFile = path.join(base, 'app token');
      const init = await runCli(['init', '--dir', dir, '--flavor', 'openbao', '--image', image(), '--name', name, '--port', String(port), '--yes', '--print-keys', '--keep-root-token', '--json', '--secrets', catalog, '--app-token-file', tokenFile], { env: { HP_PW: 'p w "x"' } });
      assert.equal(init.code, 0, init.stderr);
      assert.equal(init.json().dir, dir);
      const root = init.json().init.root_token as string;
      const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
      assert.equal((await api(address, 'GET', 'secret/data/app/db', { token: appToken })).body.data.data.password, 'p w "x"');
      assert.match(fs.readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8'), /container_name: vstest-hp-sp-/);

      const status = await runCli(['status', '--dir', dir, '--json']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json().address, address);
      assert.equal(status.json().dir, dir);
      assert.equal(status.json().container.state, 'running');
      assert.equal(status.json().server.sealed, false);
      const verify = await runCli(['verify', '--dir', dir, '--json', '--secrets', catalog, '--token-file', tokenFile]);
      assert.ok([0, 14].includes(verify.code), verify.stderr);

      // Output files of other commands: links refused, nothing issued or written through them.
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-hp-elsewhere-'));
      try {
        fs.writeFileSync(path.join(elsewhere, 'victim'), 'mine\n');
        fs.symlinkSync(path.join(elsewhere, 'victim'), path.join(base, 'linked.snap'));
        const backupLink = await runCli(['backup', '--dir', dir, '--json', '--out', path.join(base, 'linked.snap')], { env: { VAULT_TOKEN: root } });
        refused(backupLink, 7, 'E_UNSAFE_PATH', /linked\.snap is a symbolic link/);
        fs.symlinkSync(elsewhere, path.join(base, 'agent out'));
        const agentLink = await runCli(['agent', 'add', 'bot', '--dir', dir, '--json', '--secret', 'secret/app/db', '--out-dir', path.join(base, 'agent out')], { env: { VAULT_TOKEN: root } });
        refused(agentLink, 7, 'E_UNSAFE_PATH', /agent out is a symbolic link/);
        assert.deepEqual(snapshot(elsewhere), { victim: 'mine\n' });
        const roles = await api(address, 'LIST', 'auth/approle/role', { token: root });
        assert.ok(!(roles.body?.data?.keys ?? []).includes('bot'), 'no role was made for the refused agent');
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }

      // The same commands with real paths that have spaces.
      const backup = await runCli(['backup', '--dir', dir, '--json', '--out', path.join(base, 'snap shots', 'first one.snap')], { env: { VAULT_TOKEN: root } });
      assert.equal(backup.code, 0, backup.stderr);
      assert.match(fs.readFileSync(path.join(base, 'snap shots', 'first one.snap.sha256'), 'utf8'), /^[0-9a-f]{64} {2}first one\.snap\n$/);
      const agent = await runCli(['agent', 'add', 'bot', '--dir', dir, '--json', '--secret', 'secret/app/db', '--out-dir', path.join(base, 'agent creds')], { env: { VAULT_TOKEN: root } });
      assert.equal(agent.code, 0, agent.stderr);
      assert.equal(fs.statSync(path.join(base, 'agent creds', 'secret_id')).mode & 0o777, 0o600);

      // A token file that is not one token: a clear E_AUTH, its content never echoed.
      const second = 'second-line-of-the-token-file';
      fs.writeFileSync(path.join(base, 'two lines'), `${appToken}\n${second}\n`);
      const bad = await runCli(['verify', '--dir', dir, '--json', '--token-file', path.join(base, 'two lines')]);
      refused(bad, 12, 'E_AUTH', /two lines holds spaces, line breaks or non-ASCII characters; a token never does$/);
      assert.ok(!bad.stdout.includes(appToken) && !bad.stderr.includes(appToken) && !bad.stderr.includes(second));
      const envBad = await runCli(['backup', '--dir', dir, '--json', '--out', path.join(base, 'x.snap')], { env: { VAULT_TOKEN: `Bearer ${root}` } });
      refused(envBad, 12, 'E_AUTH', /^VAULT_TOKEN holds spaces, line breaks or non-ASCII characters/);
    } finally {
      removeContainers(name);
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
