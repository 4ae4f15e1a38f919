// `vault-setup generate-root`: break-glass. A threshold of share holders make a new root token; it is shown once
// (or in --json as root_token) with how to revoke it. Shares are typed hidden, one holder after another, or piped
// with --stdin; they stay in this process's memory for the round (and the restarts some servers need).
import { warnIfKeysGoToFile } from '../ceremony/keys-destination.ts';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { generateRoot } from '../quorum/generate-root.ts';
import { collectShares } from '../services/quorum.ts';
import { bool, str } from '../options/flags.ts';
import { openTarget, requireUnsealed } from '../services/target.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function generateRootCommand({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) {
    throw new VaultSetupError('E_USAGE', '`vault-setup generate-root` takes no arguments: shares are never accepted on the command line', { hint: 'run it to be asked (hidden), or pipe the shares with --stdin' });
  }
  // The client only reads the seal status: generate-root's own rounds (and any restart) make their own.
  const open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const target = open.target;
  let seal;
  try {
    seal = await open.api.sealStatus();
  } finally {
    open.close();
  }
  requireUnsealed(seal, target.address);
  const shares = await collectShares(ctx, { fromStdin: bool(flags, 'stdin'), threshold: seal.t, shares: seal.n, purpose: 'generate a root token' });
  try {
    const root = await generateRoot(ctx, target, shares);
    const revoke = `revoke it as soon as you are done: VAULT_TOKEN=<it> vault token revoke -self (or POST ${target.address}/v1/auth/token/revoke-self with it as X-Vault-Token)`;
    ctx.output.info(`A new ROOT token: anyone holding it controls the server. Shown once; ${revoke}.`);
    warnIfKeysGoToFile(ctx.output.streams, 'generate-root');
    if (!ctx.output.json) ctx.output.revealToStdout(`${root.token}\n`);
    return {
      data: { root_token: root.token, accessor: root.accessor ?? null, listener_option_toggled: root.toggled, revoke: 'POST auth/token/revoke-self with the token' },
      human: root.accessor ? `accessor: ${root.accessor}` : '',
    };
  } finally {
    shares.drop();
  }
}
