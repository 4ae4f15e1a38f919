// File storage to raft, offline, with the server binary's own `operator migrate`: the shared core of
// `vault-setup migrate --storage raft` and `vault-setup adopt`. The caller brings the shares (in memory) and a token;
// this module decides nothing by image name, only by what the binary and the server answer.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { checksumFile, saveSnapshot } from '../backup/snapshot.ts';
import { compareVersions } from '../config/versions.ts';
import type { DeploymentRecord } from '../deployment.ts';
import { noteChange } from '../deployment/record.ts';
import { VaultSetupError } from '../errors.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { lineDiff, readIfExists, writeAtomic } from '../services/files.ts';
import { ensureRunning, identifyFromApi } from '../services/readiness.ts';
import type { Target } from '../services/target.ts';
import { SERVICE } from '../services/templates.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { unsealWith } from '../upgrade/shares.ts';
import { type MigrateState, NEW_DATA, OLD_CONFIG, OLD_DATA, STATE_FILE, clearState, clusterAddrFor, dropOldData, removeMigrationLeftovers, fileStorageBlock, probeFileStorage, raftConfig, reached, readState, refusesFileStorage, restoreOldData, runMigration, setComposeStorage, swapData, writeState } from './host.ts';
import { MigrationGuard } from './interrupt.ts';
import { type Digests, compareInventories, describeDifference, isSame, takeInventory } from './inventory.ts';

export interface MigrateTarget {
  target: Target;
  api: VaultApi;
  dir: string;
  deployment: DeploymentRecord;
}

/**
 * Before anything changes: the server is up and unsealed, the image for `operator migrate` is the same product and
 * not older, and its binary still reads file storage (asked, not assumed). Returns what the running server is.
 */
export async function preflight(ctx: Context, t: MigrateTarget, image: string): Promise<{ current: ServerIdentity; seal: { t: number; n: number } }> {
  const seal = await t.api.sealStatus();
  if (!seal.initialized || seal.sealed) {
    throw new VaultSetupError(seal.initialized ? 'E_SEALED' : 'E_NOT_INITIALIZED', `the server at ${t.target.address} is ${seal.initialized ? 'sealed' : 'not initialised'}: the migration reads every key before and after`, {
      hint: seal.initialized ? `unseal it first: vault-setup unseal --dir ${t.dir}` : 'there is nothing to migrate on a server that was never initialised',
    });
  }
  const current = await identifyFromApi(t.target.address, t.target.caCert);
  if (current === undefined) throw new VaultSetupError('E_SERVER_UNREACHABLE', `the server at ${t.target.address} does not say what it is`, { hint: 'check that it runs, then re-run' });
  if (!(await ctx.docker.imageExists(image))) {
    ctx.output.info(`Pulling ${image} ...`);
    await ctx.docker.pull(image, () => undefined);
  }
  const tool = await ctx.docker.identifyImage(image);
  if (tool === undefined) throw new VaultSetupError('E_IMAGE_MISSING', `${image} does not say what it is: \`${image} version\` printed no Vault or OpenBao version`, { hint: 'pass --image with a Vault or OpenBao server image; nothing was changed' });
  if (tool.product !== current.product) {
    throw new VaultSetupError('E_USAGE', `the deployment runs ${current.raw} and ${image} is ${tool.raw}: its \`operator migrate\` must be the same server's`, { hint: 'pass --image with an image of the same server; nothing was changed' });
  }
  if (compareVersions(tool.version, current.version) < 0) {
    throw new VaultSetupError('E_USAGE', `${image} is ${tool.raw}, older than the running ${current.raw}`, { hint: 'use the deployment\'s own image or a newer release of it; nothing was changed' });
  }
  const probe = await probeFileStorage(ctx, image);
  if (!probe.ok) {
    if (refusesFileStorage(probe.answer)) {
      throw new VaultSetupError('E_NO_FILE_STORAGE', `${image} (${tool.raw}) cannot read file storage: its \`operator migrate\` answers "${probe.answer}"`, {
        hint: `run the migration with the newest image that still reads file storage, for the one-shot only (e.g. --image openbao/openbao:2.6.2 for OpenBao; the deployment keeps ${t.deployment.image}); nothing was changed`,
      });
    }
    throw new VaultSetupError('E_SERVER', `\`operator migrate\` in ${image} failed on an empty file store: ${probe.answer}`, { hint: 'nothing was changed; check the image' });
  }
  return { current, seal: { t: seal.t, n: seal.n } };
}

export interface MigrateRun extends MigrateTarget {
  image: string;
  migrateImage: string;
  server: string;
  token: string;
  shares: readonly string[];
  seal: { t: number; n: number };
  waitMs: number;
  /** The command that resumes, for the failure messages. */
  resume: string;
  /** The command running the migration (`migrate`, `adopt`), for the interrupt message. */
  command?: string;
}

export interface MigrateResult {
  dir: string;
  storage: 'raft';
  migrated: true;
  keys: number;
  policies: number;
  token_accessors: number;
  snapshot: string;
  checksum_file: string;
  config_diff: string;
  record_updated: boolean;
  seconds: { migrate: number; total: number };
}

