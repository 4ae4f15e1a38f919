// The real CLI as a running child the test can watch and interrupt at a chosen moment: wait for a line, freeze
// it there (SIGSTOP, sent from the output handler so it stops as close to that line as possible), change the world,
// then signal or continue it. Tokens are passed only when the test gives them, as runCli does.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { ROOT } from './rig.ts';

export interface LiveCli {
  pid: number;
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr (or the stream given) matches; with freeze, the process is stopped right then. */
  waitFor(pattern: RegExp, options?: { stream?: 'stdout' | 'stderr'; freeze?: boolean }): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  write(text: string): void;
  end(): void;
  /** Exit code, or 128 + signal number when killed by a signal. */
  exited: Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** The entry that routes every server connection through THROUGH (test/helpers/dialed-cli.ts). */
export const dialedThrough = (through: string): string[] => [`${ROOT}test/helpers/dialed-cli.ts`, through];

export function liveCli(args: string[], options: { env?: NodeJS.ProcessEnv; entry?: string[] } = {}): LiveCli {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  for (const name of ['VAULT_TOKEN', 'BAO_TOKEN']) if (options.env?.[name] === undefined) delete env[name];
  const child = spawn(process.execPath, [...(options.entry ?? [`${ROOT}src/cli.ts`]), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const onData = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    text[stream] += chunk.toString('utf8');
    for (const check of [...waiters]) check();
  };
  child.stdout.on('data', onData('stdout'));
  child.stderr.on('data', onData('stderr'));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)));
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
  void exited.then(() => clearTimeout(kill));
  return {
    pid: child.pid as number,
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor(pattern, o = {}) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          const haystack = o.stream === undefined ? `${text.stdout}\n${text.stderr}` : text[o.stream];
          if (!pattern.test(haystack)) return false;
          if (o.freeze === true) child.kill('SIGSTOP');
          waiters.delete(check);
          resolve();
          return true;
        };
        if (check()) return;
        waiters.add(check);
        void exited.then((code) => {
          if (waiters.delete(check)) reject(new Error(`the CLI exited (${code}) before ${pattern}:\nstdout:\n${text.stdout}\nstderr:\n${text.stderr}`));
        });
      });
    },
    signal: (signal) => void child.kill(signal),
    write: (t) => void child.stdin.write(t),
    end: () => void child.stdin.end(),
    exited,
  };
}
