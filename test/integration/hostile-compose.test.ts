// docker-compose.yml and config/vault.hcl edited by hand next to a real, running server: every way compose lets
// one write the API's port leads status and verify to that server; what cannot be read is one clear error (or, in
// verify, a failed check that says why), never a crash or a connection to the wrong port.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { rig } from '../helpers/rig.ts';
import { deploy } from '../helpers/server.ts';

const check = (run: { json(): any }, id: string) => (run.json().checks as { id: string; status: string; finding: string }[]).find((c) => c.id === id);

describe('hand-written compose and HCL (OpenBao 2.7)', () => {
  it('status and verify read every port syntax; unreadable files are clear errors', { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment('hc');
    await deploy(d, 'openbao', rig().openbaoImage);
    const composeFile = path.join(d.dir, 'docker-compose.yml');
    const original = fs.readFileSync(composeFile, 'utf8');
    const service = (ports: string) =>
      `# edited by hand\nx-common: &common\n  restart: unless-stopped\n  image: ${rig().openbaoImage}\nservices:\n  server:\n    <<: *common\n    container_name: ${d.name}\n    ports:\n${ports}`;

    const readable: [string, string, 'pass' | 'fail'][] = [
      ['long syntax, published as a number', `      - { target: 8200, published: ${d.port}, host_ip: 127.0.0.1, protocol: tcp }\n`, 'pass'],
      ['long syntax, published as a string', `      - target: 8200\n        published: "${d.port}"\n        host_ip: 127.0.0.1\n`, 'pass'],
      ['long syntax, host_ip missing (every interface)', `      - { target: 8200, published: ${d.port} }\n`, 'fail'],
      ['short syntax, quoted, after the cluster port', `      - "127.0.0.1:8201:8201"\n      - "127.0.0.1:${d.port}:8200"\n`, 'pass'],
      ['short syntax, bare, with /tcp', `      - 127.0.0.1:${d.port}:8200/tcp\n`, 'pass'],
      ['short syntax without a host IP (every interface)', `      - ${d.port}:8200\n`, 'fail'],
    ];
    for (const [name, ports, portCheck] of readable) {
      await t.test(name, async () => {
        fs.writeFileSync(composeFile, service(ports));
        const status = await runCli(['status', '--dir', d.dir, '--json']);
        assert.equal(status.code, 0, status.stderr);
        assert.equal(status.json().address, d.address);
        assert.equal(status.json().server.reachable, true, 'status reached the server through the hand-written port');
        assert.equal(status.json().container.state, 'running');
        const verify = await runCli(['verify', '--dir', d.dir, '--json']);
        assert.equal(check(verify, 'compose-file')?.status, 'pass');
        assert.equal(check(verify, 'port')?.status, portCheck, check(verify, 'port')?.finding);
        if (portCheck === 'fail') assert.match(check(verify, 'port')?.finding ?? '', /0\.0\.0\.0 \(all interfaces\).*reachable from the network/);
      });
    }

    await t.test('a port compose fills in (${PORT}) or picks (no host port): a clear error, and --addr still works', async () => {
      for (const ports of ['      - "127.0.0.1:${VAULT_PORT:-8200}:8200"\n', '      - "8200"\n', '      - 8200\n']) {
        fs.writeFileSync(composeFile, service(ports));
        const status = await runCli(['status', '--dir', d.dir, '--json']);
        assert.equal(status.code, 2, status.stderr);
        assert.match(status.json().error.message, /docker-compose\.yml: cannot tell which host port publishes the API \(ports: /);
        assert.match(status.json().error.hint, /--addr URL/);
        const byAddr = await runCli(['status', '--dir', d.dir, '--addr', d.address, '--json']);
        assert.equal(byAddr.code, 0, byAddr.stderr);
        assert.equal(byAddr.json().server.reachable, true);
        const verify = await runCli(['verify', '--dir', d.dir, '--addr', d.address, '--json']);
        assert.equal(check(verify, 'compose-file')?.status, 'pass', 'the file itself parses');
        assert.equal(check(verify, 'port')?.status, 'fail', 'a port on every interface');
      }
    });

    await t.test('malformed YAML: status says which file and why; verify fails the compose check and goes on', async () => {
      for (const text of ['services:\n  server:\n    image: x\n   ports: [\n', 'services:\n  server:\n    image: x\n  server:\n    image: y\n', 'services:\n\t- tab']) {
        fs.writeFileSync(composeFile, text);
        const status = await runCli(['status', '--dir', d.dir, '--json']);
        assert.equal(status.code, 2, status.stderr);
        assert.match(status.json().error.message, new RegExp(`^${composeFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid YAML \\(.+\\)$`));
        assert.doesNotMatch(status.stderr, /internal error|\n\s+at /, 'no stack trace');
        const verify = await runCli(['verify', '--dir', d.dir, '--addr', d.address, '--json']);
        assert.equal(verify.code, 13, verify.stderr);
        assert.equal(check(verify, 'compose-file')?.status, 'fail');
        assert.match(check(verify, 'compose-file')?.finding ?? '', /is not valid YAML/);
        assert.equal(check(verify, 'api')?.status, 'pass', 'the other checks still ran');
      }
    });

    await t.test('hand-edited vault.hcl: an unreadable one fails the config check with its line', async () => {
      fs.writeFileSync(composeFile, original);
      const hcl = path.join(d.dir, 'config', 'vault.hcl');
      const before = fs.readFileSync(hcl, 'utf8');
      try {
        fs.writeFileSync(hcl, `${before}\nlistener "tcp" {\n  address = "0.0.0.0:8300"\n  tls_disable = \n}\n`);
        const verify = await runCli(['verify', '--dir', d.dir, '--json']);
        assert.equal(check(verify, 'config-file')?.status, 'fail');
        assert.match(check(verify, 'config-file')?.finding ?? '', /vault\.hcl does not parse \(line \d+: expected a value\)/);
        fs.writeFileSync(hcl, `${before}\n# by hand\nlistener "tcp" {\n  address     = "0.0.0.0:8300"\n  tls_disable = "true"\n}\n`);
        const again = await runCli(['verify', '--dir', d.dir, '--json']);
        assert.equal(check(again, 'config-file')?.status, 'pass');
        assert.match(check(again, 'config-file')?.finding ?? '', /3 listeners/, 'tcp and unix as written, and the one added by hand');
      } finally {
        fs.writeFileSync(hcl, before);
      }
    });
  });
});
