// init, second phase: the key ceremony. Initialises the server over its HTTP API and makes sure the shares
// reach their holders before anything else happens:
//   - on a terminal: the shares are shown once, the operator confirms the backup and proves it by typing T shares
//     back (masked); those unseal the server; then screen and scrollback are cleared;
//   - with --pgp-keys: the server encrypts each share to its holder; the encrypted shares go to files and/or
//     stdout and holders unseal with `vault-setup unseal` (init waits with --wait-unseal, or says how to resume);
//   - with --print-keys: the init result is printed as JSON, then the shares held in memory unseal the server.
// Unencrypted shares and the root token never reach a file, argv, env or log; they are registered with the
// redactor the moment the server returns them.
import path from 'node:path';
import type { Context } from '../context.ts';
import type { Flags } from '../commands/types.ts';
import { bool, duration, list, str } from '../commands/common.ts';
import { sharesNobodySees } from '../commands/init-preflight.ts';
import { EXIT, VaultSetupError, usageError, withResult } from '../errors.ts';
import { refuseSymlink, writeAtomic } from '../services/files.ts';
import type { InitResponse, SealStatus, VaultApi } from '../services/vault-api.ts';
import { type PhaseInput, type StepRecord, record } from '../tasks/listr.ts';
import { type PublicKeyFile, armor, readPublicKeyFile } from './pgp.ts';
import { checkShare, resolveCounts } from './shares.ts';
import { progressText, unsealRounds, waitUntilActive } from './unseal-round.ts';

export type CeremonyInput = PhaseInput;

export interface CeremonyOutcome {
  steps: StepRecord[];
  /** The server is unsealed now and configuration can go on. */
  unsealed: boolean;
  /** The root token from a fresh init, held in memory only; undefined when resuming or when it was PGP-encrypted. */
  rootToken?: string | undefined;
  /** The --json `init` member (field names of `vault operator init -format=json`), only when allowed. */
  init?: Record<string, unknown> | undefined;
  /** When init stops before unsealed: exactly how to resume. */
  resume?: string | undefined;
}

export type CeremonyMode = 'interactive' | 'print' | 'pgp';

export interface CeremonyPlan {
  mode: CeremonyMode;
  shares: number;
  threshold: number;
  pgpKeys: PublicKeyFile[];
  rootTokenKey: PublicKeyFile | undefined;
  keysOut: string | undefined;
  printKeys: boolean;
  waitUnsealMs: number | undefined;
}

export const SHARE_FILE = (i: number): string => `share-${i}.asc`;
export const ROOT_TOKEN_FILE = 'root-token.asc';

/**
 * Reads and checks every ceremony flag (counts, key files, --yes rules, --keys-out) without touching the server.
 * Cheap and side-effect free apart from reading key files: init may call it before deploying, so bad input fails
 * before anything is written.
 */
export async function planCeremony(ctx: Context, flags: Flags): Promise<CeremonyPlan> {
  const keyFiles = list(flags, 'pgp-keys');
  const rootKeyFile = str(flags, 'root-token-pgp-key');
  const keysOut = str(flags, 'keys-out');
  const printKeys = bool(flags, 'print-keys');
  const waitUnsealMs = str(flags, 'wait-unseal') === undefined ? undefined : duration(flags, 'wait-unseal', '0s');
  const counts = resolveCounts({ shares: str(flags, 'shares'), threshold: str(flags, 'threshold') }, keyFiles.length > 0 ? keyFiles.length : undefined);
  const pgp = keyFiles.length > 0;
  if (!pgp) {
    if (rootKeyFile !== undefined) throw usageError('--root-token-pgp-key goes with --pgp-keys', 'encrypt the shares too: --pgp-keys F1,...,FN (one public key per holder)');
    if (keysOut !== undefined) throw usageError('--keys-out writes PGP-encrypted shares only; vault-setup never writes an unencrypted share to a file', 'add --pgp-keys F1,...,FN (one public key per holder)');
    if (waitUnsealMs !== undefined) throw usageError('--wait-unseal is for --pgp-keys, where the holders unseal', 'without PGP keys the ceremony unseals the server itself');
  }
  const mode: CeremonyMode = pgp ? 'pgp' : printKeys ? 'print' : ctx.prompter.interactive ? 'interactive' : 'print';
  if (mode === 'print' && !printKeys) throw sharesNobodySees();
  if (pgp && rootKeyFile === undefined && !printKeys) {
    throw usageError(
      'with --pgp-keys the root token must be encrypted too: init cannot show it on a terminal and would otherwise print it in clear',
      'add --root-token-pgp-key FILE (the public key of whoever keeps the root token), or --print-keys to receive it in clear as JSON',
    );
  }
  if (waitUnsealMs !== undefined && keysOut === undefined) {
    throw usageError('--wait-unseal needs --keys-out: the holders need their encrypted share while init waits', 'add --keys-out DIR (the encrypted shares are safe at rest)');
  }
  const pgpKeys = await Promise.all(keyFiles.map((f) => readPublicKeyFile(f)));
  const rootTokenKey = rootKeyFile === undefined ? undefined : await readPublicKeyFile(rootKeyFile);
  if (keysOut !== undefined) await checkKeysOut(keysOut, counts.shares, rootTokenKey !== undefined);
  return { mode, ...counts, pgpKeys, rootTokenKey, keysOut: keysOut === undefined ? undefined : path.resolve(keysOut), printKeys, waitUnsealMs };
}

