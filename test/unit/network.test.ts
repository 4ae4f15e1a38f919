import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { agentComposeSnippet } from '../../src/agents/compose-snippet.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDeployment } from '../../src/deployment.ts';
import { renderCompose, renderServerConfig } from '../../src/services/templates.ts';
import { parseHcl } from '../../src/verify/hcl.ts';
import { hostNetworkExposure, tcpListenAddresses } from '../../src/verify/checks/network.ts';

const config = (port: number) =>
  renderServerConfig({ layout: LAYOUTS.openbao, server: { product: 'openbao', version: '2.7.2', raw: '' }, image: 'x', name: 'n', port, storage: 'raft', tls: false });

describe('host-network listeners', () => {
  it('what init writes: every tcp listener on loopback, nothing exposed', () => {
    const body = parseHcl(config(18200));
    assert.deepEqual(tcpListenAddresses(body), ['127.0.0.1', '127.0.0.2']);
    assert.deepEqual(hostNetworkExposure(body), []);
  });

  it('a listener or cluster listener off loopback is exposed; an unreadable config is too', () => {
    const open = parseHcl(config(18200).replace('"127.0.0.1:18200"', '"0.0.0.0:18200"'));
    assert.deepEqual(hostNetworkExposure(open), ['network_mode: host with a listener on every interface']);
    const cluster = parseHcl(config(18200).replace('"127.0.0.2:18200"', '"192.168.1.5:18200"'));
    assert.deepEqual(hostNetworkExposure(cluster), ['network_mode: host with a listener on 192.168.1.5']);
    const defaulted = parseHcl('listener "tcp" {\n  tls_disable = true\n}\n');
    assert.deepEqual(hostNetworkExposure(defaulted), [], 'no address: the server defaults to 127.0.0.1:8200');
    assert.equal(hostNetworkExposure(undefined).length, 1);
  });
});

describe('agent compose snippet', () => {
  it('mounts run/ read-only, joins the server group, points both clients at the socket', () => {
    const doc = parse(agentComposeSnippet('bot', '/srv/vault dir/run', 1000));
    assert.deepEqual(doc.services.bot.volumes, ['/srv/vault dir/run:/run/vault-setup:ro']);
    assert.deepEqual(doc.services.bot.group_add, ['1000']);
    assert.equal(doc.services.bot.environment.VAULT_ADDR, 'unix:///run/vault-setup/server.sock');
    assert.equal(doc.services.bot.environment.BAO_ADDR, 'unix:///run/vault-setup/server.sock');
  });

  it('the role_id written in; the wrapped secret_id taken from the shell at start, never written; or the --out-dir file mounted', () => {
    const wrapped = parse(agentComposeSnippet('bot', '/srv/vault/run', 1000, 'role-1', { wrapped: true })).services.bot;
    assert.equal(wrapped.environment.VAULT_ROLE_ID, 'role-1');
    assert.equal(wrapped.environment.VAULT_WRAPPED_SECRET_ID, '${VAULT_WRAPPED_SECRET_ID:-}');
    const filed = parse(agentComposeSnippet('bot', '/srv/vault/run', 1000, 'role-1', { file: '/etc/bot/secret_id' })).services.bot;
    assert.deepEqual(filed.volumes, ['/srv/vault/run:/run/vault-setup:ro', '/etc/bot:/run/vault-setup-agent:ro']);
    assert.equal(filed.environment.VAULT_SECRET_ID_FILE, '/run/vault-setup-agent/secret_id');
    assert.equal(filed.environment.VAULT_WRAPPED_SECRET_ID, undefined);
  });
});

describe('the deployment record of a host-network deployment', () => {
  it('port from the label, TLS from the tcp listener (the unix listener is always plain)', async () => {
    for (const tls of [true, false]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-unit-net-'));
      try {
        const spec = { layout: LAYOUTS.openbao, server: { product: 'openbao' as const, version: '2.7.2', raw: '' }, image: 'x', name: 'n', port: 18321, storage: 'raft' as const, tls };
        fs.mkdirSync(path.join(dir, 'config'));
        fs.writeFileSync(path.join(dir, 'docker-compose.yml'), await renderCompose(spec));
        fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), renderServerConfig(spec));
        const record = await loadDeployment(dir);
        assert.equal(record?.port, 18321);
        assert.equal(record?.tls, tls);
        assert.equal(record?.address, `${tls ? 'https' : 'http'}://127.0.0.1:18321`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
