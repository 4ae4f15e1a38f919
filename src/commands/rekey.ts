// `vault-setup rekey`: new unseal shares under the quorum of the current holders. The server's rekey verification
// (`require_verification`) keeps the old shares valid until the new threshold of new shares was typed back, so a
// share mis-copied at the ceremony never locks the server. The token-authenticated form is used when the server
// asks for it (OpenBao >= 2.5, Vault 2.x), decided by its answer.
// With --pgp-keys the server encrypts each new share to its holder (as init does); the holders decrypt theirs with
// their own gpg and type it back, so verification still proves the new shares reached the people who hold them.
import { warnIfKeysGoToFile } from '../ceremony/keys-destination.ts';
import path from 'node:path';
import readline from 'node:readline';
import type { Context } from '../context.ts';
import { noteChange } from '../deployment/record.ts';
import { showHolders } from '../ceremony/holders.ts';
import { CLEAR_SCREEN_AND_SCROLLBACK, type ShareDisplay, keepingAdvice, showAndConfirm } from '../ceremony/share-display.ts';
import { type PublicKeyFile, readPublicKeyFile } from '../ceremony/pgp.ts';
import { checkKeysOut } from '../ceremony/plan.ts';
import { writeShareFiles } from '../ceremony/share-files.ts';
import { checkShare, resolveCounts, shareOrThrow } from '../ceremony/shares.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { type Flags, bool, list, str } from '../options/flags.ts';
import { openTarget, requireUnsealed } from '../services/target.ts';
import { obtainToken } from '../services/token.ts';
import type { VaultApi } from '../services/vault-api.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

interface RekeyStatus {
  nonce: string;
  started: boolean;
  t: number;
  n: number;
  progress: number;
  required: number;
  verification_required?: boolean;
  pgp_fingerprints?: string[] | null;
}
interface RekeyUpdate {
  complete: boolean;
  nonce: string;
  progress?: number;
  keys?: string[];
  keys_base64?: string[];
  pgp_fingerprints?: string[] | null;
  verification_required?: boolean;
  verification_nonce?: string;
}

/** The new holders' public keys (--pgp-keys) and where their encrypted shares go (--keys-out, else stdout). */
export interface NewHolders {
  keys: PublicKeyFile[];
  keysOut: string | undefined;
}

/**
 * --pgp-keys and --keys-out, checked before the server is touched or a holder types a share: the file format and
 * checks are init's (every packet checked for secret-key material), and the count must match --shares.
 */
export async function planNewHolders(flags: Flags): Promise<NewHolders | undefined> {
  const files = list(flags, 'pgp-keys');
  const keysOut = str(flags, 'keys-out');
  if (files.length === 0) {
    if (keysOut !== undefined) throw usageError('--keys-out writes PGP-encrypted shares only; vault-setup never writes an unencrypted share to a file', 'add --pgp-keys F1,...,FN (one public key per new holder)');
    return undefined;
  }
  // --threshold's default is the server's, known later; here only what the flags alone decide.
  const { shares } = resolveCounts({ shares: str(flags, 'shares'), threshold: str(flags, 'threshold') }, files.length);
  const keys = await Promise.all(files.map((f) => readPublicKeyFile(f)));
  if (keysOut !== undefined) await checkKeysOut(keysOut, shares, false, 'no rekey was started');
  return { keys, keysOut: keysOut === undefined ? undefined : path.resolve(keysOut) };
}

/** The server's fingerprints (lower-case hex) are ours, in --pgp-keys order: every new share is encrypted to its holder. */
const encryptedToHolders = (holders: NewHolders, answer: string[] | null | undefined): boolean =>
  Array.isArray(answer) && answer.length === holders.keys.length && answer.every((f, i) => f.toUpperCase() === holders.keys[i]?.fingerprint);