/**
 * Runs (or resumes) the migration. Every stage is recorded in migrate-state.json before the next begins. A Ctrl-C
 * stops it where it is and says what state it left (./interrupt.ts).
 */
export async function migrateToRaft(ctx: Context, run: MigrateRun): Promise<MigrateResult> {
  const paths = run.deployment.paths;
  const guard = new MigrationGuard(ctx, { dir: run.dir, name: run.target.name as string, command: run.command ?? 'migrate', resume: run.resume, configDir: paths.configDir, config: paths.config });
  const previous = ctx.interrupts.handler;
  ctx.interrupts.set((signal) => guard.onInterrupt(signal));
  try {
    return await migrateSteps(ctx, run, guard);
  } finally {
    ctx.interrupts.set(previous);
  }
}

async function migrateSteps(ctx: Context, run: MigrateRun, guard: MigrationGuard): Promise<MigrateResult> {
  const started = ctx.clock.now();
  const { dir, deployment, api, target } = run;
  const paths = deployment.paths;
  const say = (line: string) => void (guard.interrupted || ctx.output.info(line));
  let state = await readState(dir);
  let digests: Digests | undefined;

  if (state === undefined) {
    const hcl = (await readIfExists(paths.config)) ?? '';
    const block = fileStorageBlock(hcl);
    if (block === undefined) throw new VaultSetupError('E_USAGE', `${paths.config} has no storage "file" block`, { hint: 'the deployment does not use file storage; nothing was changed' });
    say('1/6 Listing every key, policy and token accessor through the API ...');
    const read = await guard.step(() => takeInventory(api, run.token));
    digests = read.digests;
    state = {
      image: run.image,
      migrateImage: run.migrateImage,
      server: run.server,
      nodeId: target.record?.nodeId ?? `${deployment.name}-1`,
      clusterAddr: clusterAddrFor(hcl, deployment.port, deployment.tls),
      stage: 'inventoried',
      seal: run.seal,
      inventory: read.inventory,
    };
    await writeState(ctx, dir, state);
    say(`    ${read.inventory.keys.length} keys, ${read.inventory.policies.length} policies, ${read.inventory.accessors} token accessors.`);
  } else say(`1/6 Resuming the migration recorded in ${STATE_FILE} (last stage: ${state.stage}); the listing from before is kept there.`);
  const inventory = state.inventory;

  const container = await ctx.docker.findService(target.name as string, SERVICE);
  if (!reached(state, 'stopped')) {
    say(`2/6 Stopping ${target.name} (file storage is copied offline) ...`);
    if (container !== undefined) await guard.step(() => ctx.docker.stop(container.id));
    state = { ...state, stage: 'stopped' };
    await writeState(ctx, dir, state);
  } else say('2/6 Container: already stopped.');

  let migrateMs = 0;
  if (!reached(state, 'migrated')) {
    if (container !== undefined) await guard.step(() => ctx.docker.stop(container.id));
    say(`3/6 \`operator migrate\` file -> raft in a one-shot ${state.migrateImage} (no network) into ${NEW_DATA}/ ...`);
    const t0 = ctx.clock.now();
    await guard.step(() => removeMigrationLeftovers(ctx, target.name as string));
    const s = state;
    await guard.copy(() => runMigration(ctx, s.migrateImage, paths, target.name as string, s.nodeId, s.clusterAddr, deployment.layout));
    migrateMs = ctx.clock.now() - t0;
    state = { ...state, stage: 'migrated' };
    await writeState(ctx, dir, state);
  } else say(`3/6 ${NEW_DATA}/: already migrated.`);

  let diff = '';
  try {
    if (!reached(state, 'switched')) {
      const oldConfigFile = path.join(paths.configDir, OLD_CONFIG);
      const before = (await readIfExists(oldConfigFile)) ?? (await readIfExists(paths.config)) ?? '';
      const dataPath = fileStorageBlock(before)?.path ?? `${deployment.layout.home}/data`;
      const after = raftConfig(before, { nodeId: state.nodeId, clusterAddr: state.clusterAddr, dataPath });
      diff = lineDiff(before, after, { before: 'file storage', after: 'raft' });
      say(`4/6 Switching to raft: data/ -> ${OLD_DATA}/ (kept until the check passes), ${NEW_DATA}/ -> data/, ${paths.config}:`);
      say(diff);
      await writeAtomic(oldConfigFile, before, { mode: 0o644, exclusive: (await readIfExists(oldConfigFile)) === undefined });
      await guard.step(() => removeMigrationLeftovers(ctx, target.name as string));
      const image = state.migrateImage;
      await guard.move(() => swapData(ctx, image, paths, target.name as string));
      await guard.step(() => writeAtomic(paths.config, after, { mode: 0o644 }));
      await guard.step(() => setComposeStorage(paths, 'raft'));
      await guard.step(() => ctx.compose.up(dir, target.name as string));
      await guard.step(() => ensureRunning(ctx, target, run.waitMs));
      say(`    Unsealing with the same ${run.shares.length} shares (in memory) ...`);
      await guard.step(() => unsealWith(ctx, api, run.shares));
      state = { ...state, stage: 'switched' };
      await writeState(ctx, dir, state);
    } else {
      say('4/6 Raft: already switched; starting and unsealing it ...');
      await ensureRunning(ctx, target, run.waitMs);
      if ((await api.sealStatus()).sealed) await unsealWith(ctx, api, run.shares);
    }

    if (!reached(state, 'checked')) {
      say('5/6 Reading back every key, policy and token accessor ...');
      const storage = await api.request<any>('GET', 'sys/storage/raft/configuration', { token: run.token, accept: [400, 404, 405] });
      if (storage.status !== 200) throw new VaultSetupError('E_SERVER', `the server does not answer as a raft node after the switch (sys/storage/raft/configuration: ${storage.status})`);
      const now = await takeInventory(api, run.token);
      const difference = compareInventories(inventory, now.inventory, digests, now.digests);
      if (!isSame(difference)) throw new VaultSetupError('E_SERVER', `the migrated server does not hold what the old one did (${describeDifference(difference)})`);
      state = { ...state, stage: 'checked' };
      await writeState(ctx, dir, state);
    } else say('5/6 Read back: already checked.');
  } catch (error) {
    throw await guard.step(() => rollback(ctx, run, state as MigrateState, error, guard));
  }

  let snapshot = state.snapshot;
  if (!reached(state, 'snapshot') || snapshot === undefined) {
    snapshot = path.join(dir, 'backups', `post-migrate-raft-${stamp(ctx.clock.now())}.snap`);
    say(`6/6 The first raft snapshot: ${snapshot} ...`);
    const file = snapshot;
    await guard.step(() => saveSnapshot(api, run.token, file));
    state = { ...state, stage: 'snapshot', snapshot };
    await writeState(ctx, dir, state);
  } else say(`6/6 Snapshot: already taken (${snapshot}).`);

  const image = state.migrateImage;
  await guard.move(() => dropOldData(ctx, image, paths, target.name as string));
  await fs.rm(path.join(paths.configDir, OLD_CONFIG), { force: true });
  const recorded = await noteChange(dir, { storage: 'raft', nodeId: state.nodeId });
  await clearState(dir);
  return {
    dir,
    storage: 'raft',
    migrated: true,
    keys: inventory.keys.length,
    policies: inventory.policies.length,
    token_accessors: inventory.accessors,
    snapshot,
    checksum_file: checksumFile(snapshot),
    config_diff: diff,
    record_updated: recorded,
    seconds: { migrate: Math.round(migrateMs / 100) / 10, total: Math.round((ctx.clock.now() - started) / 100) / 10 },
  };
}

