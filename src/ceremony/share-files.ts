// PGP-encrypted shares at rest (--keys-out): one armored file per holder, 0600, never overwritten. init and rekey
// write them the same way; an unencrypted share never comes here.
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../services/files.ts';
import { armor } from './pgp.ts';
import { SHARE_FILE } from './plan.ts';

/** Writes share i (base64 of the binary PGP message) to DIR/share-i.asc, each naming its holder's key file. */
export async function writeShareFiles(dir: string, sharesB64: string[], holders: { file: string }[], threshold: number): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [i, b64] of sharesB64.entries()) {
    const file = path.join(dir, SHARE_FILE(i + 1));
    const holder = path.basename(holders[i]?.file ?? '');
    await writeAtomic(file, withComment(armor(Buffer.from(b64, 'base64')), `share ${i + 1} of ${sharesB64.length} (threshold ${threshold}), encrypted to ${holder}`), { mode: 0o600, exclusive: true });
    written.push(file);
  }
  return written;
}

export const withComment = (armored: string, comment: string): string => armored.replace(/^(-----BEGIN [^\n]+-----\n)\n/, `$1Comment: ${comment.replace(/[\r\n]/g, ' ')}\n\n`);
