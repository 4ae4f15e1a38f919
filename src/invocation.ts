import type { Context } from './context.ts';
import type { Flags } from './options/flags.ts';

/** What a command hands back to cli.ts: the data for --json, lines for people, and an exit code. */
export interface CommandResult {
  data: unknown;
  human?: string;
  /** The human lines go to stderr: stdout already holds a result a program reads (init --print-keys). */
  humanToStderr?: boolean;
  exitCode?: number;
}

export type { Flags };

export interface Invocation {
  flags: Flags;
  positionals: string[];
}

export type CommandHandler = (invocation: Invocation, ctx: Context) => Promise<CommandResult>;
