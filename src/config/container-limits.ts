// What the server's container may use and do, beyond the image's defaults. Chosen for one Vault/OpenBao server with
// integrated storage on a small host, and documented in docs/security.md.
import { usageError } from '../errors.ts';

/**
 * Memory limit, with an equal swap limit: the server never reaches swap, where keys and tokens would land on disk
 * unencrypted (`disable_mlock = true` means nothing else keeps them out). 1 GiB is several times what a
 * single-node server with thousands of secrets uses; raise it with --memory for large audit or raft workloads.
 */
export const DEFAULT_MEMORY = '1g';

/** Processes and threads in the container: a Go server uses tens; this stops a fork or thread bomb. */
export const PIDS_LIMIT = 1024;

/**
 * The only capabilities kept after `cap_drop: [ALL]`:
 *  - SETUID, SETGID: the images' entrypoint starts as root and drops to the server user (su-exec, start-stop-daemon);
 *  - IPC_LOCK: only in the bounding set, so that a server binary that carries the file capability cap_ipc_lock=+ep
 *    (official Vault images in 2026, vault#31919/#32016) can still be executed; under no-new-privileges the server,
 *    running as uid 100, never actually gains it.
 * CHOWN is not needed: vault-setup fixes data/ and logs/ ownership itself, and config/ is read-only.
 */
export const CAP_ADD = ['SETUID', 'SETGID', 'IPC_LOCK'] as const;

/** The root filesystem is read-only; the server writes only to its bind mounts and to this tmpfs. */
export const TMPFS = ['/tmp:rw,noexec,nosuid,size=64m'];

/** Docker's memory spellings: a number of bytes with an optional b, k, m or g suffix (at least 64 MiB). */
export function parseMemory(text: string): string {
  const m = /^\s*(\d+)\s*([bkmg])?b?\s*$/i.exec(text);
  if (m === null) throw usageError(`--memory must be a size such as 512m or 2g, got "${text.slice(0, 40)}"`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const bytes = Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit as 'b' | 'k' | 'm' | 'g'];
  if (!Number.isSafeInteger(bytes) || bytes < 64 * 1024 ** 2) throw usageError(`--memory must be at least 64m, got "${text.trim()}"`);
  return `${m[1]}${unit === 'b' ? '' : unit}`;
}

/** Bytes of a Docker memory spelling (as parseMemory returns it). */
export function memoryBytes(text: string): number {
  const m = /^(\d+)([kmg])?$/.exec(text);
  if (m === null) return Number.NaN;
  return Number(m[1]) * (m[2] === undefined ? 1 : { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as 'k' | 'm' | 'g']);
}

/** The compose service keys that confine the server (merged into the service by composeData). */
export function confinement(memory: string | undefined): Record<string, unknown> {
  const limit = memory ?? DEFAULT_MEMORY;
  return {
    mem_limit: limit,
    memswap_limit: limit,
    pids_limit: PIDS_LIMIT,
    cap_drop: ['ALL'],
    cap_add: [...CAP_ADD],
    read_only: true,
    tmpfs: [...TMPFS],
  };
}
