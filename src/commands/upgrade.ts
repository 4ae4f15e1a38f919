// `vault-setup upgrade --image IMAGE`: a newer server image for the deployment, with a way back at every step.
// Preflight (src/upgrade/preflight.ts), the shares read once, a raft snapshot, the container stopped and data/ copied
// while it is stopped, the compose image switched, started, unsealed with the same shares, checked. On a failure
// after the stop: the old image and the old data/ back, unsealed with the same shares. upgrade-state.json (no
// secrets) records the last stage done, so a re-run after Ctrl-C resumes.
import path from 'node:path';
import type { Context } from '../context.ts';
import { checksumFile, saveSnapshot } from '../backup/snapshot.ts';
import { type DeploymentPaths, loadDeployment } from '../deployment.ts';
import { noteChange } from '../deployment/record.ts';
import { removeInterruptedOneShots } from '../deployment/ownership.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { bool, duration, str } from '../options/flags.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { ensureRunning, identifyFromApi } from '../services/readiness.ts';
import { type Target, openTarget, requireUnsealed } from '../services/target.ts';
import { SERVICE } from '../services/templates.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { DATA_COPY, STATE_FILE, type Stage, type UpgradeState, clearState, copyData, dropCopy, readState, restoreData, setComposeImage, writeState } from '../upgrade/host.ts';
import { checkVersions, executableLogFiles, executableModes, refuseExecutableAudit } from '../upgrade/preflight.ts';
import { sayWhereOnInterrupt } from '../upgrade/interrupt.ts';
import { collectShares, unsealWith } from '../upgrade/shares.ts';
import { backupToken } from './backup-schedule.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

const ORDER: Stage[] = ['snapshot', 'stopped', 'copied', 'switched', 'unsealed'];
const reached = (state: UpgradeState | undefined, stage: Stage): boolean => state !== undefined && ORDER.indexOf(state.stage) >= ORDER.indexOf(stage);

