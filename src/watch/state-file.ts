// What `watch` remembers between runs and why the server was sealed on purpose: a small JSON file in the
// deployment directory (no secret in it), written atomically. One module, so it can move into the deployment
// record without touching its callers.
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError } from '../errors.ts';
import { writeAtomic } from '../services/files.ts';

export const STATE_FILE = '.vault-setup-watch.json';

export interface WatchRecord {
  /** The state and its problems, as one comparable string (see assess.ts). */
  signature: string;
  state: string;
  /** When this signature was first seen (ISO time). */
  since: string;
  /** The signature last delivered to the channels, and when. */
  notifiedSignature?: string | undefined;
  notifiedAt?: string | undefined;
  checkedAt: string;
}

export interface DeliberateSeal {
  reason: string;
  at: string;
  /** Where the seal was asked for (host name), to tell an operator's seal from a restart on another host. */
  host: string;
}

export interface WatchFile {
  watch?: WatchRecord | undefined;
  seal?: DeliberateSeal | undefined;
}

export const stateFileIn = (dir: string): string => path.join(dir, STATE_FILE);

export async function readWatchFile(file: string): Promise<WatchFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'check its owner and permissions' });
  }
  try {
    const doc = JSON.parse(text) as WatchFile;
    return doc !== null && typeof doc === 'object' ? doc : {};
  } catch {
    // A damaged state file costs one repeated notification, never a watch that stops watching.
    return {};
  }
}

/** Changes the file under one read-modify-write; the rename makes readers see the old file or the new one. */
export async function updateWatchFile(file: string, change: (doc: WatchFile) => WatchFile): Promise<WatchFile> {
  const next = change(await readWatchFile(file));
  try {
    await writeAtomic(file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  } catch (error) {
    throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'run as the user that owns the deployment directory, or pass --state FILE somewhere writable',
    });
  }
  return next;
}
