// --print-keys: the shares are already in the operator's hands, so init unseals with a threshold of them from
// memory and goes on unattended. A server that restarts meanwhile comes back sealed with its round gone; init
// still holds the shares, so it notices and enters them once more, saying so.
import type { Context } from '../context.ts';
import type { SealStatus, VaultApi } from '../services/vault-api.ts';
import { poll } from '../services/wait.ts';

/** Sends each share once; stops at the first the server does not accept. Returns the last status it reported. */
async function sendShares(api: VaultApi, keys: readonly string[]): Promise<SealStatus> {
  let status = await api.sealStatus();
  for (const key of keys) {
    const answer = await api.unseal(key);
    if (answer.status >= 300) break;
    status = answer.body;
  }
  return status;
}

/**
 * After the last share: 'active', or 'sealed' when the server is sealed again (it restarted: a running server
 * never seals itself), or undefined when it is still electing itself at the deadline (slow, not an error here).
 */
async function settle(ctx: Pick<Context, 'clock'>, api: VaultApi, timeoutMs: number): Promise<'active' | 'sealed' | undefined> {
  return poll(
    async () => {
      const health = await api.probe();
      if (health === undefined) return undefined; // restarting: not answering yet
      if (health.sealed) return 'sealed';
      return health.standby ? undefined : 'active';
    },
    { timeoutMs, initialDelayMs: 100, maxDelayMs: 1000, clock: ctx.clock },
  );
}

/**
 * Unseals with these shares (a threshold of them). A restart noticed after they were entered (sealed again, the
 * round back to 0) is answered once by entering them again. Returns the final seal status.
 */
export async function unsealFromMemory(ctx: Pick<Context, 'clock' | 'output'>, api: VaultApi, keys: readonly string[], timeoutMs = 30_000): Promise<SealStatus> {
  let status = await sendShares(api, keys);
  for (let resent = false; ; resent = true) {
    const settled = status.sealed ? 'sealed' : await settle(ctx, api, timeoutMs);
    if (settled === 'active') return status;
    // Sealed again, or no answer by the deadline: ask once more (a read is retried while the server restarts).
    // A server that went away is an error here, inside the ceremony, which says where the shares are.
    status = await api.sealStatus();
    if (!status.sealed || resent) return status;
    if (status.progress > 0) status = await api.unsealReset();
    ctx.output.info(`The server is sealed again (progress ${status.progress}/${status.t}): it restarted after the shares were entered. Entering the ${keys.length} shares held in memory once more.`);
    status = await sendShares(api, keys);
  }
}
