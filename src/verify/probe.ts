// What `verify` knows about one deployment. Every fact is fetched at most once (memoised promise), so checks
// can ask for the same thing concurrently; a fact that cannot be had is a value that says why, never a throw.
import type { CatalogPaths } from './catalog.ts';
import fs from 'node:fs/promises';
import type Dockerode from 'dockerode';
import type { Context } from '../context.ts';
import { type DeploymentPaths, type DeploymentRecord } from '../deployment.ts';
import { LABELS, SERVICE } from '../services/templates.ts';
import { connect } from '../services/target.ts';
import type { ApiResponse, HealthStatus, SealStatus, VaultApi } from '../services/vault-api.ts';
import { describe as describeDockerError } from '../services/docker.ts';
import { composeFacts, locateContainer } from '../deployment/container.ts';
import { type Layout, LAYOUTS } from '../config/flavor.ts';
import { type HclBody, parseHcl } from './hcl.ts';

/** Every status the server can answer with is an answer here; only a dead connection is an error. */
const ANY_STATUS = [400, 401, 403, 404, 405, 409, 412, 429, 500, 501, 502, 503];

export interface ContainerFacts {
  id: string;
  name: string;
  state: string;
  running: boolean;
  restartCount: number;
  exitCode: number;
  startedAt: string;
  pid: number;
  cmd: string[];
  entrypoint: string[];
  env: string[];
  mounts: { source: string; destination: string; rw: boolean }[];
  portBindings: Record<string, { HostIp: string; HostPort: string }[] | null>;
  networkMode: string;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  /** Bytes; 0 = no limit. */
  memory: number;
  /** Bytes of memory + swap; -1 = unlimited swap, 0 = Docker's default (twice the memory limit). */
  memorySwap: number;
  pidsLimit: number;
  readonlyRootfs: boolean;
  ulimits: { Name: string; Soft: number; Hard: number }[];
  restartPolicy: string;
  labels: Record<string, string>;
}

export type ContainerLookup =
  | { kind: 'found'; container: ContainerFacts; project: string; projectIsDefault: boolean }
  | { kind: 'absent'; project: string; projectIsDefault: boolean }
  | { kind: 'no-docker'; error: string }
  | { kind: 'no-deployment' }
  | { kind: 'unnamed' };

export interface ProcessFacts {
  pid: number;
  name: string;
  uid: number | undefined;
  /** Soft core-dump limit in bytes; undefined when /proc is not visible (Docker in a VM). */
  coreLimit: number | undefined;
  via: string;
}

export type Parsed<T> = { ok: true; value: T; text: string } | { ok: false; error: string; missing: boolean };

export interface ProbeInput {
  ctx: Context;
  /** The deployment directory's files, even when docker-compose.yml is unreadable (then deployment is undefined). */
  paths: DeploymentPaths | undefined;
  deployment: DeploymentRecord | undefined;
  address: string;
  caCert: string | undefined;
  token: string | undefined;
  tokenSource: string;
  clusterAdvertise?: string | undefined;
  app: string;
  catalog: CatalogPaths;
}

export class Probe {
  readonly ctx: Context;
  readonly deployment: DeploymentRecord | undefined;
  readonly paths: DeploymentPaths | undefined;
  readonly layout: Layout | undefined;
  readonly address: string;
  readonly api: VaultApi;
  /** Set once, before the checks run (a prompt may need the server's state first). */
  token: string | undefined;
  /**
   * `verify --operator NAME`: an operator login's token for the checks that inspect the server (live root tokens,
   * the operator policy, the backup identity, the raft state). The app token, if any, still serves the checks of
   * what the app may do.
   */
  adminToken: string | undefined;
  tokenSource: string;
  /** A cluster node's private address (--advertise): reached from the private network by design. */
  clusterAdvertise: string | undefined;
  readonly app: string;
  readonly catalog: CatalogPaths;
  readonly #memo = new Map<string, Promise<unknown>>();