export async function upgrade({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'name the image with --image IMAGE');
  const image = str(flags, 'image');
  if (image === undefined || image.trim() === '') throw usageError('--image IMAGE is required', 'e.g. vault-setup upgrade --image openbao/openbao:2.7.2');
  const fromStdin = bool(flags, 'stdin');
  const waitMs = duration(flags, 'wait', '90s');
  if (fromStdin && ctx.stdin.isTTY === true) throw usageError('--stdin reads shares from a pipe, but standard input is a terminal (the share would be echoed)', 'run without --stdin to be asked with hidden input');

  const open = await openTarget(ctx, { dir: str(flags, 'dir') });
  const { target, api } = open;
  let stopSaying = (): void => undefined;
  try {
    const dir = target.dir as string;
    const deployment = await loadDeployment(dir);
    if (deployment === undefined) throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`);
    const paths = deployment.paths;
    const say = (line: string) => ctx.output.info(line);
    await ctx.docker.ping();
    let state = await readState(dir);
    if (state !== undefined && reached(state, 'stopped') && (await servedSince(ctx, api, target, state))) {
      // The old server ran again and was unsealed after that attempt (a rollback, or by hand): it may hold writes
      // that the old snapshot and data copy lack. Resuming would roll back onto them; start over instead.
      say(`An earlier upgrade attempt stopped at "${state.stage}", and ${state.from.image} has served since: starting over with a new snapshot and a new copy of data/.`);
      await clearState(dir);
      state = undefined;
    }
    if (state !== undefined && state.to.image !== image) {
      throw usageError(`an upgrade to ${state.to.image} was interrupted here (${STATE_FILE}, last stage: ${state.stage})`, `finish it first: vault-setup upgrade --dir ${dir} --image ${state.to.image}`);
    }

    if (!(await ctx.docker.imageExists(image))) {
      say(`Pulling ${image} ...`);
      await ctx.docker.pull(image, () => undefined);
    }
    const wanted = await ctx.docker.identifyImage(image);
    const current = state === undefined ? await identifyFromApi(target.address, target.caCert) : { product: wanted?.product ?? 'openbao', version: state.from.version, raw: state.from.version } as ServerIdentity;
    if (current === undefined) {
      throw new VaultSetupError('E_SERVER_UNREACHABLE', `the server at ${target.address} does not answer: its version decides what an upgrade may do`, { hint: `start it and unseal it (vault-setup unseal --dir ${dir}), then re-run` });
    }
    checkVersions({ image, current, target: wanted, storage: deployment.storage });
    const to = wanted as ServerIdentity;
    if (state === undefined && to.version === current.version && deployment.image === image) {
      return { data: { dir, image, from: current.version, to: to.version, upgraded: false }, human: `Nothing to do: ${target.name} already runs ${image} (${to.raw}).` };
    }

    // After the preflight: a refused or needless upgrade says so, terminal or not.
    if (!fromStdin && !ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for the unseal shares the upgraded server needs', { hint: 'pipe them in, one per line, with --stdin' });
    }
    const seal = state?.seal ?? (await api.sealStatus());
    let token: string | undefined;
    if (state === undefined) {
      requireUnsealed(await api.sealStatus(), target.address, { suffix: ': the snapshot before the upgrade needs an open server', sealedHint: `unseal it first: vault-setup unseal --dir ${dir}`, uninitialisedHint: 'run `vault-setup init` first' });
      if (deployment.storage !== 'raft') {
        throw usageError(`this server uses ${deployment.storage} storage, which has no snapshot API: upgrade needs a proven backup first`, 'move it to raft storage (`vault-setup migrate --storage raft`), then upgrade; nothing was changed');
      }
      token = (await backupToken(ctx, api, flags, dir, 'take a snapshot before the upgrade (read on sys/storage/raft/snapshot)')).token;
      refuseExecutableAudit([...(await auditModes(api, token)), ...(await executableLogFiles(paths.logsDir))]);
    }

    // The shares, before anything changes: the upgraded server and a rollback both open with them.
    const shares = await collectShares(ctx, fromStdin, seal);
    // What upgrade-state.json holds, for the Ctrl-C message (said from memory, at once).
    let lastRecorded = state;
    const record = async (next: UpgradeState): Promise<void> => {
      await writeState(ctx, dir, next);
      lastRecorded = next;
    };
    stopSaying = sayWhereOnInterrupt(ctx, { name: target.name as string, resume: `vault-setup upgrade --dir ${dir} --image ${image}`, state: () => lastRecorded });
    if (state !== undefined) {
      say(`Resuming the upgrade to ${state.to.image} recorded in ${STATE_FILE} (last stage: ${state.stage}).`);
      // A run killed during a copy left its one-shot container, perhaps still copying: it must not race this run's.
      await removeInterruptedOneShots(ctx, target.name as string, 'upgrade');
    }
    state ??= { from: { image: deployment.image, version: current.version }, to: { image, version: to.version }, stage: 'snapshot', seal: { t: seal.t, n: seal.n } };
    const from = state.from;
    const where = (stage: string) => `${stage}; ${STATE_FILE} records it: re-run \`vault-setup upgrade --dir ${dir} --image ${image}\` to resume`;

    let snapshot = state.snapshot;
    if (!reached(await readState(dir), 'snapshot')) {
      snapshot = path.join(dir, 'backups', `pre-upgrade-${from.version}-${stamp(ctx.clock.now())}.snap`);
      say(`1/5 Snapshot of ${from.version}: ${snapshot} ...`);
      await saveSnapshot(api, token as string, snapshot);
      state = { ...state, stage: 'snapshot', snapshot };
      await record(state);
    } else say(`1/5 Snapshot: already taken (${snapshot ?? 'see backups/'}).`);

    const container = await ctx.docker.findService(target.name as string, SERVICE);
    try {
      if (!reached(state, 'stopped')) {
        say(`2/5 Stopping ${target.name} (it comes back sealed) ...`);
        if (container !== undefined) await ctx.docker.stop(container.id);
        state = { ...state, stage: 'stopped' };
        await record(state);
      } else say('2/5 Container: already stopped.');

      if (!reached(state, 'copied')) {
        if (container !== undefined) await ctx.docker.stop(container.id);
        say(`3/5 Copying data/ to ${DATA_COPY}/ while the server is stopped (the way back needs no token) ...`);
        await copyData(ctx, from.image, paths, target.name as string);
        state = { ...state, stage: 'copied' };
        await record(state);
      } else say(`3/5 ${DATA_COPY}/: already copied.`);
    } catch (error) {
      throw await restartOld(ctx, { target, api, dir, paths, from, image, shares, waitMs, snapshot, cause: error, where });
    }

    let running: ServerIdentity | undefined;
    try {
      // Also when already switched: compose up starts a container that stopped since, and changes nothing else.
      say(reached(state, 'switched') ? `4/5 ${image}: already switched; making sure it runs ...` : `4/5 Starting ${image} on the same files ...`);
      await setComposeImage(paths, image);
      await ctx.compose.up(dir, target.name as string);
      if (!reached(state, 'switched')) {
        state = { ...state, stage: 'switched' };
        await record(state);
      }
      await ensureRunning(ctx, target, waitMs);
      if (reached(state, 'unsealed') && !(await api.sealStatus()).sealed) say(`5/5 ${to.raw}: already unsealed.`);
      else {
        say(`5/5 Unsealing ${to.raw} with the shares in memory ...`);
        await unsealWith(ctx, api, shares);
      }
      running = await identifyFromApi(target.address, target.caCert);
      if (running?.version !== to.version) throw new VaultSetupError('E_SERVER', `after the restart the server says it is ${running?.raw ?? 'nothing'}, not ${to.raw}`);
    } catch (error) {
      throw await rollback(ctx, { target, api, dir, paths, from, image, shares, waitMs, snapshot, cause: error, where });
    }

    if (!reached(state, 'unsealed')) await record({ ...state, stage: 'unsealed' });
    await dropCopy(ctx, image, paths, target.name as string);
    await clearState(dir);
    // The record (when the deployment has one) names what runs now, so init and verify start from it.
    const recorded = await noteChange(dir, { image, server: (running ?? to).raw });
    // verify's checks that need no token (as `watch` runs them), on the upgraded server: what fails is named.
    say('Checking the upgraded server (verify\'s checks that need no token) ...');
    const failed = await tokenlessFailures(ctx, target, dir);
    const data = { dir, image, from: from.version, to: to.version, previous_image: from.image, upgraded: true, snapshot: snapshot ?? null, checksum_file: snapshot === undefined ? null : checksumFile(snapshot), record_updated: recorded, verify_failed: failed };
    const checked = failed.length === 0 ? 'verify: no check that needs no token fails; with a token, `vault-setup verify` checks the rest' : `verify: ${failed.length} check${failed.length === 1 ? '' : 's'} fail (${failed.join(', ')}): vault-setup verify --dir ${dir} gives each fix`;
    return { data, human: [`Upgraded ${target.name}: ${from.image} (${from.version}) -> ${image} (${to.version}), unsealed and active.`, `Snapshot from before: ${snapshot ?? '(taken by the interrupted run)'}`, checked].join('\n') };
  } finally {
    stopSaying();
    open.close();
  }
}

