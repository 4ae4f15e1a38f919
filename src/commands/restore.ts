// `vault-setup restore FILE`: checks the checksum, asks (or --yes), restores the raft snapshot, and says what the
// server needs next. A snapshot is sealed by the keyring of the cluster it came from: its unseal keys still apply.
import path from 'node:path';
import type { Context } from '../context.ts';
import { restoreSnapshot, verifyChecksum } from '../backup/snapshot.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { type Session, signIn } from '../auth/sign-in.ts';
import type { Clock } from '../services/wait.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { waitForApi } from '../services/readiness.ts';
import { openTarget, requireUnsealed } from '../services/target.ts';
import type { SealStatus } from '../services/vault-api.ts';
import { SERVICE } from '../services/templates.ts';
import { poll } from '../services/wait.ts';
import { bool, str } from '../options/flags.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function restore({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const [given, ...extra] = positionals;
  if (given === undefined) throw usageError('restore needs the snapshot FILE', 'vault-setup restore ~/docker/vault/backups/<time>.snap');
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
  const file = path.resolve(given);
  const force = bool(flags, 'force-foreign-snapshot');
  const quorum = bool(flags, 'quorum');
  const operator = str(flags, 'operator');
  if (operator !== undefined || bool(flags, 'password-stdin')) {
    // Refused before the checksum, the question or a share: the operator policy reads snapshots and writes none.
    throw new VaultSetupError('E_USAGE', `${operator === undefined ? '--password-stdin' : `--operator ${operator.slice(0, 40)}`}: the operator login may not restore a snapshot (a restore replaces every policy, login and token)`, {
      hint: `let the share holders make a token for this restore only: vault-setup restore ${given} --quorum${str(flags, 'dir') === undefined ? '' : ` --dir ${str(flags, 'dir')}`}`,
    });
  }
  if (bool(flags, 'stdin') && !quorum) throw usageError('--stdin reads the shares of --quorum, and --quorum was not given', 'vault-setup restore FILE --quorum --stdin --yes');
  if (quorum && str(flags, 'token-file') !== undefined) throw usageError('--quorum is a way to authenticate of its own: drop --token-file', 'the share holders make a root token for this restore only');
  const checked = await verifyChecksum(file);
  ctx.output.info(`${file}: checksum OK (SHA-256 ${checked.sha256.slice(0, 16)}…, ${checked.bytes} bytes).`);

  const { target, api, close } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  try {
    const before = await api.sealStatus();
    requireUnsealed(before, target.address, {
      suffix: ': a restore needs a running, unsealed server',
      sealedHint: 'unseal it first (vault-setup unseal)',
      uninitialisedHint: 'initialise it first (vault-setup init): a fresh server is another cluster, so restore with --force-foreign-snapshot and then unseal with the ORIGINAL shares',
    });
    if (!bool(flags, 'yes')) {
      if (!ctx.prompter.interactive) {
        throw new VaultSetupError('E_NEEDS_ANSWER', 'a restore replaces everything the server holds and needs confirmation', { hint: 'run in a terminal to be asked, or pass --yes' });
      }
      const ok = await ctx.prompter.confirm(`Replace ALL data of ${target.address} (secrets, policies, tokens) with ${path.basename(file)}?`, { default: false });
      if (!ok) throw new VaultSetupError('E_INTERRUPTED', 'restore cancelled: nothing was changed', { exitCode: 130 });
    }
    // With --quorum the shares come after the confirmation: nobody types a share for a restore that is called off.
    await using session = await signIn(ctx, api, {
      tokenFile: str(flags, 'token-file'),
      quorum: quorum ? { target, fromStdin: bool(flags, 'stdin') } : undefined,
      purpose: `restore a snapshot (update on sys/storage/raft/snapshot${force ? '-force' : ''})`,
    });
    await restoreSnapshot(api, session.token, file, force);
    const quorumToken = quorum ? await endQuorumToken(api, session, force, ctx.clock) : undefined;
    if (quorumToken === 'gone') {
      ctx.output.info("The root token the share holders made for this restore went with the replaced data. Tokens that were alive when the snapshot was taken are alive again: `vault-setup verify` (no-root-token) says whether one has the root policy.");
    }
    let after = await api.sealStatus();
    let truthful = true;
    if (force) {
      // The server loads the snapshot's keyring and seals itself a few seconds later. Until it restarts, its
      // seal status keeps the replaced cluster's threshold (measured on OpenBao 2.6/2.7): restarting a server
      // that is sealed anyway costs nothing and makes `unseal` ask for the right number of shares.
      after = (await poll(async () => ((s: SealStatus) => (s.sealed ? s : undefined))(await api.sealStatus()), { timeoutMs: 60_000, clock: ctx.clock })) ?? (await api.sealStatus());
      truthful = after.sealed && (await restartSealed(ctx, target.name, target.address, target.caCert));
      if (truthful) after = await api.sealStatus();
    }
    const next = nextStep(after, force, truthful);
    const data = { file, sha256: checked.sha256, address: target.address, forced: force, sealed: after.sealed, threshold: truthful ? after.t : null, shares: truthful ? after.n : null, next, ...(quorum ? { quorum_token: quorumToken } : {}) };
    return { data, human: [`Restored ${path.basename(file)} into ${target.address}.`, `Next: ${next}`].join('\n') };
  } finally {
    close();
  }
}

