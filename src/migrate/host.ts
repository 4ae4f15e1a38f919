// What `migrate --storage raft` changes on the host: the server binary's own `operator migrate` run in a one-shot
// container of the deployment's image (no network, the server stopped), data/ swapped with the migrated copy while
// the old one stays beside it, vault.hcl's storage block rewritten, and a progress file without secrets.
import { progressFile } from '../services/progress-file.ts';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.ts';
import type { DeploymentPaths } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists, writeAtomic } from '../services/files.ts';
import { LABELS, SERVICE, renderTemplate } from '../services/templates.ts';
import { oneShot, removeInterruptedOneShots } from '../deployment/ownership.ts';
import type { Inventory } from './inventory.ts';

export const STATE_FILE = 'migrate-state.json';
export const OLD_DATA = 'data.pre-migrate';
export const NEW_DATA = 'data.raft';
export const OLD_CONFIG = 'vault.hcl.pre-migrate';
const MIGRATE_CONFIG = 'migrate.hcl';

export type Stage = 'inventoried' | 'stopped' | 'migrated' | 'switched' | 'checked' | 'snapshot';
export const ORDER: Stage[] = ['inventoried', 'stopped', 'migrated', 'switched', 'checked', 'snapshot'];

export interface MigrateState {
  /** The image the deployment runs and the one whose `operator migrate` does the copy. */
  image: string;
  migrateImage: string;
  /** What the server said it was before (e.g. "OpenBao v2.6.2"). */
  server: string;
  nodeId: string;
  clusterAddr: string;
  stage: Stage;
  seal: { t: number; n: number };
  /** Key names, policy names and the token accessor count from before: names and a number, no value. */
  inventory: Inventory;
  snapshot?: string;
}

export const reached = (state: MigrateState | undefined, stage: Stage): boolean => state !== undefined && ORDER.indexOf(state.stage) >= ORDER.indexOf(stage);

const progress = progressFile<MigrateState>('migrate', STATE_FILE, (s) => s.stage, `it records an interrupted migration; ${OLD_DATA}/ (if present) holds the file storage from before. Remove the state file only if the server runs as you expect`);
export const { read: readState, write: writeState, clear: clearState } = progress;

/** The `storage "file"` block of an HCL text: its text, where it is, and its path. Undefined when there is none. */
export function fileStorageBlock(hcl: string): { start: number; end: number; path: string | undefined } | undefined {
  const head = /^[ \t]*storage\s+"file"\s*\{/m.exec(hcl);
  if (head === null) return undefined;
  let depth = 0;
  for (let i = head.index + head[0].length - 1; i < hcl.length; i++) {
    if (hcl[i] === '{') depth++;
    else if (hcl[i] === '}' && --depth === 0) {
      let end = i + 1;
      if (hcl[end] === '\n') end++;
      const body = hcl.slice(head.index, end);
      return { start: head.index, end, path: /\bpath\s*=\s*"([^"]*)"/.exec(body)?.[1] };
    }
  }
  return undefined;
}

/** Where the raft node answers its peers: the tcp listener's cluster_address, else the API port + 1 on loopback. */
export function clusterAddrFor(hcl: string, port: number, tls: boolean): string {
  const listener = /listener\s+"tcp"\s*\{[\s\S]*?\n\}/.exec(hcl)?.[0] ?? '';
  const cluster = /cluster_address\s*=\s*"([^"]+)"/.exec(listener)?.[1];
  const host = cluster === undefined || cluster.startsWith('0.0.0.0') ? `127.0.0.1:${cluster?.split(':')[1] ?? port + 1}` : cluster;
  return `${tls ? 'https' : 'http'}://${host}`;
}

const TEMPLATE = fileURLToPath(new URL('../../templates/vault.hcl.tmpl', import.meta.url));

/**
 * The raft stanza exactly as init's template writes it (so a migrated vault-setup deployment reads like a new one,
 * and init or adopt find nothing to change), at the path the file storage had.
 */
