// dockerode, wrapped once: containers are found by compose labels, "already stopped" is success,
// and every failure becomes a VaultSetupError that says what to do.
import type Dockerode from 'dockerode';
import { assertSafeMount } from './dir-safety.ts';
import { VaultSetupError } from '../errors.ts';

export interface ContainerSummary {
  id: string;
  name: string;
  state: string; // running, exited, restarting, created, paused, dead
  image: string;
}

export interface ContainerDetails extends ContainerSummary {
  running: boolean;
  restarting: boolean;
  restartCount: number;
  exitCode: number;
  startedAt: string;
  pid: number;
  user: string;
  cmd: string[];
  env: string[];
  mounts: { source: string; destination: string; rw: boolean }[];
  portBindings: Record<string, { HostIp: string; HostPort: string }[] | null>;
  privileged: boolean;
  capAdd: string[];
  securityOpt: string[];
  ulimits: { Name: string; Soft: number; Hard: number }[];
  labels: Record<string, string>;
}

export interface ServerIdentity {
  product: 'vault' | 'openbao';
  version: string;
  raw: string;
}

export function parseVersionOutput(text: string): ServerIdentity | undefined {
  // The version ends at a space or a comma: a build without a commit prints "Vault v1.21.4, built 2026-03-05...".
  const m = /\b(OpenBao|Vault)\s+v(\d+\.\d+\.\d+[^\s,()]*)/.exec(text);
  if (m === null) return undefined;
  return { product: m[1] === 'OpenBao' ? 'openbao' : 'vault', version: m[2] as string, raw: m[0] };
}

export class DockerService {
  #client: Dockerode | undefined;

  async client(): Promise<Dockerode> {
    if (this.#client === undefined) {
      const { default: Docker } = await import('dockerode');
      // An engine that is shutting down can leave a request hanging forever: every call has an idle timeout.
      this.#client = new Docker({ timeout: 60_000 });
    }
    return this.#client;
  }

