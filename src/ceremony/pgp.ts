// OpenPGP just far enough for the ceremony: read a holder's public key (armored or binary) into what sys/init
// wants (base64 of the binary key), and armor the encrypted shares the server returns so `gpg -d` reads them.
// The server does the cryptography. A small armor codec and packet walker (RFC 9580 §6, §4.2) cover this
// without pulling a full OpenPGP library into a tool whose point is a small, auditable trust surface.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { VaultSetupError } from '../errors.ts';

const TAG_SECRET_KEY = 5;
const TAG_PUBLIC_KEY = 6;
const TAG_SECRET_SUBKEY = 7;

export interface PublicKeyFile {
  file: string;
  /** Base64 of the binary (non-armored) key: the form sys/init accepts. */
  base64: string;
  /** The primary key's fingerprint (hex, upper case), shown to the operator before init. */
  fingerprint: string;
}

export async function readPublicKeyFile(file: string): Promise<PublicKeyFile> {
  let raw: Buffer;
  try {
    raw = await fs.readFile(file);
  } catch (error) {
    throw new VaultSetupError('E_PGP', `cannot read the public key file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'export each holder\'s key with `gpg --export KEYID > holder.gpg` (or --armor) and pass the files',
    });
  }
  const binary = isArmored(raw) ? dearmorKey(raw.toString('utf8'), file) : raw;
  const primary = checkPublicKey(binary, file);
  return { file, base64: binary.toString('base64'), fingerprint: fingerprint(binary.subarray(primary.offset, primary.offset + primary.length)) };
}

// utf8, not latin1: an editor's byte-order mark (EF BB BF) is then one character trimStart() removes. A text file
// (a binary key starts with a byte >= 0x80) may also hold the armor after other lines, e.g. a saved e-mail.
const isArmored = (raw: Buffer): boolean =>
  raw.subarray(0, 64).toString('utf8').trimStart().startsWith('-----BEGIN PGP') || ((raw[0] ?? 0x80) < 0x80 && /^-----BEGIN PGP /m.test(raw.toString('utf8')));

function dearmorKey(text: string, file: string): Buffer {
  const bytes = dearmor(text, file);
  const label = /-----BEGIN (PGP [A-Z ,/0-9]+)-----/.exec(text)?.[1];
  if (label !== undefined && label !== 'PGP PUBLIC KEY BLOCK') throw bad(file, `it is armored as a ${label}, not a PGP PUBLIC KEY BLOCK`);
  return bytes;
}

/** The first armored block's body: base64 between the header block and the checksum line, CRC-checked. */
export function dearmor(text: string, file = 'input'): Buffer {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const begin = lines.findIndex((l) => /^\s*-----BEGIN PGP [A-Z ,/0-9]+-----\s*$/.test(l));
  const end = lines.findIndex((l, i) => i > begin && /^\s*-----END PGP [A-Z ,/0-9]+-----\s*$/.test(l));
  if (begin < 0 || end < 0) throw bad(file, 'the armor has no BEGIN/END lines');
  const label = (lines[begin] as string).replace(/^\s*-----BEGIN (.*)-----\s*$/, '$1');
  if (label === 'PGP PRIVATE KEY BLOCK') throw secretKey(file);
  let i = begin + 1;
  while (i < end && (lines[i] as string).trim() !== '') i++; // armor headers (Version:, Comment:) end at a blank line
  if (i === end) i = begin + 1; // no headers and no blank line: tolerated
  let body = '';
  let checksum: string | undefined;
  for (const line of lines.slice(i, end).map((l) => l.trim())) {
    if (line.startsWith('=') && line.length === 5) checksum = line.slice(1);
    else body += line;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0) throw bad(file, 'the armored body is not base64');
  const bytes = Buffer.from(body, 'base64');
  if (checksum !== undefined && crc24(bytes).toString('base64') !== checksum) throw bad(file, 'the armor checksum does not match (the file is damaged)');
  return bytes;
}

/** ASCII armor for a binary OpenPGP message, the form `gpg -d` and `gpg --import` read. */
export function armor(bytes: Buffer, label = 'PGP MESSAGE'): string {
  const body = bytes.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n\n${body}=${crc24(bytes).toString('base64')}\n-----END ${label}-----\n`;
}

/** CRC-24 of RFC 9580 §6.1, as the 3 bytes the armor checksum line encodes. */
export function crc24(bytes: Buffer): Buffer {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let k = 0; k < 8; k++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  crc &= 0xffffff;
  return Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]);
}