async function checkKeysOut(dir: string, shares: number, rootToken: boolean): Promise<void> {
  await refuseSymlink(path.resolve(dir));
  const fs = await import('node:fs/promises');
  const names = [...Array.from({ length: shares }, (_, i) => SHARE_FILE(i + 1)), ...(rootToken ? [ROOT_TOKEN_FILE] : [])];
  const existing: string[] = [];
  for (const name of names) {
    try {
      await fs.lstat(path.join(dir, name));
      existing.push(name);
    } catch {
      // absent: fine
    }
  }
  if (existing.length > 0) {
    throw new VaultSetupError('E_FILE_CONFLICT', `--keys-out ${dir} already holds ${existing.join(', ')}`, {
      hint: 'those may be shares of another server: move them away or choose another directory (nothing was initialised)',
    });
  }
}

export async function ceremonyPhase(ctx: Context, input: CeremonyInput): Promise<CeremonyOutcome> {
  const { api } = input;
  const seal = await api.sealStatus();
  if (seal.initialized) return resumeInitialised(ctx, input, seal);
  const plan = await planCeremony(ctx, input.flags);
  const request = {
    secret_shares: plan.shares,
    secret_threshold: plan.threshold,
    ...(plan.mode === 'pgp' ? { pgp_keys: plan.pgpKeys.map((k) => k.base64) } : {}),
    ...(plan.rootTokenKey === undefined ? {} : { root_token_pgp_key: plan.rootTokenKey.base64 }),
  };
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

/** A failure after the server was initialised: its shares exist. Say where they are, and that a re-run resumes. */
function afterInit(error: unknown, plan: CeremonyPlan, json: boolean): unknown {
  if (!(error instanceof VaultSetupError)) return error;
  const where = plan.keysOut !== undefined ? `encrypted in ${plan.keysOut}` : json ? 'in the `init` member of the JSON on stdout' : 'printed on stdout';
  return new VaultSetupError(error.code, `the key ceremony stopped after init (the server is initialised; its shares are ${where}): ${error.message}`, {
    exitCode: error.exitCode,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    hint: `${error.hint ?? 'check `vault-setup status`'}; then unseal with those shares (vault-setup unseal) and re-run init with the root token in VAULT_TOKEN: it resumes and never initialises again`,
  });
}

/** SIGINT/SIGTERM after init with --json: print the one object with what nobody else holds, then let it exit. */
function handOverOnSignal(ctx: Context, result: Record<string, unknown>): () => Promise<boolean> {
  let sent = false;
  return async () => {
    if (!sent) {
      sent = true;
      const error = { code: 'E_INTERRUPTED', message: 'interrupted after the server was initialised', hint: 'store the `init` member now (nobody else holds it), then re-run init to resume', exitCode: EXIT.interrupted };
      ctx.output.revealToStdout(`${JSON.stringify({ ...result, error })}\n`);
      ctx.output.streams.stderr.write('\nvault-setup: interrupted after init; the shares are in the `init` member of the JSON on stdout. Re-run init to resume.\n');
    }
    return true;
  };
}

async function initServer(ctx: Context, api: VaultApi, request: Parameters<VaultApi['init']>[0], plan: CeremonyPlan): Promise<InitResponse> {
  const response = await api.init(request);
  // Registered before anything else can print: an error from here on is redacted.
  if (plan.mode !== 'pgp') for (const key of [...response.keys, ...response.keys_base64]) ctx.redactor.addShare(key);
  if (plan.rootTokenKey === undefined) ctx.redactor.add(response.root_token);
  return response;
}

/** The `init` member of --json: the field names of `vault operator init -format=json`. */
const initJson = (plan: CeremonyPlan, r: InitResponse): Record<string, unknown> => ({
  unseal_keys_b64: r.keys_base64,
  unseal_keys_hex: r.keys,
  unseal_shares: plan.shares,
  unseal_threshold: plan.threshold,
  root_token: r.root_token,
});

// --- --print-keys ---------------------------------------------------------------------------------------

async function printCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, response: InitResponse): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'done', `${plan.shares} shares, threshold ${plan.threshold}`);
  const init = initJson(plan, response);
  // Without --json the result goes out now, before unsealing: whatever fails later, the shares were delivered.
  if (!ctx.output.json) ctx.output.revealToStdout(`${JSON.stringify(init, null, 2)}\n`);
  ctx.output.info(`Initialised: ${plan.shares} shares, any ${plan.threshold} unseal. Store the printed shares outside this server now.`);
  // The shares are already in the operator's hands; using T of them from memory lets init go on unattended.
  let status = await input.api.sealStatus();
  for (const key of response.keys_base64.slice(0, plan.threshold)) {
    const answer = await input.api.unseal(key);
    if (answer.status >= 300) break;
    status = answer.body;
  }
  if (status.sealed) throw new VaultSetupError('E_UNSEAL_FAILED', 'the server stayed sealed after the shares it just issued were entered', { hint: 'run `vault-setup status`; then `vault-setup unseal`' });
  await waitUntilActive(input.api, ctx);
  record(steps, 'unseal', 'done', `${plan.threshold} of ${plan.shares} shares from memory`);
  return { steps, unsealed: true, rootToken: response.root_token, ...(ctx.output.json ? { init } : {}) };
}

