// The cluster's pure parts: a node's vault.hcl, the quorum rule of `cluster remove`, what autopilot's figures mean,
// and --advertise's refusals.
import { runInProcess } from '../helpers/in-process.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAdvertise } from '../../src/cluster/advertise.ts';
import { type ClusterView, apiFromClusterAddress, removalVerdict, seconds } from '../../src/cluster/members.ts';
import { statusText } from '../../src/commands/cluster.ts';
import { mergeClusterNodes, pendingNodes } from '../../src/cluster/node-list.ts';
import { LAYOUTS } from '../../src/config/flavor.ts';
import { parseRecord } from '../../src/deployment/record.ts';
import { renderServerConfig } from '../../src/services/templates.ts';
import { privateOrLoopback } from '../../src/verify/checks/cluster.ts';
import { hostNetworkExposure } from '../../src/verify/checks/network.ts';
import { parseHcl } from '../../src/verify/hcl.ts';

const node = (over: Partial<{ join: string[] }> = {}) =>
  renderServerConfig({
    layout: LAYOUTS.openbao,
    server: { product: 'openbao', version: '2.7.2', raw: 'OpenBao v2.7.2' },
    image: 'openbao/openbao:2.7.2',
    name: 'openbao',
    port: 8200,
    storage: 'raft',
    tls: true,
    cluster: { advertise: '10.0.0.2', nodeId: 'openbao-10-0-0-2', join: over.join ?? ['https://10.0.0.1:8200', 'https://10.0.0.3:8200'] },
  });

