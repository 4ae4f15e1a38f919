// The hardened shape of a hand-made deployment: docker-compose.yml and config/vault.hcl exactly as `init` writes
// them (host network with listeners on loopback, UI off, the audit device declared where the server needs it, the
// container confined), for the same image, name, port and data. The originals are kept beside them (*.pre-adopt).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { type Flavor, LAYOUTS, type Layout } from '../config/flavor.ts';
import type { DeploymentRecord } from '../deployment.ts';
import { oneShot, removeInterruptedOneShots } from '../deployment/ownership.ts';
import { VaultSetupError } from '../errors.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { lineDiff, readIfExists, writeAtomic } from '../services/files.ts';
import { type Storage, renderCompose, renderServerConfig } from '../services/templates.ts';

export const BACKUP_SUFFIX = '.pre-adopt';

/**
 * The image layout, from where the compose file mounts the configuration (/vault/config or /openbao/config): the
 * playbook's files say it, whatever the image is called.
 */
export async function layoutOf(deployment: DeploymentRecord): Promise<Layout> {
  const text = (await readIfExists(deployment.paths.compose)) ?? '';
  const mounted = /:(\/(vault|openbao))\/(config|data|file)\b/.exec(text)?.[2] as Flavor | undefined;
  return mounted === undefined ? deployment.layout : LAYOUTS[mounted];
}

/**
 * What would make the hardened shape lose or misplace data, checked before anything is asked or changed: the storage
 * must live in <dir>/data mounted at <home>/data (what init writes and the playbook does), and the listener must be
 * plain http (adopt writes the loopback, plain-http shape). Undefined when adopt can go ahead.
 */
export async function adoptableProblem(deployment: DeploymentRecord, layout: Layout): Promise<{ message: string; hint: string } | undefined> {
  const { parse } = await import('yaml');
  const doc = parse((await readIfExists(deployment.paths.compose)) ?? '', { merge: true, logLevel: 'error' }) as any;
  const service = Object.values(doc?.services ?? {})[0] as { volumes?: unknown[] } | undefined;
  const hcl = (await readIfExists(deployment.paths.config)) ?? '';
  const storagePath = /storage\s+"\w+"\s*\{[^}]*?\bpath\s*=\s*"([^"]*)"/.exec(hcl)?.[1];
  const wanted = `${layout.home}/data`;
  if (storagePath !== wanted) {
    return { message: `config/vault.hcl keeps the data at ${storagePath ?? '(no path)'}, not ${wanted}`, hint: `adopt keeps the data where init does (./data mounted at ${wanted}); move it there by hand first. Nothing was changed` };
  }
  const mounts = (service?.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0] ?? '', target: v.split(':')[1] ?? '' } : { source: String((v as any)?.source ?? ''), target: String((v as any)?.target ?? '') }));
  const data = mounts.find((m) => m.target.replace(/\/+$/, '') === wanted);
  if (data === undefined || path.resolve(deployment.paths.dir, data.source) !== deployment.paths.dataDir || !/^[./]/.test(data.source)) {
    return { message: `docker-compose.yml does not mount ./data at ${wanted}${data === undefined ? '' : ` (it mounts ${data.source})`}`, hint: `adopt writes ./data:${wanted}; copy the data into ${deployment.paths.dataDir} first (server stopped), or it would start empty. Nothing was changed` };
  }
  if (deployment.tls) return { message: 'the listener serves TLS: adopt writes the plain-http, loopback-only shape', hint: 'nothing was changed; move it with `vault-setup init --tls files` on a new directory and a restored snapshot' };
  return undefined;
}

export interface ShapeFile {
  path: string;
  before: string;
  after: string;
  diff: string;
}

/** The two files as init would write them; unchanged ones are left out. */
export async function hardenedFiles(deployment: DeploymentRecord, layout: Layout, server: ServerIdentity, storage: Storage): Promise<ShapeFile[]> {
  const spec = { layout, server, image: deployment.image, name: deployment.name, port: deployment.port, storage, tls: false };
  const wanted = [
    { path: deployment.paths.compose, after: await renderCompose(spec) },
    { path: deployment.paths.config, after: renderServerConfig(spec) },
  ];
  const files: ShapeFile[] = [];
  for (const w of wanted) {
    const before = (await readIfExists(w.path)) ?? '';
    if (before !== w.after) files.push({ ...w, before, diff: lineDiff(before, w.after, { before: 'now', after: 'hardened' }) });
  }
  return files;
}

