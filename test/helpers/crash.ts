// A crash at a recorded stage, in this process: the context's checkpoint (called right after a command wrote its
// state file) never returns at the chosen stage, so nothing after it runs (no catch, no finally, no rollback), as
// when the process dies there. The abandoned run's signal handlers are removed as the dead process's would be.
// dockerEvents lets a test SIGKILL the real CLI the moment one of its one-shot containers starts.
import { spawn } from 'node:child_process';
import type { ContextOverrides } from '../../src/context.ts';
import { runInProcess } from './in-process.ts';
import type { CliRun } from './cli.ts';

export interface Stages {
  /** Every (command, stage) the run recorded, in order: "upgrade:snapshot", "migrate:stopped", ... */
  seen: string[];
  overrides: ContextOverrides;
}

/** Records the stages of a run that goes to its end. */
export function recordStages(): Stages {
  const seen: string[] = [];
  return { seen, overrides: { checkpoint: async (command, stage) => void seen.push(`${command}:${stage}`) } };
}

/**
 * Runs vault-setup ARGS in this process and stops it for good at `at` ("command:stage"). Resolves once it stopped
 * there with the output so far; rejects when the run ended without reaching it.
 */
export async function runUntilCrash(at: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<{ seen: string[]; stderr: () => string }> {
  const seen: string[] = [];
  const listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  let died!: () => void;
  const dead = new Promise<void>((resolve) => (died = resolve));
  let stderr = '';
  const run: Promise<CliRun> = runInProcess(args, {
    ...options,
    onStderr: (chunk) => void (stderr += chunk),
    overrides: {
      checkpoint: (command, stage) => {
        seen.push(`${command}:${stage}`);
        if (`${command}:${stage}` !== at) return Promise.resolve();
        died();
        return new Promise<void>(() => undefined);
      },
    },
  });
  const ended = await Promise.race([dead.then(() => undefined), run]);
  if (ended !== undefined) throw new Error(`the run ended (exit ${ended.code}) without reaching ${at}; stages: ${seen.join(', ')}\n${ended.stderr}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) if (!listeners[signal].includes(l)) process.off(signal, l as () => void);
  }
  return { seen, stderr: () => stderr };
}

/** `docker events` with FILTERS, as a child: first(pattern) resolves on the first event line that matches. */
export function dockerEvents(filters: string[]): { first(pattern: RegExp): Promise<void>; kill(): void } {
  const child = spawn('docker', ['events', ...filters, '--format', '{{.Actor.Attributes.name}}'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let seen = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk) => {
    seen += chunk;
    for (const w of [...waiters]) w();
  });
  return {
    first: (pattern) =>
      new Promise<void>((resolve) => {
        const check = () => pattern.test(seen) && (resolve(), true);
        if (!check()) waiters.push(check);
      }),
    kill: () => void child.kill(),
  };
}
