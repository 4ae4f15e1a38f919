// What a conflict report may show of a file: a line diff for configuration, never the contents of key material.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { lineDiff } from './files.ts';

/** Key files by name, or any file that holds a private key. */
export const isKeyMaterial = (file: string, ...contents: (string | undefined)[]): boolean =>
  /\.(key|pem|p12|pfx)$/i.test(path.basename(file)) || contents.some((c) => c !== undefined && /PRIVATE KEY/.test(c));

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** One conflict: the diff, or for key material only that it differs, by checksum. */
export function describeConflict(file: { path: string; existing?: string | undefined; content: string }): string {
  const before = file.existing ?? '';
  if (isKeyMaterial(file.path, before, file.content)) {
    return `${file.path}: differs, sha256 ${sha256(before).slice(0, 16)} -> ${sha256(file.content).slice(0, 16)}, contents not shown`;
  }
  return `${file.path}\n${lineDiff(before, file.content)}`;
}

export const conflictDetail = (files: { path: string; existing?: string | undefined; content: string }[]): string => files.map(describeConflict).join('\n');
