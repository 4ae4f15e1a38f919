import type { Context } from './context.ts';
import type { Flags } from './options/flags.ts';

/** What a command hands back to cli.ts: the data for --json, lines for people, and an exit code. */
export interface CommandResult {
  data: unknown;
  human?: string;
  exitCode?: number;
}

export type { Flags };

export interface Invocation {
  flags: Flags;
  positionals: string[];
}

export type CommandHandler = (invocation: Invocation, ctx: Context) => Promise<CommandResult>;
