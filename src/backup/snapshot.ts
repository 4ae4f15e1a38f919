// Raft snapshots through the API: saved to a temp file while hashed, fsynced, then linked into place (never
// replacing a file), with `FILE.sha256` beside it in sha256sum format; restored only after the checksum matches.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { needs } from '../agents/capabilities.ts';
import { VaultSetupError } from '../errors.ts';
import { refuseSymlink, writeAtomic } from '../services/files.ts';
import type { VaultApi } from '../services/vault-api.ts';

export const SNAPSHOT_PATH = 'sys/storage/raft/snapshot';
export const FORCE_PATH = 'sys/storage/raft/snapshot-force';

/** The smallest policy a backup token needs (shown in docs/commands/backup.md and in errors). */
export const BACKUP_POLICY = `path "${SNAPSHOT_PATH}" {\n  capabilities = ["read"]\n}\n`;

export const checksumFile = (file: string): string => `${file}.sha256`;
export const checksumLine = (hex: string, file: string): string => `${hex}  ${path.basename(file)}\n`;

export async function saveSnapshot(api: VaultApi, token: string, file: string): Promise<{ bytes: number; sha256: string }> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await refuseSymlink(file);
  for (const f of [file, checksumFile(file)]) {
    if (await exists(f)) throw new VaultSetupError('E_FILE_CONFLICT', `${f} already exists`, { hint: 'choose another --out (backups are never overwritten)' });
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let bytes = 0;
  let head: Buffer | undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      if (head === undefined) head = chunk.subarray(0, 2);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
  // Listened to from the start: a disk error (ENOSPC, EIO) while the snapshot streams in is an answer, not a crash.
  let diskError: NodeJS.ErrnoException | undefined;
  const written = new Promise<void>((resolve, reject) => {
    sink.on('error', (error: NodeJS.ErrnoException) => {
      diskError = error;
      tap.destroy(error);
      reject(error);
    });
    sink.on('close', resolve);
  });
  written.catch(() => undefined);
  tap.pipe(sink);
  try {
    try {
      await needs('read', SNAPSHOT_PATH, () => api.transfer('GET', SNAPSHOT_PATH, { token, download: tap }));
      await written;
    } catch (error) {
      if (diskError === undefined) throw error;
      throw new VaultSetupError('E_DIR_NOT_WRITABLE', `could not write the snapshot to ${dir} (${diskError.code ?? diskError.message})`, {
        hint: diskError.code === 'ENOSPC' ? `free space on that disk (df -h ${dir}) or choose another --out` : 'check that disk (dmesg), or choose another --out',
      });
    }
    // A snapshot is a gzip archive; anything else (an HTML error page from a proxy) is not a backup.
    if (bytes === 0 || head?.[0] !== 0x1f || head?.[1] !== 0x8b) {
      throw new VaultSetupError('E_SERVER', `the server's snapshot is not a gzip archive (${bytes} bytes)`, { hint: 'check that --addr points at the server itself' });
    }
    const handle = await fs.open(tmp, 'r');
    await handle.sync();
    await handle.close();
    await fs.link(tmp, file);
  } catch (error) {
    if (!sink.closed) sink.destroy();
    throw error;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  const sha256 = hash.digest('hex');
  await writeAtomic(checksumFile(file), checksumLine(sha256, file), { mode: 0o600, exclusive: true });
  return { bytes, sha256 };
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks FILE against FILE.sha256; a missing or different checksum stops the restore before the server is touched. */
export async function verifyChecksum(file: string): Promise<{ sha256: string; bytes: number }> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new VaultSetupError('E_USAGE', `${file} does not exist`, { hint: 'give the snapshot file `vault-setup backup` wrote' });
  }
  if (!stat.isFile()) throw new VaultSetupError('E_USAGE', `${file} is not a file`);
  let text: string;
  try {
    text = await fs.readFile(checksumFile(file), 'utf8');
  } catch {
    throw new VaultSetupError('E_USAGE', `${checksumFile(file)} is missing: the snapshot cannot be checked`, {
      hint: 'keep the .sha256 file `vault-setup backup` wrote beside the snapshot; if you trust the file, recreate it with: sha256sum FILE > FILE.sha256',
    });
  }
  const expected = /^([0-9a-fA-F]{64})\s/.exec(text.trim() + ' ')?.[1]?.toLowerCase();
  if (expected === undefined) throw new VaultSetupError('E_USAGE', `${checksumFile(file)} is not in sha256sum format`, { hint: 'it should read: <64 hex digits>  <file name>' });
  const actual = await sha256Of(file);
  if (actual !== expected) {
    throw new VaultSetupError('E_USAGE', `${file} does not match its checksum (SHA-256 ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`, {
      hint: 'the snapshot is damaged or was changed: use another backup; nothing was restored',
    });
  }
  return { sha256: actual, bytes: stat.size };
}

export async function restoreSnapshot(api: VaultApi, token: string, file: string, force: boolean): Promise<void> {
  const target = force ? FORCE_PATH : SNAPSHOT_PATH;
  const { size } = await fs.stat(file);
  try {
    await needs('update', target, () => api.transfer('POST', target, { token, upload: { stream: createReadStream(file), length: size } }));
  } catch (error) {
    if (error instanceof VaultSetupError && /different set of unseal keys|snapshot-force/i.test(error.message)) {
      throw new VaultSetupError('E_USAGE', 'the snapshot comes from another cluster (a server initialised again is another cluster); nothing was restored', {
        hint: 're-run with --force-foreign-snapshot to restore it anyway; afterwards the server is sealed and opens with the unseal keys of the cluster the snapshot came from',
        cause: error,
      });
    }
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
