// Files on the host: written atomically (temp file + fsync + rename), never overwritten behind the operator's back.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError } from '../errors.ts';
import { makeDir } from './dir-safety.ts';

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a file so that readers see the old content or the new, never half of it. */
export async function writeAtomic(file: string, content: string | Buffer, options: { mode?: number; exclusive?: boolean } = {}): Promise<void> {
  const dir = path.dirname(file);
  await removeStaleTemps(file);
  // The temp name carries the writer's pid, so a later run can tell a dead writer's leftover from a live one's.
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // 0600 until complete, whatever the final mode: a write killed half-way never leaves a readable copy.
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
    if ((options.mode ?? 0o644) !== 0o600) await handle.chmod(options.mode ?? 0o644);
  } finally {
    await handle.close();
  }
  try {
    if (options.exclusive === true) {
      // link() fails if the target exists: no window where an existing file is replaced.
      await fs.link(tmp, file);
      await fs.unlink(tmp);
    } else {
      await fs.rename(tmp, file);
    }
  } catch (error) {
    await fs.unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** Temp copies of FILE that a killed writer left (its pid is gone, or an older unnamed one): removed. */
export async function removeStaleTemps(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`.${base}.`) || !name.endsWith('.tmp')) continue;
    const middle = name.slice(base.length + 2, -'.tmp'.length).split('.');
    const pid = middle.length === 2 ? Number(middle[0]) : undefined;
    if (!(middle.length === 1 && /^[0-9a-f]{12}$/.test(middle[0] as string)) && !(pid !== undefined && Number.isInteger(pid) && /^[0-9a-f]{12}$/.test(middle[1] as string))) continue;
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) continue;
    if (pid === process.pid) continue;
    await fs.unlink(path.join(dir, name)).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/** True while a process with this pid exists (EPERM: it exists, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The nearest existing ancestor must be a writable directory; returns the resolved path. */
export async function ensureWritableDir(dir: string): Promise<void> {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const stat = await fs.stat(probe);
      if (!stat.isDirectory()) {
        throw new VaultSetupError('E_DIR_NOT_WRITABLE', `${probe} is not a directory, so ${dir} cannot be created`, {
          hint: 'choose another --dir',
        });
      }
      await fs.access(probe, fs.constants.W_OK);
      break;
    } catch (error) {
      if (error instanceof VaultSetupError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(probe) !== probe) {
        probe = path.dirname(probe);
        continue;
      }
      throw new VaultSetupError('E_DIR_NOT_WRITABLE', `${probe} is not writable (${code ?? 'unknown'})`, {
        hint: 'choose another --dir, or fix its permissions',
      });
    }
  }
  try {
    await makeDir(dir);
    const test = path.join(dir, `.vault-setup-write-test-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(test, '');
    await fs.unlink(test);
  } catch (error) {
    throw new VaultSetupError('E_DIR_NOT_WRITABLE', `${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'choose another --dir, or fix its permissions (a read-only file system?)',
    });
  }
}

/** A minimal unified-style line diff (LCS), enough to show an operator what would change. */
export function lineDiff(before: string, after: string, labels = { before: 'on disk', after: 'vault-setup' }): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (lcs[i] as number[])[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
    }
  }
  const out = [`--- ${labels.before}`, `+++ ${labels.after}`];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      out.push(`+${b[j++]}`);
    } else {
      out.push(`-${a[i++]}`);
    }
  }
  return out.join('\n');
}

/** Refuses symlinks where vault-setup writes: a link could redirect a write outside the deployment. */
export async function refuseSymlink(file: string): Promise<void> {
  try {
    const stat = await fs.lstat(file);
    if (stat.isSymbolicLink()) {
      const target = await fs.realpath(file).catch(() => undefined);
      throw new VaultSetupError('E_UNSAFE_PATH', `${file} is a symbolic link${target ? ` to ${target}` : ''}; vault-setup does not write through links`, {
        hint: target ? `give the real path (${target}) instead, or replace the link with a regular file or directory` : 'replace the link with a regular file or directory, or choose another path',
      });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
}
