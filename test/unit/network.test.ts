import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { agentComposeSnippet } from '../../src/agents/compose-snippet.ts';
import { renderServerConfig } from '../../src/services/templates.ts';
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
});