interface Packet {
  tag: number;
  length: number;
  /** Where the packet's body starts. */
  offset: number;
}

/** Walks the packet headers (not the contents): enough to know what kind of key material a file holds. */
export function packets(bytes: Buffer): Packet[] | undefined {
  const out: Packet[] = [];
  let at = 0;
  while (at < bytes.length) {
    const head = bytes[at] as number;
    if ((head & 0x80) === 0) return undefined;
    let tag: number;
    let length: number;
    let headerLength: number;
    if (head & 0x40) {
      tag = head & 0x3f;
      const o1 = bytes[at + 1];
      if (o1 === undefined) return undefined;
      if (o1 < 192) [length, headerLength] = [o1, 2];
      else if (o1 < 224) [length, headerLength] = [((o1 - 192) << 8) + (bytes[at + 2] ?? 0) + 192, 3];
      else if (o1 === 255) [length, headerLength] = [bytes.readUInt32BE(at + 2), 6];
      else return undefined; // partial lengths never occur in key packets
    } else {
      tag = (head >> 2) & 0x0f;
      const type = head & 0x03;
      if (type === 0) [length, headerLength] = [bytes[at + 1] ?? 0, 2];
      else if (type === 1) [length, headerLength] = [bytes.readUInt16BE(at + 1), 3];
      else if (type === 2) [length, headerLength] = [bytes.readUInt32BE(at + 1), 5];
      else return undefined;
    }
    if (at + headerLength + length > bytes.length) return undefined;
    out.push({ tag, length, offset: at + headerLength });
    at += headerLength + length;
  }
  return out;
}

/**
 * The fingerprint of a public-key packet body (RFC 9580 §5.5.4): v4 is SHA-1 over 0x99, a 2-byte length and the
 * body; v6 is SHA-256 over 0x9B, a 4-byte length and the body (v5 likewise with 0x9A).
 */
export function fingerprint(body: Buffer): string {
  const version = body[0];
  const hash =
    version === 4
      ? createHash('sha1').update(Buffer.from([0x99, body.length >> 8, body.length & 0xff]))
      : createHash('sha256').update(Buffer.concat([Buffer.from([version === 5 ? 0x9a : 0x9b]), Buffer.from([body.length >>> 24, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff])]));
  return hash.update(body).digest('hex').toUpperCase();
}

/** "ABCD 1234 ..." in groups of four, as gpg prints it. */
export const groupedFingerprint = (hex: string): string => hex.replace(/(.{4})(?!$)/g, '$1 ');

function checkPublicKey(binary: Buffer, file: string): Packet {
  let list: Packet[] | undefined;
  try {
    list = packets(binary);
  } catch {
    list = undefined;
  }
  if (list === undefined || list.length === 0) throw bad(file, 'it is not an OpenPGP key (armored or binary)');
  // Every packet, not only the first: a public key followed by a secret subkey (or a second, secret key) is refused.
  if (list.some((p) => p.tag === TAG_SECRET_KEY || p.tag === TAG_SECRET_SUBKEY)) throw secretKey(file);
  if (list[0]?.tag !== TAG_PUBLIC_KEY) throw bad(file, 'it does not start with a public key');
  const keys = list.filter((p) => p.tag === TAG_PUBLIC_KEY).length;
  if (keys > 1) {
    throw new VaultSetupError('E_PGP', `${file} holds ${keys} public keys; the server would encrypt the share to the first one only`, {
      hint: 'export one key per file: gpg --export KEYID > holder.gpg',
    });
  }
  return list[0];
}

const bad = (file: string, why: string) =>
  new VaultSetupError('E_PGP', `${file} is not a usable public key: ${why}`, {
    hint: 'export the holder\'s public key with `gpg --export KEYID > holder.gpg` (binary) or `gpg --export --armor KEYID`',
  });

const secretKey = (file: string) =>
  new VaultSetupError('E_PGP', `${file} is a SECRET key (or holds secret key material); pass the holder's public key only`, {
    hint: 'export it with `gpg --export KEYID` (not --export-secret-keys), and keep the secret key with its holder',
  });