/** The migrated server failed to start, unseal or hold the same data: the file storage from before comes back. */
async function rollback(ctx: Context, run: MigrateRun, state: MigrateState, cause: unknown, guard: MigrationGuard): Promise<VaultSetupError> {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const paths = run.deployment.paths;
  ctx.output.info(`The migration failed (${reason}). Putting the file storage back ...`);
  let stage = 'stopping the raft server';
  try {
    const container = await ctx.docker.findService(run.target.name as string, SERVICE);
    if (container !== undefined) await ctx.docker.stop(container.id);
    stage = `moving ${OLD_DATA}/ back to data/`;
    const old = await readIfExists(path.join(paths.configDir, OLD_CONFIG));
    if (old !== undefined) {
      await guard.move(() => restoreOldData(ctx, state.migrateImage, paths, run.target.name as string));
      stage = `writing ${OLD_CONFIG} back as vault.hcl`;
      await writeAtomic(paths.config, old, { mode: 0o644 });
      await setComposeStorage(paths, 'file');
    }
    stage = 'starting the server on file storage';
    await ctx.compose.up(run.dir, run.target.name as string);
    await ensureRunning(ctx, run.target, run.waitMs);
    stage = 'unsealing it';
    await unsealWith(ctx, run.api, run.shares);
    await guard.move(() => dropOldData(ctx, state.migrateImage, paths, run.target.name as string));
    await fs.rm(path.join(paths.configDir, OLD_CONFIG), { force: true });
    await clearState(run.dir);
  } catch (error) {
    if (guard.interrupted) throw error;
    return new VaultSetupError('E_SERVER_START', `the migration failed (${reason}), and putting the file storage back stopped while ${stage}: ${(error as Error).message}`, {
      hint: `${OLD_DATA}/ and config/${OLD_CONFIG} in ${run.dir} hold the deployment from before; to finish by hand: docker stop ${run.target.name}, move ${OLD_DATA}/ to data/, ${OLD_CONFIG} to vault.hcl, docker compose up -d, vault-setup unseal --dir ${run.dir}`,
      cause: error,
    });
  }
  return new VaultSetupError(cause instanceof VaultSetupError ? cause.code : 'E_SERVER', `the migration failed (${reason}); rolled back: the server runs on its file storage again, unsealed`, {
    hint: `nothing was lost; fix what failed, then run \`${run.resume}\` again`,
    cause,
  });
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
