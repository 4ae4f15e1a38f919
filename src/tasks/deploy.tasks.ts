// init, first half: files, container, ownership, a server that answers. Each step detects "already done".
import fs from 'node:fs/promises';
import type { ListrTask } from 'listr2';
import type { Context } from '../context.ts';
import { type DeploymentPaths, deploymentPaths } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import type { Layout } from '../config/flavor.ts';
import type { ContainerSummary, ServerIdentity } from '../services/docker.ts';
import { assertSafeDir, makeDir, recheckBeforeRoot } from '../services/dir-safety.ts';
import { ensureWritableDir, readIfExists, refuseSymlink, writeAtomic } from '../services/files.ts';
import { conflictDetail } from '../services/file-diff.ts';
import { type ClusterShape, type DeploymentSpec, SERVICE, type Storage, renderCompose, renderServerConfig } from '../services/templates.ts';
import type { ClusterCa } from '../tls/cluster-ca.ts';
import { compareVersions } from '../config/versions.ts';
import { assertPortFree, identifyFromApi, waitForApi } from '../services/readiness.ts';
import type { HealthStatus } from '../services/vault-api.ts';
import { type StepRecord, record, step } from './listr.ts';
import { claimName, oneShot } from '../deployment/ownership.ts';

export interface DeployOptions {
  dir: string;
  layout: Layout;
  image: string;
  name: string;
  port: number;
  storage: Storage;
  raftMultiplier?: number;
  tls: TlsSource | undefined;
  force: boolean;
  waitMs: number;
  memory?: string | undefined;
  /** A node of a multi-node cluster: listeners on its private address, retry_join (docs/cluster.md). */
  cluster?: ClusterShape | undefined;
}

export interface DeployState {
  steps: StepRecord[];
  paths: DeploymentPaths;
  server?: ServerIdentity;
  files?: PlannedFile[];
  container?: ContainerSummary | undefined;
  filesChanged?: boolean;
  ownershipFixed?: boolean;
  health?: HealthStatus;
  address: string;
}

interface PlannedFile {
  path: string;
  content: string;
  existing: string | undefined;
  mode?: number;
}

export type TlsSource =
  | { kind: 'self-signed'; sans: string[] }
  | { kind: 'files'; cert: string; key: string; ca?: string }
  /** The first node of a cluster: a new cluster CA in memory (handed to `made`), unless the files exist already. */
  | { kind: 'cluster'; sans: string[]; made(ca: ClusterCa): void }
  /** A joining node: its own key and the certificate the cluster signed, in memory. */
  | { kind: 'issued'; cert: string; key: string; ca: string };

/** The first tasks of deployTasks only look (engine, image, port): nothing in the directory is written before them. */
export const LOOK_ONLY_TASKS = 3;