/**
 * The quorum's root token after the restore: a restore replaces the token store, so the token made for it is gone
 * with the old data (a foreign snapshot also replaces the keyring and seals the server). It is revoked only when the
 * server still knows it; "gone" is what the server answered, not assumed, except after a forced (foreign) restore.
 */
async function endQuorumToken(api: VaultApi, session: Session, force: boolean, clock: Clock): Promise<'gone' | 'revoked' | 'not-revoked'> {
  if (force) {
    session.gone();
    return 'gone';
  }
  // The server reloads its data for a moment after a restore: ask until it says yes or no.
  const alive = await poll(
    async () => {
      try {
        const res = await api.request('GET', 'auth/token/lookup-self', { token: session.token, accept: [403] });
        return res.status === 200;
      } catch (error) {
        if (error instanceof VaultSetupError) return undefined;
        throw error;
      }
    },
    { timeoutMs: 30_000, clock },
  );
  if (alive === false) {
    session.gone();
    return 'gone';
  }
  return (await session.end()).revoked ? 'revoked' : 'not-revoked';
}

/** Restarts this deployment's container (when there is one) and waits for its API; false when it cannot. */
async function restartSealed(ctx: Context, name: string | undefined, address: string, caCert: string | undefined): Promise<boolean> {
  if (name === undefined) return false;
  try {
    const container = await ctx.docker.findService(name, SERVICE);
    if (container === undefined) return false;
    await ctx.docker.stop(container.id);
    await ctx.docker.start(container.id);
    await waitForApi(ctx, address, name, 90_000, caCert);
    return true;
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    ctx.output.warn(`Could not restart ${name} (${error.message}); it is sealed either way.`);
    return false;
  }
}

function nextStep(seal: SealStatus, force: boolean, truthful: boolean): string {
  if (seal.sealed) {
    const count = truthful ? `${seal.t} of the ${seal.n}` : 'the threshold of the';
    return `the server is sealed: unseal it with ${count} ORIGINAL shares (those of the cluster the snapshot came from; this server's own keys no longer apply): vault-setup unseal. Then the snapshot's tokens (and its root token, if it was kept) work again.`;
  }
  return force
    ? 'the server is unsealed; its data, policies and tokens are those of the snapshot. Log in with a token from that cluster.'
    : 'the server is unsealed; data, policies and tokens are as they were when the snapshot was taken (tokens made since then are gone).';
}
