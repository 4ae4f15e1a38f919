// A real terminal for tests: a private tmux server runs the command in a pane; the test reads the screen with
// capture-pane and types with send-keys, as an operator would. Secrets are typed through a paste buffer loaded
// from stdin (`load-buffer -`), so they never appear in any process's argv.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Terminal extends Disposable {
  /** The visible screen, or with history: true everything tmux still holds, scrollback included. */
  screen(options?: { history?: boolean }): string;
  /** Types text literally (never use for secrets: it travels in tmux's argv). */
  type(text: string): void;
  /** Named keys: Enter, C-c, C-u, BSpace ... */
  key(...keys: string[]): void;
  /** Types a secret through a paste buffer read from stdin, then deletes the buffer. */
  paste(secret: string): void;
  /** Polls the screen (with history) until the pattern matches; returns that screen. */
  waitFor(pattern: RegExp, options?: { timeoutMs?: number; history?: boolean }): Promise<string>;
  /** The pid of the command in the pane (a child of the small shell that reports its exit status). */
  pid(): number;
  /** undefined while the command runs, else its exit status (the pane stays open on exit). */
  exitStatus(): number | undefined;
  waitExit(timeoutMs?: number): Promise<number>;
  /** Whether the terminal shows its cursor (a program that hid it must show it again before it ends). */
  cursorVisible(): boolean;
}

const EXIT_MARK = 'vault-setup-test-exit-status';

export function terminal(command: string[], options: { env: NodeJS.ProcessEnv; width?: number; height?: number }): Terminal {
  const socket = `vs-${randomBytes(4).toString('hex')}`;
  const conf = path.join(os.tmpdir(), `${socket}.tmux.conf`);
  // remain-on-exit: the last screen and the exit status stay readable after the command ends.
  fs.writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 20000\nset -g status off\n');
  const env = { TERM: 'xterm-256color', LANG: 'C.UTF-8', ...options.env };
  const tmux = (args: string[], input?: string): string => {
    const run = spawnSync('tmux', ['-L', socket, ...args], { env, input, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`tmux ${args[0]} failed: ${run.stderr.trim()}`);
    return run.stdout;
  };
  // tmux 3.3 sometimes loses #{pane_dead_status} (the pane reads dead at EOF before the child is reaped), so a
  // small shell runs the command and prints its exit status on the screen; the shell is the pane's process.
  const wrapper = 'trap : INT TERM; "$@"; printf "\\n%s=%d\\n" "$0" "$?"';
  tmux(['-f', conf, 'new-session', '-d', '-s', 'main', '-x', String(options.width ?? 160), '-y', String(options.height ?? 48), '--', 'sh', '-c', wrapper, EXIT_MARK, ...command]);
  const screen = (o: { history?: boolean } = {}) => tmux(['capture-pane', '-p', '-J', '-t', 'main', ...(o.history ? ['-S', '-'] : [])]);
  const exitStatus = () => {
    const m = new RegExp(`^${EXIT_MARK}=(\\d+)$`, 'm').exec(screen({ history: true }));
    return m === null ? undefined : Number(m[1]);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    screen,
    type: (text) => void tmux(['send-keys', '-t', 'main', '-l', text]),
    key: (...keys) => void tmux(['send-keys', '-t', 'main', ...keys]),
    paste(secret) {
      const buffer = `p${randomBytes(3).toString('hex')}`;
      tmux(['load-buffer', '-b', buffer, '-'], secret);
      tmux(['paste-buffer', '-d', '-b', buffer, '-t', 'main']);
    },
    async waitFor(pattern, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 120_000);
      for (;;) {
        const text = screen({ history: o.history ?? true });
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`terminal: ${pattern} did not appear; the screen shows:\n${screen()}`);
        if (exitStatus() !== undefined && !pattern.test(screen({ history: true }))) {
          throw new Error(`terminal: the command exited (${exitStatus()}) before ${pattern} appeared; the screen shows:\n${screen()}`);
        }
        await sleep(100);
      }
    },
    pid: () => {
      const shell = tmux(['display-message', '-p', '-t', 'main', '#{pane_pid}']).trim();
      const child = fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/)[0];
      if (!child) throw new Error('terminal: the command is not running');
      return Number(child);
    },
    exitStatus,
    cursorVisible: () => tmux(['display-message', '-p', '-t', 'main', '#{cursor_flag}']).trim() === '1',
    async waitExit(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = exitStatus();
        if (status !== undefined) return status;
        if (Date.now() > deadline) throw new Error(`terminal: the command did not exit; the screen shows:\n${screen()}`);
        await sleep(200);
      }
    },
    [Symbol.dispose]() {
      spawnSync('tmux', ['-L', socket, 'kill-server'], { env, stdio: 'ignore' });
      fs.rmSync(conf, { force: true });
    },
  };
}
