// Property tests for the public key files share holders hand over (--pgp-keys, --root-token-pgp-key): real GnuPG
// exports in every shape an operator's tools produce are read to the same key; anything else is one E_PGP line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { armor, readPublicKeyFile } from '../../src/ceremony/pgp.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { type GpgHome, type Holder, gpgHome } from '../helpers/gpg.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-prop-pgp-'));
let n = 0;
const file = (content: string | Buffer): string => {
  const f = path.join(tmp, `k${n++}`);
  fs.writeFileSync(f, content);
  return f;
};

/** readPublicKeyFile's base64, or its E_PGP error; any other throw fails the property. */
async function read(content: string | Buffer): Promise<{ ok: true; base64: string } | { ok: false; error: VaultSetupError }> {
  const f = file(content);
  try {
    return { ok: true, base64: (await readPublicKeyFile(f)).base64 };
  } catch (error) {
    assert.ok(error instanceof VaultSetupError, String((error as Error)?.stack ?? error));
    assert.equal(error.code, 'E_PGP');
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /[\r\n]/);
    assert.ok(error.message.includes(f), 'names the file');
    return { ok: false, error };
  } finally {
    fs.unlinkSync(f);
  }
}

let gpg: GpgHome;
const keys: { holder: Holder; binary: Buffer; armored: string; secret: Buffer }[] = [];

before(() => {
  gpg = gpgHome();
  for (const [name, algo] of [['rsa', 'rsa2048'], ['ed', 'future-default']] as const) {
    const holder = gpg.holder(name, algo);
    const run = spawnSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', holder.fingerprint], { env: gpg.env });
    assert.equal(run.status, 0, run.stderr.toString());
    keys.push({ holder, binary: fs.readFileSync(holder.binaryFile), armored: fs.readFileSync(holder.armoredFile, 'utf8'), secret: run.stdout });
  }
});

after(() => {
  gpg?.[Symbol.dispose]();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The armored forms an operator's tools and editors produce from one export. */
const shapes: Record<string, (armored: string) => string | Buffer> = {
  'as exported': (a) => a,
  'CRLF (Windows)': (a) => a.replace(/\n/g, '\r\n'),
  'UTF-8 byte-order mark (Notepad)': (a) => `\uFEFF${a}`,
  'no checksum line': (a) => a.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n'),
  'trailing spaces': (a) => a.replace(/\n/g, ' \t\n'),
  'pasted after a mail text': (a) => `Hi, here is my key:\n\n${a}\nthanks\n`,
  'headers added': (a) => a.replace(/-----\n/, '-----\nVersion: GnuPG v2\nComment: holder one\n'),
  'no final newline': (a) => a.trimEnd(),
  'leading blank lines and indentation of the BEGIN line': (a) => `\n\n  ${a}`,
};

describe('PGP key files (properties)', () => {
  it('every shape of a real armored export reads as the binary export', async () => {
    for (const { holder, binary, armored } of keys) {
      const want = binary.toString('base64');
      const bin = await read(binary);
      assert.ok(bin.ok && bin.base64 === want, 'the binary export');
      for (const [shape, make] of Object.entries(shapes)) {
        const got = await read(make(armored));
        assert.ok(got.ok, `${holder.name}, ${shape}: ${got.ok ? '' : got.error.message}`);
        assert.equal(got.base64, want, `${holder.name}, ${shape}`);
      }
      // Our own armor of the binary key is read back too (the CRC line is written and checked).
      const ours = await read(armor(binary, 'PGP PUBLIC KEY BLOCK'));
      assert.ok(ours.ok && ours.base64 === want);
    }
  });

  it('a key cut short anywhere is refused, or (cut at a packet boundary) is a shorter valid prefix', async () => {
    for (const { binary, armored } of keys) {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: binary.length - 1 }), async (cut) => {
          const got = await read(binary.subarray(0, cut));
          if (got.ok) assert.equal(got.base64, binary.subarray(0, cut).toString('base64'));
          else assert.match(got.error.message, /not a usable public key|not an OpenPGP key/);
        }),
        { numRuns: 150 },
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: armored.length - 1 }), async (cut) => {
          const got = await read(armored.slice(0, cut));
          if (got.ok) assert.ok(binary.toString('base64').startsWith(got.base64.slice(0, -4)), 'a prefix of the key');
        }),
        { numRuns: 150 },
      );
    }
  });

  it('damage inside the armored body is caught by the checksum line', async () => {
    const { armored } = keys[0] as (typeof keys)[number];
    const bodyStart = armored.indexOf('\n\n') + 2;
    const bodyEnd = armored.indexOf('\n=');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: bodyStart, max: bodyEnd - 1 }), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'), async (at, c) => {
        if (armored[at] === c || armored[at] === '\n') return;
        const got = await read(armored.slice(0, at) + c + armored.slice(at + 1));
        // Accepted only when the bytes did not change (bits base64 drops before the padding).
        if (got.ok) assert.equal(got.base64, (keys[0] as (typeof keys)[number]).binary.toString('base64'), `changed at ${at}`);
      }),
      { numRuns: 200 },
    );
  });

  it('garbage (random bytes, text, other armor) is refused on one line, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.uint8Array({ maxLength: 200 }).map((b) => armor(Buffer.from(b), 'PGP PUBLIC KEY BLOCK')),
          fc.string({ maxLength: 200 }).map((s) => `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${s}\n-----END PGP PUBLIC KEY BLOCK-----\n`),
        ),
        async (content) => {
          const got = await read(content);
          if (got.ok) assert.equal(Buffer.from(got.base64, 'base64')[0]! & 0x80, 0x80, 'accepted only what starts as an OpenPGP packet');
        },
      ),
      { numRuns: 500 },
    );
    for (const content of ['', '\n', 'ssh-ed25519 AAAAC3Nza holder@host\n', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\xff\xfe-\0-\0', 'latin1')]) {
      assert.equal((await read(content)).ok, false, JSON.stringify(content.toString()));
    }
  });

  it('a real key in the wrong armor (MESSAGE, SIGNATURE) is refused and says which armor it is', async () => {
    const { binary } = keys[0] as (typeof keys)[number];
    for (const label of ['PGP MESSAGE', 'PGP SIGNATURE', 'PGP ARMORED FILE']) {
      const got = await read(armor(binary, label));
      assert.equal(got.ok, false);
      if (!got.ok) assert.match(got.error.message, new RegExp(`armored as a ${label}, not a PGP PUBLIC KEY BLOCK`));
    }
  });

  it('a secret key, binary or armored, is refused as such', async () => {
    for (const { secret } of keys) {
      for (const content of [secret, armor(secret, 'PGP PRIVATE KEY BLOCK')]) {
        const got = await read(content);
        assert.equal(got.ok, false);
        if (!got.ok) assert.match(got.error.message, /is a SECRET key/);
      }
    }
  });

  it('two keys in one file are refused: the server would encrypt to the first only', async () => {
    const both = Buffer.concat(keys.map((k) => k.binary));
    for (const content of [both, armor(both, 'PGP PUBLIC KEY BLOCK')]) {
      const got = await read(content);
      assert.equal(got.ok, false);
      if (!got.ok) assert.match(got.error.message, /holds 2 public keys/);
    }
  });
});