/**
 * Writes the hardened files (originals kept as *.pre-adopt) and recreates the container: the old one (bridge network,
 * published port) is stopped and removed first, its data stays on the host. logs/ and run/ are made and, with data/,
 * given to the server's user by a one-shot root container of the same image.
 */
export async function applyShape(ctx: Context, deployment: DeploymentRecord, layout: Layout, files: ShapeFile[]): Promise<{ networks: NetworkOutcome[] }> {
  for (const f of files) {
    const backup = `${f.path}${BACKUP_SUFFIX}`;
    if ((await readIfExists(backup)) === undefined) await writeAtomic(backup, f.before, { mode: 0o644 });
  }
  const docker = await ctx.docker.client();
  const old = docker.getContainer(deployment.name);
  // The networks compose made for the old container's project (the playbook's `<project>_vault-net`): the hardened
  // container uses the host's network, so they are the old shape's leftovers.
  const info = await old.inspect().catch(() => undefined);
  const project = info?.Config?.Labels?.['com.docker.compose.project'];
  const attached = Object.keys(info?.NetworkSettings?.Networks ?? {});
  await old.stop().catch(() => undefined);
  await old.remove({ force: true }).catch(() => undefined);
  for (const f of files) await writeAtomic(f.path, f.after, { mode: 0o644 });
  await startHardened(ctx, deployment, layout);
  return { networks: project === undefined ? [] : await removeOldNetworks(ctx, project, attached) };
}

export type NetworkOutcome = { network: string; removed: true } | { network: string; removed: false; reason: string };

/** Of the networks the old container was on, those compose made for its project: removed when nothing else uses them. */
async function removeOldNetworks(ctx: Context, project: string, attached: string[]): Promise<NetworkOutcome[]> {
  const docker = await ctx.docker.client();
  const outcomes: NetworkOutcome[] = [];
  for (const name of attached) {
    const network = docker.getNetwork(name);
    const info = (await network.inspect().catch(() => undefined)) as { Labels?: Record<string, string> | null; Containers?: Record<string, { Name?: string }> | null } | undefined;
    if (info?.Labels?.['com.docker.compose.project'] !== project) continue; // bridge, host, or someone else's
    const users = Object.values(info.Containers ?? {}).map((c) => c.Name ?? '?');
    if (users.length > 0) {
      outcomes.push({ network: name, removed: false, reason: `still used by ${users.join(', ')}` });
      continue;
    }
    try {
      await network.remove();
      outcomes.push({ network: name, removed: true });
    } catch (error) {
      outcomes.push({ network: name, removed: false, reason: `Docker refused to remove it (${(error as Error).message.split('\n')[0]})` });
    }
  }
  return outcomes;
}

/**
 * The hardened container from the files written: logs/ and run/ made, data/, logs/ and run/ given to the server's
 * user, compose up. Also what a re-run does when a run was killed after the old container went and before this ended.
 */
export async function startHardened(ctx: Context, deployment: DeploymentRecord, layout: Layout): Promise<void> {
  await removeInterruptedOneShots(ctx, deployment.name, 'chown');
  const { dataDir, logsDir, runDir } = deployment.paths;
  for (const d of [logsDir, runDir]) await fs.mkdir(d, { recursive: true, mode: 0o750 });
  const { home, uid, gid } = layout;
  const run = await ctx.docker.runOnce({
    image: deployment.image,
    entrypoint: ['chown'],
    cmd: ['-R', `${uid}:${gid}`, `${home}/data`, `${home}/logs`, `${home}/run`],
    user: '0',
    binds: [`${dataDir}:${home}/data`, `${logsDir}:${home}/logs`, `${runDir}:${home}/run`],
    ...oneShot(deployment.name, deployment.paths.dir, 'chown'),
  });
  if (run.exitCode !== 0) {
    throw new VaultSetupError('E_SERVER_START', `could not give data/, logs/ and run/ to the server's user (${run.output.trim().split('\n')[0]})`, {
      hint: `run: sudo chown -R ${uid}:${gid} ${dataDir} ${logsDir} ${runDir}, then re-run adopt`,
    });
  }
  await ctx.compose.up(deployment.paths.dir, deployment.name);
}

export const relative = (dir: string, file: string): string => path.relative(dir, file) || file;
