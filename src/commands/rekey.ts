// `vault-setup rekey`: new unseal shares under the quorum of the current holders. The server's rekey verification
// (`require_verification`) keeps the old shares valid until the new threshold of new shares was typed back, so a
// share mis-copied at the ceremony never locks the server. The token-authenticated form is used when the server
// asks for it (OpenBao >= 2.5, Vault 2.x), decided by its answer.
import readline from 'node:readline';
import type { Context } from '../context.ts';
import { checkShare, resolveCounts, shareOrThrow } from '../ceremony/shares.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { bool, str } from '../options/flags.ts';
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
}
interface RekeyUpdate {
  complete: boolean;
  nonce: string;
  progress?: number;
  keys?: string[];
  verification_required?: boolean;
  verification_nonce?: string;
}

export async function rekey({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError('`vault-setup rekey` takes no arguments: shares are never accepted on the command line', 'run it to be asked (hidden), or pipe them with --stdin');
  const fromStdin = bool(flags, 'stdin');
  if (fromStdin && ctx.stdin.isTTY === true) throw usageError('--stdin reads shares from a pipe, but standard input is a terminal (the share would be echoed)');
  const cancel = bool(flags, 'cancel');
  if (!cancel && !fromStdin && !ctx.prompter.interactive) {
    throw new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for shares', { hint: 'pipe the current shares with --stdin; the new shares are then written to standard output and read back from standard input' });
  }
  const { target, api, close } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  try {
    const seal = await api.sealStatus();
    requireUnsealed(seal, target.address, { suffix: ': a rekey needs an open server', sealedHint: 'unseal it first: vault-setup unseal', uninitialisedHint: 'run `vault-setup init` first' });
    const counts = resolveCounts({ shares: str(flags, 'shares') ?? String(seal.n), threshold: str(flags, 'threshold') ?? String(seal.t) });
    const call = authenticated(ctx, api, str(flags, 'token-file'));
    const status = await call<RekeyStatus>('GET', 'sys/rekey/init');
    if (cancel) {
      if (status.started) await call('DELETE', 'sys/rekey/init');
      return { data: { address: target.address, cancelled: status.started }, human: status.started ? 'The rekey in progress was discarded; the current shares stay valid.' : 'No rekey was in progress.' };
    }
    if (status.started) {
      throw new VaultSetupError('E_SERVER', `a rekey is already in progress on ${target.address} (${status.progress}/${status.required} shares)`, {
        hint: 'discard it with `vault-setup rekey --cancel` (the current shares stay valid), then run rekey again',
      });
    }
    const started = await call<RekeyStatus>('PUT', 'sys/rekey/init', { secret_shares: counts.shares, secret_threshold: counts.threshold, require_verification: true });
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
        if (line.done === true) throw new VaultSetupError('E_NEEDS_ANSWER', `standard input ended: ${question.toLowerCase()} is missing`, { hint: 'the rekey stays in progress with the current shares valid: run `vault-setup rekey --cancel`, or pipe every share' });
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
    const fresh = update.keys ?? [];
    ctx.redactor.add(...fresh);
    for (const key of fresh) ctx.redactor.addShare(key);
    if (update.verification_required !== true || update.verification_nonce === undefined) {
      throw new VaultSetupError('E_SERVER', 'the server finished the rekey without verification: the new shares are already the only valid ones', { hint: 'distribute them now; this server ignored require_verification' });
    }
    // Shown once: to stdout for a pipe (the caller asked for --stdin), to the terminal otherwise.
    if (lines !== undefined) ctx.output.revealToStdout(`${JSON.stringify({ new_shares: fresh, threshold: counts.threshold })}\n`);
    else fresh.forEach((key, i) => ctx.output.revealToTerminal(`New share ${i + 1} of ${fresh.length}: ${key}\n`));
    say(`The old shares stay valid until ${counts.threshold} of the new ones are typed back.`);
    let verified: { complete?: boolean } = {};
    for (let i = 1; verified.complete !== true; i++) {
      const key = await next(`New share typed back ${i} of ${counts.threshold}`, counts.shares);
      try {
        verified = await call<{ complete?: boolean }>('PUT', 'sys/rekey/verify', { key, nonce: update.verification_nonce });
      } catch (error) {
        throw new VaultSetupError('E_BAD_SHARE', 'the typed-back shares do not match the new ones: the rekey is not complete and the old shares stay valid', {
          hint: 'run `vault-setup rekey --cancel` and start again (the new shares shown are void)',
          cause: error,
        });
      }
    }
    return {
      data: { address: target.address, shares: counts.shares, threshold: counts.threshold, verified: true },
      human: [
        `Rekeyed: ${counts.shares} new shares, ${counts.threshold} unseal. The old shares no longer unseal this server.`,
        // A snapshot carries the keyring as it was: restoring one made before today needs the shares of its time.
        'Snapshots taken before now still open only with the OLD shares: take a new one (vault-setup backup), and keep the old shares until those snapshots are gone.',
      ].join('\n'),
    };
  } finally {
    close();
  }
}

/**
 * The rekey endpoints, decided by the server's answers: the classic unauthenticated sys/rekey/* where the server
 * serves them; where it refuses them (OpenBao >= 2.5 answers 405 "unsupported operation"), the authenticated
 * sys/rotate/root/* with a token; a 403 on either asks for a token too.
 */
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