async function tokenlessFailures(ctx: Context, target: Target, dir: string): Promise<string[]> {
  const { observe } = await import('../watch/observe.ts');
  const { CHECK_GROUPS } = await import('../verify/groups.ts');
  const seen = await observe(ctx, { dir, deployment: await loadDeployment(dir), name: target.name, address: target.address, caCert: target.caCert, backupsDir: undefined, clusterAdvertise: target.record?.cluster?.advertise, app: target.record?.app ?? undefined }, CHECK_GROUPS);
  return seen.verifyFailures.map((f) => f.id);
}

interface RollbackPlan {
  target: Target;
  api: VaultApi;
  dir: string;
  paths: DeploymentPaths;
  from: { image: string; version: string };
  image: string;
  shares: string[];
  waitMs: number;
  snapshot: string | undefined;
  cause: unknown;
  where: (stage: string) => string;
}

/** The new image failed: the old image and the data from before, unsealed with the same shares. Returns the error to throw. */
async function rollback(ctx: Context, p: RollbackPlan): Promise<VaultSetupError> {
  const reason = p.cause instanceof Error ? p.cause.message : String(p.cause);
  const { paths } = p;
  ctx.output.info(`The upgrade to ${p.image} failed (${reason}). Rolling back to ${p.from.image} with data/ as it was before ...`);
  let stage = 'stopping the new container';
  try {
    const container = await ctx.docker.findService(p.target.name as string, SERVICE);
    if (container !== undefined) await ctx.docker.stop(container.id);
    stage = `putting ${DATA_COPY}/ back as data/`;
    await restoreData(ctx, p.from.image, paths, p.target.name as string);
    stage = `switching docker-compose.yml back to ${p.from.image}`;
    await setComposeImage(paths, p.from.image);
    await ctx.compose.up(p.dir, p.target.name as string);
    stage = `starting ${p.from.image}`;
    await ensureRunning(ctx, p.target, p.waitMs);
    stage = `unsealing ${p.from.version}`;
    // From here the old server runs on the data from before: the attempt is over, and a re-run starts afresh.
    await clearState(p.dir);
    await unsealWith(ctx, p.api, p.shares);
    await dropCopy(ctx, p.from.image, paths, p.target.name as string);
  } catch (error) {
    if (stage === `unsealing ${p.from.version}`) {
      return new VaultSetupError('E_UNSEAL_FAILED', `the upgrade to ${p.image} failed (${reason}); rolled back: ${p.from.image} (${p.from.version}) runs again on the data from before the upgrade, but the shares did not unseal it (${(error as Error).message})`, {
        hint: `unseal it: vault-setup unseal --dir ${p.dir} (a wrong share fails both servers alike); then run the upgrade again, which starts with a new snapshot`,
        cause: error,
      });
    }
    return new VaultSetupError('E_SERVER_START', `the upgrade to ${p.image} failed (${reason}), and the rollback stopped while ${stage}: ${(error as Error).message}`, {
      hint: `${DATA_COPY}/ in ${p.dir} holds the data from before the upgrade${p.snapshot ? ` and ${p.snapshot} the snapshot` : ''}; to finish by hand: docker stop ${p.target.name}, replace data/ with ${DATA_COPY}/, set the image to ${p.from.image} in docker-compose.yml, docker compose up -d, vault-setup unseal --dir ${p.dir}`,
      cause: error,
    });
  }
  return new VaultSetupError(p.cause instanceof VaultSetupError ? p.cause.code : 'E_SERVER_START', `the upgrade to ${p.image} failed (${reason}); rolled back: ${p.from.image} (${p.from.version}) runs again on the data from before the upgrade, unsealed`, {
    hint: `nothing was lost; the snapshot from before is ${p.snapshot ?? 'in backups/'}. Fix what failed (\`docker logs\` of a test container of ${p.image}), then run the upgrade again`,
    cause: p.cause,
  });
}

