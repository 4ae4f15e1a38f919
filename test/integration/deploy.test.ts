// init, first half, against the real Docker Engine and real OpenBao servers in both image layouts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, freePort, testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';

const composeV1 = fs.existsSync('/usr/bin/docker-compose');

function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out[path.relative(dir, file)] = fs.readFileSync(file, 'utf8');
  }
  return out;
}

for (const { label, flavor, image } of serverImages()) {
  describe(`deploy (${label})`, () => {
    it('init reaches "reachable, not initialised"; a re-run changes nothing and says so', async () => {
      await using d = await testDeployment(`dep-${label}`);
      const first = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json']);
      assert.equal(first.code, 0, first.stderr);
      const result = first.json();
      assert.equal(result.initialized, false);
      assert.equal(result.sealed, true);
      assert.equal(result.changed, true);
      assert.equal(result.address, d.address);
      const home = flavor === 'openbao' ? '/openbao' : '/vault';
      const compose = fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8');
      assert.match(compose, /network_mode: host/);
      assert.match(compose, new RegExp(`org\\.vault-setup\\.port: "${d.port}"`));
      assert.match(compose, new RegExp(`\\./config:${home}/config:ro`));
      assert.equal(fs.statSync(path.join(d.dir, 'data')).uid, 100);

      // The server answers on its loopback listener, uninitialised.
      const health = await fetch(`${d.address}/v1/sys/seal-status`).then((r) => r.json());
      assert.equal(health.initialized, false);
      assert.equal(health.version, image.split(':')[1]);
      // The host's network, nothing published, and the port listened on by loopback addresses only (API, cluster).
      assert.equal(docker('inspect', '-f', '{{.HostConfig.NetworkMode}}', d.name).trim(), 'host');
      assert.equal(docker('inspect', '-f', '{{json .HostConfig.PortBindings}}', d.name).trim(), '{}');
      const { execFileSync } = await import('node:child_process');
      const listening = execFileSync('ss', ['-Hltn', `sport = :${d.port}`], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/)[3]);
      // (The cluster listener, 127.0.0.2, opens once the server is unsealed.)
      assert.ok(listening.includes(`127.0.0.1:${d.port}`), listening.join(' '));
      assert.deepEqual(listening.filter((a) => !/^127\./.test(a ?? '')), [], 'nothing off loopback');
      // The server process runs as uid 100 and was started by compose (labels).
      assert.match(docker('top', d.name, '-o', 'pid,uid,args'), /^\s*\d+\s+100\s+\/bin\/(bao|vault) server/m);

      const containerId = docker('inspect', '-f', '{{.Id}}', d.name).trim();
      const before = listing(d.dir);
      const mtime = fs.statSync(path.join(d.dir, 'docker-compose.yml')).mtimeMs;
      const second = await runCli(['init', ...d.args(flavor, image), '--deploy-only']);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /Nothing to change/);
      assert.doesNotMatch(second.stderr, /\x1b\[/, 'no colour without a TTY');
      // Without a terminal, one line per step: its outcome, never a start line repeating the title.
      assert.doesNotMatch(second.stderr, /❯/);
      const lines = second.stderr.trim().split('\n');
      assert.equal(lines.length, 7, second.stderr); // engine, image, port, files, ownership, server, API
      for (const line of lines) assert.match(line, /^[✔↓] /, second.stderr);
      assert.equal(docker('inspect', '-f', '{{.Id}}', d.name).trim(), containerId, 'container not recreated');
      assert.equal(fs.statSync(path.join(d.dir, 'docker-compose.yml')).mtimeMs, mtime);
      assert.deepEqual(listing(d.dir), before);

      const status = await runCli(['status', '--dir', d.dir, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const s = status.json();
      assert.equal(s.container.state, 'running');
      assert.equal(s.server.initialized, false);
      assert.equal(s.server.version, image.split(':')[1]);
    });

    it('the server cannot start without the ownership fix, and starts with it', async () => {
      await using d = await testDeployment(`own-${label}`);
      const first = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json']);
      assert.equal(first.code, 0, first.stderr);
      // Back to what a fresh host bind mount looks like: owned by root.
      docker('rm', '-f', d.name);
      fs.rmSync(path.join(d.dir, 'data'), { recursive: true, force: true });
      fs.mkdirSync(path.join(d.dir, 'data'));
      assert.equal(fs.statSync(path.join(d.dir, 'data')).uid, 0);
      const compose = composeV1 ? ['docker-compose'] : ['docker', 'compose'];
      const { execFileSync } = await import('node:child_process');
      execFileSync(compose[0] as string, [...compose.slice(1), '-p', d.name, 'up', '-d'], { cwd: d.dir, stdio: 'ignore' });
      let logs = '';
      for (let i = 0; i < 40 && !/permission denied/i.test(logs); i++) {
        await new Promise((r) => setTimeout(r, 250));
        logs = execFileSync('sh', ['-c', `docker logs ${d.name} 2>&1`], { encoding: 'utf8' });
      }
      assert.match(logs, /permission denied/i, 'without the fix the server cannot write its data dir');
      const answered = await fetch(`${d.address}/v1/sys/health`).then(() => true, () => false);
      assert.equal(answered, false);

      const fixed = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json']);
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.deepEqual(fixed.json().steps.find((s: { id: string }) => s.id === 'ownership'), { id: 'ownership', status: 'done', detail: 'chown -R 100:1000 data logs run' });
      assert.equal(fs.statSync(path.join(d.dir, 'data')).uid, 100);
      const health = await fetch(`${d.address}/v1/sys/seal-status`).then((r) => r.json());
      assert.equal(health.initialized, false);
    });
  });
}

describe('deploy: clear errors that leave files untouched', () => {
  const { flavor, image } = serverImages()[0] as { flavor: string; image: string };

  it('port already taken -> exit 5, nothing written', async () => {
    await using d = await testDeployment('port');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(d.port, '127.0.0.1', r));
    try {
      const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only']);
      assert.equal(run.code, 5, run.stderr);
      assert.match(run.stderr, new RegExp(`port 127\\.0\\.0\\.1:${d.port} is already in use`));
      assert.match(run.stderr, /choose another --port/);
      // The failure is said once, by the error report (no "✖ Check the port" line before it).
      assert.equal(run.stderr.split('\n').filter((l) => l.startsWith('✖')).length, 1, run.stderr);
      assert.deepEqual(listing(d.dir), {});
    } finally {
      blocker.close();
    }
  });

  it('no Docker Engine -> exit 3, nothing written', async () => {
    await using d = await testDeployment('noengine');
    const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /Docker Engine is unreachable/);
    assert.equal(run.json().error.code, 'E_DOCKER_UNREACHABLE');
    assert.deepEqual(listing(d.dir), {});
  });

  it('missing image that cannot be pulled -> exit 4, nothing written', async () => {
    await using d = await testDeployment('noimage');
    const run = await runCli(['init', ...d.args(flavor, 'vault-setup-test/does-not-exist:0.0.0'), '--deploy-only']);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /image vault-setup-test\/does-not-exist:0\.0\.0 is not present and could not be pulled/);
    assert.deepEqual(listing(d.dir), {});
  });

  it('a changed config file -> exit 6 with a diff, file kept; --force replaces it', async () => {
    await using d = await testDeployment('changed');
    assert.equal((await runCli(['init', ...d.args(flavor, image), '--deploy-only'])).code, 0);
    const hcl = path.join(d.dir, 'config', 'vault.hcl');
    const edited = `${fs.readFileSync(hcl, 'utf8')}\n# my local change\n`;
    fs.writeFileSync(hcl, edited);
    const before = listing(d.dir);
    const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only']);
    assert.equal(run.code, 6, run.stderr);
    assert.match(run.stderr, /vault\.hcl differs from what vault-setup would write/);
    assert.match(run.stderr, /^-# my local change$/m);
    assert.match(run.stderr, /--force/);
    assert.deepEqual(listing(d.dir), before);

    const forced = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.doesNotMatch(fs.readFileSync(hcl, 'utf8'), /my local change/);
    assert.equal(forced.json().initialized, false);
  });

  it('a directory that cannot be written -> exit 7', async () => {
    const file = path.join(fs.mkdtempSync('/tmp/vs-notdir-'), 'plain-file');
    fs.writeFileSync(file, '');
    const run = await runCli(['init', '--dir', path.join(file, 'vault'), '--flavor', flavor, '--image', image, '--name', 'vstest-notdir', '--port', String(await freePort()), '--deploy-only']);
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stderr, /is not a directory/);
  });

  it('bad flags are usage errors (exit 2) with one line that says what to do', async () => {
    for (const [args, pattern] of [
      [['init', '--port', 'abc'], /--port must be a whole number/],
      [['init', '--flavor', 'consul'], /--flavor must be one of vault, openbao/],
      [['init', '--storage', 'etcd'], /--storage must be one of raft, file/],
      [['init', '--wait', 'soon'], /--wait: "soon" is not a duration/],
      [['init', '--bogus'], /✖ vault-setup init: unknown option --bogus\n  → see `vault-setup init --help` for its options/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ] as const) {
      const run = await runCli([...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split('\n').length <= 2, true, run.stderr);
    }
  });
});
