// Shares typed by a person at a masked prompt, and the lines said to them: the init ceremony and `unseal` alike.
import type { Context } from '../context.ts';
import { checkShare } from './shares.ts';
import type { unsealRounds } from './unseal-round.ts';

/** A line for the person at the terminal, even with --json (stdout stays the one JSON object); always redacted. */
export const say = (ctx: Context) => (line: string) => {
  ctx.output.streams.stderr.write(`${ctx.redactor.redact(line)}\n`);
};


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

