// Security review findings on the real Docker Engine and a real OpenBao server: the container's confinement (memory
// without swap, capabilities, read-only root, pids) also on a stand-in image whose binary carries a file capability
// as the official Vault images did; verify sees a drifted memory limit and uid 100's host account; a deployment
// directory someone else controls is refused; a TLS key that differs on a re-run is never printed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, freePort, testDeployment } from '../helpers/deployment.ts';
import { rig, vault117Image } from '../helpers/rig.ts';

const FCAP_IMAGE = 'vault-setup-test/openbao-file-capability:2.7.2';

/**
 * The OpenBao test image with `setcap cap_ipc_lock=+ep` on its binary. The capability is set in the container's
 * upper layer and committed (a build context loses extended attributes): an image like the official ones.
 */
function buildFileCapabilityImage(base: string): void {
  const id = docker('create', base).trim();
  try {
    const upper = docker('inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id).trim();
    fs.mkdirSync(path.join(upper, 'bin'), { recursive: true });
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vs-fcap-')), 'bao');
    docker('cp', `${id}:/bin/bao`, copy);
    fs.copyFileSync(copy, path.join(upper, 'bin', 'bao'));
    fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    execFileSync('setcap', ['cap_ipc_lock=+ep', path.join(upper, 'bin', 'bao')]);
    docker('commit', id, FCAP_IMAGE);
  } finally {
    docker('rm', '-f', id);
  }
}

const check = (run: { json(): any }, id: string) => run.json().checks.find((c: { id: string }) => c.id === id);

describe('container confinement (OpenBao 2.7.2 and a binary with a file capability)', () => {
  before(() => buildFileCapabilityImage(rig().openbaoImage));
  after(() => execFileSync('docker', ['rmi', '-f', FCAP_IMAGE], { stdio: 'ignore' }));

  it('the stand-in really carries the capability: without IPC_LOCK in the bounding set its binary cannot even start', () => {
    let failed = '';
    try {
      docker('run', '--rm', '--cap-drop', 'ALL', '--entrypoint', '/bin/bao', FCAP_IMAGE, 'version');
    } catch (error) {
      failed = String((error as { stderr?: string }).stderr);
    }
    assert.match(failed, /operation not permitted/);
  });

  for (const { label, image } of [{ label: 'OpenBao 2.7.2', image: () => rig().openbaoImage }, { label: 'binary with cap_ipc_lock=+ep', image: () => FCAP_IMAGE }]) {
    it(`init runs the server confined: memory = memory+swap, all capabilities dropped but the entrypoint's, read-only root, pids limit (${label})`, async () => {
      await using d = await testDeployment('confine');
      const run = await runCli(['init', ...d.args('openbao', image()), '--deploy-only', '--memory', '768m', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const host = JSON.parse(docker('inspect', '-f', '{{json .HostConfig}}', d.name));
      assert.equal(host.Memory, 768 * 1024 * 1024);
      assert.equal(host.MemorySwap, host.Memory, 'no swap');
      assert.deepEqual(host.CapDrop, ['ALL']);
      assert.deepEqual([...host.CapAdd].sort(), ['IPC_LOCK', 'SETGID', 'SETUID']);
      assert.equal(host.ReadonlyRootfs, true);
      assert.equal(host.PidsLimit, 1024);
      // The server answers, initialises and unseals under all of it.
      const init = await fetch(`${d.address}/v1/sys/init`, { method: 'PUT', body: JSON.stringify({ secret_shares: 1, secret_threshold: 1 }) });
      assert.equal(init.status, 200);
      const { keys } = (await init.json()) as { keys: string[] };
      const unseal = await fetch(`${d.address}/v1/sys/unseal`, { method: 'PUT', body: JSON.stringify({ key: keys[0] }) });
      assert.equal(((await unseal.json()) as { sealed: boolean }).sealed, false);
      // The root filesystem refuses writes; /tmp is a tmpfs.
      assert.throws(() => docker('exec', d.name, 'touch', '/openbao/x'), /Read-only file system/);
      docker('exec', d.name, 'touch', '/tmp/x');

      const verify = await runCli(['verify', '--dir', d.dir, '--json'], { env: { HOME: d.dir } });
      assert.equal(check(verify, 'memory-limit').status, 'pass', check(verify, 'memory-limit').finding);
      assert.match(check(verify, 'memory-limit').finding, /768 MiB, no swap/);
      assert.equal(check(verify, 'confinement').status, 'pass', check(verify, 'confinement').finding);
      assert.equal(check(verify, 'container').status, 'pass', check(verify, 'container').finding);
    });
  }

  it('verify sees a deployment that drifted out of its memory limit, and names the host account of uid 100', async () => {
    await using d = await testDeployment('drift');
    assert.equal((await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--deploy-only', '--json'])).code, 0);
    const compose = path.join(d.dir, 'docker-compose.yml');
    fs.writeFileSync(compose, fs.readFileSync(compose, 'utf8').replace(/^ {4}memswap_limit: .*\n/m, '').replace(/^ {4}read_only: true\n/m, ''));
    const composeCmd = fs.existsSync('/usr/bin/docker-compose') ? ['docker-compose'] : ['docker', 'compose'];
    execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', d.name, 'up', '-d'], { cwd: d.dir, stdio: 'ignore' });
    const verify = await runCli(['verify', '--dir', d.dir, '--json'], { env: { HOME: d.dir } });
    const memory = check(verify, 'memory-limit');
    assert.notEqual(memory.status, 'pass');
    assert.match(memory.finding, /memory limit 1024 MiB, but the container may use 1024 MiB of swap \(this host has no swap today\)/);
    assert.match(memory.fix, /memswap_limit/);
    assert.match(check(verify, 'confinement').finding, /root filesystem is writable/);
    // The rig's Debian host has an account at uid 100 (messagebus here): the warning names it.
    const account = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === '100')?.split(':')[0];
    assert.ok(account !== undefined && account !== 'openbao', 'the rig host has a system account at uid 100');
    const uid = check(verify, 'server-uid');
    assert.equal(uid.status, 'warn');
    assert.match(uid.finding, new RegExp(`uid 100, which on this host is the account "${account}"`));
    assert.match(uid.fix, /give the server a dedicated account: useradd .* --server-user UID:GID --force/);

    // The fix: --server-user. The compose file says user:, data/, logs/ and run/ are the account's, the server runs
    // as it, and a later init without the flag keeps it.
    const fixed = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--server-user', '2001:2002', '--deploy-only', '--force', '--json']);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fs.readFileSync(compose, 'utf8'), /^ {4}user: "2001:2002"$/m);
    assert.equal(docker('inspect', '-f', '{{.Config.User}}', d.name).trim(), '2001:2002');
    for (const dir of ['data', 'logs', 'run']) assert.deepEqual([fs.statSync(path.join(d.dir, dir)).uid, fs.statSync(path.join(d.dir, dir)).gid], [2001, 2002], dir);
    const after = await runCli(['verify', '--dir', d.dir, '--json'], { env: { HOME: d.dir } });
    assert.equal(check(after, 'server-uid').status, 'pass', check(after, 'server-uid').finding);
    assert.match(check(after, 'non-root').finding, /runs as uid 2001 /);
    assert.equal(check(after, 'data-owner').status, 'pass', check(after, 'data-owner').finding);
    const socket = fs.readdirSync(path.join(d.dir, 'run')).map((f) => fs.statSync(path.join(d.dir, 'run', f))).find((s) => s.isSocket());
    assert.deepEqual([socket?.uid, socket?.gid], [2001, 2002], 'the agents\' socket belongs to the account too');
    const again = await runCli(['init', '--dir', d.dir, '--deploy-only', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(fs.readFileSync(compose, 'utf8'), /^ {4}user: "2001:2002"$/m, 'a re-run keeps the server\'s account');
    const refused = await runCli(['init', '--dir', d.dir, '--server-user', '0:0', '--deploy-only', '--json']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.json().error.message, /--server-user 0 would run the server as root/);
  });
});

describe('deployment directory ownership (as sshd StrictModes)', () => {
  it('refuses a --dir under a directory owned by another user, writes nothing, exit 7', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-owner-'));
    const theirs = path.join(root, 'nobody');
    fs.mkdirSync(theirs, { mode: 0o755 });
    fs.chownSync(theirs, 65534, 65534);
    try {
      const dir = path.join(theirs, 'vault');
      const run = await runCli(['init', '--dir', dir, '--flavor', 'openbao', '--image', rig().openbaoImage, '--name', 'vstest-owner', '--port', String(await freePort()), '--deploy-only', '--json']);
      assert.equal(run.code, 7, run.stderr);
      assert.equal(run.json().error.code, 'E_UNSAFE_PATH');
      assert.match(run.stderr, /nobody is owned by uid 65534 \(nobody\)/);
      assert.equal(fs.existsSync(dir), false, 'nothing was written');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a group-writable --dir; a deployment directory is created 0750 whatever the umask', async () => {
    await using d = await testDeployment('mode');
    fs.chmodSync(d.dir, 0o770);
    const refused = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--deploy-only', '--json']);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.json().error.message, /is writable by its group \(mode 770\)/);
    assert.equal(fs.existsSync(path.join(d.dir, 'docker-compose.yml')), false);
    fs.chmodSync(d.dir, 0o700);
    const dir = path.join(d.dir, 'fresh');
    const ok = await runCli(['init', '--dir', dir, '--flavor', 'openbao', '--image', rig().openbaoImage, '--name', d.name, '--port', String(d.port), '--deploy-only', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    for (const p of ['', 'data', 'logs']) assert.equal(fs.statSync(path.join(dir, p)).mode & 0o777, 0o750, p);

    // Later commands start the container as root too: a directory that became unsafe since is refused there.
    docker('stop', d.name);
    fs.chmodSync(dir, 0o770);
    const unseal = await runCli(['unseal', '--dir', dir, '--stdin', '--json'], { input: '' });
    assert.equal(unseal.code, 7, unseal.stderr);
    assert.match(unseal.json().error.message, new RegExp(`^${dir.replaceAll('/', '\\/')} is writable by its group \\(mode 770\\); vault-setup will not deploy under it$`));
    assert.equal(docker('inspect', '-f', '{{.State.Running}}', d.name).trim(), 'false', 'the container was not started');
    fs.chmodSync(dir, 0o750);
  });
});

describe('TLS private keys on a re-run', () => {
  it('a self-signed deployment whose ca.crt was deleted: exit 6, the key files named with checksums, no key printed', async () => {
    await using d = await testDeployment('tlskey');
    const first = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--deploy-only', '--tls', 'self-signed', '--json']);
    assert.equal(first.code, 0, first.stderr);
    fs.rmSync(path.join(d.dir, 'ca.crt'));
    const key = fs.readFileSync(path.join(d.dir, 'config/tls/server.key'), 'utf8');
    const again = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--deploy-only', '--tls', 'self-signed']);
    assert.equal(again.code, 6, again.stderr);
    assert.doesNotMatch(again.stdout + again.stderr, /PRIVATE KEY/);
    // No line of the key on disk (nor of the new one, which differs) is shown; certificates are public and diffed.
    for (const line of key.split(/\r?\n/).filter((l) => l.length > 20 && !l.startsWith('-----'))) assert.ok(!(again.stdout + again.stderr).includes(line), 'a line of server.key was printed');
    assert.match(again.stderr, /server\.key: differs, sha256 [0-9a-f]{16} -> [0-9a-f]{16}, contents not shown/);
  });
});

describe('Vault 1.17 stays supported; the advisory table names what it lacks', () => {
  it('init --deploy-only on Vault 1.17.6, confined like the rest; verify names CVE-2025-6000 and CVE-2026-5807', async () => {
    await using d = await testDeployment('v117');
    const run = await runCli(['init', ...d.args('vault', vault117Image()), '--deploy-only', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json().server.version, '1.17.6');
    const verify = await runCli(['verify', '--dir', d.dir, '--json'], { env: { HOME: d.dir } });
    const fixes = check(verify, 'security-fixes');
    assert.equal(fixes.status, 'warn');
    assert.match(fixes.finding, /Vault 1\.17\.6 lacks fixes for CVE-2025-6000 .*CVE-2026-5807/);
    assert.equal(check(verify, 'confinement').status, 'pass', check(verify, 'confinement').finding);
  });
});
