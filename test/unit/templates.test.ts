import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, test } from 'node:test';
import { parse } from 'yaml';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { composeData, renderCompose, renderServerConfig, renderTemplate, type DeploymentSpec } from '../../src/services/templates.ts';
import { ROOT } from '../helpers/rig.ts';

const spec = (over: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
  layout: LAYOUTS.vault,
  server: { product: 'vault', version: '1.21.4', raw: 'Vault v1.21.4' },
  image: 'hashicorp/vault:1.21',
  name: 'vault',
  port: 8200,
  storage: 'raft',
  tls: false,
  ...over,
});

describe('vault.hcl', () => {
  it('raft needs a cluster_addr that is not 0.0.0.0', () => {
    const hcl = renderServerConfig(spec());
    assert.match(hcl, /storage "raft"/);
    assert.match(hcl, /cluster_addr = "http:\/\/127\.0\.0\.2:8200"/);
    assert.match(hcl, /tls_disable = true/);
    assert.doesNotMatch(hcl, /\{\{|\}\}/);
  });

  it('Vault gets disable_mlock = true and no audit stanza; OpenBao the reverse', () => {
    const vault = renderServerConfig(spec());
    assert.match(vault, /disable_mlock = true/);
    assert.doesNotMatch(vault, /audit "file"/);
    const bao = renderServerConfig(spec({ layout: LAYOUTS.openbao, server: { product: 'openbao', version: '2.7.2', raw: '' } }));
    assert.doesNotMatch(bao, /disable_mlock/);
    assert.match(bao, /audit "file" "file"/);
    assert.match(bao, /file_path = "\/openbao\/logs\/audit\.log"/);
  });

  it('raft timing: performance_multiplier 1 by default, --raft-multiplier overrides it, file storage has none', () => {
    assert.match(renderServerConfig(spec()), /^  performance_multiplier = 1$/m);
    assert.match(renderServerConfig(spec({ raftMultiplier: 5 })), /^  performance_multiplier = 5$/m);
    assert.doesNotMatch(renderServerConfig(spec({ server: { product: 'openbao', version: '2.6.2', raw: '' }, storage: 'file' })), /performance_multiplier/);
  });

  it('the layout decides the paths, the server decides the behaviour', () => {
    const hcl = renderServerConfig(spec({ server: { product: 'openbao', version: '2.6.2', raw: '' }, storage: 'file' }));
    assert.match(hcl, /storage "file" \{\n  path = "\/vault\/data"/);
    assert.match(hcl, /file_path = "\/vault\/logs\/audit\.log"/);
  });

  it('template values are escaped as HCL strings', () => {
    assert.equal(renderTemplate('x = "{{v}}"', { v: 'a"b\\c' }), 'x = "a\\"b\\\\c"');
    assert.throws(() => renderTemplate('{{missing}}', {}), /missing/);
  });
});

describe('docker-compose.yml', () => {
  it('host network with loopback listeners and a unix socket, config read-only, restarts unless stopped', async () => {
    const doc = parse(await renderCompose(spec({ port: 18200 })));
    const service = doc.services.server;
    assert.equal(service.ports, undefined);
    assert.equal(service.network_mode, 'host');
    assert.equal(service.labels['org.vault-setup.port'], '18200');
    assert.ok(service.volumes.includes('./run:/vault/run'));
    const hcl = renderServerConfig(spec({ port: 18200 }));
    assert.match(hcl, /listener "tcp" \{\n  address {9}= "127\.0\.0\.1:18200"\n  cluster_address = "127\.0\.0\.2:18200"/);
    assert.match(hcl, /listener "unix" \{\n  address {6}= "\/vault\/run\/server\.sock"/);
    assert.match(hcl, /socket_user  = "100"\n  socket_group = "1000"/);
    assert.match(hcl, /api_addr = "http:\/\/127\.0\.0\.1:18200"/);
    assert.ok(service.volumes.includes('./config:/vault/config:ro'));
    assert.ok(service.volumes.includes('./data:/vault/data'));
    assert.equal(service.restart, 'unless-stopped');
    assert.deepEqual(service.command, ['server', '-config=/vault/config/vault.hcl']);
    assert.equal(service.environment.VAULT_ADDR, 'http://127.0.0.1:18200');
    assert.equal(composeData(spec({ layout: LAYOUTS.openbao })).services !== undefined, true);
  });

  it('the reference copies under compose/ match what the code renders', async () => {
    for (const flavor of ['vault', 'openbao'] as const) {
      const s = flavor === 'vault' ? spec() : spec({ layout: LAYOUTS.openbao, server: { product: 'openbao', version: '2.7.2', raw: 'OpenBao v2.7.2' }, image: LAYOUTS.openbao.defaultImage, name: 'openbao' });
      assert.equal(readFileSync(`${ROOT}compose/${flavor}/docker-compose.yml`, 'utf8'), await renderCompose(s), `compose/${flavor}/docker-compose.yml is stale: run scripts/node scripts/reference-files.ts`);
      assert.equal(readFileSync(`${ROOT}compose/${flavor}/config/vault.hcl`, 'utf8'), renderServerConfig(s), `compose/${flavor}/config/vault.hcl is stale`);
    }
  });
});

test('the server version from `IMAGE version`: with a commit, without one (a comma follows), and a pre-release', async () => {
  const { parseVersionOutput } = await import('../../src/services/docker.ts');
  assert.deepEqual(parseVersionOutput('Vault v1.17.6 (69a720d5d940bfcd590d7c24f3c98f178673d796), built 2024-09-24T19:48:40Z'), { product: 'vault', version: '1.17.6', raw: 'Vault v1.17.6' });
  assert.deepEqual(parseVersionOutput('Vault v1.21.4, built 2026-03-05T01:40:05Z')?.version, '1.21.4');
  assert.deepEqual(parseVersionOutput('OpenBao v2.7.2 (abc), built 2026-01-01')?.version, '2.7.2');
  assert.deepEqual(parseVersionOutput('OpenBao v2.8.0-beta1, built 2026-01-01')?.version, '2.8.0-beta1');
});
