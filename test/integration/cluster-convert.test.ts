// `cluster convert`: a single node made by `init --tls self-signed` becomes the first node of a cluster in place, on
// an address of a private link of the test's own (as cluster.test.ts stands in for the hosts' private network). Its
// data, keys and tokens stay; a second node joins it and reads what the single node held. OpenBao only (CI time).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { eventually } from '../helpers/eventually.ts';
import { assertNoLeaks } from '../helpers/leaks.ts';
import { call, privateNet } from '../helpers/private-net.ts';
import { ROOT, rig } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';

const PASSWORD = 'convert operator pw';
const OPERATOR = ['--operator', 'admin', '--password-stdin'];

describe('cluster convert (openbao)', () => {
  it('a single node becomes the first node of a cluster: data, keys and the app token kept; a second node joins', async (t) => {
    await using net = privateNet(2);
    await using d1 = await testDeployment('cv1');
    await using d2 = await testDeployment('cv2');
    await using d3 = await testDeployment('cv3');
    const image = rig().openbaoImage;
    const since = Date.now();
    const secrets: string[] = [PASSWORD];
    const [a1, a2] = net.addresses as [string, string];
    const api1 = `https://${a1}:${d1.port}`;
    const api2 = `https://${a2}:${d2.port}`;
    const local = `https://127.0.0.1:${d1.port}`;
    const deployment = (d: typeof d1) => ['--dir', d.dir, '--flavor', 'openbao', '--image', image, '--name', d.name, '--port', String(d.port)];
    const file = (...p: string[]) => path.join(d1.dir, ...p);
    const read = (...p: string[]) => fs.readFileSync(file(...p), 'utf8');
    let shares: string[] = [];
    let appToken = '';
    let oldCa = '';
    const login = async (base: string, ca: string): Promise<string> => {
      const res = await call(base, ca, 'POST', 'auth/userpass/login/admin', { body: { password: PASSWORD } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.auth.client_token as string;
    };
    const convert = (args: string[], input?: string) => runCli(['cluster', 'convert', '--dir', d1.dir, ...args], input === undefined ? {} : { input });

    await t.test('init: a single node with --tls self-signed, a seeded secret and one written after', async () => {
      fs.mkdirSync(d1.dir, { recursive: true });
      const catalog = file('catalog.yaml');
      fs.writeFileSync(catalog, 'secrets:\n  seeded:\n    key: { from: generate, format: hex, bytes: 16 }\n');
      const run = await runCli(['init', ...deployment(d1), '--tls', 'self-signed', '--yes', '--print-keys', '--password-stdin', '--shares', '3', '--threshold', '2', '--secrets', catalog, '--app-token-file', file('app-token'), '--json'], { input: `${PASSWORD}\n` });
      assert.equal(run.code, 0, run.stderr);
      shares = run.json().init.unseal_keys_b64;
      secrets.push(...shares, ...run.json().init.unseal_keys_hex, run.json().init.root_token);
      appToken = read('app-token').trim();
      oldCa = read('ca.crt');
      const token = await login(local, oldCa);
      const write = await call(local, oldCa, 'POST', 'secret/data/seeded', { token, body: { data: { key: 'written-by-the-single-node' } } });
      assert.equal(write.status, 200, JSON.stringify(write.body));
    });

    await t.test('refused with nothing changed: no terminal and no --yes (exit 15, after the plan); --yes without --stdin; file storage (migrate first)', async () => {
      const before = [read('docker-compose.yml'), read('config/vault.hcl'), read('ca.crt')];
      const run = await convert(['--advertise', a1]);
      assert.equal(run.code, EXIT.needsAnswer, run.stderr);
      assert.match(run.stderr, /--- config\/vault\.hcl/);
      assert.match(run.stderr, new RegExp(`\\+\\s+cluster_address = "${a1.replaceAll('.', '\\.')}:${d1.port + 1}"`));
      assert.match(run.stderr, /cluster convert restarts the server with the files above and needs a yes, and there is no terminal to ask; nothing was changed\n/);
      assert.deepEqual([read('docker-compose.yml'), read('config/vault.hcl'), read('ca.crt')], before);
      assert.equal(fs.readdirSync(d1.dir).some((f) => f.includes('pre-cluster') || f.includes('convert-state')), false);

      const noStdin = await convert(['--advertise', a1, '--yes']);
      assert.equal(noStdin.code, EXIT.usage, noStdin.stderr);
      assert.match(noStdin.stderr, /--yes asks nothing, and the unseal shares are still needed: add --stdin/);

      // A file-storage deployment's record (as init --storage file writes it): refused before the server is asked.
      fs.mkdirSync(d3.dir, { recursive: true });
      fs.writeFileSync(path.join(d3.dir, 'vault-setup.json'), JSON.stringify({ ...JSON.parse(read('vault-setup.json')), storage: 'file', tls: 'off' }));
      const fileStorage = await runCli(['cluster', 'convert', '--dir', d3.dir, '--advertise', a1, '--yes', '--stdin'], { input: '' });
      assert.equal(fileStorage.code, EXIT.usage, fileStorage.stderr);
      assert.match(fileStorage.stderr, /keeps its data in file storage: a cluster is raft's; nothing was changed/);
      assert.match(fileStorage.stderr, new RegExp(`→ move it to raft first: vault-setup migrate --storage raft --dir ${d3.dir.replaceAll('/', '\\/')}`));
    });

    await t.test('convert, killed (SIGKILL) once the new files are written; run again: it resumes; the node leads on the private address with the cluster CA, the same data and tokens', async () => {
      // The first run dies where the container is being recreated with the new files: the server comes back sealed.
      const child = spawn(process.execPath, [path.join(ROOT, 'src/cli.ts'), 'cluster', 'convert', '--dir', d1.dir, '--advertise', a1, '--yes', '--stdin'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'ignore', 'pipe'] });
      let killedAt = '';
      child.stdin.end(`${shares.slice(0, 2).join('\n')}\n`);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const watch = setInterval(() => {
        const state = fs.existsSync(file('cluster-convert-state.json')) ? JSON.parse(read('cluster-convert-state.json')) : undefined;
        if (state?.stage === 'files' && read('config/vault.hcl').includes(`${a1}:${d1.port + 1}`)) {
          killedAt = state.stage;
          child.kill('SIGKILL');
        }
      }, 50);
      await exited;
      clearInterval(watch);
      assert.equal(killedAt, 'files', 'the first run was killed after writing the new files');

      const run = await convert(['--advertise', a1, '--yes', '--stdin'], `${shares.slice(0, 2).join('\n')}\n`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /stopped while replacing the files \(stage "files"\): putting the originals \(\*\.pre-cluster\) back and restarting the server to start over/);
      assert.match(run.stderr, /Resuming the conversion to a cluster on .* \(it stopped after stage "files"\)/);
      assert.match(run.stdout, new RegExp(`is the first node of a cluster: ${d1.name}-1 leads at ${api1.replaceAll('.', '\\.')}`));
      // Said loudly even with --json: the CA clients pin has changed, where the new one is, how agents get it.
      assert.match(run.stderr, new RegExp(`THE CA CHANGED\\. Clients that pin this server's old CA \\(kept as ${file('ca.crt.pre-cluster').replaceAll('/', '\\/')}\\) must take the cluster CA, ${file('ca.crt').replaceAll('/', '\\/')}`));
      assert.match(run.stderr, /vault-setup agent add NAME/);

      const ca = read('ca.crt');
      assert.notEqual(ca, oldCa);
      assert.equal(read('ca.crt.pre-cluster'), oldCa);
      for (const f of ['docker-compose.yml', 'config/vault.hcl', 'config/tls/server.crt']) assert.ok(fs.existsSync(file(`${f}.pre-cluster`)), f);
      for (const key of ['config/tls/server.key', 'config/tls/server.key.pre-cluster']) assert.equal(fs.statSync(file(key)).mode & 0o777, 0o600, key);
      const hcl = read('config/vault.hcl');
      assert.match(hcl, new RegExp(`cluster_address = "${a1.replaceAll('.', '\\.')}:${d1.port + 1}"`));
      assert.match(hcl, new RegExp(`api_addr = "${api1.replaceAll('.', '\\.')}"`));
      const record = JSON.parse(read('vault-setup.json'));
      assert.equal(record.tls, 'cluster');
      assert.deepEqual(record.cluster, { advertise: a1, nodes: [{ id: `${d1.name}-1`, api: api1 }] });
      assert.equal(fs.existsSync(file('cluster-convert-state.json')), false);
      assert.equal(fs.existsSync(file('data/raft/peers.json')), false, 'the server reads and removes raft\'s recovery file');

      // An independent client with the new CA: raft names the node at its private address; it leads.
      const token = await login(api1, ca);
      const raft = await call(api1, ca, 'GET', 'sys/storage/raft/configuration', { token });
      assert.deepEqual(raft.body.data.config.servers.map((s: any) => [s.node_id, s.address, s.leader, s.voter]), [[`${d1.name}-1`, `${a1}:${d1.port + 1}`, true, true]]);
      const seeded = await call(api1, ca, 'GET', 'secret/data/seeded', { token: appToken });
      assert.equal(seeded.status, 200, JSON.stringify(seeded.body));
      assert.equal(seeded.body.data.data.key, 'written-by-the-single-node');
      // The old CA no longer verifies the node.
      await assert.rejects(call(api1, oldCa, 'GET', 'sys/health'));
    });

    await t.test('join a second node to the converted one: it reads the single node\'s secret with the same app token', async () => {
      const joined = await runCli(['join', ...deployment(d2), '--advertise', a2, '--leader', api1, '--leader-ca', file('ca.crt'), ...OPERATOR, '--json'], { input: `${PASSWORD}\n` });
      assert.equal(joined.code, 0, joined.stderr);
      const unsealed = await runCli(['unseal', '--cluster', '--stdin', '--dir', d2.dir, '--json'], { input: `${shares.slice(0, 2).join('\n')}\n` });
      assert.equal(unsealed.code, 0, unsealed.stderr);
      const ca = read('ca.crt');
      const value = await eventually('the secret on the second node', async () => {
        const res = await call(api2, ca, 'GET', 'secret/data/seeded', { token: appToken }).catch(() => undefined);
        return res?.status === 200 ? res.body.data.data.key : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      assert.equal(value, 'written-by-the-single-node');
      const token = await login(api1, ca);
      const raft = await call(api1, ca, 'GET', 'sys/storage/raft/configuration', { token });
      assert.deepEqual(raft.body.data.config.servers.map((s: any) => s.address).sort(), [`${a1}:${d1.port + 1}`, `${a2}:${d2.port + 1}`].sort());
    });

    await t.test('a second convert has nothing to do; no share, token or password in any file, log or container setting', async () => {
      const again = await convert(['--advertise', a1, '--yes', '--stdin', '--json'], '');
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().changed, false);
      const human = await convert(['--advertise', a1, '--yes', '--stdin'], '');
      assert.match(human.stdout, /^Nothing to do: .* is already a cluster node on /);
      const containers = [d1.name, d2.name].filter((name) => docker('ps', '-aq', '--filter', `name=^${name}$`).trim() !== '');
      await assertNoLeaks(secrets, { dirs: [d1.dir, d2.dir], containers, since });
    });
  });

  it('a plain-http single node, converted at a terminal (a yes, the share hidden): the API becomes https with the cluster CA, said loudly; the app token works there', async () => {
    await using net = privateNet(1);
    await using d = await testDeployment('cv4');
    const since = Date.now();
    const addr = net.addresses[0] as string;
    const api = `https://${addr}:${d.port}`;
    fs.mkdirSync(d.dir, { recursive: true });
    const catalog = path.join(d.dir, 'catalog.yaml');
    fs.writeFileSync(catalog, 'secrets:\n  seeded:\n    key: { from: generate, format: hex, bytes: 16 }\n');
    const init = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--yes', '--print-keys', '--no-operator', '--shares', '1', '--threshold', '1', '--secrets', catalog, '--app-token-file', path.join(d.dir, 'app-token'), '--json']);
    assert.equal(init.code, 0, init.stderr);
    const shares: string[] = init.json().init.unseal_keys_b64;
    const appToken = fs.readFileSync(path.join(d.dir, 'app-token'), 'utf8').trim();

    // At a terminal: the plan, the question, the share at a hidden prompt.
    using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'cluster', 'convert', '--dir', d.dir, '--advertise', addr], { env: { PATH: process.env.PATH, NO_COLOR: '1' } });
    await term.waitFor(/Convert .* into the first node of a cluster on .* as shown\?/, { timeoutMs: 30_000 });
    assert.match(term.screen({ history: true }), /ca\.crt: the cluster CA .* replaces nothing: the API was plain http on 127\.0\.0\.1 and becomes https/);
    term.type('y');
    term.key('Enter');
    await term.waitFor(/Share 1 of 1 \(hidden\)/);
    term.paste(shares[0] as string);
    term.key('Enter');
    assert.equal(await term.waitExit(120_000), 0, term.screen({ history: true }));
    const screen = term.screen({ history: true });
    assert.equal(screen.includes(shares[0] as string), false, 'the share is never shown');
    assert.match(screen.replace(/\n/g, ' '), new RegExp(`THE API IS NOW HTTPS\\. Clients that used http://127\\.0\\.0\\.1 must use https with the cluster CA, ${path.join(d.dir, 'ca.crt').replaceAll('/', '\\/')}`));
    assert.match(screen, /is the first node of a cluster: /);
    assert.equal(fs.existsSync(path.join(d.dir, 'ca.crt.pre-cluster')), false);
    assert.match(fs.readFileSync(path.join(d.dir, 'docker-compose.yml.pre-cluster'), 'utf8'), new RegExp(`ADDR: http://127\\.0\\.0\\.1:${d.port}`));
    const ca = fs.readFileSync(path.join(d.dir, 'ca.crt'), 'utf8');
    for (const base of [api, `https://127.0.0.1:${d.port}`]) {
      const read = await call(base, ca, 'GET', 'secret/data/seeded', { token: appToken });
      assert.equal(read.status, 200, `${base}: ${JSON.stringify(read.body)}`);
      assert.match(read.body.data.data.key, /^[0-9a-f]{32}$/);
    }
    // Plain http is gone: the listener speaks TLS only (Go's server answers a plain request with 400).
    const plain = await fetch(`http://127.0.0.1:${d.port}/v1/sys/health`).then(async (r) => `${r.status} ${await r.text()}`, () => 'refused');
    assert.match(plain, /^(refused|400 Client sent an HTTP request to an HTTPS server)/);
    const containers = docker('ps', '-aq', '--filter', `name=^${d.name}$`).trim() === '' ? [] : [d.name];
    await assertNoLeaks([...shares, init.json().init.root_token], { dirs: [d.dir], containers, since });
  });
});