// --- --pgp-keys -----------------------------------------------------------------------------------------

async function pgpCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, response: InitResponse): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'done', `${plan.shares} shares encrypted to ${plan.pgpKeys.length} PGP keys, threshold ${plan.threshold}`);
  const init = initJson(plan, response);
  const written: string[] = [];
  if (plan.keysOut !== undefined) {
    const fs = await import('node:fs/promises');
    await fs.mkdir(plan.keysOut, { recursive: true, mode: 0o700 });
    for (const [i, b64] of response.keys_base64.entries()) {
      const file = path.join(plan.keysOut, SHARE_FILE(i + 1));
      const holder = path.basename(plan.pgpKeys[i]?.file ?? '');
      await writeAtomic(file, withComment(armor(Buffer.from(b64, 'base64')), `share ${i + 1} of ${plan.shares} (threshold ${plan.threshold}), encrypted to ${holder}`), { mode: 0o600, exclusive: true });
      written.push(file);
    }
    if (plan.rootTokenKey !== undefined) {
      const file = path.join(plan.keysOut, ROOT_TOKEN_FILE);
      await writeAtomic(file, withComment(armor(Buffer.from(response.root_token, 'base64')), `root token, encrypted to ${path.basename(plan.rootTokenKey.file)}`), { mode: 0o600, exclusive: true });
      written.push(file);
    }
    ctx.output.info(`Wrote the encrypted shares${plan.rootTokenKey ? ' and root token' : ''} to ${plan.keysOut} (0600): ${written.map((f) => path.basename(f)).join(', ')}.`);
  }
  if (!ctx.output.json && (plan.printKeys || plan.keysOut === undefined)) ctx.output.revealToStdout(`${JSON.stringify(init, null, 2)}\n`);
  const rootToken = plan.rootTokenKey === undefined ? response.root_token : undefined;
  const outcome = { steps, rootToken, ...(ctx.output.json ? { init } : {}) };
  const status = plan.waitUnsealMs === undefined ? await input.api.sealStatus() : await waitForHolders(ctx, input.api, plan.waitUnsealMs);
  if (!status.sealed) {
    await waitUntilActive(input.api, ctx);
    record(steps, 'unseal', 'done', 'by the share holders');
    return { ...outcome, unsealed: true };
  }
  record(steps, 'unseal', 'skipped', `waiting for holders (${progressText(status)})`);
  return { ...outcome, unsealed: false, resume: resumeText(input, status, plan.keysOut, plan.rootTokenKey !== undefined) };
}

const withComment = (armored: string, comment: string): string => armored.replace(/^(-----BEGIN [^\n]+-----\n)\n/, `$1Comment: ${comment.replace(/[\r\n]/g, ' ')}\n\n`);

