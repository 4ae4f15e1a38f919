// Wires the real services. Tests may swap one; everything else is plain logic.
import { Output, type OutputStreams } from './output.ts';
import { ComposeService } from './services/compose.ts';
import { DockerService } from './services/docker.ts';
import { InquirerPrompter, type Prompter } from './services/prompter.ts';
import { Redactor } from './services/redactor.ts';
import { type Clock, realClock } from './services/wait.ts';

export interface Context {
  env: NodeJS.ProcessEnv;
  output: Output;
  redactor: Redactor;
  docker: DockerService;
  compose: ComposeService;
  prompter: Prompter;
  clock: Clock;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Called when the process is asked to stop; the ceremony installs a handler that protects shown keys. */
  interrupts: InterruptGuard;
}

export class InterruptGuard {
  #handler: (() => Promise<boolean>) | undefined;

  /** While set, SIGINT/SIGTERM ask this handler; it returns true when it is fine to exit. */
  set(handler: (() => Promise<boolean>) | undefined): void {
    this.#handler = handler;
  }

  get handler(): (() => Promise<boolean>) | undefined {
    return this.#handler;
  }
}

export interface ContextOptions {
  json?: boolean;
  quiet?: boolean;
  yes?: boolean;
  env?: NodeJS.ProcessEnv;
  streams?: OutputStreams;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export function createContext(options: ContextOptions = {}): Context {
  const env = options.env ?? process.env;
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const stdin = options.stdin ?? process.stdin;
  const redactor = new Redactor();
  const output = new Output({ streams, env, json: options.json ?? false, quiet: options.quiet ?? false, redactor, stdinIsTTY: stdin.isTTY === true });
  return {
    env,
    output,
    redactor,
    docker: new DockerService(),
    compose: new ComposeService(env),
    prompter: new InquirerPrompter({ interactive: output.interactive && options.yes !== true, output: streams.stderr }),
    clock: realClock,
    stdin,
    interrupts: new InterruptGuard(),
  };
}
