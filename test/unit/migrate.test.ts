// migrate's pure parts: the storage block rewrite (playbook and vault-setup hcl), the cluster address, the reading of
// the binary's refusal, and the comparison of what was listed before and after.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterAddrFor, fileStorageBlock, migrateConfig, raftConfig, refusesFileStorage } from '../../src/migrate/host.ts';
import { compareInventories, describeDifference, isSame } from '../../src/migrate/inventory.ts';

// config/vault.hcl exactly as the playbook writes it.
const PLAYBOOK = 'storage "file" {\n  path = "/vault/data"\n}\n\nlistener "tcp" {\n  address     = "0.0.0.0:8200"\n  tls_disable = 1\n}\n\napi_addr = "http://127.0.0.1:8200"\n\nui = true\n\ndisable_mlock = true\n';

describe('migrate: vault.hcl', () => {
  it('finds the file block and its path', () => {
    const block = fileStorageBlock(PLAYBOOK);
    assert.equal(block?.path, '/vault/data');
    assert.equal(PLAYBOOK.slice(block!.start, block!.end), 'storage "file" {\n  path = "/vault/data"\n}\n');
    assert.equal(fileStorageBlock('storage "raft" {\n  path = "/x"\n}\n'), undefined);
  });

  it('replaces file storage by raft at the same path, keeps the rest, adds cluster_addr once', () => {
    const out = raftConfig(PLAYBOOK, { nodeId: 'vault-1', clusterAddr: 'http://127.0.0.1:8201', dataPath: '/vault/data' });
    assert.match(out, /^storage "raft" \{\n  path    = "\/vault\/data"\n  node_id = "vault-1"\n[\s\S]*  performance_multiplier = 1\n\}\n/);
    assert.match(out, /\ncluster_addr = "http:\/\/127\.0\.0\.1:8201"\n/);
    assert.doesNotMatch(out, /storage "file"/);
    assert.ok(out.endsWith(PLAYBOOK.slice(fileStorageBlock(PLAYBOOK)!.end)), 'everything after the block is as it was');
    const withAddr = raftConfig(`${PLAYBOOK}cluster_addr = "https://10.0.0.1:8201"\n`, { nodeId: 'n', clusterAddr: 'http://x:1', dataPath: '/vault/data' });
    assert.equal(withAddr.match(/cluster_addr/g)?.length, 1);
  });

  it('a vault-setup deployment migrated reads exactly as init writes one on raft', async () => {
    const { LAYOUTS } = await import('../../src/config/flavor.ts');
    const { renderServerConfig, clusterListen } = await import('../../src/services/templates.ts');
    for (const [flavor, product] of [['vault', 'vault'], ['openbao', 'openbao'], ['vault', 'openbao']] as const) {
      const spec = { layout: LAYOUTS[flavor], server: { product, version: '2.6.2', raw: 'x' }, image: 'i', name: 'vault', port: 8200, tls: false };
      const onFile = renderServerConfig({ ...spec, storage: 'file' });
      const migrated = raftConfig(onFile, { nodeId: 'vault-1', clusterAddr: clusterAddrFor(onFile, 8200, false), dataPath: fileStorageBlock(onFile)!.path! });
      assert.equal(migrated, renderServerConfig({ ...spec, storage: 'raft' }));
      assert.equal(clusterAddrFor(onFile, 8200, false), `http://${clusterListen(8200)}`);
    }
  });

  it('the cluster address: the listener\'s cluster_address, else the API port + 1 on loopback', () => {
    assert.equal(clusterAddrFor(PLAYBOOK, 8200, false), 'http://127.0.0.1:8201');
    assert.equal(clusterAddrFor('listener "tcp" {\n  address = "127.0.0.1:8300"\n  cluster_address = "127.0.0.2:8300"\n}\n', 8300, true), 'https://127.0.0.2:8300');
  });

  it('the one-shot configuration reads data/ and writes beside it', () => {
    const text = migrateConfig('vault-1', 'http://127.0.0.2:8200');
    assert.match(text, /storage_source "file" \{\n  path = "\/deployment\/data"\n\}/);
    assert.match(text, /storage_destination "raft" \{\n  path    = "\/deployment\/data\.raft\.tmp"/);
  });
});

describe('migrate: what the binary answers', () => {
  it('a missing file backend, in the servers\' words, is a refusal; other failures are not', () => {
    assert.equal(refusesFileStorage('Error migrating: error mounting \'storage_source\': no Vault storage backend named: "file"'), true);
    assert.equal(refusesFileStorage('Error migrating: error mounting \'storage_destination\': failed to create fsm: failed to open bolt file: timeout'), false);
    assert.equal(refusesFileStorage('Error migrating: error mounting \'storage_source\': no Vault storage backend named: "consul"'), false);
  });
});

describe('migrate: before and after', () => {
  const before = { keys: ['secret/a@1', 'secret/b/c@2'], policies: ['app', 'default', 'root'], accessors: 3 };
  it('the same names, values and count are the same', () => {
    const d = new Map([['secret/a@1', 'x'], ['secret/b/c@2', 'y']]);
    assert.equal(isSame(compareInventories(before, { ...before }, d, new Map(d))), true);
  });
  it('a missing key, a changed value and a lost token are each named', () => {
    const after = { keys: ['secret/a@1'], policies: ['app', 'default', 'root'], accessors: 2 };
    const diff = compareInventories(before, after, new Map([['secret/a@1', 'x']]), new Map([['secret/a@1', 'z']]));
    assert.deepEqual(diff.missing, ['secret/b/c@2']);
    assert.deepEqual(diff.changed, ['secret/a@1']);
    assert.equal(describeDifference(diff), 'missing: secret/b/c@2; different value: secret/a@1; token accessors 3 before, 2 after');
  });
  it('after a resume (no digests from before) names and counts are compared', () => {
    assert.equal(isSame(compareInventories(before, { ...before }, undefined, new Map([['secret/a@1', 'other']]))), true);
  });
});
