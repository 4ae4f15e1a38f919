// init, second phase: the key ceremony. Initialises the server over its HTTP API and makes sure the shares
// reach their holders before anything else happens:
//   - on a terminal: the shares are shown once, the operator confirms the backup and proves it by typing T shares
//     back (masked); those unseal the server; then screen and scrollback are cleared;
//   - with --pgp-keys: the server encrypts each share to its holder; the encrypted shares go to files and/or
//     stdout and holders unseal with `vault-setup unseal` (init waits with --wait-unseal, or says how to resume);
//   - with --print-keys: the init result is printed as JSON, then the shares held in memory unseal the server.
// Unencrypted shares and the root token never reach a file, argv, env or log; they are registered with the
// redactor the moment the server returns them.
// The modes live beside this file: plan.ts decides, interactive.ts and resume.ts ask, init-server.ts hands over.
import path from 'node:path';
import type { Context } from '../context.ts';
import { VaultSetupError, withResult } from '../errors.ts';
import { writeAtomic } from '../services/files.ts';
import type { InitResponse } from '../services/vault-api.ts';
import { type StepRecord, record } from '../tasks/listr.ts';
import { afterInit, handOverOnSignal, initJson, initServer } from './init-server.ts';
import { unsealFromMemory } from './from-memory.ts';
import { interactiveCeremony } from './interactive.ts';
import { armor } from './pgp.ts';
import { type CeremonyInput, type CeremonyOutcome, type CeremonyPlan, ROOT_TOKEN_FILE, planCeremony } from './plan.ts';
import { withComment, writeShareFiles } from './share-files.ts';
import { resumeInitialised, resumeText, waitForHolders } from './resume.ts';
import { progressText, waitUntilActive } from './unseal-round.ts';
import { warnIfKeysGoToFile } from './keys-destination.ts';
import { showHolders } from './holders.ts';

export type { CeremonyInput, CeremonyOptions, CeremonyOutcome, CeremonyPlan } from './plan.ts';
export { planCeremony } from './plan.ts';
export { CLEAR_SCREEN_AND_SCROLLBACK } from './share-display.ts';

export async function ceremonyPhase(ctx: Context, input: CeremonyInput): Promise<CeremonyOutcome> {
  const { api } = input;
  const seal = await api.sealStatus();
  if (seal.initialized) return resumeInitialised(ctx, input, seal);
  const plan = input.plan ?? (await planCeremony(ctx, input.options));
  const request = {
    secret_shares: plan.shares,
    secret_threshold: plan.threshold,
    ...(plan.mode === 'pgp' ? { pgp_keys: plan.pgpKeys.map((k) => k.base64) } : {}),
    ...(plan.rootTokenKey === undefined ? {} : { root_token_pgp_key: plan.rootTokenKey.base64 }),
  };
  // Before anything is initialised, the operator sees whose keys the shares will be encrypted to.
  if (plan.mode === 'pgp') showHolders(ctx, plan);
  if (plan.mode === 'interactive') return interactiveCeremony(ctx, input, plan, request);
  const response = await initServer(ctx, api, request, plan);
  // With --json the shares reach the operator only in the final object: an error or a signal from here on must
  // still hand them over (cli.ts prints an error's result; the handler prints it on SIGINT/SIGTERM).
  const handOver = ctx.output.json ? { init: initJson(plan, response) } : undefined;
  if (handOver !== undefined) ctx.interrupts.set(handOverOnSignal(ctx, handOver));
  try {
    return await (plan.mode === 'pgp' ? pgpCeremony(ctx, input, plan, response) : printCeremony(ctx, input, plan, response));
  } catch (error) {
    const explained = afterInit(error, plan, ctx.output.json);
    throw handOver === undefined ? explained : withResult(explained, handOver);
  }
}


// --- --print-keys ---------------------------------------------------------------------------------------

async function printCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, response: InitResponse): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'done', `${plan.shares} shares, threshold ${plan.threshold}`);
  const init = initJson(plan, response);
  warnIfKeysGoToFile(ctx.output.streams);
  // Without --json the result goes out now, before unsealing: whatever fails later, the shares were delivered.
  if (!ctx.output.json) ctx.output.revealToStdout(`${JSON.stringify(init, null, 2)}\n`);
  ctx.output.info(`Initialised: ${plan.shares} shares, any ${plan.threshold} unseal. Store the printed shares outside this server now.`);
  // The shares are already in the operator's hands; using T of them from memory lets init go on unattended.
  const status = await unsealFromMemory(ctx, input.api, response.keys_base64.slice(0, plan.threshold));
  // unsealFromMemory waited for the node to become active (or for the deadline: a slow node is not an error).
  if (status.sealed) throw new VaultSetupError('E_UNSEAL_FAILED', 'the server stayed sealed after the shares it just issued were entered', { hint: 'run `vault-setup status`; then `vault-setup unseal`' });
  record(steps, 'unseal', 'done', `${plan.threshold} of ${plan.shares} shares from memory`);
  return { steps, unsealed: true, rootToken: response.root_token, printed: !ctx.output.json, ...(ctx.output.json ? { init } : {}) };
}

// --- --pgp-keys -----------------------------------------------------------------------------------------

async function pgpCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, response: InitResponse): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'done', `${plan.shares} shares encrypted to ${plan.pgpKeys.length} PGP keys, threshold ${plan.threshold}`);
  const init = initJson(plan, response);
  const written: string[] = [];
  if (plan.keysOut !== undefined) {
    written.push(...(await writeShareFiles(plan.keysOut, response.keys_base64, plan.pgpKeys, plan.threshold)));
    if (plan.rootTokenKey !== undefined) {
      const file = path.join(plan.keysOut, ROOT_TOKEN_FILE);
      await writeAtomic(file, withComment(armor(Buffer.from(response.root_token, 'base64')), `root token, encrypted to ${path.basename(plan.rootTokenKey.file)}`), { mode: 0o600, exclusive: true });
      written.push(file);
    }
    ctx.output.info(`Wrote the encrypted shares${plan.rootTokenKey ? ' and root token' : ''} to ${plan.keysOut} (0600): ${written.map((f) => path.basename(f)).join(', ')}.`);
  }
  const printed = !ctx.output.json && (plan.printKeys || plan.keysOut === undefined);
  if (printed) ctx.output.revealToStdout(`${JSON.stringify(init, null, 2)}\n`);
  const rootToken = plan.rootTokenKey === undefined ? response.root_token : undefined;
  const outcome = { steps, rootToken, printed, ...(ctx.output.json ? { init } : {}) };
  const status = plan.waitUnsealMs === undefined ? await input.api.sealStatus() : await waitForHolders(ctx, input.api, plan.waitUnsealMs);
  if (!status.sealed) {
    await waitUntilActive(input.api, ctx);
    record(steps, 'unseal', 'done', 'by the share holders');
    return { ...outcome, unsealed: true };
  }
  record(steps, 'unseal', 'skipped', `waiting for holders (${progressText(status)})`);
  return { ...outcome, unsealed: false, resume: resumeText(input, status, plan.keysOut, plan.rootTokenKey !== undefined) };
}
