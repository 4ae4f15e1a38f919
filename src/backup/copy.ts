// The off-host copy of a snapshot: to a directory (a mounted disk), over ssh (scp), or with rclone. The checksum
// of what arrived is compared with the snapshot's own; a copy that does not match is an error, never a success.
// Commands run without a shell, with their arguments as a list; the snapshot is encrypted by the server's
// keyring, and no token or key travels with it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError, quoted, usageError } from '../errors.ts';
import { checksumFile, sha256Of } from './snapshot.ts';

export type CopyTarget = { kind: 'dir'; dir: string } | { kind: 'ssh'; host: string; dir: string } | { kind: 'rclone'; remote: string };

/** `rclone:REMOTE:PATH`, `[USER@]HOST:PATH` (ssh), or a local directory. */
export function parseCopyTarget(raw: string): CopyTarget {
  const text = raw.trim();
  if (text === '') throw usageError('--copy-to needs a target', 'a directory, [user@]host:path (ssh) or rclone:remote:path');
  if (text.startsWith('rclone:')) {
    const remote = text.slice('rclone:'.length);
    if (!/^[\w.-]+:/.test(remote)) throw usageError(`--copy-to ${quoted(text)}: an rclone target is rclone:REMOTE:PATH`);
    return { kind: 'rclone', remote: remote.replace(/\/+$/, '') };
  }
  const ssh = /^((?:[\w.-]+@)?[\w.-]+):(.*)$/.exec(text);
  if (ssh !== null && !text.startsWith('/') && !text.startsWith('.')) {
    if (/^-/.test(ssh[1] as string)) throw usageError(`--copy-to ${quoted(text)}: a host cannot start with "-"`);
    return { kind: 'ssh', host: ssh[1] as string, dir: (ssh[2] as string) || '.' };
  }
  return { kind: 'dir', dir: path.resolve(text) };
}

export function describeTarget(t: CopyTarget): string {
  return t.kind === 'dir' ? t.dir : t.kind === 'ssh' ? `${t.host}:${t.dir}` : `rclone:${t.remote}`;
}

/** Copies FILE and FILE.sha256 to the target and checks the copy's SHA-256; returns where it went. */
export async function copySnapshot(file: string, sha256: string, target: CopyTarget): Promise<{ to: string; sha256: string }> {
  const name = path.basename(file);
  let remoteHash: string;
  let to: string;
  if (target.kind === 'dir') {
    await fs.mkdir(target.dir, { recursive: true, mode: 0o700 });
    to = path.join(target.dir, name);
    for (const [from, dest] of [[file, to], [checksumFile(file), checksumFile(to)]] as const) {
      const tmp = path.join(target.dir, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await fs.copyFile(from, tmp);
        await fs.chmod(tmp, 0o600);
        await fs.rename(tmp, dest);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot copy the snapshot to ${target.dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'check that the directory is mounted and writable' });
      }
    }
    remoteHash = await sha256Of(to);
  } else if (target.kind === 'ssh') {
    const dir = target.dir.replace(/\/+$/, '') || '/';
    to = `${target.host}:${dir}/${name}`;
    await run('scp', ['-q', '-p', '-B', '--', file, checksumFile(file), `${target.host}:${dir}/`]);
    const out = await run('ssh', ['-o', 'BatchMode=yes', '--', target.host, `sha256sum -- ${shq(`${dir}/${name}`)}`]);
    remoteHash = out.trim().split(/\s+/)[0] ?? '';
  } else {
    to = `${target.remote}/${name}`;
    await run('rclone', ['copyto', file, to]);
    await run('rclone', ['copyto', checksumFile(file), checksumFile(to)]);
    // --download hashes what the remote gives back, on backends that store no SHA-256 of their own too.
    const out = await run('rclone', ['hashsum', 'sha256', '--download', to]);
    remoteHash = out.trim().split(/\s+/)[0] ?? '';
  }
  if (remoteHash.toLowerCase() !== sha256) {
    throw new VaultSetupError('E_SERVER', `the copy at ${to} does not match the snapshot (SHA-256 ${remoteHash.slice(0, 12) || 'none'}…, expected ${sha256.slice(0, 12)}…)`, {
      hint: 'the local snapshot is intact; check the target and run the backup again',
    });
  }
  return { to, sha256: remoteHash.toLowerCase() };
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30 * 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? `${cmd} is not installed` : `${cmd} failed (${stderr.trim().split('\n').pop() || `exit ${String(error.code)}`})`;
      reject(new VaultSetupError('E_SERVER', `the off-host copy failed: ${reason}`, { hint: 'the local snapshot is intact; fix the target (try the same command by hand) and run the backup again' }));
    });
  });
}