export async function rekey({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError('`vault-setup rekey` takes no arguments: shares are never accepted on the command line', 'run it to be asked (hidden), or pipe them with --stdin');
  const fromStdin = bool(flags, 'stdin');
  if (fromStdin && ctx.stdin.isTTY === true) throw usageError('--stdin reads shares from a pipe, but standard input is a terminal (the share would be echoed)');
  const cancel = bool(flags, 'cancel');
  const holders = cancel ? undefined : await planNewHolders(flags);
  if (!cancel && ctx.output.json) refuseJsonBeforeResult(fromStdin, holders);
  if (!cancel && !fromStdin && !ctx.prompter.interactive) {
    throw new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for shares', { hint: 'pipe the current shares with --stdin; the new shares are then written to standard output and read back from standard input' });
  }
  const { target, api, close } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  let onScreen = false;
  try {
    const seal = await api.sealStatus();
    requireUnsealed(seal, target.address, { suffix: ': a rekey needs an open server' });
    const counts = resolveCounts({ shares: str(flags, 'shares') ?? String(holders?.keys.length ?? seal.n), threshold: str(flags, 'threshold') ?? String(seal.t) }, holders?.keys.length);
    const call = authenticated(ctx, api, str(flags, 'token-file'));
    const status = await call<RekeyStatus>('GET', 'sys/rekey/init');
    if (cancel) {
      if (status.started) await call('DELETE', 'sys/rekey/init', cancelBody(status.nonce));
      return { data: { address: target.address, cancelled: status.started }, human: status.started ? 'The rekey in progress was discarded; the current shares stay valid.' : 'No rekey was in progress.' };
    }
    if (status.started) {
      // The server is in the wrong state for a new rekey (exit 9), not answering oddly: --cancel puts it right.
      throw new VaultSetupError('E_IN_PROGRESS', `a rekey is already in progress on ${target.address} (${status.progress}/${status.required} shares)`, {
        hint: 'vault-setup rekey --cancel (discards it; the current shares stay valid), then run rekey again',
      });
    }
    // Before the rekey starts, the operator sees whose keys the new shares will be encrypted to.
    if (holders !== undefined) showHolders(ctx, { pgpKeys: holders.keys });
    const started = await call<RekeyStatus>('PUT', 'sys/rekey/init', {
      secret_shares: counts.shares,
      secret_threshold: counts.threshold,
      require_verification: true,
      ...(holders === undefined ? {} : { pgp_keys: holders.keys.map((k) => k.base64) }),
    });
    // A server that does not echo the holders' keys would hand out plain shares: stop before anyone types a share.
    if (holders !== undefined && !encryptedToHolders(holders, started.pgp_fingerprints)) {
      await call('DELETE', 'sys/rekey/init', cancelBody(started.nonce));
      throw notEncrypted('the server did not take the PGP keys for the rekey');
    }
    const say = (line: string) => ctx.output.info(line);
    const lines = fromStdin ? readline.createInterface({ input: ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false })[Symbol.asyncIterator]() : undefined;
    let lineNo = 0;
    const next = async (question: string, n: number): Promise<string> => {
      if (lines === undefined) {
        const raw = await ctx.prompter.secret(question, { validate: (v) => { const c = checkShare(v, n); return c.ok ? true : c.reason; } });
        const key = shareOrThrow(raw, question, n);
        ctx.redactor.addShare(key);
        return key;
      }
      for (;;) {
        const line = await lines.next();
        if (line.done === true) {
          // In the type-back the input ended after the new shares came out: a one-way pipe, which cannot type back.
          const typeBack = question.startsWith('Current') ? 'pipe every current share' : 'the type-back is written to the same standard input after the new shares came out: a coprocess, not a one-way pipe (docs/commands/rekey.md)';
          throw new VaultSetupError('E_NEEDS_ANSWER', `standard input ended: ${question.toLowerCase()} is missing`, { hint: `the rekey stays in progress with the current shares valid: run \`vault-setup rekey --cancel\`; then ${typeBack}` });
        }
        lineNo++;
        if (line.value.trim() === '') continue;
        const key = shareOrThrow(line.value, `line ${lineNo} of standard input`, n);
        ctx.redactor.addShare(key);
        return key;
      }
    };

    say(`Rekey ${seal.n}/${seal.t} -> ${counts.shares}/${counts.threshold}: ${started.required} current holders enter their shares.`);
    let update: RekeyUpdate = { complete: false, nonce: started.nonce };
    for (let i = 1; !update.complete; i++) {
      const key = await next(`Current share ${i} of ${started.required}`, seal.n);
      update = await call<RekeyUpdate>('PUT', 'sys/rekey/update', { key, nonce: started.nonce });
    }
    // Encrypted shares are safe to show (init treats them alike); anything else the server returned is a secret.
    const encrypted = holders !== undefined && encryptedToHolders(holders, update.pgp_fingerprints);
    const fresh = (encrypted ? update.keys_base64 : update.keys) ?? [];
    if (!encrypted) {
      ctx.redactor.add(...fresh, ...(update.keys_base64 ?? []));
      for (const key of fresh) ctx.redactor.addShare(key);
    }
    const pending = update.verification_required === true && update.verification_nonce !== undefined;
    if (holders !== undefined && !encrypted && pending) {
      // Verification is pending, so the old shares are still the valid ones: discard the plain new ones unseen.
      await call('DELETE', 'sys/rekey/init', cancelBody(started.nonce));
      throw notEncrypted('the server returned the new shares without encrypting them to the PGP keys');
    }
    // At a terminal the plain new shares are shown as init's ceremony shows its shares, and leave the screen and
    // the scrollback once saved; the type-back then proves the holders' copies, not the screen.
    if (holders === undefined && lines === undefined) {
      onScreen = true;
      ctx.interrupts.set(async () => {
        ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
        ctx.output.alert('interrupted: the rekey is still pending and the current shares stay valid; discard it with `vault-setup rekey --cancel`');
        return true;
      });
      await showAndConfirm(ctx, newSharesDisplay(ctx, update.keys_base64 ?? [], counts.threshold, pending, async () => {
        // A server that skipped verification made them the only valid ones: nothing may stop before they are saved.
        if (!pending) return ctx.output.alert('these new shares are already the only ones that unseal this server: save them, then answer yes');
        // Unverified, the new shares are void until typed back: stopping discards them and loses nothing.
        await call('DELETE', 'sys/rekey/init', cancelBody(started.nonce));
        throw new VaultSetupError('E_INTERRUPTED', 'stopped before the new shares were saved: the rekey was discarded and the current shares stay valid', { hint: 'run `vault-setup rekey` again when the new holders are ready' });
      }));
      ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    }
    // Delivered before anything can fail: without verification these are already the only valid shares.
    const printed = await deliver(ctx, call, { holders: encrypted ? holders : undefined, fresh, threshold: counts.threshold, pending, toStdout: lines !== undefined, nonce: started.nonce });
    if (!pending) {
      throw new VaultSetupError('E_SERVER', 'the server finished the rekey without verification: the new shares are already the only valid ones', { hint: 'distribute the new shares just delivered now; this server ignored require_verification' });
    }
    say(`The old shares stay valid until ${counts.threshold} of the new ones are typed back.`);
    let verified: { complete?: boolean } = {};
    for (let i = 1; verified.complete !== true; i++) {
      const key = await next(`${holders === undefined ? 'New' : 'Decrypted new'} share typed back ${i} of ${counts.threshold}`, counts.shares);
      try {
        verified = await call<{ complete?: boolean }>('PUT', 'sys/rekey/verify', { key, nonce: update.verification_nonce as string });
      } catch (error) {
        const voided = holders?.keysOut === undefined ? 'the new shares shown are void' : `the share files in ${holders.keysOut} are void: remove them before the next rekey`;
        throw new VaultSetupError('E_BAD_SHARE', 'the typed-back shares do not match the new ones: the rekey is not complete and the old shares stay valid', {
          hint: `run \`vault-setup rekey --cancel\` and start again (${voided})`,
          cause: error,
        });
      }
    }
    if (target.dir !== undefined) await noteChange(target.dir, { shares: counts.shares, threshold: counts.threshold });
    return {
      data: {
        address: target.address,
        shares: counts.shares,
        threshold: counts.threshold,
        verified: true,
        // As init's --json `init` member: the encrypted shares, in --pgp-keys order.
        ...(holders === undefined ? {} : { new_shares: fresh, pgp_fingerprints: holders.keys.map((k) => k.fingerprint) }),
      },
      humanToStderr: printed,
      human: [
        `Rekeyed: ${counts.shares} new shares, ${counts.threshold} unseal. The old shares no longer unseal this server.`,
        // A snapshot carries the keyring as it was: restoring one made before today needs the shares of its time.
        'Snapshots taken before now still open only with the OLD shares: take a new one (vault-setup backup), and keep the old shares until those snapshots are gone.',
      ].join('\n'),
    };
  } finally {
    if (onScreen) {
      ctx.interrupts.set(undefined);
      ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    }
    close();
  }
}

/** The plain new shares at a terminal: init's display, with what is true during a rekey. */
function newSharesDisplay(ctx: Context, shares: string[], threshold: number, pending: boolean, onStop: () => Promise<void>): ShareDisplay {
  return {
    title: `New unseal key shares: ${shares.length} shares, any ${threshold} of them unseal the server${pending ? ' once the rekey is verified' : ''}`,
    shares,
    body: [
      `  ${ctx.output.style.yellow('Save them now, before you go on:')}`,
      ...keepingAdvice(shares.length, threshold),
      '',
      pending
        ? `  These are shown only now. Next ${threshold} of them are typed back from the saved copies; until then the current shares stay valid.`
        : '  These are shown only now, and they are already the only shares that unseal this server.',
      '',
    ],
    question: `Have all ${shares.length} new shares been saved outside this server?`,
    onStop,
  };
}

type Call = ReturnType<typeof authenticated>;

/**
 * Hands the new shares over once. Encrypted (holders given): to --keys-out, else one JSON line on stdout, as init
 * does; plain: one JSON line on stdout for a pipe (at a terminal they were shown already). True when stdout now holds
 * that line alone.
 */
async function deliver(ctx: Context, call: Call, o: { holders: NewHolders | undefined; fresh: string[]; threshold: number; pending: boolean; toStdout: boolean; nonce: string }): Promise<boolean> {
  const { holders, fresh, threshold } = o;
  if (holders === undefined) {
    // At a terminal they were shown already (showAndConfirm).
    if (!o.toStdout) return false;
    warnIfKeysGoToFile(ctx.output.streams, 'rekey');
    ctx.output.revealToStdout(`${JSON.stringify({ new_shares: fresh, threshold })}\n`);
    return true;
  }
  const where = holders.keysOut === undefined ? 'base64 -d | gpg -d, from new_shares on stdout' : `gpg -d ${path.join(holders.keysOut, 'share-N.asc')}`;
  const next = `Each new holder decrypts their share with their own key (${where}); ${threshold} of them type it back.`;
  if (holders.keysOut === undefined) {
    ctx.output.revealToStdout(`${JSON.stringify({ new_shares: fresh, threshold })}\n`);
    ctx.output.info(next);
    return true;
  }
  let written: string[];
  try {
    written = await writeShareFiles(holders.keysOut, fresh, holders.keys, threshold);
  } catch (error) {
    if (!o.pending) throw error;
    // Unverified, the new shares are void anyway: discard the rekey so nothing is left pending.
    await call('DELETE', 'sys/rekey/init', cancelBody(o.nonce));
    throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot write the encrypted new shares to ${holders.keysOut} (${(error as NodeJS.ErrnoException).code ?? 'error'}): the rekey was discarded and the current shares stay valid`, {
      hint: 'choose a writable --keys-out with no share-N.asc files in it (remove any written there now: they are void), then run rekey again',
      cause: error,
    });
  }
  ctx.output.info(`Wrote the encrypted new shares to ${holders.keysOut} (0600): ${written.map((f) => path.basename(f)).join(', ')}.`);
  ctx.output.info(next);
  return false;
}

/**
 * --json promises one JSON object on stdout, printed when the command ends. New shares that go to stdout (plain with
 * --stdin; encrypted without --keys-out) must reach their holders before that, for the type-back: refused up front.
 */
function refuseJsonBeforeResult(fromStdin: boolean, holders: NewHolders | undefined): void {
  const one = '--json prints one JSON object when the rekey ends';
  if (holders === undefined && fromStdin) {
    throw usageError(`${one}, but with --stdin the new shares go to standard output before that (they are typed back first)`, 'drop --json: standard output then holds only the new shares, as one JSON line, the summary goes to standard error and the exit code says how it ended; or rekey at a terminal, or with --pgp-keys and --keys-out, where --json works');
  }
  if (holders !== undefined && holders.keysOut === undefined) {
    throw usageError(`${one}, but without --keys-out the encrypted new shares go to standard output before that (they are typed back first)`, 'add --keys-out DIR (the result object then carries the encrypted shares too), or drop --json');
  }
}

const notEncrypted = (what: string) =>
  new VaultSetupError('E_SERVER', `${what}: the rekey was discarded and the current shares stay valid`, {
    hint: 'this server cannot encrypt new shares to PGP keys; rekey without --pgp-keys at a terminal, where the new shares are shown once',
  });

/**
 * The rekey endpoints, decided by the server's answers: the classic unauthenticated sys/rekey/* where the server
 * serves them; where it refuses them (OpenBao >= 2.5 answers 405 "unsupported operation"), the authenticated
 * sys/rotate/root/* with a token; a 403 on either asks for a token too.
 */
/** Cancelling names the rekey: Vault 1.21 reads the nonce from the body (an empty body is refused: "EOF"); older servers ignore it. */
const cancelBody = (nonce: string): { nonce: string } => ({ nonce });

function authenticated(ctx: Context, api: VaultApi, tokenFile: string | undefined) {
  let token: string | undefined;
  let base = 'sys/rekey';
  const ask = async (why: string) => (token ??= await obtainToken(ctx, { tokenFile, purpose: why }));
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const where = path.replace(/^sys\/rekey/, base);
      const res = await api.request<T>(method, where, { ...(body === undefined ? {} : { body }), token, accept: attempt < 2 ? [403, 405] : [] });
      if (res.status === 405 && base === 'sys/rekey') {
        base = 'sys/rotate/root';
        await ask('rotate the unseal keys (this server allows only the authenticated sys/rotate/root endpoints)');
        continue;
      }
      if (res.status === 403 && token === undefined) {
        await ask(`use ${where} (this server requires a token for rekey)`);
        continue;
      }
      if (res.status === 403 || res.status === 405) throw new VaultSetupError('E_DENIED', `the server refused ${method} ${where} (${res.status})`, { hint: 'use a token with sudo on sys/rotate/root/* (or sys/rekey/*)' });
      const data = res.body as { data?: T } | undefined;
      return (data !== undefined && data !== null && typeof data === 'object' && 'data' in data && data.data !== null && data.data !== undefined ? data.data : res.body) as T;
    }
  };
}