  constructor(input: ProbeInput) {
    this.ctx = input.ctx;
    this.deployment = input.deployment;
    this.paths = input.paths;
    this.layout = input.deployment?.layout;
    this.address = input.address;
    this.token = input.token;
    this.adminToken = undefined;
    this.tokenSource = input.tokenSource;
    this.clusterAdvertise = input.clusterAdvertise;
    this.app = input.app;
    this.catalog = input.catalog;
    this.api = connect(undefined, input.address, input.caCert, { attempts: 1, timeoutMs: 5000 });
  }

  close(): void {
    this.api.close();
  }

  memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = fn();
      this.#memo.set(key, p);
    }
    return p;
  }

  // --- Files ----------------------------------------------------------------------------------------

  /** A deployment file read once: missing (no directory, no file), or what `parse` makes of it. */
  #file<T>(key: string, file: string | undefined, parse: (text: string, file: string) => Promise<Parsed<T>>): Promise<Parsed<T>> {
    return this.memo(key, async () => {
      if (file === undefined) return { ok: false, error: 'no deployment directory', missing: true };
      const text = await readText(file);
      if (text === undefined) return { ok: false, error: `${file} is missing`, missing: true };
      return parse(text, file);
    });
  }

  compose(): Promise<Parsed<Record<string, any>>> {
    return this.#file('compose', this.paths?.compose, async (text, file) => {
      try {
        const { parse } = await import('yaml');
        const doc = parse(text) as Record<string, any> | null;
        if (doc === null || typeof doc !== 'object' || typeof doc.services !== 'object' || doc.services === null) {
          return { ok: false, error: `${file} has no services`, missing: false };
        }
        return { ok: true, value: doc, text };
      } catch (error) {
        return { ok: false, error: `${file} is not valid YAML (${(error as Error).message.split('\n')[0]})`, missing: false };
      }
    });
  }

  /** The compose service vault-setup wrote (`server`), or the first one. */
  async service(): Promise<Record<string, any> | undefined> {
    const compose = await this.compose();
    if (!compose.ok) return undefined;
    const services = compose.value.services as Record<string, any>;
    return services[SERVICE] ?? Object.values(services)[0];
  }

  config(): Promise<Parsed<HclBody>> {
    return this.#file('hcl', this.paths?.config, async (text, file) => {
      try {
        return { ok: true, value: parseHcl(text), text };
      } catch (error) {
        return { ok: false, error: `${file} does not parse (${(error as Error).message})`, missing: false };
      }
    });
  }

  // --- Docker ---------------------------------------------------------------------------------------

  container(): Promise<ContainerLookup> {
    return this.memo('container', async (): Promise<ContainerLookup> => {
      const name = this.deployment?.name;
      if (name === undefined || this.paths === undefined) return this.paths === undefined ? { kind: 'no-deployment' } : { kind: 'unnamed' };
      try {
        // Found the way compose finds it: a hand-made deployment's project is its directory's name, its service its own.
        const compose = await this.compose();
        const located = await locateContainer(this.ctx, { dir: this.paths.dir, name, compose: compose.ok ? composeFacts(compose.value) : undefined });
        const { project, projectIsDefault } = located;
        if (located.found === undefined) return { kind: 'absent', project, projectIsDefault };
        const client = await this.ctx.docker.client();
        return { kind: 'found', container: facts(await client.getContainer(located.found.id).inspect()), project, projectIsDefault };
      } catch (error) {
        return { kind: 'no-docker', error: describeDockerError(error) };
      }
    });
  }

  /** The server process on the host: /proc when it is visible, else `docker top`. */
  process(): Promise<ProcessFacts | undefined> {
    return this.memo('process', async () => {
      const lookup = await this.container();
      if (lookup.kind !== 'found' || !lookup.container.running || lookup.container.pid <= 0) return undefined;
      const { pid, id } = lookup.container;
      const fromProc = await procFacts(pid);
      if (fromProc !== undefined) return fromProc;
      try {
        const client = await this.ctx.docker.client();
        const top = (await client.getContainer(id).top({ ps_args: '-o pid,uid,comm' })) as { Titles: string[]; Processes: string[][] };
        const rows = top.Processes.map((r) => ({ pid: Number(r[0]), uid: Number(r[1]), name: String(r[2]) }));
        const server = rows.find((r) => /^(bao|vault)$/.test(r.name)) ?? rows[0];
        if (server === undefined) return undefined;
        return { pid: server.pid, name: server.name, uid: Number.isFinite(server.uid) ? server.uid : undefined, coreLimit: undefined, via: 'docker top' };
      } catch {
        return undefined;
      }
    });
  }

  /** The server's product: what the image's binary said at init (label), else what the server's answers suggest. */
  async product(): Promise<{ product: 'vault' | 'openbao'; version: string } | undefined> {
    const seal = await this.sealStatus();
    const lookup = await this.container();
    const service = await this.service();
    const label = (lookup.kind === 'found' ? lookup.container.labels[LABELS.server] : undefined) ?? service?.labels?.[LABELS.server];
    const m = /^(vault|openbao)\s+(\S+)/.exec(String(label ?? ''));
    const version = seal?.version ?? m?.[2];
    if (version === undefined) return undefined;
    if (m !== null) return { product: m[1] as 'vault' | 'openbao', version };
    // OpenBao 2.6 renamed seal-status build_date to commit_date; Vault never had commit_date.
    return { product: seal !== undefined && 'commit_date' in seal ? 'openbao' : 'vault', version };
  }

  /** The layout of the image (paths, server uid): the deployment's, else the default for the product. */
  async serverLayout(): Promise<Layout> {
    if (this.layout !== undefined) return this.layout;
    return LAYOUTS[(await this.product())?.product ?? 'vault'];
  }

  // --- The server's API -----------------------------------------------------------------------------

  health(): Promise<{ ok: true; health: HealthStatus } | { ok: false; error: string }> {
    return this.memo('health', async () => {
      try {
        const res = await this.api.request<HealthStatus>('GET', 'sys/health?uninitcode=200&sealedcode=200&standbycode=200&perfstandbyok=true', { accept: ANY_STATUS });
        if (typeof res.body?.initialized !== 'boolean') return { ok: false as const, error: `sys/health answered ${res.status} without a status` };
        return { ok: true as const, health: res.body };
      } catch (error) {
        return { ok: false as const, error: (error as Error).message };
      }
    });
  }

  sealStatus(): Promise<SealStatus | undefined> {
    return this.memo('seal', async () => {
      try {
        const res = await this.api.request<SealStatus>('GET', 'sys/seal-status', { accept: ANY_STATUS });
        return res.status === 200 ? res.body : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** The server is up, initialised and unsealed: only then do authenticated answers mean anything. */
  async serving(): Promise<string | undefined> {
    const h = await this.health();
    if (!h.ok) return 'the API is not reachable';
    if (!h.health.initialized) return 'the server is not initialised';
    if (h.health.sealed) return 'the server is sealed';
    return undefined;
  }

  /** One API call; every HTTP status is an answer. `auth: false` sends no token even when there is one. */
  async call<T = any>(method: string, apiPath: string, options: { body?: unknown; token?: string | undefined } = {}): Promise<ApiResponse<T> | undefined> {
    try {
      return await this.api.request<T>(method, apiPath, { accept: ANY_STATUS, body: options.body, token: options.token });
    } catch {
      return undefined;
    }
  }

  /** A memoised call made with the operator's token. */
  withToken<T = any>(method: string, apiPath: string, body?: unknown): Promise<ApiResponse<T> | undefined> {
    return this.memo(`token ${method} ${apiPath} ${JSON.stringify(body ?? null)}`, () => this.call<T>(method, apiPath, { body, token: this.token }));
  }

  /** The token for inspecting the server: the operator login's with --operator, else the one given. */
  get inspector(): string | undefined {
    return this.adminToken ?? this.token;
  }

  /** A memoised call made with the inspecting token (see `inspector`). */
  withInspector<T = any>(method: string, apiPath: string, body?: unknown): Promise<ApiResponse<T> | undefined> {
    return this.memo(`inspector ${method} ${apiPath} ${JSON.stringify(body ?? null)}`, () => this.call<T>(method, apiPath, { body, token: this.inspector }));
  }

  lookupSelf(): Promise<ApiResponse<{ data?: TokenInfo }> | undefined> {
    return this.withToken('GET', 'auth/token/lookup-self');
  }
}

export interface TokenInfo {
  policies?: string[];
  ttl?: number;
  creation_ttl?: number;
  expire_time?: string | null;
  renewable?: boolean;
  display_name?: string;
  num_uses?: number;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function facts(info: Dockerode.ContainerInspectInfo): ContainerFacts {
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    state: info.State.Status,
    running: info.State.Running,
    restartCount: info.RestartCount,
    exitCode: info.State.ExitCode,
    startedAt: info.State.StartedAt,
    pid: info.State.Pid,
    cmd: info.Config.Cmd ?? [],
    entrypoint: (info.Config.Entrypoint as string[] | string | undefined) === undefined ? [] : ([] as string[]).concat(info.Config.Entrypoint as string[] | string),
    env: info.Config.Env ?? [],
    mounts: (info.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination, rw: m.RW })),
    portBindings: (info.HostConfig.PortBindings ?? {}) as ContainerFacts['portBindings'],
    networkMode: String(info.HostConfig.NetworkMode ?? ''),
    privileged: info.HostConfig.Privileged === true,
    capAdd: info.HostConfig.CapAdd ?? [],
    capDrop: info.HostConfig.CapDrop ?? [],
    memory: Number(info.HostConfig.Memory ?? 0),
    memorySwap: Number(info.HostConfig.MemorySwap ?? 0),
    pidsLimit: Number(info.HostConfig.PidsLimit ?? 0),
    readonlyRootfs: info.HostConfig.ReadonlyRootfs === true,
    securityOpt: info.HostConfig.SecurityOpt ?? [],
    ulimits: (info.HostConfig.Ulimits ?? []) as ContainerFacts['ulimits'],
    restartPolicy: String(info.HostConfig.RestartPolicy?.Name ?? ''),
    labels: info.Config.Labels ?? {},
  };
}

/** The server process from /proc: the container's pid 1, or its child when an init (tini) runs first. */
async function procFacts(pid: number): Promise<ProcessFacts | undefined> {
  const read = async (p: number) => {
    const status = await readText(`/proc/${p}/status`);
    if (status === undefined) return undefined;
    const name = /^Name:\s*(\S+)/m.exec(status)?.[1] ?? '';
    // Uid: real effective saved fs. Root in either of the first two counts as root.
    const ids = /^Uid:\s*(\d+)\s+(\d+)/m.exec(status);
    const uid = ids === null ? undefined : Number(ids[1]) === 0 || Number(ids[2]) === 0 ? 0 : Number(ids[2]);
    return { name, uid };
  };
  let target = pid;
  let info = await read(pid);
  if (info === undefined) return undefined;
  if (!/^(bao|vault)$/.test(info.name)) {
    const children = ((await readText(`/proc/${pid}/task/${pid}/children`)) ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const child of children) {
      const c = await read(child);
      if (c !== undefined && /^(bao|vault)$/.test(c.name)) {
        target = child;
        info = c;
        break;
      }
    }
  }
  const limits = (await readText(`/proc/${target}/limits`)) ?? '';
  const core = /^Max core file size\s+(\S+)/m.exec(limits)?.[1];
  return {
    pid: target,
    name: info.name,
    uid: info.uid,
    coreLimit: core === undefined ? undefined : core === 'unlimited' ? Number.POSITIVE_INFINITY : Number(core),
    via: `/proc/${target}`,
  };
}
