// Hygiene: key material lying around on the host. The playbook's rule: no unseal keys and no root token on the
// server, ever. Findings name files and line numbers; what matched is never repeated.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isLoopbackHost } from '../../services/addr-policy.ts';
import { VaultApi } from '../../services/vault-api.ts';
import type { Probe } from '../probe.ts';
import { type MaterialHit, lineList, scanText } from '../scan.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';

const MAX_FILES = 5000;
const MAX_SCAN_BYTES = 1024 * 1024;
// data/ holds the encrypted barrier, logs/ the audit log (values HMACed); neither is where keys get pasted.
const NOT_SCANNED = new Set(['data', 'logs']);

export interface FileEntry {
  path: string;
  rel: string;
  mode: number;
  size: number;
  isDir: boolean;
}

interface Walk {
  entries: FileEntry[];
  truncated: boolean;
}

/** Everything under the deployment directory (lstat: links are not followed). */
function walk(p: Probe): Promise<Walk> {
  return p.memo('walk', async () => {
    const root = p.paths?.dir as string;
    const entries: FileEntry[] = [];
    const queue = [root];
    let truncated = false;
    while (queue.length > 0) {
      const dir = queue.shift() as string;
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        if (entries.length >= MAX_FILES) {
          truncated = true;
          break;
        }
        const full = path.join(dir, name);
        const stat = await fs.lstat(full).catch(() => undefined);
        if (stat === undefined || stat.isSymbolicLink()) continue;
        entries.push({ path: full, rel: path.relative(root, full), mode: stat.mode & 0o7777, size: stat.size, isDir: stat.isDirectory() });
        if (stat.isDirectory()) queue.push(full);
      }
    }
    return { entries, truncated };
  });
}

interface FileScan {
  rel: string;
  hits: MaterialHit[];
  unsealScript: boolean;
  tokens: string[];
}

/** Text files outside data/ and logs/ with anything key-shaped in them. */
function scanDeployment(p: Probe): Promise<FileScan[]> {
  return p.memo('scan', async () => {
    const { entries } = await walk(p);
    const candidates = entries.filter((e) => !e.isDir && e.size > 0 && e.size <= MAX_SCAN_BYTES && !NOT_SCANNED.has(e.rel.split(path.sep)[0] as string));
    const scans = await Promise.all(
      candidates.map(async (e): Promise<FileScan | undefined> => {
        const buffer = await fs.readFile(e.path).catch(() => undefined);
        if (buffer === undefined || buffer.subarray(0, 8000).includes(0)) return undefined; // binary (snapshots)
        const result = scanText(buffer.toString('utf8'));
        for (const t of result.tokens) p.ctx.redactor.add(t);
        return result.hits.length > 0 ? { rel: e.rel, ...result } : undefined;
      }),
    );
    return scans.filter((s): s is FileScan => s !== undefined);
  });
}

/**
 * Asks the deployment's own server what a token found on disk is. Read-only (lookup-self); the token is never
 * shown. Only the deployment's loopback address is asked, never --addr: a token found on this host must not travel
 * to whatever server --addr names (maybe over plain http).
 */
async function tokenKind(p: Probe, token: string): Promise<'root' | 'valid' | 'invalid' | 'unknown' | 'not-asked'> {
  return p.memo(`kind ${token}`, async () => {
    const own = ownLoopbackAddress(p);
    if (own === undefined) return 'not-asked';
    if (own !== p.address) return lookupOn(own, p, token);
    if ((await p.serving()) !== undefined) return 'unknown';
    const res = await p.call<{ data?: { policies?: string[] } }>('GET', 'auth/token/lookup-self', { token });
    return kindOf(res);
  });
}

/** The deployment's API on this host's loopback (from its compose file), or undefined. */
export function ownLoopbackAddress(p: Probe): string | undefined {
  const address = p.deployment?.address;
  if (address === undefined) return undefined;
  const host = new URL(address).hostname;
  return isLoopbackHost(host) ? address : undefined;
}

