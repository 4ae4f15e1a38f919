// "Bound to 127.0.0.1" must hold against a neighbour. On Docker Engine < 28 (moby#45610) a port
// published on 127.0.0.1 is still reachable at the container's bridge address by a host that routes the bridge
// subnet through this server. The neighbour here is a network namespace of the test's own (test/helpers/netns.ts).
// One OpenBao deployment: the old shape (published port) is reachable and `verify` fails; the shape init writes is
// not reachable and `verify` passes; an agent container reaches the server through the compose service that
// `agent add` prints, with no network at all.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { runCli } from '../helpers/cli.ts';
import { deploy, initAndUnseal, mountKv, putSecret, waitAnswering } from '../helpers/day2.ts';
import { docker, freePort, removeContainers, testDeployment } from '../helpers/deployment.ts';
import { containerIp, hostAddresses, neighbour } from '../helpers/netns.ts';
import { rig } from '../helpers/rig.ts';
import { check } from '../helpers/verify-fixture.ts';

const composeCmd = fs.existsSync('/usr/bin/docker-compose') ? ['docker-compose'] : ['docker', 'compose'];
const compose = (dir: string, project: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', project, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, timeout: 120_000 });

/** Until sys/seal-status answers (the server is up, whatever its state); bounded. */
const answering = (address: string): Promise<void> => waitAnswering({ address });

test('network: the API is out of a neighbour\'s reach, containers on the host still reach it', { timeout: 10 * 60_000 }, async (t) => {
  const image = rig().openbaoImage;
  await using n = neighbour();

  await t.test('control: a plain published port on a throwaway container is reachable at its bridge address', async () => {
    const name = `vstest-netctl-${process.pid}`;
    const port = await freePort();
    try {
      docker('network', 'create', name);
      docker('run', '-d', '--name', name, '--network', name, '-p', `127.0.0.1:${port}:8080`, '--entrypoint', '/bin/busybox', image, 'httpd', '-f', '-p', '8080', '-h', '/etc');
      const ip = containerIp(name);
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual(n.reaches([{ host: ip, port: 8080 }]), [true], `the neighbour should reach ${ip}:8080 (moby#45610 on engines < 28)`);
    } finally {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      execFileSync('docker', ['network', 'rm', name], { stdio: 'ignore' });
    }
  });

  await using d = await testDeployment('net');
  const server = await deploy(d, 'openbao', image);
  const composeFile = path.join(d.dir, 'docker-compose.yml');
  const configFile = path.join(d.dir, 'config', 'vault.hcl');
  const written = { compose: fs.readFileSync(composeFile, 'utf8'), config: fs.readFileSync(configFile, 'utf8') };
  const verify = () => runCli(['verify', '--dir', d.dir, '--json']);

  await t.test('the old shape (a published port on a bridge): reachable from the neighbour, and verify fails', async () => {
    const doc = YAML.parse(written.compose);
    delete doc.services.server.network_mode;
    doc.services.server.ports = [`127.0.0.1:${d.port}:8200`];
    fs.writeFileSync(composeFile, YAML.stringify(doc));
    fs.writeFileSync(configFile, written.config.replace(/address {9}= "127\.0\.0\.1:\d+"/, 'address = "0.0.0.0:8200"'));
    try {
      compose(d.dir, d.name, ['up', '-d']);
      await answering(d.address);
      const ip = containerIp(d.name);
      assert.deepEqual(n.reaches([{ host: ip, port: 8200 }]), [true], `the old shape is reachable at ${ip}:8200`);
      const run = await verify();
      const exposure = check(run, 'exposure');
      assert.equal(exposure.status, 'fail', exposure.finding);
      assert.match(exposure.finding, new RegExp(`reaches the server at .*${ip.replace(/\./g, '\\.')}:8200`));
      assert.match(exposure.fix, /vault-setup init --dir .* --force/);
      // Without root's probe, the port check says it from the engine's version (the rig's is 20.10: before 28).
      const port = check(run, 'port');
      assert.equal(port.status, 'warn', port.finding);
      assert.match(port.finding, new RegExp(`^API published on 127\\.0\\.0\\.1:${d.port} through Docker's bridge: on Docker Engine 2\\d\\.\\S+ \\(before 28, moby#45610\\) a neighbour`));
    } finally {
      fs.writeFileSync(composeFile, written.compose);
      fs.writeFileSync(configFile, written.config);
      compose(d.dir, d.name, ['up', '-d']);
      await answering(d.address);
    }
  });

  await t.test('the shape init writes: nothing answers the neighbour, the host still reaches 127.0.0.1, verify passes', async () => {
    const inspect = JSON.parse(docker('inspect', d.name))[0];
    assert.equal(inspect.HostConfig.NetworkMode, 'host');
    const targets = hostAddresses().flatMap((host) => [d.port, 8200, 8201].map((port) => ({ host, port })));
    assert.ok(targets.length >= 3, 'the host has an address besides loopback');
    const reached = n.reaches(targets);
    assert.deepEqual(targets.filter((_, i) => reached[i]), [], 'no host address answers the neighbour');
    const seal = await fetch(`${server.address}/v1/sys/seal-status`);
    assert.equal(seal.status, 200);
    const run = await verify();
    const exposure = check(run, 'exposure');
    assert.equal(exposure.status, 'pass', exposure.finding);
    assert.match(exposure.finding, /not reachable from a neighbour's network namespace \(\d+ address:port pairs tried\)/);
    assert.equal(check(run, 'port').status, 'pass', check(run, 'port').finding);
  });

  await t.test('an agent container with no network reads its secret through the compose service agent add prints', async () => {
    const init = await initAndUnseal(server);
    await mountKv(server, init.rootToken);
    await putSecret(server, init.rootToken, 'openrouter', { api_key: 'sk-or-net-1' });
    const add = await runCli(['agent', 'add', 'bot', '--secret', 'secret/openrouter', '--dir', d.dir, '--json'], { env: { VAULT_TOKEN: init.rootToken } });
    assert.equal(add.code, 0, add.stderr);
    const out = add.json();
    const snippet = YAML.parse(out.compose_snippet);
    const service = snippet.services.bot;
    assert.deepEqual(service.volumes, [`${path.join(d.dir, 'run')}:/run/vault-setup:ro`]);
    assert.equal(service.environment.BAO_ADDR, 'unix:///run/vault-setup/server.sock');
    assert.deepEqual(service.group_add, ['1000']);
    const human = await runCli(['agent', 'add', 'bot', '--secret', 'secret/openrouter', '--dir', d.dir], { env: { VAULT_TOKEN: init.rootToken } });
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stdout.includes(`A compose service for the agent on this host (it reaches the server through the unix socket):\n${out.compose_snippet}`), human.stdout);

    // The snippet as printed, with an image, a non-root user and no network: the socket is the only way in.
    const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-net-agent-'));
    const project = `${d.name}-agent`;
    // The role_id from the snippet; the wrapped secret_id from the operator's shell, as agent add says.
    assert.equal(service.environment.VAULT_ROLE_ID, out.role_id);
    assert.ok(!out.compose_snippet.includes(out.wrapped_secret_id), 'the wrapping token is not in the snippet');
    const script = [
      'SID=$(BAO_TOKEN="$VAULT_WRAPPED_SECRET_ID" bao unwrap -field=secret_id) || exit 3',
      'TOKEN=$(printf \'{"role_id":"%s","secret_id":"%s"}\' "$VAULT_ROLE_ID" "$SID" | bao write -field=token auth/approle/login -) || exit 4',
      'BAO_TOKEN="$TOKEN" bao kv get -field=api_key secret/openrouter',
    ].join('\n');
    snippet.services.bot = { ...service, image, user: '65534', network_mode: 'none', entrypoint: ['/bin/sh', '-c', script.replace(/\$/g, '$$$$')], environment: { ...service.environment, HOME: '/tmp' } };
    fs.writeFileSync(path.join(agentDir, 'docker-compose.yml'), YAML.stringify(snippet));
    try {
      const read = compose(agentDir, project, ['run', '--rm', '-T', 'bot'], { VAULT_WRAPPED_SECRET_ID: out.wrapped_secret_id });
      assert.equal(read.trim(), 'sk-or-net-1');
      // Without the server's group the socket refuses the same container.
      const denied = { ...snippet.services.bot, group_add: [] };
      fs.writeFileSync(path.join(agentDir, 'docker-compose.yml'), YAML.stringify({ services: { bot: denied } }));
      assert.throws(() => compose(agentDir, project, ['run', '--rm', '-T', 'bot'], { VAULT_WRAPPED_SECRET_ID: 'x' }), /permission denied/);
    } finally {
      removeContainers(project);
      fs.rmSync(agentDir, { recursive: true, force: true });
    }
  });
});
