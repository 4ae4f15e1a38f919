// The unseal shares for an upgrade: read once, before anything changes, kept in memory for the upgraded server and
// for a rollback, registered with the redactor on arrival. Never from argv, the environment or a file.
import readline from 'node:readline';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { checkShare, shareOrThrow } from '../ceremony/shares.ts';
import { unsealRounds, waitUntilActive } from '../ceremony/unseal-round.ts';
import type { SealStatus, VaultApi } from '../services/vault-api.ts';

export async function collectShares(ctx: Context, fromStdin: boolean, seal: { t: number; n: number }): Promise<string[]> {
  const shares: string[] = [];
  if (fromStdin) {
    const lines = readline.createInterface({ input: ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const key = shareOrThrow(line, `line ${lineNo} of standard input`, seal.n);
      ctx.redactor.addShare(key);
      if (!shares.includes(key)) shares.push(key);
      if (shares.length === seal.t) break;
    }
    lines.close();
  } else {
    ctx.output.info(`The server is sealed by the image change: ${seal.t} holders each type a share now (hidden); they are kept in memory until the upgrade ends.`);
    while (shares.length < seal.t) {
      const raw = await ctx.prompter.secret(`Share ${shares.length + 1} of ${seal.t}`, { validate: (v) => { const c = checkShare(v, seal.n); return c.ok ? true : c.reason; } });
      const key = shareOrThrow(raw, `share ${shares.length + 1}`, seal.n);
      ctx.redactor.addShare(key);
      if (shares.includes(key)) ctx.output.info('That share was already entered: a different one is needed.');
      else shares.push(key);
    }
  }
  if (shares.length < seal.t) {
    throw new VaultSetupError('E_NEEDS_ANSWER', `standard input held ${shares.length} distinct share${shares.length === 1 ? '' : 's'}; ${seal.t} are needed to unseal after the upgrade`, {
      hint: `pipe ${seal.t} shares, one per line; nothing was changed`,
    });
  }
  return shares;
}

/** Unseals with the shares in memory and waits until the node is active. */
export async function unsealWith(ctx: Context, api: VaultApi, shares: readonly string[]): Promise<SealStatus> {
  let next = 0;
  let status = await api.sealStatus();
  if (status.sealed && status.progress > 0) status = await api.unsealReset();
  status = await unsealRounds(ctx, api, { say: () => undefined, onRoundFailed: async () => 'stop', read: async () => shares[next++] });
  if (status.sealed) {
    throw new VaultSetupError('E_UNSEAL_FAILED', `the ${shares.length} shares entered did not unseal the server (${status.progress}/${status.t})`, {
      hint: 'each holder checks their share; `vault-setup unseal` opens it',
    });
  }
  await waitUntilActive(api, ctx, 60_000);
  return status;
}