async function lookupOn(address: string, p: Probe, token: string): Promise<'root' | 'valid' | 'invalid' | 'unknown'> {
  const caCert = p.deployment?.tls === true ? await fs.readFile(p.deployment.paths.caCert, 'utf8').catch(() => undefined) : undefined;
  const api = new VaultApi({ address, ...(caCert === undefined ? {} : { caCert }), attempts: 1, timeoutMs: 5000 });
  try {
    return kindOf(await api.request<{ data?: { policies?: string[] } }>('GET', 'auth/token/lookup-self', { token, accept: [400, 401, 403, 404, 500, 503], retry: false }));
  } catch {
    return 'unknown';
  } finally {
    api.close();
  }
}

const kindOf = (res: { status: number; body?: { data?: { policies?: string[] } } } | undefined): 'root' | 'valid' | 'invalid' | 'unknown' => {
  if (res === undefined) return 'unknown';
  if (res.status === 200) return res.body?.data?.policies?.includes('root') ? 'root' : 'valid';
  return res.status === 403 ? 'invalid' : 'unknown';
};

export async function keyMaterial(p: Probe): Promise<CheckResult> {
  const id = 'key-material';
  if (p.paths === undefined) return skip(id, 'no deployment directory (only --addr)');
  const scans = await scanDeployment(p);
  const problems: string[] = [];
  for (const s of scans) {
    const shares = s.hits.filter((h) => h.kind === 'share').map((h) => h.line);
    const roots = s.hits.filter((h) => h.kind === 'root-token').map((h) => h.line);
    if (shares.length > 0 && s.unsealScript) problems.push(`${s.rel} is an unseal script with ${shares.length} unseal key${shares.length > 1 ? 's' : ''} in it (${lineList(shares)})`);
    else if (shares.length > 0) problems.push(`${s.rel} holds ${shares.length} unseal-key-shaped string${shares.length > 1 ? 's' : ''} (${lineList(shares)})`);
    let rootFound = roots.length > 0;
    if (!rootFound) {
      for (const token of s.tokens.slice(0, 3)) if ((await tokenKind(p, token)) === 'root') rootFound = true;
    }
    if (rootFound) problems.push(`${s.rel} holds a root token${roots.length > 0 ? ` (${lineList(roots)})` : ' (the server says so)'}`);
  }
  const { truncated } = await walk(p);
  if (problems.length > 0) {
    return fail(
      id,
      problems.join('; '),
      'move keys to their holders (password manager, safe) and delete the file (shred -u); revoke a saved root token; rekey if the shares may have leaked',
    );
  }
  return truncated ? warn(id, `no key material in the first ${MAX_FILES} files (more were not scanned)`, 'keep only the deployment in this directory') : pass(id, 'no unseal keys or root token in the deployment directory');
}

/** ~/.vault-token is where `vault login` leaves a token; with the root token it is a standing master key. */
export async function tokenHelperFile(p: Probe): Promise<CheckResult> {
  const id = 'vault-token-file';
  const home = p.ctx.env.HOME ?? os.homedir();
  const file = p.ctx.env.BAO_TOKEN_PATH ?? path.join(home, '.vault-token');
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file).then((s) => s.mode & 0o777)]);
  } catch {
    return pass(id, `no ${file}`);
  }
  const token = text.trim();
  if (token.length === 0) return pass(id, `${file} is empty`);
  p.ctx.redactor.add(token);
  const kind = await tokenKind(p, token);
  if (kind === 'root') return fail(id, `${file} holds a root token (lookup-self: policies ["root"])`, `revoke it (vault token revoke -self) and delete ${file}; use a scoped admin token when needed`);
  if (kind === 'not-asked') return warn(id, `${file} holds a token; it was not looked up (only a deployment's own loopback address is asked, never --addr)`, `run verify with --dir on the host that runs the server, or delete ${file} if it is stale`);
  if (kind === 'unknown') return warn(id, `${file} holds a token the server cannot be asked about (${(await p.serving()) ?? 'no answer'})`, 're-run verify when the server is unsealed');
  if (kind === 'valid' && (mode & 0o077) !== 0) return warn(id, `${file} holds a valid token and is readable by others (mode ${mode.toString(8)})`, `chmod 600 ${file}`);
  return pass(id, kind === 'valid' ? `${file} holds a non-root token` : `${file} holds a token the server no longer accepts`);
}

