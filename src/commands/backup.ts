// `vault-setup backup`: a raft snapshot through the API (0600, atomically, SHA-256 beside it).
// File storage has no snapshot API. Archiving its data dir needs the server stopped, and a stopped server comes
// back SEALED until the share holders unseal it; so vault-setup refuses and says how to do it by hand.
import path from 'node:path';
import type { Context } from '../context.ts';
import { freshSnapshotPath } from '../backup/names.ts';
import { checksumFile, saveSnapshot } from '../backup/snapshot.ts';
import { afterSave, backupMode, backupToken, schedulePlan } from './backup-schedule.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { connect, openTarget, requireUnsealed, resolveTarget } from '../services/target.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { bool, str } from '../options/flags.ts';
import { checkSignInFlags } from '../auth/sign-in.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function backup({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const mode = await backupMode(flags, positionals, ctx, () => resolveTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') }));
  if (mode !== undefined) return mode;
  const plan = schedulePlan(flags);
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'name the file with --out FILE');
  const operator = str(flags, 'operator');
  checkSignInFlags({ operator, passwordStdin: bool(flags, 'password-stdin'), tokenFile: str(flags, 'token-file') });
  if (operator !== undefined && str(flags, 'identity') !== undefined) throw usageError('--operator and --identity are two ways to authenticate: give one');
  const { target, api, close } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  try {
    const outFlag = str(flags, 'out');
    if (outFlag === undefined && target.dir === undefined) {
      throw usageError('--addr without a deployment directory needs --out FILE', 'e.g. --out ./vault-2026-01-31.snap');
    }
    const file = path.resolve(outFlag ?? (await freshSnapshotPath(path.join(target.dir as string, 'backups'), ctx.clock.now())));
    const seal = await api.sealStatus();
    if (seal.storage_type === 'file') {
      const data = target.dir === undefined ? '<deployment dir>/data' : path.join(target.dir, 'data');
      throw new VaultSetupError('E_USAGE', 'this server uses file storage, which has no snapshot API: vault-setup backs up raft storage only', {
        hint: `by hand: docker stop ${target.name ?? '<container>'} && sudo tar czf vault-data.tgz -C ${path.dirname(data)} data && docker start ${target.name ?? '<container>'}, then unseal it (stopping seals the server); better: move to raft storage`,
      });
    }
    requireUnsealed(seal, target.address, { suffix: ': there is nothing to back up yet' });
    await using session = await backupToken(ctx, api, flags, target.dir, 'take a snapshot (read on sys/storage/raft/snapshot)');
    // A cluster's standby answers a snapshot request with a redirect: the snapshot is taken from the leader, over
    // TLS with the cluster CA on its private address.
    const source = target.record?.cluster === undefined ? undefined : await leaderOf(ctx, api, target.caCert);
    const from = source ?? api;
    ctx.output.info(`Saving a raft snapshot of ${from.address}${source === undefined ? '' : ' (the cluster\'s leader)'} to ${file} ...`);
    const saved = await saveSnapshot(from, session.token, file).finally(() => source?.close());
    const extras = await afterSave(plan, file, saved.sha256, ctx);
    const data = { file, checksum_file: checksumFile(file), sha256: saved.sha256, bytes: saved.bytes, server: seal.version, address: target.address, ...(source === undefined ? {} : { leader: source.address }), ...extras.data };
    ctx.output.info('The snapshot is encrypted by the server\'s keyring: it opens only with this cluster\'s unseal keys. Keep it off this host too.');
    return {
      data,
      human: [`Backup: ${file} (${saved.bytes} bytes, 0600)`, `SHA-256: ${saved.sha256}  (${path.basename(checksumFile(file))}; check with sha256sum -c)`, ...extras.lines].join('\n'),
    };
  } finally {
    close();
  }
}

/** The leader's API when this node is a standby (sys/leader needs no token); undefined when this node leads. */
async function leaderOf(ctx: Context, api: VaultApi, caCert: string | undefined): Promise<VaultApi | undefined> {
  const res = await api.request<{ is_self?: boolean; leader_address?: string }>('GET', 'sys/leader');
  const leader = res.body?.leader_address;
  if (res.body?.is_self === true || typeof leader !== 'string' || !leader.startsWith('https://')) return undefined;
  return connect(ctx, leader, caCert);
}
