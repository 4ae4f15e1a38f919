// The CLI called in this process: main() with fake streams and a scripted prompter, against the real server and
// the real Docker Engine. No second process, so nothing to freeze or race: what a test scripts is what happens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli.ts';
import type { ContextOverrides } from '../../src/context.ts';
import type { Prompter } from '../../src/services/prompter.ts';
import { type CliRun, cliRun } from './cli.ts';

/** A prompter that answers from a script, in order; a question beyond the script fails the test. */
export function scriptedPrompter(answers: (string | boolean)[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string): string | boolean => {
    asked.push(message);
    if (answers.length === 0) throw new Error(`unscripted question: ${message}`);
    return answers.shift() as string | boolean;
  };
  return {
    interactive: true,
    asked,
    secret: async (message, options) => {
      const answer = String(next(message));
      const valid = options?.validate?.(answer) ?? true;
      if (valid !== true) throw new Error(`the scripted answer to "${message}" was refused: ${valid}`);
      return answer;
    },
    confirm: async (message) => next(message) === true,
    input: async (message) => String(next(message)),
  };
}

let home: string | undefined;

/** vault-setup ARGS in this process. `env` is the command's whole environment (PATH and a private HOME, not this process's). */
export async function runInProcess(args: string[], options: { env?: Record<string, string>; prompter?: Prompter; input?: string; overrides?: ContextOverrides; onStderr?: (chunk: string) => void } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => {
    stderr += c;
    options.onStderr?.(String(c));
  });
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end(options.input ?? '');
  if (home === undefined) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-in-process-home-'));
    process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
    home = made;
  }
  const env = { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', ...options.env };
  const overrides: ContextOverrides = { ...options.overrides, ...(options.prompter ? { prompter: options.prompter } : {}) };
  const code = await main({ argv: args, env, stdout: out, stderr: err, stdin, overrides });
  return cliRun(code, stdout, stderr);
}
