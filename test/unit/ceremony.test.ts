// The ceremony's decisions that need no server: which path a set of flags takes, what is refused up front
// (before anything is initialised), and the small OpenPGP armor codec.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Context } from '../../src/context.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { CLEAR_SCREEN_AND_SCROLLBACK, planCeremony as planFromOptions } from '../../src/ceremony/ceremony.ts';
import { ceremonyOptions } from '../../src/commands/init.ts';
import { armor, crc24, dearmor, packets, readPublicKeyFile } from '../../src/ceremony/pgp.ts';
import type { Flags } from '../../src/options/flags.ts';

/** The plan init makes from these flags (parsed once into the ceremony's options). */
const planCeremony = (c: Parameters<typeof planFromOptions>[0], flags: Flags) => planFromOptions(c, ceremonyOptions(flags));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-ceremony-unit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A syntactically valid public-key packet (new format, tag 6). The server checks the key itself. */
function fakeKey(name: string, tag = 6, count = 1): string {
  const body = Buffer.from([4, 0, 0, 0, 0, 22, 0, 8, 1, 2]);
  const packet = Buffer.concat([Buffer.from([0xc0 | tag, body.length]), body]);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat(Array.from({ length: count }, () => packet)));
  return file;
}

const ctx = (interactive: boolean): Context => ({ prompter: { interactive }, output: { json: false } }) as unknown as Context;

async function rejects(flags: Flags, interactive: boolean, pattern: RegExp, code = 'E_USAGE'): Promise<void> {
  await assert.rejects(planCeremony(ctx(interactive), flags), (e: unknown) => {
    assert.ok(e instanceof VaultSetupError, String(e));
    assert.equal(e.code, code);
    assert.match(`${e.message} ${e.hint ?? ''}`, pattern);
    return true;
  });
}

describe('which ceremony a set of flags gets', () => {
  test('a terminal without --print-keys: the guided ceremony, 5 shares, threshold 3', async () => {
    const plan = await planCeremony(ctx(true), {});
    assert.equal(plan.mode, 'interactive');
    assert.equal(plan.shares, 5);
    assert.equal(plan.threshold, 3);
  });

  test('no terminal (or --yes) and no PGP keys: refused, saying why and what to pass', async () => {
    await rejects({}, false, /cannot be shown to anyone.*--pgp-keys.*--print-keys/s, 'E_NEEDS_ANSWER');
    await rejects({ yes: true, shares: '3', threshold: '2' }, false, /--print-keys/, 'E_NEEDS_ANSWER');
  });

  test('--print-keys: the print path, terminal or not', async () => {
    assert.equal((await planCeremony(ctx(false), { 'print-keys': true })).mode, 'print');
    assert.equal((await planCeremony(ctx(true), { 'print-keys': true })).mode, 'print');
  });

  test('--pgp-keys: one share per key, in order; the root token must be encrypted too (or --print-keys)', async () => {
    const keys = ['a.gpg', 'b.gpg', 'c.gpg'].map((f) => fakeKey(f));
    await rejects({ 'pgp-keys': keys.join(',') }, false, /root token must be encrypted.*--root-token-pgp-key/s);
    const plan = await planCeremony(ctx(false), { 'pgp-keys': keys.join(','), 'root-token-pgp-key': keys[0] });
    assert.equal(plan.mode, 'pgp');
    assert.deepEqual([plan.shares, plan.threshold], [3, 3]);
    assert.deepEqual(plan.pgpKeys.map((k) => k.file), keys);
    assert.equal((await planCeremony(ctx(false), { 'pgp-keys': keys.join(','), 'print-keys': true })).mode, 'pgp');
    await rejects({ 'pgp-keys': keys.join(','), 'root-token-pgp-key': keys[0], shares: '5' }, false, /names 3 keys but --shares is 5/);
  });

  test('flags that only make sense with PGP keys are refused without them', async () => {
    await rejects({ 'keys-out': tmp }, true, /never writes an unencrypted share/);
    await rejects({ 'root-token-pgp-key': fakeKey('r.gpg') }, true, /goes with --pgp-keys/);
    await rejects({ 'wait-unseal': '1m' }, true, /--wait-unseal is for --pgp-keys/);
  });

  test('--wait-unseal needs --keys-out: holders need their share while init waits', async () => {
    const keys = ['w1.gpg', 'w2.gpg'].map((f) => fakeKey(f));
    await rejects({ 'pgp-keys': keys.join(','), 'root-token-pgp-key': keys[0], 'wait-unseal': '1m' }, false, /needs --keys-out/);
  });

  test('--keys-out that already holds share files is refused before anything is initialised', async () => {
    const keys = ['k1.gpg', 'k2.gpg'].map((f) => fakeKey(f));
    const out = fs.mkdtempSync(path.join(tmp, 'out-'));
    fs.writeFileSync(path.join(out, 'share-2.asc'), 'old');
    await rejects({ 'pgp-keys': keys.join(','), 'root-token-pgp-key': keys[0], 'keys-out': out }, false, /already holds share-2.asc/, 'E_FILE_CONFLICT');
  });

  test('key files: missing, secret, not a key, several keys in one file: one clear E_PGP each', async () => {
    const secret = fakeKey('secret.gpg', 5);
    const garbage = path.join(tmp, 'garbage.gpg');
    fs.writeFileSync(garbage, 'hello, not a key');
    const two = fakeKey('two.gpg', 6, 2);
    await rejects({ 'pgp-keys': path.join(tmp, 'missing.gpg'), 'print-keys': true }, false, /cannot read the public key file/, 'E_PGP');
    await rejects({ 'pgp-keys': secret, 'print-keys': true }, false, /SECRET key/, 'E_PGP');
    await rejects({ 'pgp-keys': garbage, 'print-keys': true }, false, /not a usable public key/, 'E_PGP');
    await rejects({ 'pgp-keys': two, 'print-keys': true }, false, /holds 2 public keys/, 'E_PGP');
  });
});

