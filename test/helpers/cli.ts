// Runs the real CLI (src/cli.ts under Node's type stripping) as a child process, as an operator would.
import { spawn } from 'node:child_process';
import { ROOT } from './rig.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** One finished run, as both runners (child process and in-process) hand it back. */
export function cliRun(code: number, stdout: string, stderr: string): CliRun {
  return {
    code,
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
    delete env.VAULT_TOKEN;
    delete env.BAO_TOKEN;
    if (options.env?.VAULT_TOKEN) env.VAULT_TOKEN = options.env.VAULT_TOKEN;
    if (options.env?.BAO_TOKEN) env.BAO_TOKEN = options.env.BAO_TOKEN;
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(cliRun(code ?? -1, stdout, stderr));
    });
    child.stdin.end(options.input ?? '');
  });
}
