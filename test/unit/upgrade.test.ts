// upgrade's preflight: the pure refusals (direction, tag against binary, product, storage, audit modes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VaultSetupError } from '../../src/errors.ts';
import { checkVersions, executableModes, hasFileStorage, tagVersion } from '../../src/upgrade/preflight.ts';

const bao = (version: string) => ({ product: 'openbao' as const, version, raw: `OpenBao v${version}` });
const vault = (version: string) => ({ product: 'vault' as const, version, raw: `Vault v${version}` });
const refused = (fn: () => void, code: string, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof VaultSetupError && e.code === code && re.test(e.message) && /nothing was changed/i.test(e.hint ?? ''));

test('tagVersion reads the version a tag names, and nothing else', () => {
  assert.equal(tagVersion('openbao/openbao:2.7.2'), '2.7.2');
  assert.equal(tagVersion('hashicorp/vault:1.21.4-ent'), '1.21.4');
  assert.equal(tagVersion('registry:5000/vault:v1.17.6'), '1.17.6');
  assert.equal(tagVersion('registry:5000/openbao/openbao'), undefined);
  assert.equal(tagVersion('hashicorp/vault:latest'), undefined);
  assert.equal(tagVersion('hashicorp/vault:1.17'), undefined);
});

test('checkVersions: forwards and same-version pass; downgrade, tag mismatch, product change, file storage on OpenBao 2.7 refused', () => {
  checkVersions({ image: 'openbao/openbao:2.7.2', current: bao('2.6.2'), target: bao('2.7.2'), storage: 'raft' });
  checkVersions({ image: 'openbao/openbao:2.6.2', current: bao('2.6.2'), target: bao('2.6.2'), storage: 'file' });
  checkVersions({ image: 'hashicorp/vault:1.21.4', current: vault('1.17.6'), target: vault('1.21.4'), storage: 'file' });
  refused(() => checkVersions({ image: 'openbao/openbao:2.6.2', current: bao('2.7.2'), target: bao('2.6.2'), storage: 'raft' }), 'E_USAGE', /downgrades are refused/);
  refused(() => checkVersions({ image: 'openbao/openbao:2.7.2', current: bao('2.6.2'), target: bao('2.6.2'), storage: 'raft' }), 'E_IMAGE_MISSING', /names version 2\.7\.2 in its tag, but its server says it is OpenBao v2\.6\.2/);
  refused(() => checkVersions({ image: 'x/y:2.7.2', current: vault('1.17.6'), target: bao('2.7.2'), storage: 'raft' }), 'E_USAGE', /migration, not an upgrade/);
  refused(() => checkVersions({ image: 'openbao/openbao:2.7.2', current: bao('2.6.2'), target: bao('2.7.2'), storage: 'file' }), 'E_USAGE', /file storage/);
  refused(() => checkVersions({ image: 'busybox:latest', current: bao('2.6.2'), target: undefined, storage: 'raft' }), 'E_IMAGE_MISSING', /does not say what it is/);
});

test('hasFileStorage follows the server, not the image name', () => {
  assert.equal(hasFileStorage(bao('2.6.2')), true);
  assert.equal(hasFileStorage(bao('2.7.0')), false);
  assert.equal(hasFileStorage(vault('1.21.4')), true);
});

test('executableModes finds file audit devices with any x bit (CVE-2025-6000)', () => {
  assert.deepEqual(executableModes({
    'file/': { type: 'file', options: { file_path: '/vault/logs/audit.log', mode: '0600' } },
    'exec/': { type: 'file', options: { file_path: '/vault/logs/a.log', mode: '0755' } },
    'grp/': { type: 'file', options: { mode: '0610' } },
    'sock/': { type: 'socket', options: { mode: '0777' } },
    'plain/': { type: 'file', options: {} },
  }), ['exec/ (mode 0755)', 'grp/ (mode 0610)']);
});