  async ping(): Promise<void> {
    try {
      const docker = await this.client();
      await docker.ping();
    } catch (error) {
      throw new VaultSetupError('E_DOCKER_UNREACHABLE', `the Docker Engine is unreachable (${describe(error)})`, {
        hint: 'start Docker (e.g. `systemctl start docker`), check DOCKER_HOST or docker group membership, then re-run: vault-setup resumes where it stopped',
        cause: error,
      });
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    const docker = await this.client();
    try {
      await docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw this.#engineError(error);
    }
  }

  /** Pulls an image, reporting progress lines; a missing, unpullable image is one clear error. */
  async pull(ref: string, onProgress: (line: string) => void): Promise<void> {
    const docker = await this.client();
    try {
      const stream = await docker.pull(ref);
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: { status?: string; progress?: string; id?: string }) => {
            if (event.status !== undefined) onProgress([event.id, event.status, event.progress].filter(Boolean).join(' '));
          },
        );
      });
    } catch (error) {
      throw new VaultSetupError('E_IMAGE_MISSING', `image ${ref} is not present and could not be pulled (${describe(error)})`, {
        hint: 'check the name, your network or registry login, or load the image (`docker load`), or pass --image',
        cause: error,
      });
    }
  }

  /** Runs a short-lived container to completion and returns its exit code and combined output. */
  async runOnce(options: {
    image: string;
    cmd: string[];
    entrypoint?: string[];
    user?: string;
    binds?: string[];
    env?: string[];
    timeoutMs?: number;
    name?: string;
    labels?: Record<string, string>;
  }): Promise<{ exitCode: number; output: string }> {
    // A one-shot runs as root on what it mounts: each directory must still be one nobody else can swap.
    for (const bind of options.binds ?? []) await assertSafeMount(bind.slice(0, bind.indexOf(':')));
    const docker = await this.client();
    const container = await docker
      .createContainer({
      ...(options.name === undefined ? {} : { name: options.name }),
      Image: options.image,
      Cmd: options.cmd,
      ...(options.entrypoint === undefined ? {} : { Entrypoint: options.entrypoint }),
      ...(options.user === undefined ? {} : { User: options.user }),
      Env: options.env ?? [],
      Labels: { 'org.vault-setup.one-shot': '1', ...options.labels },
      // IPC_LOCK in the bounding set: a server binary carrying cap_ipc_lock=+ep (official Vault images, vault#31919)
      // cannot even be executed without it, and `version` is how the image is identified.
      HostConfig: { Binds: options.binds ?? [], NetworkMode: 'none', CapAdd: ['IPC_LOCK'] },
      })
      .catch(async (error: unknown) => {
        throw await this.#diagnose(error);
      });
    try {
      await container.start();
      const waited = (await Promise.race([
        container.wait(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('one-shot container timed out')), options.timeoutMs ?? 60_000).unref()),
      ])) as { StatusCode: number };
      const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return { exitCode: waited.StatusCode, output: demux(logs) };
    } catch (error) {
      throw error instanceof VaultSetupError ? error : await this.#diagnose(error);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /** What the image's own binary says it is (`<image> version`), before anything is started. */
  async identifyImage(ref: string, oneShot: { name?: string; labels?: Record<string, string> } = {}): Promise<ServerIdentity | undefined> {
    const { output } = await this.runOnce({ image: ref, cmd: ['version'], ...oneShot });
    return parseVersionOutput(output);
  }

  async findService(project: string, service: string): Promise<ContainerSummary | undefined> {
    const docker = await this.client();
    const list = await docker
      .listContainers({
        all: true,
        filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] },
      })
      .catch((error: unknown) => {
        throw this.#engineError(error);
      });
    const first = list[0];
    if (first === undefined) return undefined;
    return { id: first.Id, name: (first.Names[0] ?? '').replace(/^\//, ''), state: first.State, image: first.Image };
  }

  async inspect(id: string): Promise<ContainerDetails> {
    const docker = await this.client();
    const info = await docker
      .getContainer(id)
      .inspect()
      .catch((error: unknown) => {
        throw this.#engineError(error);
      });
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      state: info.State.Status,
      image: info.Config.Image,
      running: info.State.Running,
      restarting: info.State.Restarting,
      restartCount: info.RestartCount,
      exitCode: info.State.ExitCode,
      startedAt: info.State.StartedAt,
      pid: info.State.Pid,
      user: info.Config.User ?? '',
      cmd: info.Config.Cmd ?? [],
      env: info.Config.Env ?? [],
      mounts: (info.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, rw: m.RW })),
      portBindings: (info.HostConfig.PortBindings ?? {}) as ContainerDetails['portBindings'],
      privileged: info.HostConfig.Privileged === true,
      capAdd: info.HostConfig.CapAdd ?? [],
      securityOpt: info.HostConfig.SecurityOpt ?? [],
      ulimits: (info.HostConfig.Ulimits ?? []) as ContainerDetails['ulimits'],
      labels: info.Config.Labels ?? {},
    };
  }

  async start(id: string): Promise<void> {
    const docker = await this.client();
    try {
      await docker.getContainer(id).start();
    } catch (error) {
      if (statusOf(error) === 304) return; // already started
      throw this.#engineError(error);
    }
  }

  async stop(id: string): Promise<void> {
    const docker = await this.client();
    try {
      await docker.getContainer(id).stop({ t: 10 });
    } catch (error) {
      if (statusOf(error) === 304 || statusOf(error) === 404) return; // already stopped or gone
      throw this.#engineError(error);
    }
  }

  async logsTail(id: string, lines = 20): Promise<string> {
    const docker = await this.client();
    try {
      const logs = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return demux(logs).trimEnd();
    } catch {
      return '';
    }
  }

  /** Like #engineError, but asks the engine first: a request that fails oddly while the engine stops is "went away". */
  async #diagnose(error: unknown): Promise<VaultSetupError> {
    const direct = this.#engineError(error);
    if (direct.code === 'E_DOCKER_UNREACHABLE') return direct;
    const docker = await this.client();
    const alive = await Promise.race([
      docker.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref()),
    ]);
    return alive ? direct : this.#engineError(Object.assign(new Error(describe(error)), { code: 'ECONNREFUSED' }));
  }

  #engineError(error: unknown): VaultSetupError {
    if (isConnectionError(error)) {
      return new VaultSetupError('E_DOCKER_UNREACHABLE', `the Docker Engine went away (${describe(error)})`, {
        hint: 'start Docker again (e.g. `systemctl start docker`) and re-run: vault-setup resumes where it stopped',
        cause: error,
      });
    }
    return new VaultSetupError('E_SERVER', `Docker refused the request (${describe(error)})`, { cause: error });
  }
}

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number })?.statusCode;
const isConnectionError = (error: unknown): boolean =>
  /ECONNREFUSED|ENOENT|EACCES|EPIPE|socket hang up|ECONNRESET/.test(`${(error as { code?: string })?.code ?? ''} ${(error as Error)?.message ?? ''}`);
export const describe = (error: unknown): string => {
  const e = error as { json?: { message?: string }; reason?: string; code?: string; message?: string };
  return (e?.json?.message ?? e?.code ?? e?.message ?? String(error)).toString().split('\n')[0] as string;
};

/** Docker multiplexes stdout/stderr in 8-byte framed chunks when the container has no TTY. */
export function demux(buffer: Buffer | string): string {
  if (typeof buffer === 'string') return buffer;
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length && (buffer[offset] === 1 || buffer[offset] === 2) && buffer[offset + 1] === 0) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return offset === 0 ? buffer.toString('utf8') : out;
}