describe('OpenPGP armor', () => {
  test('CRC-24 check value of RFC 4880 (crc24 of "123456789" is 0x21cf02)', () => {
    assert.equal(crc24(Buffer.from('123456789')).toString('hex'), '21cf02');
  });

  test('armor then dearmor gives the bytes back, whatever they are (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), (bytes) => {
        const b = Buffer.from(bytes);
        const text = armor(b);
        assert.match(text, /^-----BEGIN PGP MESSAGE-----\n\n/);
        assert.ok(text.split('\n').every((l) => l.length <= 64));
        assert.deepEqual(dearmor(text), b);
      }),
    );
  });

  test('armor headers, CRLF line ends and a missing checksum are tolerated; a damaged body is not', () => {
    const body = Buffer.from('some key bytes, long enough to span a line or two of base64 output here');
    const text = armor(body, 'PGP PUBLIC KEY BLOCK').replace('\n\n', '\nVersion: test\nComment: hello\n\n');
    assert.deepEqual(dearmor(text.replace(/\n/g, '\r\n')), body);
    assert.deepEqual(dearmor(text.replace(/\n=[^\n]{4}\n/, '\n')), body);
    const damaged = text.replace(/(\n\n)(.)/, (_m, nl, c) => `${nl}${c === 'A' ? 'B' : 'A'}`);
    assert.throws(() => dearmor(damaged), /checksum does not match/);
    assert.throws(() => dearmor('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n'), /SECRET key/);
  });

  test('an armored public key file reads as the same base64 as its binary form', async () => {
    const binFile = fakeKey('same.gpg');
    const ascFile = path.join(tmp, 'same.asc');
    fs.writeFileSync(ascFile, armor(fs.readFileSync(binFile), 'PGP PUBLIC KEY BLOCK'));
    assert.equal((await readPublicKeyFile(ascFile)).base64, (await readPublicKeyFile(binFile)).base64);
    assert.equal((await readPublicKeyFile(binFile)).base64, fs.readFileSync(binFile).toString('base64'));
  });

  test('the packet walker reads old- and new-format headers and refuses truncation', () => {
    const oldFormat = Buffer.from([0x99, 0x00, 0x03, 1, 2, 3]); // tag 6, two-byte length
    assert.deepEqual(packets(oldFormat), [{ tag: 6, length: 3, offset: 3 }]);
    const newFormat = Buffer.from([0xc6, 0xc0, 0x00, ...new Array(192).fill(0)]); // two-octet length 192
    assert.deepEqual(packets(newFormat), [{ tag: 6, length: 192, offset: 3 }]);
    assert.equal(packets(Buffer.from([0xc6, 10, 1, 2])), undefined);
    assert.equal(packets(Buffer.from('plain text')), undefined);
  });
});

test('the end of the ceremony clears the screen and the scrollback', () => {
  assert.equal(CLEAR_SCREEN_AND_SCROLLBACK, '\x1b[2J\x1b[3J\x1b[H');
});
