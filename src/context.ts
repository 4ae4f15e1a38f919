// Wires the real services; createContext's overrides swap one (a scripted prompter, a fake clock, another Docker
// client). Everything else is plain logic.
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
  /** Where a connection to a server address really goes: the address itself, unless a caller routes it elsewhere
   * (a test's fault proxy in front of the real server). Messages keep naming the server's own address. */
  dial(address: string): string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Called when the process is asked to stop; the ceremony installs a handler that protects shown keys. */
  interrupts: InterruptGuard;
  /**
   * Called right after a resumable command durably recorded a stage (its state file written): from here a re-run
   * resumes after that stage. A no-op; an embedding program (a test) may stop the run there, as a crash would.
   */
  checkpoint(command: string, stage: string): Promise<void>;
}

export type InterruptHandler = (signal?: NodeJS.Signals) => Promise<boolean>;

export class InterruptGuard {
  #handler: InterruptHandler | undefined;

  /** While set, SIGINT/SIGTERM ask this handler (with the signal); it returns true when it is fine to exit. */
  set(handler: InterruptHandler | undefined): void {
    this.#handler = handler;
  }

  get handler(): InterruptHandler | undefined {
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

/** The services a caller (a test, an embedding program) may replace; the rest are built from the options. */
export type ContextOverrides = Partial<Pick<Context, 'docker' | 'compose' | 'prompter' | 'clock' | 'redactor' | 'interrupts' | 'dial' | 'checkpoint'>>;

export function createContext(options: ContextOptions = {}, overrides: ContextOverrides = {}): Context {
  const env = options.env ?? process.env;
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const stdin = options.stdin ?? process.stdin;
  const redactor = overrides.redactor ?? new Redactor();
  const output = new Output({ streams, env, json: options.json ?? false, quiet: options.quiet ?? false, redactor, stdinIsTTY: stdin.isTTY === true });
  return {
    env,
    output,
    redactor,
    docker: overrides.docker ?? new DockerService(),
    compose: overrides.compose ?? new ComposeService(env),
    prompter: overrides.prompter ?? new InquirerPrompter({ interactive: output.interactive && options.yes !== true, output: streams.stderr }),
    clock: overrides.clock ?? realClock,
    dial: overrides.dial ?? ((address) => address),
    stdin,
    interrupts: overrides.interrupts ?? new InterruptGuard(),
    checkpoint: overrides.checkpoint ?? (async () => undefined),
  };
}
