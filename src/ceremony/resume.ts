// init, second phase, when the server was initialised before: unseal it (holders, or the operator now) or say
// exactly how to resume.
import path from 'node:path';
import type { Context } from '../context.ts';
import type { SealStatus, VaultApi } from '../services/vault-api.ts';
import { type StepRecord, record } from '../tasks/listr.ts';
import { type CeremonyInput, type CeremonyOutcome, ROOT_TOKEN_FILE } from './plan.ts';
import { interactiveShareHooks, say } from './share-prompt.ts';
import { progressText, unsealRounds, waitUntilActive } from './unseal-round.ts';

export async function resumeInitialised(ctx: Context, input: CeremonyInput, seal: SealStatus): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'kept', 'already initialised');
  const ignored = input.options.given;
  if (ignored.length > 0) ctx.output.info(`The server is already initialised: ${ignored.map((f) => `--${f}`).join(', ')} ${ignored.length > 1 ? 'have' : 'has'} no effect now.`);
  if (!seal.sealed) {
    record(steps, 'unseal', 'kept', 'already unsealed');
    return { steps, unsealed: true };
  }
  let status = seal;
  if (input.options.waitUnsealMs !== undefined) {
    status = await waitForHolders(ctx, input.api, input.options.waitUnsealMs);
  } else if (ctx.prompter.interactive && (await ctx.prompter.confirm(`The server is initialised but sealed (${progressText(seal)}). Enter unseal shares now?`, { default: true }))) {
    status = await unsealRounds(ctx, input.api, interactiveShareHooks(ctx, say(ctx), { allowStop: true }));
    if (!status.sealed) say(ctx)(`${ctx.output.style.green('✔')} Unsealed with the shares entered; init carries on.`);
  }
  if (!status.sealed) {
    await waitUntilActive(input.api, ctx);
    record(steps, 'unseal', 'done');
    return { steps, unsealed: true };
  }
  record(steps, 'unseal', 'skipped', `sealed (${progressText(status)})`);
  return { steps, unsealed: false, resume: resumeText(input, status, undefined, false) };
}

/** Exactly how to carry on: unseal, then the same init again (it asks for the root token, masked). */
export function resumeText(input: CeremonyInput, status: SealStatus, keysOut: string | undefined, tokenEncrypted: boolean): string {
  const dir = input.paths.dir;
  const initAgain = ['vault-setup init', '--dir', q(dir), ...input.rerun.flatMap(([name, value]) => [`--${name}`, q(value)])].join(' ');
  const perHolder = keysOut === undefined ? `vault-setup unseal --dir ${q(dir)}` : `gpg -d ${q(path.join(keysOut, 'share-N.asc'))} | vault-setup unseal --dir ${q(dir)} --stdin`;
  const token = tokenEncrypted && keysOut !== undefined ? ` (decrypt it with: gpg -d ${q(path.join(keysOut, ROOT_TOKEN_FILE))})` : '';
  return (
    `the server is sealed (${progressText(status)}): ${status.t} holders each run \`${perHolder}\`; ` +
    `then run \`${initAgain}\` again: it reads the root token${token} from VAULT_TOKEN/BAO_TOKEN or asks for it (hidden)`
  );
}

const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
/** PGP mode: the holders unseal from their own terminals; show their progress until unsealed or the deadline. */
export async function waitForHolders(ctx: Context, api: VaultApi, timeoutMs: number): Promise<SealStatus> {
  const deadline = ctx.clock.now() + timeoutMs;
  let status = await api.sealStatus();
  ctx.output.info(`Waiting up to ${Math.round(timeoutMs / 1000)} s for the holders to unseal (each: gpg -d share-N.asc | vault-setup unseal --stdin). Progress ${progressText(status)}.`);
  let shown = `${status.progress}/${status.nonce}`;
  while (status.sealed && ctx.clock.now() < deadline) {
    await ctx.clock.sleep(Math.min(1000, Math.max(0, deadline - ctx.clock.now())));
    status = await api.sealStatus();
    const now = `${status.progress}/${status.nonce}`;
    if (status.sealed && now !== shown) ctx.output.info(`Unseal progress: ${progressText(status)}`);
    shown = now;
  }
  if (!status.sealed) ctx.output.info('The holders unsealed the server.');
  return status;
}
