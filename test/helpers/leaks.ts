// A leak scanner for secrets the tests hold in memory (unseal shares, root and app tokens, seeded values).
// It looks for each secret in every spelling it could take on the way out (as typed, hex, base64, raw bytes)
// in files under directories, container logs, `docker inspect`, and every process's argv and environment.
// Usage:
//   await assertNoLeaks(secrets, { dirs: [d.dir, home], since, containers: [d.name] });
//   (or findLeaks({ secrets, dirs, recentDirs, since, containers, exclude }) for the list itself)
//   const watch = watchProcesses(secrets); ...run something...; assert.deepEqual(watch.stop(), []);
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Leak {
  /** A file path, `docker logs NAME`, `docker inspect NAME`, `/proc/PID/cmdline` ... */
  where: string;
  /** Which secret (its index in `secrets`) and which spelling was found; never the secret itself. */
  secret: number;
  form: string;
}

export interface LeakSearch {
  secrets: string[];
  /** Scanned whole, recursively (symlinks are not followed). */
  dirs?: string[];
  /** Large shared trees (the real $HOME, the temp dir): only files modified at or after `since` are read. */
  recentDirs?: string[];
  since?: number;
  /** Container names or ids: their logs (stdout and stderr) and `docker inspect` output. */
  containers?: string[];
  /** Also look at /proc/PID/cmdline and /proc/PID/environ of every process (once). */
  processes?: boolean;
  /** Paths to leave out (e.g. a file the test itself wrote on purpose). */
  exclude?: string[];
}

interface Needle {
  secret: number;
  form: string;
  bytes: Buffer;
}

const HEX = /^[0-9a-fA-F]+$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MIN_RAW = 12; // shorter byte strings could match by chance in big binary files

/** Every spelling a secret may take: as given, hex <-> base64 of its bytes, the bytes themselves, base64/hex of its text. */
export function needles(secrets: string[]): Needle[] {
  const out: Needle[] = [];
  secrets.forEach((raw, secret) => {
    const s = raw.trim();
    if (s.length < 6) throw new Error(`leak scanner: secret #${secret} is too short to search for reliably`);
    const add = (form: string, bytes: Buffer) => {
      if (bytes.length >= 6 && !out.some((n) => n.secret === secret && n.bytes.equals(bytes))) out.push({ secret, form, bytes });
    };
    add('text', Buffer.from(s));
    add('base64 of text', Buffer.from(Buffer.from(s).toString('base64').replace(/=+$/, '')));
    add('hex of text', Buffer.from(Buffer.from(s).toString('hex')));
    let decoded: Buffer | undefined;
    if (HEX.test(s) && s.length % 2 === 0) decoded = Buffer.from(s, 'hex');
    else if (B64.test(s) && s.length % 4 === 0) decoded = Buffer.from(s, 'base64');
    if (decoded !== undefined && decoded.length >= MIN_RAW) {
      add('hex', Buffer.from(decoded.toString('hex')));
      add('HEX', Buffer.from(decoded.toString('hex').toUpperCase()));
      add('base64', Buffer.from(decoded.toString('base64').replace(/=+$/, '')));
      add('base64url', Buffer.from(decoded.toString('base64url')));
      add('raw bytes', decoded);
    }
  });
  return out;
}

function search(haystack: Buffer, where: string, list: Needle[], found: Leak[]): void {
  for (const n of list) {
    if (haystack.indexOf(n.bytes) >= 0) found.push({ where, secret: n.secret, form: n.form });
  }
}

function walk(dir: string, since: number | undefined, exclude: Set<string>, visit: (file: string) => void): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (exclude.has(full)) continue;
    if (entry.isDirectory()) {
      if (full === '/proc' || full === '/sys' || full === '/dev') continue;
      walk(full, since, exclude, visit);
    } else if (entry.isFile()) {
      if (since !== undefined) {
        try {
          if (fs.lstatSync(full).mtimeMs < since) continue;
        } catch {
          continue;
        }
      }
      visit(full);
    }
  }
}

export async function findLeaks(options: LeakSearch): Promise<Leak[]> {
  const list = needles(options.secrets);
  const found: Leak[] = [];
  const exclude = new Set((options.exclude ?? []).map((p) => path.resolve(p)));
  let files = 0;
  const read = (file: string) => {
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch {
      return;
    }
    files++;
    search(content, file, list, found);
  };
  for (const dir of options.dirs ?? []) walk(path.resolve(dir), undefined, exclude, read);
  for (const dir of options.recentDirs ?? []) {
    if (options.since === undefined) throw new Error('leak scanner: recentDirs needs since');
    walk(path.resolve(dir), options.since, exclude, read);
  }
  for (const name of options.containers ?? []) {
    search(dockerOutput(['logs', name]), `docker logs ${name}`, list, found);
    search(dockerOutput(['inspect', name]), `docker inspect ${name}`, list, found);
  }
  if (options.processes === true) found.push(...scanProcesses(list));
  if ((options.dirs?.length ?? 0) > 0 && files === 0) throw new Error('leak scanner: no file was read; the directories are wrong');
  // Same place and secret once is enough; keep the report short.
  return found.filter((l, i) => found.findIndex((m) => m.where === l.where && m.secret === l.secret) === i);
}

function dockerOutput(args: string[]): Buffer {
  // Both streams: `docker logs` replays the server's stderr on its own stderr.
  const run = spawnSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`leak scanner: docker ${args.join(' ')} failed: ${run.stderr.toString().trim()}`);
  return Buffer.concat([run.stdout, run.stderr]);
}

/** One pass over /proc: every process's argv and environment (the scanner's own process included). */
export function scanProcesses(list: Needle[]): Leak[] {
  const found: Leak[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    throw new Error('leak scanner: /proc is not readable');
  }
  for (const pid of pids) {
    for (const part of ['cmdline', 'environ']) {
      try {
        search(fs.readFileSync(`/proc/${pid}/${part}`), `/proc/${pid}/${part}`, list, found);
      } catch {
        // the process ended meanwhile, or is not ours to read
      }
    }
  }
  return found;
}

/** Samples every process's argv and environment until stopped; returns what was found, with the command lines. */
export function watchProcesses(secrets: string[], intervalMs = 25): { stop(): Leak[]; samples(): number } {
  const list = needles(secrets);
  const found: Leak[] = [];
  let samples = 0;
  const timer = setInterval(() => {
    samples++;
    for (const leak of scanProcesses(list)) {
      if (!found.some((f) => f.where === leak.where && f.secret === leak.secret)) found.push(leak);
    }
  }, intervalMs);
  return {
    samples: () => samples,
    stop() {
      clearInterval(timer);
      for (const leak of scanProcesses(list)) if (!found.some((f) => f.where === leak.where && f.secret === leak.secret)) found.push(leak);
      return found;
    },
  };
}

/**
 * No secret in the deployment's own files and the given directories, in files changed since `since` under the
 * temp dir and $HOME, in the containers' logs and `docker inspect`. The usual end of a test that held secrets.
 */
export async function assertNoLeaks(secrets: string[], where: { dirs: string[]; containers: string[]; since: number; recentDirs?: string[] }): Promise<void> {
  const leaks = await findLeaks({ secrets, dirs: where.dirs, recentDirs: where.recentDirs ?? [os.tmpdir(), os.homedir()], since: where.since, containers: where.containers });
  assert.deepEqual(leaks, []);
}
