// New shares at a terminal, shown once: the list, advice on keeping them, and a question the holders answer only
// once they saved them. init's ceremony and rekey alike; both clear the screen and scrollback afterwards.
import type { Context } from '../context.ts';
import { isPromptExit } from '../services/prompter.ts';
import { say } from './share-prompt.ts';

/** Erases the visible screen AND the terminal's scrollback, then homes the cursor. */
export const CLEAR_SCREEN_AND_SCROLLBACK = '\x1b[2J\x1b[3J\x1b[H';

export interface ShareDisplay {
  /** The first line, in bold. */
  title: string;
  /** As the server returns them in keys_base64: init and rekey show the same encoding. */
  shares: string[];
  /** What follows the list: the advice and what comes next, indented. */
  body: string[];
  /** Asked until the answer is yes. */
  question: string;
  /** Ctrl-C at the question: throws to stop, returns to ask again. */
  onStop: () => Promise<void>;
}

/** Where the shares go: the two points both ceremonies make, for N shares of which T unseal. */
export const keepingAdvice = (shares: number, threshold: number): string[] => [
  // The example only where it holds: 2 + 2 + 1 leaves nobody with 3 of 5.
  `  - Give each share to a different holder${shares === 5 && threshold === 3 ? ' (e.g. 2 for you, 2 for a co-admin, 1 in a safe)' : ''}. No one should hold`,
  `    ${threshold} on their own unless they may open the server alone.`,
  '  - Keep them OUTSIDE this server: a password manager, a printed copy in a safe. Never in a file, a script or',
  '    the shell history here: whoever takes this server and its shares reads every secret.',
];

/** Shows the shares (deliberately, unredacted, on the terminal) and returns once the holders say they saved them. */
export async function showAndConfirm(ctx: Context, display: ShareDisplay): Promise<void> {
  const width = String(display.shares.length).length;
  const lines = ['', ctx.output.style.bold(display.title), '', ...display.shares.map((k, i) => `  Share ${String(i + 1).padStart(width)}:  ${k}`), '', ...display.body];
  ctx.output.revealToTerminal(`${lines.join('\n')}\n`);
  for (;;) {
    let saved: boolean;
    try {
      saved = await ctx.prompter.confirm(display.question, { default: false });
    } catch (error) {
      if (!isPromptExit(error)) throw error;
      await display.onStop();
      continue;
    }
    if (saved) return;
    say(ctx)('Nothing is lost yet: the shares stay on screen. Save them, then answer yes.');
  }
}