export function deployTasks(ctx: Context, options: DeployOptions): ListrTask<DeployState>[] {
  return [
    {
      title: 'Check the Docker Engine and compose',
      task: async (state, task) => {
        await ctx.docker.ping();
        await claimName(ctx, options.name, options.dir);
        state.container = await ctx.docker.findService(options.name, SERVICE);
        if (state.container?.state === 'running') {
          // compose is only needed to (re)start; a running deployment does not pay for finding it.
          step(state.steps, task).done('engine', 'Docker Engine is up');
          return;
        }
        const compose = await ctx.compose.detect();
        record(state.steps, 'engine', 'done', `compose ${compose.version}`);
      },
    },
    {
      title: `Check the image ${options.image}`,
      task: async (state, task) => {
        if (await ctx.docker.imageExists(options.image)) {
          record(state.steps, 'image', 'kept', 'present');
        } else {
          task.title = `Pull the image ${options.image}`;
          await ctx.docker.pull(options.image, (line) => {
            task.output = line;
          });
          record(state.steps, 'image', 'done', 'pulled');
        }
        // The server decides behaviour, whatever the image's name says: its API when it runs from this image,
        // else the image's own `version` output.
        const running = state.container?.state === 'running' && state.container.image === options.image;
        const server = (running ? await identifyFromApi(state.address, await readIfExists(state.paths.caCert)) : undefined) ?? (await ctx.docker.identifyImage(options.image, oneShot(options.name, options.dir, 'version')));
        if (server === undefined) {
          throw new VaultSetupError('E_IMAGE_MISSING', `image ${options.image} did not report a Vault or OpenBao version`, {
            hint: 'use an official hashicorp/vault or openbao/openbao image, or one built like them',
          });
        }
        if (options.storage === 'file' && server.product === 'openbao' && compareVersions(server.version, '2.7.0') >= 0) {
          throw new VaultSetupError('E_USAGE', `OpenBao ${server.version} has no file storage (removed in 2.7.0)`, {
            hint: 'use --storage raft (the default)',
          });
        }
        state.server = server;
        task.title = `Image ${options.image}: ${server.raw}`;
      },
    },
    {
      title: 'Check the port',
      task: async (state, task) => {
        if (state.container !== undefined) {
          // Our own container (running or not) holds the published port.
          step(state.steps, task).kept('port', `Port 127.0.0.1:${options.port} is this deployment's`);
          return;
        }
        await assertPortFree(options.port);
        record(state.steps, 'port', 'done', `127.0.0.1:${options.port} is free`);
      },
    },
    {
      title: 'Write docker-compose.yml and config/vault.hcl',
      task: async (state, task) => {
        const paths = state.paths;
        // The directory and everything vault-setup writes or bind-mounts in it: a link there would redirect a write,
        // or the root-run chown of data/ and logs/, to wherever it points.
        for (const p of [paths.dir, paths.configDir, paths.dataDir, paths.logsDir, paths.runDir, paths.tlsDir]) await refuseSymlink(p);
        await assertSafeDir(paths.dir);
        await ensureWritableDir(paths.dir);
        const spec: DeploymentSpec = {
          layout: options.layout,
          server: state.server as ServerIdentity,
          image: options.image,
          name: options.name,
          port: options.port,
          storage: options.storage,
          tls: options.tls !== undefined,
          memory: options.memory,
          ...(options.raftMultiplier === undefined ? {} : { raftMultiplier: options.raftMultiplier }),
          cluster: options.cluster,
        };
        const planned: PlannedFile[] = [];
        for (const [file, content] of [
          [paths.compose, await renderCompose(spec)],
          [paths.config, renderServerConfig(spec)],
        ] as const) {
          await refuseSymlink(file);
          planned.push({ path: file, content, existing: await readIfExists(file) });
        }
        if (options.tls !== undefined) planned.push(...(await planTls(paths, options.tls)));
        for (const f of planned) await refuseSymlink(f.path);
        // Every conflict is found before anything is written: either all files are written or none.
        const conflicts = planned.filter((f) => f.existing !== undefined && f.existing !== f.content);
        if (conflicts.length > 0 && !options.force) {
          throw new VaultSetupError(
            'E_FILE_CONFLICT',
            `${conflicts.map((f) => f.path).join(' and ')} ${conflicts.length > 1 ? 'differ' : 'differs'} from what vault-setup would write`,
            {
              hint: `review the diff; keep your file (nothing was changed) or re-run with --force to replace it${state.container === undefined ? '' : ` (the server then restarts sealed: vault-setup unseal --dir ${paths.dir})`}`,
              detail: conflictDetail(conflicts),
            },
          );
        }
        const toWrite = planned.filter((f) => f.existing !== f.content);
        // config/ and tls/ stay traversable: the server user reads them through the bind mounts (the key is 0600).
        await makeDir(paths.configDir, 0o755);
        await makeDir(paths.dataDir);
        await makeDir(paths.logsDir);
        await makeDir(paths.runDir);
        if (options.tls !== undefined) await makeDir(paths.tlsDir, 0o755);
        for (const file of toWrite) await writeAtomic(file.path, file.content, { mode: file.mode ?? 0o644 });
        state.files = planned;
        state.filesChanged = toWrite.length > 0;
        if (toWrite.length === 0) {
          step(state.steps, task).kept('files', 'Files are up to date');
        } else {
          record(state.steps, 'files', 'done', toWrite.map((f) => f.path).join(', '));
        }
      },
    },
    {
      title: `Fix ownership of data/ and logs/ (uid ${options.layout.uid})`,
      task: async (state, task) => {
        const { dataDir, logsDir, runDir, tlsDir } = state.paths;
        await recheckBeforeRoot(state.paths);
        const serverKey = `${tlsDir}/server.key`;
        const mustOwn = options.tls === undefined ? [dataDir, logsDir, runDir] : [dataDir, logsDir, runDir, serverKey];
        const owned = await Promise.all(mustOwn.map(async (d) => (await fs.stat(d)).uid === options.layout.uid));
        if (owned.every(Boolean)) {
          step(state.steps, task).kept('ownership', 'data/ and logs/ are owned by the server user');
          return;
        }
        // The image's entrypoint never chowns data/: a host bind mount keeps the host's owner and the server,
        // running as uid 100, cannot write it. A one-shot root container fixes that without needing host root.
        const { home, uid, gid } = options.layout;
        // The TLS key stays 0600 and becomes the server user's: readable by the server, by nobody else.
        const withTls = options.tls !== undefined;
        const result = await ctx.docker.runOnce({
          image: options.image,
          entrypoint: ['chown'],
          cmd: ['-R', `${uid}:${gid}`, `${home}/data`, `${home}/logs`, `${home}/run`, ...(withTls ? [`${home}/tls/server.key`] : [])],
          user: '0',
          binds: [`${dataDir}:${home}/data`, `${logsDir}:${home}/logs`, `${runDir}:${home}/run`, ...(withTls ? [`${tlsDir}:${home}/tls`] : [])],
          ...oneShot(options.name, options.dir, 'chown'),
        });
        if (result.exitCode !== 0) {
          throw new VaultSetupError('E_SERVER_START', `could not fix ownership of ${dataDir} (${result.output.trim().split('\n')[0]})`, {
            hint: `run: sudo chown -R ${uid}:${gid} ${dataDir} ${logsDir}`,
          });
        }
        state.ownershipFixed = true;
        record(state.steps, 'ownership', 'done', `chown -R ${uid}:${gid} data logs run${withTls ? ' tls/server.key' : ''}`);
      },
    },
    {
      title: 'Start the server',
      task: async (state, task) => {
        const before = state.container;
        const needsRestart = state.filesChanged === true || state.ownershipFixed === true;
        if (before?.state === 'running' && !needsRestart) {
          step(state.steps, task).kept('start', `Server ${before.name} is running`);
          return;
        }
        await recheckBeforeRoot(state.paths);
        await ctx.compose.up(state.paths.dir, options.name).catch(async (error: unknown) => {
          await ctx.docker.ping(); // an engine that went away is the real cause: say so
          throw error;
        });
        if (before !== undefined && (needsRestart || before.state !== 'running')) {
          // compose recreates on compose-file changes only: vault.hcl and data/ ownership are read at start,
          // and a crash-looping container must start over.
          const after = await ctx.docker.findService(options.name, SERVICE);
          if (after !== undefined && after.id === before.id) await restart(ctx, after.id);
        }
        state.container = await ctx.docker.findService(options.name, SERVICE);
        record(state.steps, 'start', 'done');
      },
    },
    {
      title: 'Wait for the API',
      task: async (state, task) => {
        state.health = await waitForApi(ctx, state.address, options.name, options.waitMs, await readIfExists(state.paths.caCert));
        const h = state.health;
        step(state.steps, task).done('api', `API answers at ${state.address}: ${h.initialized ? (h.sealed ? 'initialised, sealed' : 'initialised, unsealed') : 'not initialised'}`, state.address);
      },
    },
  ];
}

