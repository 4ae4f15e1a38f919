// The deployment directory decides what a root-run `compose up` and the root-run chown container do: whoever can
// rename or replace an entry in it, or in any directory above it, can swap docker-compose.yml or turn data/ into a
// link to /etc between vault-setup's writes and those root steps. So, as sshd's StrictModes does for ~/.ssh: the
// directory and every parent must be owned by root or by the user running vault-setup, and not writable by group
// or others; a parent may be world-writable only with the sticky bit (like /tmp), which stops others renaming or
// removing what they do not own. The directory itself gets no such exception.
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError } from '../errors.ts';
import { refuseSymlink } from './files.ts';

/** Mode of the directories vault-setup creates, whatever the umask. */
export const DIR_MODE = 0o750;

const STICKY = 0o1000;

export interface DirProblem {
  path: string;
  reason: string;
}

/** Why `dir` (or the nearest existing ancestor, when it does not exist yet) is unsafe, or undefined. */
export async function dirProblem(dir: string, uid = process.getuid?.() ?? 0): Promise<DirProblem | undefined> {
  let probe = path.resolve(dir);
  let isTarget = true;
  // Not created yet: vault-setup creates it (0750, its own), so its nearest existing ancestor is judged as a parent
  // (a sticky /tmp is fine). Whoever creates it first owns it: a directory planted meanwhile fails the check that
  // runs again once it exists.
  for (;;) {
    try {
      await fs.lstat(probe);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(probe) === probe) throw error;
      probe = path.dirname(probe);
      isTarget = false;
    }
  }
  // Links above the directory (e.g. /var/run -> /run) are judged where they lead.
  let current = await fs.realpath(probe);
  for (;;) {
    const stat = await fs.stat(current);
    if (stat.uid !== 0 && stat.uid !== uid) {
      return { path: current, reason: `is owned by uid ${stat.uid}${await userName(stat.uid)}, who could swap the files vault-setup hands to root` };
    }
    const othersWrite = (stat.mode & 0o022) !== 0;
    if (othersWrite && (isTarget || (stat.mode & STICKY) === 0)) {
      const who = (stat.mode & 0o002) !== 0 ? 'everyone' : 'its group';
      return { path: current, reason: `is writable by ${who} (mode ${(stat.mode & 0o7777).toString(8)})${isTarget ? '' : ' without the sticky bit'}` };
    }
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
    isTarget = false;
  }
}

/** Refuses an unsafe deployment directory with the one command that fixes it. */
export async function assertSafeDir(dir: string): Promise<void> {
  const problem = await dirProblem(dir);
  if (problem === undefined) return;
  throw new VaultSetupError('E_UNSAFE_PATH', `${problem.path} ${problem.reason}; vault-setup will not deploy under it`, {
    hint: problem.reason.startsWith('is owned')
      ? `choose a --dir under a directory you or root own (e.g. ~/docker/vault), or: sudo chown root ${problem.path}`
      : `choose another --dir (e.g. ~/docker/vault), or: chmod go-w ${problem.path}`,
  });
}

/** mkdir -p with DIR_MODE for every directory it creates, whatever the umask. */
export async function makeDir(dir: string, mode = DIR_MODE): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true, mode });
  if (first === undefined) return;
  // mkdir's mode is masked by the umask: set it on each directory this call created, top-down.
  const created: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    created.push(p);
    if (p === path.resolve(first) || path.dirname(p) === p) break;
  }
  for (const p of created.reverse()) await fs.chmod(p, mode);
}

async function userName(uid: number): Promise<string> {
  try {
    const passwd = await fs.readFile('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.split(':')[2] === String(uid));
    return line ? ` (${line.split(':')[0]})` : '';
  } catch {
    return '';
  }
}

/**
 * A directory a root-run one-shot container mounts: not a link, and safe as assertSafeDir says. The server's own
 * directories (data/, logs/, run/ belong to its user) are judged by the directory that holds them.
 */
export async function assertSafeMount(source: string): Promise<void> {
  await refuseSymlink(source);
  const stat = await fs.stat(source).catch(() => undefined);
  const mine = stat === undefined || stat.uid === 0 || stat.uid === (process.getuid?.() ?? 0);
  await assertSafeDir(mine ? source : path.dirname(source));
}

/**
 * Right before a root-run step (the chown container, `compose up`): the directory is still safe and nothing
 * vault-setup wrote or bind-mounts was replaced by a link meanwhile.
 */
export async function recheckBeforeRoot(paths: { dir: string; compose: string; configDir: string; config: string; dataDir: string; logsDir: string; runDir?: string; tlsDir?: string }): Promise<void> {
  await assertSafeDir(paths.dir);
  for (const p of [paths.dir, paths.compose, paths.configDir, paths.config, paths.dataDir, paths.logsDir, paths.runDir, paths.tlsDir]) if (p !== undefined) await refuseSymlink(p);
}