describe('a cluster node\'s vault.hcl', () => {
  it('API on loopback and the private address, the cluster port on the private address, TLS on both, retry_join with the CA', () => {
    const hcl = node();
    assert.match(hcl, /listener "tcp" \{\n {2}address {9}= "127\.0\.0\.1:8200"\n {2}cluster_address = "127\.0\.0\.2:8200"/);
    assert.match(hcl, /listener "tcp" \{\n {2}address {9}= "10\.0\.0\.2:8200"\n {2}cluster_address = "10\.0\.0\.2:8201"\n {2}tls_cert_file/);
    assert.match(hcl, /api_addr = "https:\/\/10\.0\.0\.2:8200"/);
    assert.match(hcl, /cluster_addr = "https:\/\/10\.0\.0\.2:8201"/);
    assert.match(hcl, /node_id = "openbao-10-0-0-2"/);
    assert.equal(hcl.match(/retry_join \{/g)?.length, 2);
    assert.match(hcl, /leader_api_addr {5}= "https:\/\/10\.0\.0\.3:8200"\n {4}leader_ca_cert_file = "\/openbao\/config\/tls\/ca\.crt"/);
    assert.doesNotMatch(hcl, /tls_disable = true\n\}\n\n# The cluster/);
    assert.doesNotMatch(hcl, /\{\{|\}\}|0\.0\.0\.0:/);
  });

  it('the first node has no retry_join', () => {
    assert.doesNotMatch(node({ join: [] }), /retry_join/);
  });
});

const view = (nodes: { id: string; voter?: boolean; healthy?: boolean | null; status?: string }[]): ClusterView => ({
  nodes: nodes.map((n, i) => ({ id: n.id, address: `10.0.0.${i + 1}:8201`, api: `https://10.0.0.${i + 1}:8200`, voter: n.voter ?? true, leader: i === 0, healthy: n.healthy ?? true, lastContact: 0, status: n.status ?? null, version: null })),
  leader: nodes[0]?.id ?? null,
  voters: nodes.filter((n) => n.voter !== false).length,
  failureTolerance: null,
  autopilot: { healthy: null, optimisticFailureTolerance: null },
});

describe('cluster remove: quorum', () => {
  it('never the last voter', () => {
    const v = removalVerdict(view([{ id: 'a' }]), 'a');
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.lastVoter, true);
  });
  it('a dead node of three: two healthy voters remain, a quorum of two', () => {
    assert.deepEqual(removalVerdict(view([{ id: 'a' }, { id: 'b' }, { id: 'c', healthy: false }]), 'c'), { ok: true });
  });
  it('a healthy node while another is down: one healthy voter of two remains, no quorum', () => {
    const v = removalVerdict(view([{ id: 'a' }, { id: 'b' }, { id: 'c', healthy: false }]), 'b');
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /1 healthy voter of 2 would remain \(not healthy: c\); raft needs 2/);
    const probed = removalVerdict(view([{ id: 'a' }, { id: 'b' }, { id: 'c', healthy: false, status: 'unreachable' }]), 'b');
    assert.match(!probed.ok ? probed.reason : '', /\(not healthy: c \(unreachable\)\)/);
  });
  it('a non-voter is always removable', () => {
    assert.deepEqual(removalVerdict(view([{ id: 'a' }, { id: 'n', voter: false }]), 'n'), { ok: true });
  });
});

describe('autopilot figures and addresses', () => {
  it('durations in seconds; the API one port below the cluster port', () => {
    assert.equal(seconds('1.5s'), 1.5);
    assert.equal(seconds('350ms'), 0.35);
    assert.equal(seconds('2m3s'), 123);
    assert.equal(seconds('0s'), 0);
    assert.equal(apiFromClusterAddress('10.0.0.2:8201'), 'https://10.0.0.2:8200');
    assert.equal(apiFromClusterAddress('[fd00::2]:8201'), 'https://[fd00::2]:8200');
  });
  it('--advertise refuses wildcards, loopback and names', () => {
    assert.equal(checkAdvertise('10.0.0.1'), '10.0.0.1');
    for (const bad of ['0.0.0.0', '::', '127.0.0.1', '::1', 'vault.internal', '10.0.0.1:8200']) assert.throws(() => checkAdvertise(bad), /--advertise/);
  });
});

describe('verify on a cluster node', () => {
  it('the private address is the cluster\'s way in, any other non-loopback listener is exposure', () => {
    const body = parseHcl(node());
    assert.deepEqual(hostNetworkExposure(body, '10.0.0.2'), []);
    assert.deepEqual([...new Set(hostNetworkExposure(body))], ['network_mode: host with a listener on 10.0.0.2']);
  });
  it('private and loopback addresses; wildcards and public ones are not', () => {
    for (const ok of ['10.0.0.2', '172.16.0.1', '192.168.1.5', '100.100.1.1', '127.0.0.2', 'fd00::2', '::1']) assert.equal(privateOrLoopback(ok), true, ok);
    for (const bad of ['0.0.0.0', '203.0.113.5', '8.8.8.8', '172.32.0.1', '::', '2001:db8::1']) assert.equal(privateOrLoopback(bad), false, bad);
  });
});

describe('the record of a cluster node', () => {
  const base = { format: 1, flavor: 'openbao', image: 'openbao/openbao:2.7.2', server: 'OpenBao v2.7.2', name: 'openbao', port: 8200, storage: 'raft', nodeId: 'openbao-1', tls: 'cluster' };
  it('keeps the private address and the nodes', () => {
    const cluster = { advertise: '10.0.0.1', nodes: [{ id: 'openbao-1', api: 'https://10.0.0.1:8200' }] };
    assert.deepEqual(parseRecord(JSON.stringify({ ...base, cluster }), '/d/vault-setup.json').cluster, cluster);
  });
  it('a node without an https address is one line naming the field', () => {
    assert.throws(() => parseRecord(JSON.stringify({ ...base, cluster: { advertise: '10.0.0.1', nodes: [{ id: 'a', api: 'http://10.0.0.1:8200' }] } }), '/d/vault-setup.json'), /field "cluster\.nodes\[0\]\.api" must be an https:\/\/ address/);
  });
});

describe("the cluster's node list", () => {
  const n = (id: string, host: string) => ({ id, api: `https://${host}:8200` });
  const cert = (id: string, host: string, issuedAt: number, serial = `${id}-${issuedAt}`) => ({ ...n(id, host), serial, issuedAt });
  it('pending: one row per node id however many certificates a retried join left, the newest address; members are not pending', () => {
    const issued = [cert('a', '10.0.0.1', 1), cert('c', '10.0.0.3', 5), cert('b', '10.0.0.2', 1), cert('c', '10.0.0.9', 9), cert('c', '10.0.0.4', 7)];
    assert.deepEqual(pendingNodes(issued, [{ id: 'a' }]), [n('b', '10.0.0.2'), n('c', '10.0.0.9')]);
    assert.deepEqual(pendingNodes(issued, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]), []);
  });
  it('merging: the nodes a host did not know are learned, the ones the cluster no longer has are dropped, the cluster\'s word is the new list', () => {
    const known = [n('a', '10.0.0.1'), n('old', '10.0.0.3')];
    const merged = mergeClusterNodes(known, [n('a', '10.0.0.1'), n('b', '10.0.0.2')], [n('c', '10.0.0.4'), n('b', '10.0.0.2')]);
    assert.deepEqual(merged.nodes, [n('a', '10.0.0.1'), n('b', '10.0.0.2'), n('c', '10.0.0.4')]);
    assert.deepEqual(merged.learned, [n('b', '10.0.0.2'), n('c', '10.0.0.4')]);
    assert.deepEqual(merged.dropped, [n('old', '10.0.0.3')]);
  });
  it('merging: a host that knew every node learns and drops nothing', () => {
    const known = [n('a', '10.0.0.1'), n('b', '10.0.0.2')];
    assert.deepEqual(mergeClusterNodes(known, known, []), { nodes: known, learned: [], dropped: [] });
  });
});

describe('cluster status text', () => {
  it('counts in words that agree; a node raft lists as a voter before autopilot promotes it is "joining"', () => {
    assert.match(statusText(view([{ id: 'a' }])), /^1 node, 1 voter, leader a, failure tolerance \?$/m);
    const v = view([{ id: 'a' }, { id: 'b', status: 'non-voter' }]);
    const text = statusText(v);
    assert.match(text, /^2 nodes, 2 voters, leader a, failure tolerance \? \(1 joining: autopilot makes it a voter once healthy for 10s; the tolerance counts it then\)$/m);
    assert.match(text, /^ {4}b +https:\/\/10\.0\.0\.2:8200 +joining /m);
  });
});

describe('unseal --cluster: who signs in, refused before anything is asked', () => {
  it('--stdin with an operator login and no terminal for its password: exit 15, the way that works named', async () => {
    const run = await runInProcess(['unseal', '--cluster', '--stdin', '--operator', 'admin', '--dir', '/nonexistent/vault-setup-test']);
    assert.equal(run.code, 15, run.stderr);
    assert.match(run.stderr, /--stdin carries the shares, and there is no terminal to ask the password of the operator login admin/);
    assert.match(run.stderr, /--token-file FILE/);
    const both = await runInProcess(['unseal', '--cluster', '--stdin', '--operator', 'admin', '--password-stdin', '--dir', '/nonexistent/vault-setup-test']);
    assert.equal(both.code, 2, both.stderr);
  });
});