// Secrets the server or the operator keep on disk: anything here must not be readable by other users.
const SENSITIVE = /^(data|logs|backups)(\/|$)|\.(key|snap|token)$|token|unseal|(^|\/)tls\/.*\.(key|pem)$/i;

export async function fileModes(p: Probe): Promise<CheckResult> {
  const id = 'file-modes';
  if (p.paths === undefined) return skip(id, 'no deployment directory (only --addr)');
  const { entries } = await walk(p);
  const withMaterial = new Set((await scanDeployment(p)).map((s) => s.rel));
  const problems: string[] = [];
  const dirStat = await fs.stat(p.paths.dir).catch(() => undefined);
  if (dirStat !== undefined && (dirStat.mode & 0o002) !== 0) problems.push(`${p.paths.dir} itself is world-writable`);
  const writable = entries.filter((e) => (e.mode & 0o002) !== 0 && !(e.isDir && (e.mode & 0o1000) !== 0));
  const readable = entries.filter((e) => !e.isDir && (e.mode & 0o004) !== 0 && (SENSITIVE.test(e.rel) || withMaterial.has(e.rel)));
  const list = (xs: FileEntry[]) => `${xs.slice(0, 4).map((x) => `${x.rel} (${x.mode.toString(8)})`).join(', ')}${xs.length > 4 ? ` and ${xs.length - 4} more` : ''}`;
  if (writable.length > 0) problems.push(`world-writable: ${list(writable)}`);
  if (readable.length > 0) problems.push(`world-readable: ${list(readable)}`);
  if (problems.length > 0) return fail(id, problems.join('; '), 'chmod o-rwx on them (secrets 0600, directories 0700 or 0750)');
  return pass(id, 'no secret-bearing file is readable, and nothing is writable, by other users');
}

/** Shell history is where a pasted `vault operator unseal <key>` or `export VAULT_TOKEN=` stays forever. */
export async function shellHistory(p: Probe): Promise<CheckResult> {
  const id = 'shell-history';
  const home = p.ctx.env.HOME ?? os.homedir();
  const files = ['.bash_history', '.zsh_history', '.ash_history', '.local/share/fish/fish_history'].map((f) => path.join(home, f));
  const problems: string[] = [];
  for (const file of files) {
    const buffer = await fs.readFile(file).catch(() => undefined);
    if (buffer === undefined) continue;
    const result = scanText(buffer.subarray(Math.max(0, buffer.length - 2 * MAX_SCAN_BYTES)).toString('utf8'));
    for (const t of result.tokens) p.ctx.redactor.add(t);
    const shares = result.hits.filter((h) => h.kind === 'share').length;
    const roots = result.hits.filter((h) => h.kind === 'root-token').length;
    if (shares + roots > 0) problems.push(`${file}: ${[shares ? `${shares} unseal-key-shaped line${shares > 1 ? 's' : ''}` : '', roots ? `${roots} root-token line${roots > 1 ? 's' : ''}` : ''].filter(Boolean).join(', ')}`);
  }
  if (problems.length > 0) return fail(id, problems.join('; '), 'delete those lines from the history file (and `history -c`); type keys at masked prompts (vault-setup unseal) instead');
  return pass(id, 'no unseal keys or root token in shell history');
}

export const HYGIENE_CHECKS = [keyMaterial, tokenHelperFile, fileModes, shellHistory];
