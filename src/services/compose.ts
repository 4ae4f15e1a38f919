// Docker Compose, v2 (`docker compose`) or v1 (`docker-compose`), whichever the host has.
// Child processes get a minimal environment: tokens in the operator's shell never reach them.
import { VaultSetupError } from '../errors.ts';
import { assertSafeDir } from './dir-safety.ts';
import { refuseSymlink } from './files.ts';

export interface ComposeCommand {
  file: string;
  args: string[];
  version: 'v2' | 'v1';
}

const PASS_THROUGH = /^(PATH|HOME|USER|LANG|LC_[A-Z]+|TZ|TMPDIR|XDG_[A-Z_]+|DOCKER_[A-Z_]+|COMPOSE_[A-Z_]+)$/;

/** The environment a child process may see: only what Docker needs, never VAULT_TOKEN/BAO_TOKEN or the like. */
export function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && PASS_THROUGH.test(key)) out[key] = value;
  }
  return out;
}

export class ComposeService {
  #detected: ComposeCommand | undefined;
  readonly #env: Record<string, string>;

  constructor(env: NodeJS.ProcessEnv) {
    this.#env = childEnv(env);
  }

  async detect(): Promise<ComposeCommand> {
    if (this.#detected !== undefined) return this.#detected;
    const { execa } = await import('execa');
    // Both asked at once (v2 preferred): each start costs up to a second or two on a busy machine.
    const [v2, v1] = await Promise.all([
      execa('docker', ['compose', 'version', '--short'], { reject: false, env: this.#env, extendEnv: false }),
      execa('docker-compose', ['version', '--short'], { reject: false, env: this.#env, extendEnv: false }),
    ]);
    if (v2.exitCode === 0) return (this.#detected = { file: 'docker', args: ['compose'], version: 'v2' });
    if (v1.exitCode === 0) return (this.#detected = { file: 'docker-compose', args: [], version: 'v1' });
    throw new VaultSetupError('E_NO_COMPOSE', 'Docker Compose is not installed (neither `docker compose` nor `docker-compose` works)', {
      hint: 'install the compose plugin (apt-get install docker-compose-plugin) or docker-compose',
    });
  }

  async run(dir: string, project: string, args: string[]): Promise<{ exitCode: number; output: string }> {
    const compose = await this.detect();
    const { execa } = await import('execa');
    const result = await execa(compose.file, [...compose.args, '-p', project, '-f', 'docker-compose.yml', ...args], {
      cwd: dir,
      reject: false,
      all: true,
      env: this.#env,
      extendEnv: false,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode ?? 1, output: String(result.all ?? '') };
  }

  async up(dir: string, project: string): Promise<void> {
    // compose runs as root with what the directory holds: it must still be one nobody else can swap files in.
    await assertSafeDir(dir);
    await refuseSymlink(dir);
    const result = await this.run(dir, project, ['up', '-d']);
    if (result.exitCode !== 0) {
      const last = result.output.trim().split('\n').slice(-3).join(' | ');
      throw new VaultSetupError('E_SERVER_START', `docker compose up failed: ${last}`, {
        hint: 'fix what compose reports above, then re-run `vault-setup init`',
      });
    }
  }
}
