// One unseal round against the server, shared by the init ceremony and `vault-setup unseal`.
// The server keeps the round (progress k/T, nonce), so several holders can each add shares from their own
// terminal; the tool only reads that state back and explains it.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { type SealStatus, type VaultApi, serverErrors } from '../services/vault-api.ts';
import { poll } from '../services/wait.ts';

export type SubmitOutcome =
  | { kind: 'unsealed'; status: SealStatus }
  | { kind: 'counted'; status: SealStatus; newRound: boolean }
  | { kind: 'duplicate'; status: SealStatus }
  | { kind: 'rejected'; status: SealStatus; reason: string }
  | { kind: 'combination-failed'; status: SealStatus };

/**
 * Sends one share and classifies what the server did with it. A well-formed wrong share is counted like a good
 * one; only when the threshold is reached are the shares combined, and then discarded whatever the outcome. So a
 * failed combination is recognised by the round being gone afterwards, not by the error text (which differs
 * between versions: "message authentication failed", "all parts must be the same length", ...).
 */
export async function submitShare(api: VaultApi, key: string, before: SealStatus): Promise<SubmitOutcome> {
  const response = await api.unseal(key);
  if (response.status < 300) {
    const status = response.body;
    if (!status.sealed) return { kind: 'unsealed', status };
    const newRound = before.nonce !== '' && status.nonce !== before.nonce;
    if (!newRound && status.progress <= before.progress) return { kind: 'duplicate', status };
    return { kind: 'counted', status, newRound };
  }
  const status = await api.sealStatus();
  if (!status.sealed) return { kind: 'unsealed', status };
  const errors = serverErrors(response.body).join('; ');
  if (/not initiali[sz]ed/i.test(errors)) throw notInitialised();
  const roundGone = before.progress > 0 && status.progress === 0;
  const wasLast = before.progress + 1 >= before.t;
  if (roundGone || (wasLast && status.progress === 0 && !/must be a valid hex|shorter than|longer than/i.test(errors))) {
    return { kind: 'combination-failed', status };
  }
  // Not counted: the server refused the share itself. Its reason names lengths, never the share.
  return { kind: 'rejected', status, reason: errors.length > 0 ? errors : `HTTP ${response.status}` };
}

export const notInitialised = (): VaultSetupError =>
  new VaultSetupError('E_NOT_INITIALIZED', 'the server is not initialised yet, so there is nothing to unseal', {
    hint: 'initialise it first: vault-setup init --dir DIR (it runs the key ceremony)',
  });

export const progressText = (s: SealStatus): string => `${s.progress}/${s.t}`;

export const combinationFailedText = (t: number): string =>
  `Those ${t} shares do not unseal the server: at least one of them is wrong. The server only combines shares once ` +
  `it has ${t}, and cannot tell which one was wrong, so it discarded them all and the round starts again.`;

export interface RoundHooks {
  /** The next share (already checked for shape), or undefined when there are no more. */
  read(status: SealStatus): Promise<string | undefined>;
  /** After a failed combination: 'retry' starts a new round, 'stop' gives up (E_UNSEAL_FAILED). */
  onRoundFailed(status: SealStatus): Promise<'retry' | 'stop'>;
  /** A line for the person unsealing. */
  say(line: string): void;
}

/** Takes shares until the server is unsealed or the source runs dry. Returns the last seal status. */
export async function unsealRounds(ctx: Context, api: VaultApi, hooks: RoundHooks): Promise<SealStatus> {
  let status = await api.sealStatus();
  if (!status.initialized) throw notInitialised();
  let known = status;
  while (status.sealed) {
    // Other holders may have added shares (or reset the round) while this one was typing.
    if (status.progress !== known.progress || status.nonce !== known.nonce) {
      hooks.say(status.progress === 0 ? 'The round was reset or failed elsewhere: progress is back to 0.' : `Progress is now ${progressText(status)} (shares entered by other holders count too).`);
    }
    const key = await hooks.read(status);
    if (key === undefined) return status;
    ctx.redactor.addShare(key);
    const outcome = await submitShare(api, key, status);
    switch (outcome.kind) {
      case 'unsealed':
        return outcome.status;
      case 'counted':
        if (outcome.newRound) hooks.say('Someone restarted the round meanwhile: this share counts in the new round.');
        hooks.say(`Share accepted: ${progressText(outcome.status)}.`);
        break;
      case 'duplicate':
        hooks.say(`That share was already entered in this round, so it does not count again (still ${progressText(outcome.status)}). Enter a different share.`);
        break;
      case 'rejected':
        throw new VaultSetupError('E_BAD_SHARE', `the server refused the share as malformed (${outcome.reason})`, {
          hint: 'it was not counted; check the share (hex or base64, as shown at init) and enter it again',
        });
      case 'combination-failed':
        hooks.say(combinationFailedText(status.t));
        if ((await hooks.onRoundFailed(outcome.status)) === 'stop') {
          throw new VaultSetupError('E_UNSEAL_FAILED', `the ${status.t} shares entered do not unseal the server; the round was discarded`, {
            hint: 'the server cannot tell which share was wrong: each holder checks theirs, then run `vault-setup unseal` again',
          });
        }
        break;
    }
    status = outcome.status;
    known = status;
    status = await api.sealStatus();
  }
  return status;
}

/**
 * Right after unsealing, a single raft node answers "standby" or 500 for a moment while it elects itself. Waits
 * (bounded) until it is active so the next request does not fail; a slow node is not an error here.
 */
export async function waitUntilActive(api: VaultApi, ctx: Context, timeoutMs = 30_000): Promise<void> {
  await poll(async () => {
    const health = await api.probe();
    return health !== undefined && !health.sealed && !health.standby ? true : undefined;
  }, { timeoutMs, initialDelayMs: 100, maxDelayMs: 1000, clock: ctx.clock });
}
