// One share-collection service for every quorum operation (generate-root, --quorum): shares typed hidden at a
// terminal, one after another, or one per line on standard input. Each share is checked for shape and registered
// with the redactor on arrival; the holder of the result drops them when the operation ends.
import readline from 'node:readline';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { checkShare, shareOrThrow } from '../ceremony/shares.ts';

export interface HeldShares {
  readonly keys: readonly string[];
  /** Forgets the shares (the strings themselves are immutable: the references go). */
  drop(): void;
}

export async function collectShares(ctx: Context, options: { fromStdin: boolean; threshold: number; shares: number; purpose: string }): Promise<HeldShares> {
  const keys: string[] = [];
  const { threshold, shares } = options;
  if (options.fromStdin) {
    if (ctx.stdin.isTTY === true) {
      throw new VaultSetupError('E_USAGE', '--stdin reads shares from a pipe, but standard input is a terminal (the shares would be echoed)', { hint: 'drop --stdin to be asked with hidden input' });
    }
    const lines = readline.createInterface({ input: ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const key = shareOrThrow(line, `line ${lineNo} of standard input`, shares);
      ctx.redactor.addShare(key);
      if (keys.includes(key)) throw new VaultSetupError('E_BAD_SHARE', `line ${lineNo} of standard input repeats an earlier share`, { hint: `give ${threshold} different shares` });
      keys.push(key);
      if (keys.length === threshold) break;
    }
    lines.close();
  } else {
    if (!ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', `${threshold} unseal shares are needed to ${options.purpose} and there is no terminal to ask`, {
        hint: 'pipe them in, one per line: vault-setup ... --stdin (never as arguments)',
      });
    }
    ctx.output.info(`${threshold} holders of unseal shares enter one each, one after another, to ${options.purpose}.`);
    while (keys.length < threshold) {
      const typed = await ctx.prompter.secret(`Share ${keys.length + 1} of ${threshold} (hidden)`, {
        validate: (value) => {
          const checked = checkShare(value, shares);
          if (!checked.ok) return checked.reason;
          return keys.includes(checked.key) ? 'that share was entered already: the next holder enters theirs' : true;
        },
      });
      const checked = checkShare(typed, shares);
      if (!checked.ok) continue;
      ctx.redactor.addShare(checked.key);
      keys.push(checked.key);
    }
  }
  if (keys.length < threshold) {
    throw new VaultSetupError('E_NEEDS_ANSWER', `standard input held ${keys.length} share${keys.length === 1 ? '' : 's'}; ${threshold} are needed to ${options.purpose}`, { hint: `pipe ${threshold} shares, one per line` });
  }
  return {
    keys,
    drop: () => {
      keys.length = 0;
    },
  };
}