/** PGP mode: the holders unseal from their own terminals; show their progress until unsealed or the deadline. */
async function waitForHolders(ctx: Context, api: VaultApi, timeoutMs: number): Promise<SealStatus> {
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

// --- resume: the server was initialised before ---------------------------------------------------------

async function resumeInitialised(ctx: Context, input: CeremonyInput, seal: SealStatus): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  record(steps, 'init', 'kept', 'already initialised');
  const ignored = ['shares', 'threshold', 'pgp-keys', 'root-token-pgp-key', 'keys-out', 'print-keys'].filter((f) => input.flags[f] !== undefined);
  if (ignored.length > 0) ctx.output.info(`The server is already initialised: ${ignored.map((f) => `--${f}`).join(', ')} ${ignored.length > 1 ? 'have' : 'has'} no effect now.`);
  if (!seal.sealed) {
    record(steps, 'unseal', 'kept', 'already unsealed');
    return { steps, unsealed: true };
  }
  let status = seal;
  if (input.flags['wait-unseal'] !== undefined) {
    status = await waitForHolders(ctx, input.api, duration(input.flags, 'wait-unseal', '0s'));
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
function resumeText(input: CeremonyInput, status: SealStatus, keysOut: string | undefined, tokenEncrypted: boolean): string {
  const dir = input.paths.dir;
  const initAgain = ['vault-setup init', ...deploymentFlags(input.flags, dir)].join(' ');
  const perHolder = keysOut === undefined ? `vault-setup unseal --dir ${q(dir)}` : `gpg -d ${q(path.join(keysOut, 'share-N.asc'))} | vault-setup unseal --dir ${q(dir)} --stdin`;
  const token = tokenEncrypted && keysOut !== undefined ? ` (decrypt it with: gpg -d ${q(path.join(keysOut, ROOT_TOKEN_FILE))})` : '';
  return (
    `the server is sealed (${progressText(status)}): ${status.t} holders each run \`${perHolder}\`; ` +
    `then run \`${initAgain}\` again: it reads the root token${token} from VAULT_TOKEN/BAO_TOKEN or asks for it (hidden)`
  );
}

function deploymentFlags(flags: Flags, dir: string): string[] {
  const out = ['--dir', q(dir)];
  for (const name of ['flavor', 'image', 'name', 'port', 'storage', 'tls']) {
    const value = str(flags, name);
    if (value !== undefined) out.push(`--${name}`, q(value));
  }
  return out;
}

const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

// --- the interactive ceremony ---------------------------------------------------------------------------

/** Erases the visible screen AND the terminal's scrollback, then homes the cursor. */
export const CLEAR_SCREEN_AND_SCROLLBACK = '\x1b[2J\x1b[3J\x1b[H';

const say = (ctx: Context) => (line: string) => {
  // The ceremony talks to the person at the terminal even with --json (stdout stays the one JSON object).
  ctx.output.streams.stderr.write(`${ctx.redactor.redact(line)}\n`);
};

async function interactiveCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, request: Parameters<VaultApi['init']>[0]): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  const tell = say(ctx);
  const s = ctx.output.style;
  let confirmed = false;
  let termAsked = false;
  // From the moment the server returns the shares until the operator confirmed the backup, stopping loses them.
  ctx.interrupts.set(async () => {
    if (confirmed) return true;
    if (termAsked) return true;
    termAsked = true;
    tell(`\n${s.yellow('!')} ${lossText(plan)}\n  Signal again to stop anyway.`);
    return false;
  });
  let response: InitResponse | undefined;
  try {
    response = await initServer(ctx, input.api, request, plan);
    record(steps, 'init', 'done', `${plan.shares} shares, threshold ${plan.threshold}`);
    const shares = response.keys_base64;
    const rootToken = response.root_token;
    await showAndConfirm(ctx, plan, shares, rootToken);
    confirmed = true;
    ctx.interrupts.set(undefined);
    ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    tell(
      `${s.bold('Prove the backup.')} Type ${plan.threshold} of the ${plan.shares} shares back from where you saved them ` +
        `(input hidden, hex or base64). They unseal the server.`,
    );
    let shownAgain = false;
    const hooks = interactiveShareHooks(ctx, tell, {
      allowStop: false,
      onRoundFailed: async () => {
        if (await ctx.prompter.confirm('Show the shares again? (possible only until this ceremony ends)', { default: false })) {
          shownAgain = true;
          await showAndConfirm(ctx, plan, shares, rootToken);
          ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
        }
        tell(`New round: type ${plan.threshold} shares.`);
        return 'retry';
      },
    });
    const status = await unsealRounds(ctx, input.api, hooks);
    ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    response.keys.fill('');
    shares.fill('');
    if (status.sealed) throw new VaultSetupError('E_UNSEAL_FAILED', 'the ceremony ended with the server still sealed', { hint: 'run `vault-setup unseal`' });
    await waitUntilActive(input.api, ctx);
    record(steps, 'unseal', 'done', `${plan.threshold} of ${plan.shares} shares typed back${shownAgain ? ' (shares shown twice)' : ''}`);
    tell(`${s.green('✔')} Backup proven: the server is unsealed. The shares are no longer on screen; they exist only where you saved them.`);
    return { steps, unsealed: true, rootToken };
  } finally {
    ctx.interrupts.set(undefined);
    if (response !== undefined && !confirmed) ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
  }
}

