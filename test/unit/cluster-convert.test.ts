// `cluster convert`'s plain part: which deployments it takes, what their files become (init --advertise's), raft's
// recovery file for the node's new address, and the check that the converted node leads there.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConvertState, convertVerdict, leaderProblems, peersJson, plannedConfigFiles, raftAddressStep } from '../../src/cluster/convert-plan.ts';
import { LAYOUTS } from '../../src/config/flavor.ts';
import type { DeploymentRecordFile } from '../../src/deployment/record.ts';
import { type DeploymentSpec, renderCompose, renderServerConfig } from '../../src/services/templates.ts';

const record = (over: Partial<DeploymentRecordFile> = {}): DeploymentRecordFile => ({
  format: 1, flavor: 'openbao', image: 'openbao/openbao:2.7.2', server: 'OpenBao v2.7.2', name: 'openbao', port: 8200, storage: 'raft', nodeId: 'openbao-1', tls: 'self-signed',
  catalog: null, app: 'openclaw', shares: 5, threshold: 3, agents: [], grants: [], skippedFields: [], ...over,
});

const single = (tls: boolean): DeploymentSpec => ({ layout: LAYOUTS.openbao, server: { product: 'openbao', version: '2.7.2', raw: 'OpenBao v2.7.2' }, image: 'openbao/openbao:2.7.2', name: 'openbao', port: 8200, storage: 'raft', tls });
const first = (advertise = '10.0.0.1'): DeploymentSpec => ({ ...single(true), cluster: { advertise, nodeId: 'openbao-1', join: [] } });

describe('cluster convert: which deployments', () => {
  it('a raft single node, with or without self-signed TLS: go', () => {
    assert.deepEqual(convertVerdict(record(), '10.0.0.1', '/d', undefined), { kind: 'go' });
    assert.deepEqual(convertVerdict(record({ tls: 'off' }), '10.0.0.1', '/d', undefined), { kind: 'go' });
  });
  it('file storage: migrate first; the operator\'s own certificate: refused', () => {
    const file = convertVerdict(record({ storage: 'file' }), '10.0.0.1', '/d', undefined);
    assert.equal(file.kind === 'refuse' && file.code, 'usage');
    assert.match(file.kind === 'refuse' ? file.hint : '', /^move it to raft first: vault-setup migrate --storage raft --dir \/d/);
    assert.equal(convertVerdict(record({ tls: 'files' }), '10.0.0.1', '/d', undefined).kind, 'refuse');
  });
  it('already a cluster node: nothing to do on the same address, refused on another', () => {
    const cluster = { advertise: '10.0.0.1', nodes: [{ id: 'openbao-1', api: 'https://10.0.0.1:8200' }] };
    assert.equal(convertVerdict(record({ tls: 'cluster', cluster }), '10.0.0.1', '/d', undefined).kind, 'nothing');
    const other = convertVerdict(record({ tls: 'cluster', cluster }), '10.0.0.9', '/d', undefined);
    assert.equal(other.kind === 'refuse' && other.code, 'cluster');
  });
  it('an interrupted conversion is finished on its own address first', () => {
    const state: ConvertState = { advertise: '10.0.0.1', stage: 'files', tlsBefore: 'self-signed', at: '2026-01-01T00:00:00.000Z' };
    assert.deepEqual(convertVerdict(record(), '10.0.0.1', '/d', state), { kind: 'go' });
    const other = convertVerdict(record(), '10.0.0.2', '/d', state);
    assert.match(other.kind === 'refuse' ? other.hint : '', /cluster convert --advertise 10\.0\.0\.1 --dir \/d \(it resumes\)/);
  });
});

describe('cluster convert: the files', () => {
  it('a self-signed node: only vault.hcl changes, to exactly what init --advertise writes', async () => {
    const files = await plannedConfigFiles(first(), { compose: await renderCompose(single(true)), config: renderServerConfig(single(true)) });
    assert.deepEqual(files.map((f) => f.name), ['config/vault.hcl']);
    assert.equal(files[0]?.after, renderServerConfig(first()));
    assert.match(files[0]?.diff ?? '', /^\+ {2}cluster_address = "10\.0\.0\.1:8201"$/m);
    assert.match(files[0]?.diff ?? '', /^-cluster_addr = "https:\/\/127\.0\.0\.2:8200"$/m);
  });
  it('a plain-http node: the compose file too (https address, the CA for the server\'s own CLI)', async () => {
    const files = await plannedConfigFiles(first(), { compose: await renderCompose(single(false)), config: renderServerConfig(single(false)) });
    assert.deepEqual(files.map((f) => f.name), ['docker-compose.yml', 'config/vault.hcl']);
    assert.equal(files[0]?.after, await renderCompose(first()));
  });
  it('converted already: nothing to write', async () => {
    assert.deepEqual(await plannedConfigFiles(first(), { compose: await renderCompose(first()), config: renderServerConfig(first()) }), []);
  });
});

describe('cluster convert: raft\'s address', () => {
  const server = (address: string, over: Partial<{ node_id: string; leader: boolean }> = {}) => ({ node_id: 'openbao-1', address, leader: true, voter: true, ...over });
  it('peers.json names the node at its cluster port on the private address (IPv6 in brackets)', () => {
    assert.deepEqual(JSON.parse(peersJson('openbao-1', '10.0.0.1', 8200)), [{ id: 'openbao-1', address: '10.0.0.1:8201', non_voter: false }]);
    assert.equal(JSON.parse(peersJson('n', 'fd00::1', 8200))[0].address, '[fd00::1]:8201');
  });
  it('moved when raft has the loopback address, kept when it has the new one, refused for anything but this one node', () => {
    assert.deepEqual(raftAddressStep([server('127.0.0.2:8200')], 'openbao-1', '10.0.0.1', 8200), { kind: 'move' });
    assert.deepEqual(raftAddressStep([server('10.0.0.1:8201')], 'openbao-1', '10.0.0.1', 8200), { kind: 'kept' });
    assert.equal(raftAddressStep([server('10.0.0.1:8201'), server('10.0.0.2:8201', { node_id: 'b' })], 'openbao-1', '10.0.0.1', 8200).kind, 'refuse');
    assert.equal(raftAddressStep([server('127.0.0.2:8200', { node_id: 'other' })], 'openbao-1', '10.0.0.1', 8200).kind, 'refuse');
  });
  it('after the change: the node leads with its API and cluster port on the private address', () => {
    const leader = { is_self: true, leader_address: 'https://10.0.0.1:8200', leader_cluster_address: 'https://10.0.0.1:8201' };
    assert.deepEqual(leaderProblems({ servers: [server('10.0.0.1:8201')], leader }, 'openbao-1', '10.0.0.1', 8200), []);
    assert.deepEqual(leaderProblems({ servers: [server('127.0.0.2:8200', { leader: false })], leader: { ...leader, leader_address: 'https://127.0.0.1:8200' } }, 'openbao-1', '10.0.0.1', 8200), [
      'openbao-1 is not raft\'s leader',
      'raft names openbao-1 at 127.0.0.2:8200, not 10.0.0.1:8201',
      'sys/leader: the API address is https://127.0.0.1:8200, not https://10.0.0.1:8200',
    ]);
  });
});
