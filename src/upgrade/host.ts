// What `upgrade` changes on the host: the compose file's image, the stopped server's data/ (a copy beside it, for a
// rollback that needs no token), and a small progress file so a re-run resumes. None of it holds a secret.
import { progressFile } from '../services/progress-file.ts';
import type { Context } from '../context.ts';
import type { DeploymentPaths } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists, writeAtomic } from '../services/files.ts';
import { SERVICE } from '../services/templates.ts';
import { oneShot } from '../deployment/ownership.ts';

export const STATE_FILE = 'upgrade-state.json';
export const DATA_COPY = 'data.pre-upgrade';

export type Stage = 'snapshot' | 'stopped' | 'copied' | 'switched' | 'unsealed';

export interface UpgradeState {
  from: { image: string; version: string };
  to: { image: string; version: string };
  /** The last stage that completed. */
  stage: Stage;
  snapshot?: string;
  /** Threshold and share count, to ask for the shares while the server is down. */
  seal: { t: number; n: number };
}

const progress = progressFile<UpgradeState>('upgrade', STATE_FILE, (s) => s.stage, 'it records an interrupted upgrade; if the server runs as you expect, remove it and re-run');
export const { read: readState, write: writeState, clear: clearState } = progress;

/** Sets the server's image in docker-compose.yml, keeping the rest of the file (comments too) as it is. */
export async function setComposeImage(paths: DeploymentPaths, image: string): Promise<boolean> {
  const text = await readIfExists(paths.compose);
  if (text === undefined) throw new VaultSetupError('E_NOT_DEPLOYED', `${paths.compose} is missing`);
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  const services = doc.get('services') as { items?: { key: { value?: unknown } }[] } | undefined;
  const key = doc.hasIn(['services', SERVICE]) ? SERVICE : String(services?.items?.[0]?.key?.value ?? SERVICE);
  if (doc.getIn(['services', key, 'image']) === image) return false;
  doc.setIn(['services', key, 'image'], image);
  await writeAtomic(paths.compose, doc.toString(), { mode: 0o644 });
  return true;
}

// data/ belongs to the server's user (uid 100) and may be unreadable to the operator: a one-shot container of the
// deployment's own image, as root, with no network, does the copying. The server must be stopped. Named and labelled
// as the deployment's (`upgrade` in the name), so a re-run after a kill removes one still copying before it copies.
async function inContainer(ctx: Context, image: string, paths: DeploymentPaths, project: string, script: string, what: string): Promise<void> {
  const run = await ctx.docker.runOnce({ image, entrypoint: ['/bin/sh', '-c'], cmd: [script], user: '0', binds: [`${paths.dir}:/deployment`], timeoutMs: 10 * 60_000, ...oneShot(project, paths.dir, 'upgrade') });
  if (run.exitCode !== 0) {
    throw new VaultSetupError('E_SERVER', `${what} failed (exit ${run.exitCode}): ${run.output.trim().split('\n').slice(-2).join(' | ')}`, {
      hint: `check the free space and ${paths.dir}, then re-run the same command: it resumes`,
    });
  }
}

/** Copies data/ to data.pre-upgrade/ (a fresh copy: a partial one from an interrupted run is replaced). */
export const copyData = (ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> =>
  inContainer(ctx, image, paths, project, `set -e; cd /deployment; rm -rf ${DATA_COPY}.tmp; cp -a data ${DATA_COPY}.tmp; sync; rm -rf ${DATA_COPY}; mv ${DATA_COPY}.tmp ${DATA_COPY}`, `copying ${paths.dataDir} to ${DATA_COPY}`);

/** Puts the copy back in place of data/ (the copy is kept until the rollback is unsealed). */
export const restoreData = (ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> =>
  inContainer(ctx, image, paths, project, `set -e; cd /deployment; test -d ${DATA_COPY}; rm -rf data.tmp; cp -a ${DATA_COPY} data.tmp; sync; if [ -d data ]; then rm -rf data.failed; mv data data.failed; fi; mv data.tmp data; rm -rf data.failed`, `putting ${DATA_COPY} back as data/`);

export const dropCopy = (ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> =>
  inContainer(ctx, image, paths, project, `rm -rf /deployment/${DATA_COPY} /deployment/${DATA_COPY}.tmp`, `removing ${DATA_COPY}`);