const lossText = (plan: CeremonyPlan): string =>
  `The ${plan.shares} unseal shares and the root token shown above exist nowhere else. If you stop before saving them, ` +
  `this server can never be unsealed again: everything stored in it is lost, and the only way out is to delete its data ` +
  `directory and initialise a new one.`;

async function showAndConfirm(ctx: Context, plan: CeremonyPlan, shares: string[], rootToken: string): Promise<void> {
  const s = ctx.output.style;
  const width = String(plan.shares).length;
  const lines = [
    '',
    s.bold(`Unseal key shares: ${plan.shares} shares, any ${plan.threshold} of them unseal the server`),
    '',
    ...shares.map((k, i) => `  Share ${String(i + 1).padStart(width)}:  ${k}`),
    '',
    `  Root token: ${rootToken}`,
    '',
    `  ${s.yellow('Save them now, before you go on:')}`,
    '  - Give each share to a different holder (e.g. 2 for you, 2 for a co-admin, 1 in a safe). No one should hold',
    `    ${plan.threshold} on their own unless they may open the server alone.`,
    '  - Keep them OUTSIDE this server: a password manager, a printed copy in a safe. Never in a file, a script or',
    '    the shell history here: whoever takes this server and its shares reads every secret.',
    `  - After every restart, any ${plan.threshold} of the ${plan.shares} shares unseal the server. With fewer than ${plan.threshold}, its data is lost for good.`,
    '  - The root token can do anything. init uses it to finish the setup; keep it as carefully as the shares.',
    '',
    `  These are shown only during this ceremony. Next you type ${plan.threshold} of them back from your copy.`,
    '',
  ];
  ctx.output.revealToTerminal(`${lines.join('\n')}\n`);
  for (;;) {
    let saved: boolean;
    try {
      saved = await ctx.prompter.confirm(`Have you saved all ${plan.shares} shares and the root token outside this server?`, { default: false });
    } catch (error) {
      if (!isPromptExit(error)) throw error;
      // Ctrl-C at the question: the keys are still only on this screen.
      await confirmStop(ctx, plan);
      continue;
    }
    if (saved) return;
    say(ctx)('Nothing is lost yet: the shares stay on screen. Save them, then answer yes.');
  }
}

async function confirmStop(ctx: Context, plan: CeremonyPlan): Promise<void> {
  say(ctx)(`\n${ctx.output.style.yellow('!')} ${lossText(plan)}`);
  let stop = true;
  try {
    stop = await ctx.prompter.confirm('Stop anyway and lose them?', { default: false });
  } catch (error) {
    if (!isPromptExit(error)) throw error; // a second Ctrl-C: the operator insists
  }
  if (stop) {
    throw new VaultSetupError('E_INTERRUPTED', 'stopped before the backup of the unseal shares was confirmed', {
      hint: 'the server is initialised; if the shares were not saved, remove the deployment\'s data directory and run init again',
    });
  }
}

export const isPromptExit = (error: unknown): boolean => (error as Error)?.name === 'ExitPromptError' || (error as Error)?.name === 'AbortPromptError';

/**
 * Shares typed at a masked prompt. In `unseal` an empty answer ends the session (another holder carries on);
 * in the ceremony an answer is required.
 */
export function interactiveShareHooks(
  ctx: Context,
  tell: (line: string) => void,
  options: { allowStop: boolean; onRoundFailed?: () => Promise<'retry' | 'stop'> },
): Parameters<typeof unsealRounds>[2] {
  return {
    say: tell,
    onRoundFailed: options.onRoundFailed ?? (async () => ((await ctx.prompter.confirm('Start a new round now?', { default: true })) ? 'retry' : 'stop')),
    read: async (status) => {
      const typed = await ctx.prompter.secret(`Share ${status.progress + 1} of ${status.t} (hidden${options.allowStop ? '; empty to stop' : ''})`, {
        validate: (value) => {
          if (options.allowStop && value.trim() === '') return true;
          const checked = checkShare(value, status.n);
          return checked.ok ? true : checked.reason;
        },
      });
      if (options.allowStop && typed.trim() === '') return undefined;
      const checked = checkShare(typed, status.n);
      return checked.ok ? checked.key : undefined;
    },
  };
}
