// `vault-setup backup`: a raft snapshot through the API (0600, atomically, SHA-256 beside it).
// File storage has no snapshot API. Archiving its data dir needs the server stopped, and a stopped server comes
// back SEALED until the share holders unseal it; so vault-setup refuses and says how to do it by hand.
import path from 'node:path';
import type { Context } from '../context.ts';
import { freshSnapshotPath } from '../backup/names.ts';
import { checksumFile, saveSnapshot } from '../backup/snapshot.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { obtainToken } from '../services/token.ts';
import { VaultApi } from '../services/vault-api.ts';
import { str } from './common.ts';
import { resolveTarget } from './status.ts';
import type { CommandResult, Invocation } from './types.ts';

export async function backup({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'name the file with --out FILE');
  const target = await resolveTarget(ctx, str(flags, 'dir'), str(flags, 'addr'));
  const outFlag = str(flags, 'out');
  if (outFlag === undefined && target.dir === undefined) {
    throw usageError('--addr without a deployment directory needs --out FILE', 'e.g. --out ./vault-2026-01-31.snap');
  }
  const file = path.resolve(outFlag ?? (await freshSnapshotPath(path.join(target.dir as string, 'backups'), ctx.clock.now())));
  const api = new VaultApi({ address: target.address, clock: ctx.clock, ...(target.caCert ? { caCert: target.caCert } : {}) });
  try {
    const seal = await api.sealStatus();
    if (seal.storage_type === 'file') {
      const data = target.dir === undefined ? '<deployment dir>/data' : path.join(target.dir, 'data');
      throw new VaultSetupError('E_USAGE', 'this server uses file storage, which has no snapshot API: vault-setup backs up raft storage only', {
        hint: `by hand: docker stop ${target.name ?? '<container>'} && sudo tar czf vault-data.tgz -C ${path.dirname(data)} data && docker start ${target.name ?? '<container>'}, then unseal it (stopping seals the server); better: move to raft storage`,
      });
    }
    if (!seal.initialized || seal.sealed) {
      throw new VaultSetupError(seal.initialized ? 'E_SEALED' : 'E_NOT_INITIALIZED', `the server at ${target.address} is ${seal.initialized ? 'sealed' : 'not initialised'}: there is nothing to back up yet`, {
        hint: seal.initialized ? 'unseal it first: vault-setup unseal' : 'run `vault-setup init` first',
      });
    }
    const token = await obtainToken(ctx, { tokenFile: str(flags, 'token-file'), purpose: 'take a snapshot (read on sys/storage/raft/snapshot)' });
    ctx.output.info(`Saving a raft snapshot of ${target.address} to ${file} ...`);
    const saved = await saveSnapshot(api, token, file);
    const data = { file, checksum_file: checksumFile(file), sha256: saved.sha256, bytes: saved.bytes, server: seal.version, address: target.address };
    ctx.output.info('The snapshot is encrypted by the server\'s keyring: it opens only with this cluster\'s unseal keys. Keep it off this host too.');
    return {
      data,
      human: [`Backup: ${file} (${saved.bytes} bytes, 0600)`, `SHA-256: ${saved.sha256}  (${path.basename(checksumFile(file))}; check with sha256sum -c)`].join('\n'),
    };
  } finally {
    api.close();
  }
}