/** The stop or the copy failed, before the switch: data/ is as the old server left it, so it starts again on it, unsealed. */
async function restartOld(ctx: Context, p: RollbackPlan): Promise<VaultSetupError> {
  const reason = p.cause instanceof Error ? p.cause.message : String(p.cause);
  const { paths } = p;
  const before = `the upgrade to ${p.image} stopped before the switch (${reason})`;
  ctx.output.info(`${before[0]!.toUpperCase()}${before.slice(1)}. Starting ${p.from.image} again on its own data/ ...`);
  let stage = `starting ${p.from.image}`;
  try {
    await ctx.compose.up(p.dir, p.target.name as string);
    await ensureRunning(ctx, p.target, p.waitMs);
    // The old server runs on its own data: the attempt is over, and a re-run starts afresh.
    await clearState(p.dir);
    stage = `unsealing ${p.from.version}`;
    if ((await p.api.sealStatus()).sealed) await unsealWith(ctx, p.api, p.shares);
  } catch (error) {
    const unsealing = stage.startsWith('unsealing');
    return new VaultSetupError(unsealing ? 'E_UNSEAL_FAILED' : 'E_SERVER_START', `${before}, and ${stage} again failed: ${(error as Error).message}; data/ was not changed`, {
      hint: unsealing ? `unseal it: vault-setup unseal --dir ${p.dir}; then run the upgrade again` : `start it (docker compose up -d in ${p.dir}), unseal it (vault-setup unseal --dir ${p.dir}), then run the upgrade again: it resumes`,
      cause: error,
    });
  }
  // A partial copy is no way back: removed (the next attempt copies afresh).
  await dropCopy(ctx, p.from.image, paths, p.target.name as string).catch(() => undefined);
  return new VaultSetupError(p.cause instanceof VaultSetupError ? p.cause.code : 'E_SERVER', `${before}; ${p.from.image} (${p.from.version}) runs again on its data, unsealed: nothing changed`, {
    hint: `fix what failed (e.g. the free space for a copy of data/ in ${p.dir}), then run the upgrade again; the snapshot from before is ${p.snapshot ?? 'in backups/'}`,
    cause: p.cause,
  });
}

/** True when the container runs the old image again and its server is unsealed: it has served since the attempt. */
async function servedSince(ctx: Context, api: VaultApi, target: Target, state: UpgradeState): Promise<boolean> {
  const container = await ctx.docker.findService(target.name as string, SERVICE);
  if (container === undefined || container.state !== 'running' || container.image !== state.from.image) return false;
  const seal = await api.sealStatus().catch(() => undefined);
  return seal !== undefined && seal.initialized && !seal.sealed;
}

/** File audit devices whose mode is executable (CVE-2025-6000). Reading sys/audit needs sudo: a narrower token skips this and the log files are checked instead. */
async function auditModes(api: VaultApi, token: string): Promise<string[]> {
  const res = await api.request('GET', 'sys/audit', { token }).catch(() => undefined);
  if (res === undefined || res.status !== 200) return [];
  const body = res.body as { data?: Record<string, { type?: string; options?: Record<string, unknown> }> } & Record<string, { type?: string; options?: Record<string, unknown> }>;
  return executableModes(body.data ?? body);
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
