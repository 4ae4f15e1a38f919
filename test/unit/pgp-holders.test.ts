// PGP holders' keys: every packet is checked for secret-key material (not only the first), and each holder's key
// fingerprint, computed here, matches what gpg says and is shown before init.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { holderLines } from '../../src/ceremony/holders.ts';
import { readPublicKeyFile } from '../../src/ceremony/pgp.ts';
import { gpgHome } from '../helpers/gpg.ts';

/** A new-format OpenPGP packet (RFC 9580 §4.2.1) with a one-octet length. */
const packet = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([0xc0 | tag, body.length]), body]);

describe('PGP public key files', () => {
  it('fingerprints match gpg for RSA and ed25519 keys; the holder lines name each file and fingerprint', async () => {
    using g = gpgHome();
    const rsa = g.holder('alice');
    const ed = g.holder('bob', 'future-default');
    const a = await readPublicKeyFile(rsa.armoredFile);
    const b = await readPublicKeyFile(ed.binaryFile);
    assert.equal(a.fingerprint, rsa.fingerprint);
    assert.equal(b.fingerprint, ed.fingerprint);
    const lines = holderLines({ pgpKeys: [a, b], rootTokenKey: a });
    assert.match(lines[1] as string, new RegExp(`share 1 -> alice\\.asc: ${rsa.fingerprint.replace(/(.{4})(?!$)/g, '$1 ')}$`));
    assert.match(lines[2] as string, /share 2 -> bob\.gpg: [0-9A-F]{4}( [0-9A-F]{4}){9}$/);
    assert.match(lines[3] as string, /root token -> alice\.asc: /);
  });

  it('a public key followed by a secret subkey (or a secret key) anywhere in the file is refused', async () => {
    using g = gpgHome();
    const holder = g.holder('carol');
    const pub = fs.readFileSync(holder.binaryFile);
    for (const tag of [5, 7]) {
      const file = path.join(g.home, `with-secret-${tag}.gpg`);
      fs.writeFileSync(file, Buffer.concat([pub, packet(tag, Buffer.alloc(40, 1))]));
      await assert.rejects(readPublicKeyFile(file), /is a SECRET key \(or holds secret key material\)/, `tag ${tag}`);
    }
  });
});
