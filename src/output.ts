// stdout is for results, stderr for people. Colour only on a TTY and never with NO_COLOR.
import { Chalk } from 'chalk';
import type { Redactor } from './services/redactor.ts';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

function makeStyle(colour: boolean): Style {
  const c = new Chalk({ level: colour ? 1 : 0 });
  return { bold: c.bold, dim: c.dim, red: c.red, green: c.green, yellow: c.yellow, cyan: c.cyan };
}

export const wantsColour = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean =>
  stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';

export class Output {
  readonly style: Style;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly interactive: boolean;
  readonly streams: OutputStreams;
  readonly #redactor: Redactor;

  constructor(options: { streams: OutputStreams; env: NodeJS.ProcessEnv; json: boolean; quiet?: boolean; redactor: Redactor; stdinIsTTY: boolean }) {
    this.streams = options.streams;
    this.json = options.json;
    this.quiet = options.quiet ?? false;
    this.#redactor = options.redactor;
    this.style = makeStyle(wantsColour(options.streams.stderr, options.env));
    this.interactive = options.stdinIsTTY && options.streams.stderr.isTTY === true;
  }

  /** A line for the person at the terminal (stderr), redacted. Silent with --json or --quiet. */
  info(line: string): void {
    if (this.json || this.quiet) return;
    this.streams.stderr.write(`${this.#redactor.redact(line)}\n`);
  }

  /** A line that must be seen even with --quiet (warnings, problems); still on stderr. */
  warn(line: string): void {
    if (this.json) return;
    this.streams.stderr.write(`${this.#redactor.redact(line)}\n`);
  }

  /** A security problem the operator must see whatever the flags (even --json): stderr, redacted. */
  alert(line: string): void {
    this.streams.stderr.write(`${this.style.red('!')} ${this.#redactor.redact(line)}\n`);
  }

  /**
   * The command's result: one JSON object with --json, else human lines on stdout, or on stderr when stdout already
   * carries what a program reads (init --print-keys: the JSON alone, so `| jq` works).
   */
  result(data: unknown, human?: string, options: { toStderr?: boolean } = {}): void {
    if (this.json) {
      this.streams.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    } else if (human !== undefined && human.length > 0) {
      (options.toStderr === true ? this.streams.stderr : this.streams.stdout).write(`${human}\n`);
    }
  }

  /**
   * Deliberately shows secret material the operator asked for (shares in a ceremony, a token). Bypasses the
   * redactor on purpose; every caller is a place in the product where showing a secret once is the point.
   */
  revealToTerminal(text: string): void {
    this.streams.stderr.write(text);
  }

  /** Writes secret material to stdout because the operator asked for it (--print-keys, --show-token). */
  revealToStdout(text: string): void {
    this.streams.stdout.write(text);
  }
}
