// Where shares and tokens may travel: --addr http:// to another host is refused on every command that takes it,
// and `verify` looks up tokens it finds on disk only on the deployment's own loopback address, never on --addr.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { checkAddr, isLoopbackHost } from '../../src/services/addr-policy.ts';
import { renderCompose, renderServerConfig } from '../../src/services/templates.ts';
import { runCli } from '../helpers/cli.ts';

describe('--addr: plain http only to loopback', () => {
  it('loopback spellings are loopback; other hosts are not', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1', 'vault.localhost']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['10.0.0.1', '192.168.1.5', 'vault.example.com', '[::2]', '128.0.0.1', 'localhost.example.com']) assert.equal(isLoopbackHost(h), false, h);
    assert.throws(() => checkAddr('http://10.0.0.1:8200', false), /plain http to another host/);
    assert.doesNotThrow(() => checkAddr('http://10.0.0.1:8200', true));
    assert.doesNotThrow(() => checkAddr('https://vault.example.com', false));
    assert.doesNotThrow(() => checkAddr('http://127.0.0.1:8200', false));
  });

  for (const command of [['status'], ['unseal', '--stdin'], ['verify'], ['agent', 'list'], ['backup'], ['restore', '/nonexistent.snap', '--yes']]) {
    it(`${command[0]} refuses --addr http://<another host> before it connects (exit 2)`, async () => {
      const run = await runCli([...command, '--addr', 'http://192.0.2.10:8200', '--json'], { env: { VAULT_TOKEN: 's.notarealtoken0000000000' }, input: 'x\n', timeoutMs: 60_000 });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /plain http to another host.*\n.*--insecure-http/);
      assert.equal(run.json().error.code, 'E_USAGE');
    });
  }
});

describe('verify: tokens found on disk go only to the deployment\'s own loopback address', () => {
  it('a token in ~/.vault-token is never sent to --addr', async (t) => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const token = req.headers['x-vault-token'];
      if (typeof token === 'string') seen.push(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/v1/sys/health')) res.end(JSON.stringify({ initialized: true, sealed: false, standby: false, version: '2.7.2' }));
      else if (req.url?.startsWith('/v1/sys/seal-status')) res.end(JSON.stringify({ type: 'shamir', initialized: true, sealed: false, t: 3, n: 5, progress: 0, nonce: '', version: '2.7.2', commit_date: 'x' }));
      else if (req.url?.startsWith('/v1/auth/token/lookup-self')) res.end(JSON.stringify({ data: { policies: ['root'] } }));
      else res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-addr-'));
    const home = path.join(root, 'home');
    const dir = path.join(root, 'dep');
    fs.mkdirSync(home);
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    const spec = { layout: LAYOUTS.openbao, server: { product: 'openbao' as const, version: '2.7.2', raw: 'OpenBao v2.7.2' }, image: 'openbao/openbao:2.7.2', name: 'vs-addr-test', port: 1, storage: 'raft' as const, tls: false };
    fs.writeFileSync(path.join(dir, 'docker-compose.yml'), await renderCompose(spec));
    fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), renderServerConfig(spec));
    const onDisk = 's.TokenFoundOnDisk1234567890';
    fs.writeFileSync(path.join(home, '.vault-token'), `${onDisk}\n`, { mode: 0o600 });
    const run = await runCli(['verify', '--dir', dir, '--addr', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--json'], { env: { HOME: home }, timeoutMs: 120_000 });
    assert.ok(!seen.includes(onDisk), 'the token from ~/.vault-token reached --addr');
    assert.ok(!run.stdout.includes(onDisk) && !run.stderr.includes(onDisk));
    const check = run.json().checks.find((c: { id: string }) => c.id === 'vault-token-file');
    assert.ok(check !== undefined, run.stdout);
    assert.notEqual(check.status, 'fail', JSON.stringify(check));
  });
});

describe('server-supplied strings on the terminal', () => {
  it('status shows a version with control characters escaped, never raw', async (t) => {
    const hostile = '2.7.2\u001b]0;owned\u0007\u001b[2J\u009b31m';
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'shamir', initialized: true, sealed: false, t: 1, n: 1, progress: 0, nonce: '', version: hostile, storage_type: 'raft\u001b[31m' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const json of [false, true]) {
      const run = await runCli(['status', '--addr', address, ...(json ? ['--json'] : [])], { env: { HOME: os.tmpdir() }, timeoutMs: 60_000 });
      assert.doesNotMatch(run.stdout + run.stderr, /[\u001b\u0007\u009b]/);
      const shown = json ? run.json().server.version : run.stdout;
      assert.match(shown, /2\.7\.2\\u001b\]0;owned\\u0007\\u001b\[2J\\u009b31m/);
    }
  });
});