async function restart(ctx: Context, id: string): Promise<void> {
  await ctx.docker.stop(id);
  await ctx.docker.start(id);
}

export function newDeployState(dir: string, address: string): DeployState {
  return { steps: [], paths: deploymentPaths(dir), address };
}

/** TLS files to write. A self-signed certificate that exists is kept (never re-issued behind the operator's back). */
async function planTls(paths: DeploymentPaths, tls: TlsSource): Promise<PlannedFile[]> {
  const crt = `${paths.tlsDir}/server.crt`;
  const key = `${paths.tlsDir}/server.key`;
  const caInConfig = `${paths.tlsDir}/ca.crt`;
  const [existingCrt, existingKey, existingCa] = await Promise.all([crt, key, paths.caCert].map((f) => readIfExists(f)));
  let material: { cert: string; key: string; ca?: string | undefined };
  if (tls.kind === 'files') {
    const read = async (f: string, what: string) => {
      const text = await readIfExists(f);
      if (text === undefined) throw new VaultSetupError('E_USAGE', `the TLS ${what} ${f} does not exist`, { hint: `pass an existing PEM file to --tls-${what}` });
      return text;
    };
    material = { cert: await read(tls.cert, 'cert'), key: await read(tls.key, 'key'), ca: tls.ca === undefined ? undefined : await read(tls.ca, 'ca') };
  } else if (tls.kind === 'issued') {
    material = { cert: tls.cert, key: tls.key, ca: tls.ca };
  } else if (existingCrt !== undefined && existingKey !== undefined && existingCa !== undefined) {
    material = { cert: existingCrt, key: existingKey, ca: existingCa };
  } else if (tls.kind === 'cluster') {
    const { makeClusterCa } = await import('../tls/cluster-ca.ts');
    const ca = await makeClusterCa();
    const node = await ca.issue(tls.sans);
    tls.made(ca);
    material = { cert: node.cert, key: node.key, ca: ca.caCert };
  } else {
    const { makeSelfSigned } = await import('../tls/self-signed.ts');
    const made = await makeSelfSigned(tls.sans);
    material = { cert: made.serverCert, key: made.serverKey, ca: made.caCert };
  }
  const files: PlannedFile[] = [
    { path: crt, content: material.cert, existing: existingCrt, mode: 0o644 },
    { path: key, content: material.key, existing: existingKey, mode: 0o600 },
  ];
  if (material.ca !== undefined) {
    files.push({ path: paths.caCert, content: material.ca, existing: existingCa, mode: 0o644 });
    files.push({ path: caInConfig, content: material.ca, existing: await readIfExists(caInConfig), mode: 0o644 });
  }
  return files;
}
