// The playbook's forbidden file: a script that unseals with the keys written in it. adopt looks for it under the
// deployment directory and the operator's home, by shape (an `operator unseal` or `sys/unseal` call and share-shaped
// strings: 44 base64 or 66 hex characters), reports file names and counts only, and never sends what it finds
// anywhere. The same walk notes which files hold the old root token, so the apps reading them can be named.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { scanText } from '../verify/scan.ts';

const MAX_FILES = 20_000;
const MAX_BYTES = 1024 * 1024;
const MAX_DEPTH = 4;
// Where nobody pastes a script, and where a walk would take long: package trees, caches, the server's own files.
const SKIP_DIRS = new Set(['node_modules', '.git', '.cache', '.npm', '.cargo', '.rustup', 'go', '.local', '.vscode-server', 'snap', 'proc']);

export interface UnsealScript {
  file: string;
  /** Share-shaped strings found in it (the count; never the strings). */
  shares: number;
  lines: number[];
}

export interface HostScan {
  unsealScripts: UnsealScript[];
  /** Files that hold one of the tokens asked about (by exact string, in memory), e.g. an app's .env with the root token. */
  holdingToken: string[];
  scanned: number;
  truncated: boolean;
}

/** Walks each root (links not followed; the deployment's data/ and logs/ skipped) and reads small text files. */
export async function scanHost(roots: { dir: string; skip?: string[] }[], tokens: readonly string[]): Promise<HostScan> {
  const seen = new Set<string>();
  const result: HostScan = { unsealScripts: [], holdingToken: [], scanned: 0, truncated: false };
  for (const root of roots) {
    const skip = new Set((root.skip ?? []).map((s) => path.resolve(s)));
    const queue: { dir: string; depth: number }[] = [{ dir: path.resolve(root.dir), depth: 0 }];
    while (queue.length > 0) {
      const { dir, depth } = queue.shift() as { dir: string; depth: number };
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        const full = path.join(dir, name);
        if (seen.has(full) || skip.has(full)) continue;
        seen.add(full);
        const stat = await fs.lstat(full).catch(() => undefined);
        if (stat === undefined || stat.isSymbolicLink()) continue;
        if (stat.isDirectory()) {
          if (depth + 1 < MAX_DEPTH && !SKIP_DIRS.has(name)) queue.push({ dir: full, depth: depth + 1 });
          continue;
        }
        if (!stat.isFile() || stat.size === 0 || stat.size > MAX_BYTES) continue;
        if (result.scanned >= MAX_FILES) {
          result.truncated = true;
          return result;
        }
        result.scanned++;
        const buffer = await fs.readFile(full).catch(() => undefined);
        if (buffer === undefined || buffer.subarray(0, 8000).includes(0)) continue;
        const text = buffer.toString('utf8');
        if (tokens.some((t) => t.length > 0 && text.includes(t))) result.holdingToken.push(full);
        const scan = scanText(text);
        const lines = scan.hits.filter((h) => h.kind === 'share').map((h) => h.line);
        if (scan.unsealScript && lines.length > 0) {
          const textLines = text.split('\n');
          const shares = lines.reduce((n, line) => n + Math.max(1, sharesIn(textLines[line - 1] ?? '')), 0);
          result.unsealScripts.push({ file: full, shares, lines });
        }
      }
    }
  }
  return result;
}

const HEX66 = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{66}(?![0-9A-Fa-f])/g;
const B64_44 = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{43}[A-Za-z0-9+/=](?![A-Za-z0-9+/=])/g;
/** Share-shaped strings on one line (a loop over keys may hold several). */
const sharesIn = (line: string): number => (line.match(HEX66)?.length ?? 0) + (line.match(B64_44)?.length ?? 0);

/** Overwrites the file with random bytes of its length, syncs, then removes it. */
export async function shred(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const { size } = await handle.stat();
    await handle.write(randomBytes(size), 0, size, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.unlink(file);
}
