// init, second phase: the one call that initialises the server, and what must happen to its answer whatever
// follows (registered with the redactor at once; with --json handed over on an error or a signal).
import type { Context } from '../context.ts';
import { VaultSetupError, errorReport } from '../errors.ts';
import type { InitResponse, VaultApi } from '../services/vault-api.ts';
import type { CeremonyPlan } from './plan.ts';

/** A failure after the server was initialised: its shares exist. Say where they are, and that a re-run resumes. */
export function afterInit(error: unknown, plan: CeremonyPlan, json: boolean): unknown {
  if (!(error instanceof VaultSetupError)) return error;
  const where = plan.keysOut !== undefined ? `encrypted in ${plan.keysOut}` : json ? 'in the `init` member of the JSON on stdout' : 'printed on stdout';
  return new VaultSetupError(error.code, `the key ceremony stopped after init (the server is initialised; its shares are ${where}): ${error.message}`, {
    exitCode: error.exitCode,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    hint: `${error.hint ?? 'check `vault-setup status`'}; then unseal with those shares (vault-setup unseal) and re-run init with the root token in VAULT_TOKEN: it resumes and never initialises again`,
  });
}

/** SIGINT/SIGTERM after init with --json: print the one object with what nobody else holds, then let it exit. */
export function handOverOnSignal(ctx: Context, result: Record<string, unknown>): () => Promise<boolean> {
  let sent = false;
  return async () => {
    if (!sent) {
      sent = true;
      const error = new VaultSetupError('E_INTERRUPTED', 'interrupted after the server was initialised', { hint: 'store the `init` member now (nobody else holds it), then re-run init to resume' });
      ctx.output.revealToStdout(`${JSON.stringify({ ...result, ...errorReport(error) })}\n`);
      ctx.output.streams.stderr.write('\nvault-setup: interrupted after init; the shares are in the `init` member of the JSON on stdout. Re-run init to resume.\n');
    }
    return true;
  };
}

export async function initServer(ctx: Context, api: VaultApi, request: Parameters<VaultApi['init']>[0], plan: CeremonyPlan): Promise<InitResponse> {
  const response = await api.init(request);
  // Registered before anything else can print: an error from here on is redacted.
  if (plan.mode !== 'pgp') for (const key of [...response.keys, ...response.keys_base64]) ctx.redactor.addShare(key);
  if (plan.rootTokenKey === undefined) ctx.redactor.add(response.root_token);
  return response;
}

/** The `init` member of --json: the field names of `vault operator init -format=json`. */
export const initJson = (plan: CeremonyPlan, r: InitResponse): Record<string, unknown> => ({
  unseal_keys_b64: r.keys_base64,
  unseal_keys_hex: r.keys,
  unseal_shares: plan.shares,
  unseal_threshold: plan.threshold,
  root_token: r.root_token,
});