function raftStanza(options: { nodeId: string; clusterAddr: string; dataPath: string }, withClusterAddr: boolean): string {
  const section = /^\{\{#raft\}\}\n([\s\S]*?)^\{\{\/raft\}\}\n/m.exec(readFileSync(TEMPLATE, 'utf8'))?.[1] ?? '';
  const text = renderTemplate(section.replace('"{{home}}/data"', '"{{dataPath}}"'), { dataPath: options.dataPath, nodeId: options.nodeId, raftMultiplier: '1', clusterAddr: options.clusterAddr });
  return withClusterAddr ? text : text.replace(/# Raft needs a cluster address[^\n]*\ncluster_addr = [^\n]*\n$/, '');
}

/** vault.hcl with its file storage replaced by raft at the same path (the rest of the file as it was). */
export function raftConfig(hcl: string, options: { nodeId: string; clusterAddr: string; dataPath: string }): string {
  const block = fileStorageBlock(hcl);
  if (block === undefined) throw new VaultSetupError('E_USAGE', 'vault.hcl has no storage "file" block to replace', { hint: 'the deployment already uses another storage; nothing was changed' });
  return `${hcl.slice(0, block.start)}${raftStanza(options, !/^\s*cluster_addr\s*=/m.test(hcl))}${hcl.slice(block.end)}`;
}

/** The configuration `operator migrate` reads: the file storage as the server had it, raft beside it. */
export const migrateConfig = (nodeId: string, clusterAddr: string): string =>
  [
    '# Written by vault-setup migrate for one run of `operator migrate`; removed when it ends.',
    'storage_source "file" {',
    '  path = "/deployment/data"',
    '}',
    'storage_destination "raft" {',
    `  path    = "/deployment/${NEW_DATA}.tmp"`,
    `  node_id = ${JSON.stringify(nodeId)}`,
    '  performance_multiplier = 1',
    '}',
    `cluster_addr = ${JSON.stringify(clusterAddr)}`,
    '',
  ].join('\n');

const BIN = 'BIN=$(command -v bao || command -v vault)';

// One-shot containers of the server image, as root, with no network: data/ belongs to the server's user.
// Named and labelled as the deployment's (`migrate` in the name), so a run interrupted while one works can stop it.
async function inContainer(ctx: Context, image: string, paths: DeploymentPaths, project: string, script: string, timeoutMs = 10 * 60_000): Promise<{ exitCode: number; output: string }> {
  return ctx.docker.runOnce({ image, entrypoint: ['/bin/sh', '-c'], cmd: [script], user: '0', binds: [`${paths.dir}:/deployment`], timeoutMs, ...oneShot(project, paths.dir, 'migrate') });
}

/** One-shot containers of this deployment's migration that an interrupted run left, running or not: removed. */
export const removeMigrationLeftovers = (ctx: Context, project: string): Promise<number> => removeInterruptedOneShots(ctx, project, 'migrate');

const lastLines = (output: string, n = 2): string => output.trim().split('\n').filter((l) => l.trim() !== '').slice(-n).join(' | ');

/** The binary's own answer to "can you read file storage?": a no-op `operator migrate` from an empty file store. */
export async function probeFileStorage(ctx: Context, image: string): Promise<{ ok: true } | { ok: false; answer: string }> {
  const script = `set -e; ${BIN}; mkdir -p /tmp/empty; printf 'storage_source "file" {\\n  path = "/tmp/empty"\\n}\\nstorage_destination "inmem" {}\\n' > /tmp/probe.hcl; "$BIN" operator migrate -config /tmp/probe.hcl`;
  const run = await ctx.docker.runOnce({ image, entrypoint: ['/bin/sh', '-c'], cmd: [script], user: '0', timeoutMs: 60_000 });
  if (run.exitCode === 0) return { ok: true };
  return { ok: false, answer: lastLines(run.output, 1) };
}

/** A refusal of the storage type itself, in the binary's words: "no Vault storage backend named: \"file\"". */
export const refusesFileStorage = (answer: string): boolean => /no (\w+ )?storage backend named:?\s*"?file"?/i.test(answer) || /unknown (physical|storage) backend/i.test(answer);

/**
 * Runs `operator migrate` into data.raft/ (through data.raft.tmp/, so a partial copy is never taken for a finished
 * one), owned by the server's user. A migration lock left by an interrupted run is reset first.
 */
export async function runMigration(ctx: Context, image: string, paths: DeploymentPaths, project: string, nodeId: string, clusterAddr: string, owner: { uid: number; gid: number }): Promise<string> {
  const config = path.join(paths.dir, MIGRATE_CONFIG);
  await writeAtomic(config, migrateConfig(nodeId, clusterAddr), { mode: 0o644 });
  const migrate = `"$BIN" operator migrate -config /deployment/${MIGRATE_CONFIG}`;
  const script = (reset: boolean) =>
    `set -e; ${BIN}; cd /deployment; rm -rf ${NEW_DATA}.tmp; mkdir ${NEW_DATA}.tmp; ${reset ? `${migrate} -reset; ` : ''}${migrate}; chown -R ${owner.uid}:${owner.gid} ${NEW_DATA}.tmp; chmod 700 ${NEW_DATA}.tmp; sync; rm -rf ${NEW_DATA}; mv ${NEW_DATA}.tmp ${NEW_DATA}`;
  try {
    let run = await inContainer(ctx, image, paths, project, script(false));
    if (run.exitCode !== 0 && /-reset|migration .*(in progress|lock)/i.test(run.output)) run = await inContainer(ctx, image, paths, project, script(true));
    if (run.exitCode !== 0) {
      throw new VaultSetupError('E_SERVER', `\`operator migrate\` failed (exit ${run.exitCode}): ${lastLines(run.output)}`, {
        hint: `data/ (the file storage) is untouched; check the free space in ${paths.dir}, then re-run the same command: it resumes`,
      });
    }
    return run.output;
  } finally {
    await fs.rm(config, { force: true });
  }
}

/** data/ -> data.pre-migrate/, data.raft/ -> data/; safe to repeat after an interruption between the two moves. */
export async function swapData(ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> {
  const run = await inContainer(ctx, image, paths, project, `set -e; cd /deployment; if [ -d ${NEW_DATA} ]; then if [ ! -d ${OLD_DATA} ]; then mv data ${OLD_DATA}; fi; rm -rf data; mv ${NEW_DATA} data; fi; sync`);
  if (run.exitCode !== 0) throw new VaultSetupError('E_SERVER', `moving the migrated data into place failed: ${lastLines(run.output)}`, { hint: 'check the deployment directory, then re-run the same command: it resumes' });
}

/** The way back: the file storage from before as data/ again (the raft copy is dropped). */
export async function restoreOldData(ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> {
  const run = await inContainer(ctx, image, paths, project, `set -e; cd /deployment; if [ -d ${OLD_DATA} ]; then rm -rf data; mv ${OLD_DATA} data; fi; sync`);
  if (run.exitCode !== 0) throw new VaultSetupError('E_SERVER', `putting ${OLD_DATA}/ back as data/ failed: ${lastLines(run.output)}`, { hint: `${OLD_DATA}/ holds the file storage from before; move it back to data/ by hand` });
}

export async function dropOldData(ctx: Context, image: string, paths: DeploymentPaths, project: string): Promise<void> {
  await inContainer(ctx, image, paths, project, `rm -rf /deployment/${OLD_DATA} /deployment/${NEW_DATA} /deployment/${NEW_DATA}.tmp`);
}

/** The compose file's storage label, if it has one (the rest of the file, comments too, as it is). */
export async function setComposeStorage(paths: DeploymentPaths, storage: string): Promise<void> {
  const text = await readIfExists(paths.compose);
  if (text === undefined) return;
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  const services = doc.get('services') as { items?: { key: { value?: unknown } }[] } | undefined;
  const key = doc.hasIn(['services', SERVICE]) ? SERVICE : String(services?.items?.[0]?.key?.value ?? SERVICE);
  const labels = doc.getIn(['services', key, 'labels']) as { has?: (k: string) => boolean } | undefined;
  if (labels?.has?.(LABELS.storage) !== true) return;
  if (doc.getIn(['services', key, 'labels', LABELS.storage]) === storage) return;
  doc.setIn(['services', key, 'labels', LABELS.storage], storage);
  await writeAtomic(paths.compose, doc.toString(), { mode: 0o644 });
}
