// What confines the server's container: a memory limit that keeps it out of swap, dropped capabilities, a read-only
// root filesystem, a process limit; and who the server's uid is on this host.
import { imageUser } from '../../config/flavor.ts';
import fs from 'node:fs/promises';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';

const MIB = 1024 * 1024;

/** Swapped-out server memory lands on disk unencrypted; an unbounded server can take the host's memory. */
export async function memoryLimit(p: Probe): Promise<CheckResult> {
  const id = 'memory-limit';
  const lookup = await p.container();
  if (lookup.kind !== 'found') return skip(id, 'no container to look at');
  const { memory, memorySwap } = lookup.container;
  const fix = 'set `mem_limit` and an equal `memswap_limit` on the service (vault-setup init --memory SIZE writes both), then docker compose up -d';
  if (memory <= 0) return warn(id, 'the container has no memory limit (and so no swap limit)', fix);
  if (memorySwap !== memory) {
    const swapAllowed = memorySwap < 0 ? 'unlimited swap' : memorySwap === 0 ? 'as much swap as memory (Docker\'s default)' : `${Math.round((memorySwap - memory) / MIB)} MiB of swap`;
    const hostSwap = await hostHasSwap();
    const finding = `memory limit ${Math.round(memory / MIB)} MiB, but the container may use ${swapAllowed}${hostSwap ? ' and this host has swap' : ''}`;
    return hostSwap ? fail(id, finding, fix) : warn(id, `${finding} (this host has no swap today)`, fix);
  }
  return pass(id, `memory limited to ${Math.round(memory / MIB)} MiB, no swap`);
}

async function hostHasSwap(): Promise<boolean> {
  const swaps = await fs.readFile('/proc/swaps', 'utf8').catch(() => '');
  return swaps.trim().split('\n').length > 1;
}

/** cap_drop ALL (plus only the entrypoint's needs), a read-only root filesystem and a pids limit. */
export async function confinement(p: Probe): Promise<CheckResult> {
  const id = 'confinement';
  const lookup = await p.container();
  if (lookup.kind !== 'found') return skip(id, 'no container to look at');
  const c = lookup.container;
  const missing: string[] = [];
  if (!c.capDrop.some((cap) => /^(CAP_)?ALL$/i.test(cap))) missing.push('capabilities are not dropped (cap_drop: [ALL])');
  if (!c.readonlyRootfs) missing.push('the root filesystem is writable (read_only: true)');
  if (!(c.pidsLimit > 0)) missing.push('no process limit (pids_limit)');
  if (missing.length > 0) return warn(id, missing.join('; '), 're-run `vault-setup init --force` to rewrite docker-compose.yml with them (see docs/security.md), then docker compose up -d');
  return pass(id, `all capabilities dropped but ${c.capAdd.join(', ') || 'none'}; read-only root filesystem; at most ${c.pidsLimit} processes`);
}

/**
 * The server runs as uid 100 (the images' `vault`/`openbao` user) and data/ is owned by it on the host. On Debian
 * and Ubuntu uid 100 is usually a system account (messagebus, _apt, systemd-network): that account, or anything
 * running as it, can read the raft data and the audit log.
 */
export async function serverUid(p: Probe): Promise<CheckResult> {
  const id = 'server-uid';
  if (p.paths === undefined || p.layout === undefined) return skip(id, 'no deployment directory (only --addr)');
  const stat = await fs.stat(p.paths.dataDir).catch(() => undefined);
  if (stat === undefined) return skip(id, `${p.paths.dataDir} does not exist`);
  const owner = await hostUser(stat.uid);
  if (owner === undefined) return pass(id, `data/ is owned by uid ${stat.uid}, which is no account on this host`);
  if (owner === p.layout.user) return pass(id, `data/ is owned by uid ${stat.uid} (${owner}), the server's own account on this host`);
  // init --server-user: an account the operator chose for the server.
  if (!imageUser(p.layout) && stat.uid === p.layout.uid) return pass(id, `data/ is owned by uid ${stat.uid} (${owner}), the account the server runs as (user: in docker-compose.yml)`);
  return warn(
    id,
    `data/ is owned by uid ${stat.uid}, which on this host is the account "${owner}": it (and whatever runs as it) can read the server's data and logs`,
    `give the server a dedicated account: useradd --system --user-group vault-server, then vault-setup init --dir ${p.paths.dir} --server-user UID:GID --force (docs/security.md)`,
  );
}

async function hostUser(uid: number): Promise<string | undefined> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  const line = passwd.split('\n').find((l) => l.split(':')[2] === String(uid));
  return line?.split(':')[0];
}

export const CONFINEMENT_CHECKS = [memoryLimit, confinement, serverUid];
