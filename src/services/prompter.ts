// Questions to the operator. Secrets are always masked. Without a TTY (or with --yes) there is nobody to ask:
// a missing answer is an error that says which flag or variable provides it.
import { VaultSetupError } from '../errors.ts';

export interface Prompter {
  readonly interactive: boolean;
  secret(message: string, options?: { validate?: (value: string) => string | true }): Promise<string>;
  confirm(message: string, options?: { default?: boolean }): Promise<boolean>;
  input(message: string, options?: { default?: string; validate?: (value: string) => string | true }): Promise<string>;
}

export class InquirerPrompter implements Prompter {
  readonly interactive: boolean;
  readonly #output: NodeJS.WritableStream;

  constructor(options: { interactive: boolean; output: NodeJS.WritableStream }) {
    this.interactive = options.interactive;
    this.#output = options.output;
  }

  #refuse(message: string): never {
    throw new VaultSetupError('E_NEEDS_ANSWER', `an answer is needed but there is no terminal to ask: ${message}`, {
      hint: 'run in a terminal, or provide the answer with the flag or variable named in --help (and in docs/commands/)',
    });
  }

  async secret(message: string, options: { validate?: (value: string) => string | true } = {}): Promise<string> {
    if (!this.interactive) this.#refuse(message);
    const { password } = await import('@inquirer/prompts');
    // Validated here, not by the prompt: a refused hidden answer would stay in the prompt's line, invisible, and the
    // next keystrokes would be added to it. Each try starts from an empty line.
    for (;;) {
      const value = await password({ message, mask: '*' }, { output: this.#output });
      const verdict = options.validate?.(value) ?? true;
      if (verdict === true) return value;
      this.#output.write(`> ${verdict}\n`);
    }
  }

  async confirm(message: string, options: { default?: boolean } = {}): Promise<boolean> {
    if (!this.interactive) this.#refuse(message);
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message, default: options.default ?? false }, { output: this.#output });
  }

  async input(message: string, options: { default?: string; validate?: (value: string) => string | true } = {}): Promise<string> {
    if (!this.interactive) this.#refuse(message);
    const { input } = await import('@inquirer/prompts');
    return input(
      { message, ...(options.default !== undefined ? { default: options.default } : {}), ...(options.validate ? { validate: options.validate } : {}) },
      { output: this.#output },
    );
  }
}

/** The prompt library's way of saying the person pressed Ctrl-C (or the prompt was aborted) at a question. */
export const isPromptExit = (error: unknown): boolean => (error as Error)?.name === 'ExitPromptError' || (error as Error)?.name === 'AbortPromptError';
