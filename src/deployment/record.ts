// vault-setup.json: what a deployment is, beside its compose file. Settings and names only, never a secret value.
// Versioned by `format`; a newer format is refused (the tool that reads it is older than the one that wrote it).
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError, quoted } from '../errors.ts';
import { type Flavor, isFlavor } from '../config/flavor.ts';
import { isAlive, readIfExists, writeAtomic } from '../services/files.ts';
import { makeDir } from '../services/dir-safety.ts';
import type { Storage } from '../services/templates.ts';

export const RECORD_FILE = 'vault-setup.json';
export const RECORD_FORMAT = 1;

export type TlsMode = 'off' | 'self-signed' | 'files' | 'cluster';

/** A node of a multi-node cluster: its private address and the cluster's nodes as last seen (docs/cluster.md). */
export interface ClusterRecord {
  advertise: string;
  nodes: ClusterNode[];
}

export interface ClusterNode {
  /** raft node_id */
  id: string;
  /** The node's API on its private address, e.g. https://10.0.0.2:8200 */
  api: string;
}

export interface CatalogRecord {
  /** The catalog file init seeded from (absolute), null for the built-in playbook catalog, "none" for `--secrets none`. */
  file: string | null;
  /** Paths and field names (never values), so verify does not depend on the file still being there. */
  paths: { path: string; fields: string[] }[];
}

export interface DeploymentRecordFile {
  format: typeof RECORD_FORMAT;
  flavor: Flavor;
  image: string;
  /** What the server reported when the record was written, e.g. "OpenBao v2.7.2". */
  server: string;
  name: string;
  port: number;
  storage: Storage;
  nodeId: string;
  tls: TlsMode;
  catalog: CatalogRecord | null;
  app: string | null;
  shares: number | null;
  threshold: number | null;
  agents: string[];
  grants: Grant[];
  skippedFields: string[];
  /** Present on a node of a multi-node cluster. */
  cluster?: ClusterRecord | undefined;
}

/**
 * What a policy vault-setup renders holds beyond its own source: an agent's `paths` are those `agent add --secret`
 * gave; `granted` are the paths `secret put --grant` added (to an agent's or the app's policy), which a later
 * `agent add` or `init` renders again instead of taking them away.
 */
export type Grant = { agent: string; paths: string[]; granted?: string[] } | { app: string; granted: string[] };

/** Who a `secret put --grant` is for: the app init configured (its policy is named after it) or an agent. */
export type Grantee = { kind: 'app'; name: string } | { kind: 'agent'; name: string };

export const recordPath = (dir: string): string => path.join(path.resolve(dir), RECORD_FILE);

/** The record in dir; undefined when there is none (a new directory, or a deployment made before records). */
export async function readRecord(dir: string): Promise<DeploymentRecordFile | undefined> {
  const file = recordPath(dir);
  const text = await readIfExists(file).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined; // a path through a plain file: no deployment
    throw error;
  });
  return text === undefined ? undefined : parseRecord(text, file);
}

export async function writeRecord(dir: string, record: DeploymentRecordFile): Promise<void> {
  const checked = parseRecord(JSON.stringify(record), recordPath(dir)); // never write what could not be read back
  await writeAtomic(recordPath(dir), `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o644 });
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Validates a record: the first problem is one line naming the file and the field. */
export function parseRecord(text: string, file: string): DeploymentRecordFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw recordError(file, `is not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw recordError(file, 'is not a JSON object');
  const o = doc as Record<string, unknown>;
  const format = o.format;
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) throw fieldError(file, 'format', 'a positive integer', format);
  if (format > RECORD_FORMAT) {
    throw new VaultSetupError('E_RECORD', `${file} was written by a newer vault-setup (format ${format}; this one reads up to ${RECORD_FORMAT})`, {
      hint: 'upgrade vault-setup (npm install -g vault-setup@latest), then re-run the command',
    });
  }
  const str = (key: string, test: (v: string) => boolean = (v) => v !== '', what = 'a non-empty string'): string => {
    const v = o[key];
    if (typeof v !== 'string' || !test(v)) throw fieldError(file, key, what, v);
    return v;
  };
  const intOrNull = (key: string, min: number, max: number): number | null => {
    const v = o[key] ?? null;
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw fieldError(file, key, `an integer ${min}-${max} or null`, v);
    return v;
  };
  const strings = (key: string): string[] => {
    const v = o[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw fieldError(file, key, 'a list of strings', v);
    return v as string[];
  };
  const port = o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw fieldError(file, 'port', 'an integer 1-65535', port);
  const record: DeploymentRecordFile = {
    format: RECORD_FORMAT,
    flavor: str('flavor', isFlavor, '"vault" or "openbao"') as Flavor,
    image: str('image'),
    server: str('server'),
    name: str('name', (v) => NAME.test(v), 'a compose project name (lower-case letters, digits, "-", "_")'),
    port,
    storage: str('storage', (v) => v === 'raft' || v === 'file', '"raft" or "file"') as Storage,
    nodeId: str('nodeId'),
    tls: str('tls', (v) => v === 'off' || v === 'self-signed' || v === 'files' || v === 'cluster', '"off", "self-signed", "files" or "cluster"') as TlsMode,
    catalog: parseCatalogRecord(file, o.catalog),
    app: o.app === null || o.app === undefined ? null : str('app', (v) => NAME.test(v), 'an app name or null'),
    shares: intOrNull('shares', 1, 255),
    threshold: intOrNull('threshold', 1, 255),
    agents: strings('agents'),
    grants: parseGrants(file, o.grants),
    skippedFields: strings('skippedFields'),
    ...(o.cluster === undefined || o.cluster === null ? {} : { cluster: parseClusterRecord(file, o.cluster) }),
  };
  if (record.shares !== null && record.threshold !== null && record.threshold > record.shares) throw fieldError(file, 'threshold', `at most shares (${record.shares})`, record.threshold);
  return record;
}

function parseCatalogRecord(file: string, v: unknown): CatalogRecord | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw fieldError(file, 'catalog', 'an object or null', v);
  const c = v as Record<string, unknown>;
  if (c.file !== null && c.file !== undefined && (typeof c.file !== 'string' || c.file === '')) throw fieldError(file, 'catalog.file', 'a file path or null', c.file);
  if (!Array.isArray(c.paths)) throw fieldError(file, 'catalog.paths', 'a list', c.paths);
  const paths = c.paths.map((p, i) => {
    const e = p as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || typeof e.path !== 'string' || e.path === '') throw fieldError(file, `catalog.paths[${i}].path`, 'a secret path', e?.path);
    if (!Array.isArray(e.fields) || e.fields.some((f) => typeof f !== 'string')) throw fieldError(file, `catalog.paths[${i}].fields`, 'a list of field names', e.fields);
    return { path: e.path, fields: e.fields as string[] };
  });
  return { file: typeof c.file === 'string' ? c.file : null, paths };
}

function parseClusterRecord(file: string, v: unknown): ClusterRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fieldError(file, 'cluster', 'an object or null', v);
  const c = v as Record<string, unknown>;
  if (typeof c.advertise !== 'string' || c.advertise === '') throw fieldError(file, 'cluster.advertise', 'an address', c.advertise);
  if (!Array.isArray(c.nodes)) throw fieldError(file, 'cluster.nodes', 'a list', c.nodes);
  const nodes = c.nodes.map((n, i) => {
    const e = n as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || typeof e.id !== 'string' || e.id === '') throw fieldError(file, `cluster.nodes[${i}].id`, 'a node id', e?.id);
    if (typeof e.api !== 'string' || !/^https:\/\/\S+$/.test(e.api)) throw fieldError(file, `cluster.nodes[${i}].api`, 'an https:// address', e.api);
    return { id: e.id, api: e.api };
  });
  return { advertise: c.advertise, nodes };
}

/** Notes the cluster's nodes as last seen in the record, if there is one and it is a cluster node's. */
export async function noteClusterNodes(dir: string | undefined, nodes: ClusterNode[]): Promise<void> {
  if (dir === undefined) return;
  const record = await readRecord(dir);
  if (record?.cluster === undefined) return;
  const sorted = [...nodes].sort((a, b) => a.id.localeCompare(b.id));
  if (JSON.stringify(sorted) === JSON.stringify(record.cluster.nodes)) return;
  await writeRecord(dir, { ...record, cluster: { ...record.cluster, nodes: sorted } });
}

function parseGrants(file: string, v: unknown): Grant[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fieldError(file, 'grants', 'a list', v);
  const paths = (e: Record<string, unknown>, i: number, key: string): string[] => {
    const list = e[key];
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) throw fieldError(file, `grants[${i}].${key}`, 'a list of paths', list);
    return list as string[];
  };
  return v.map((g, i): Grant => {
    const e = g as Record<string, unknown> | null;
    if (e !== null && typeof e === 'object' && typeof e.app === 'string') {
      if (!NAME.test(e.app)) throw fieldError(file, `grants[${i}].app`, 'an app name', e.app);
      return { app: e.app, granted: paths(e, i, 'granted') };
    }
    if (e === null || typeof e !== 'object' || typeof e.agent !== 'string') throw fieldError(file, `grants[${i}].agent`, 'an agent name', e?.agent);
    const entry: Grant = { agent: e.agent, paths: paths(e, i, 'paths') };
    if (e.granted !== undefined) entry.granted = paths(e, i, 'granted');
    return entry;
  });
}

const grantKey = (g: Grant): string => ('app' in g ? `app:${g.app}` : `agent:${g.agent}`);
const isFor = (g: Grant, who: Grantee): boolean => grantKey(g) === `${who.kind}:${who.name}`;

/** The paths `secret put --grant` added for an app or an agent (empty without a record). */
export function grantedPaths(record: DeploymentRecordFile | undefined, who: Grantee): string[] {
  const entry = record?.grants.find((g) => isFor(g, who));
  return entry === undefined ? [] : [...(entry.granted ?? [])];
}

/** Notes a path granted by `secret put --grant` in the record, if there is one; true when it was written. */
export async function noteGrant(dir: string | undefined, who: Grantee, key: string): Promise<boolean> {
  if (dir === undefined) return false;
  const record = await readRecord(dir);
  if (record === undefined) return false;
  const grants = record.grants.map((g) => ({ ...g }));
  let entry = grants.find((g) => isFor(g, who));
  if (entry === undefined) {
    entry = who.kind === 'app' ? { app: who.name, granted: [] } : { agent: who.name, paths: [], granted: [] };
    grants.push(entry);
  }
  entry.granted = [...new Set([...(entry.granted ?? []), key])].sort();
  const agents = who.kind === 'agent' && !record.agents.includes(who.name) ? [...record.agents, who.name].sort() : record.agents;
  const next = { ...record, agents, grants: grants.sort((a, b) => grantKey(a).localeCompare(grantKey(b))) };
  if (JSON.stringify(next) !== JSON.stringify(record)) await writeRecord(dir, next);
  return true;
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return quoted(text, 40);
}

const fieldError = (file: string, field: string, what: string, got: unknown): VaultSetupError =>
  new VaultSetupError('E_RECORD', `${file}: field "${field}" must be ${what}, got ${shown(got)}`, {
    hint: `fix the field by hand, or move ${path.basename(file)} away and re-run \`vault-setup init --dir ${path.dirname(file)}\` with the deployment's flags`,
  });

const recordError = (file: string, what: string): VaultSetupError =>
  new VaultSetupError('E_RECORD', `${file} ${what}`, {
    hint: `fix it, or move it away and re-run \`vault-setup init --dir ${path.dirname(file)}\` with the deployment's flags`,
  });

/**
 * One init at a time per directory: an exclusive lock file holding the owner's pid. A lock whose process is gone
 * is taken over; a live one is waited for briefly, then refused.
 */
export async function lockDeployment(dir: string, options: { waitMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<AsyncDisposable> {
  const file = path.join(path.resolve(dir), '.vault-setup.lock');
  await makeDir(path.dirname(file));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (options.waitMs ?? 5000);
  for (;;) {
    try {
      const handle = await fs.open(file, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { [Symbol.asyncDispose]: async () => fs.unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt((await readIfExists(file)) ?? '', 10);
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      await fs.unlink(file).catch(() => undefined); // left by a run that died
      continue;
    }
    if (Date.now() >= deadline) {
      throw new VaultSetupError('E_LOCKED', `another vault-setup (pid ${owner}) is working on ${path.dirname(file)}`, {
        hint: `wait for it to finish, then re-run; if no such process exists, remove ${file}`,
      });
    }
    await sleep(200);
  }
}

/** Notes an agent added (with the paths it was granted) or removed (paths undefined) in the record, if there is one. */
export async function noteAgent(dir: string | undefined, agent: string, paths: string[] | undefined): Promise<void> {
  if (dir === undefined) return;
  const record = await readRecord(dir);
  if (record === undefined) return;
  const who: Grantee = { kind: 'agent', name: agent };
  const agents = record.agents.filter((a) => a !== agent);
  const grants = record.grants.filter((g) => !isFor(g, who));
  if (paths !== undefined) {
    // What `secret put --grant` added stays; a removed agent takes its grants with it.
    const granted = grantedPaths(record, who);
    agents.push(agent);
    grants.push(granted.length === 0 ? { agent, paths } : { agent, paths, granted });
  }
  const next = { ...record, agents: agents.sort(), grants: grants.sort((a, b) => grantKey(a).localeCompare(grantKey(b))) };
  if (JSON.stringify(next) !== JSON.stringify(record)) await writeRecord(dir, next);
}

/** After `upgrade`, `migrate` or `rekey`: the record says what now runs (image, server, storage, the seal's counts), if there is a record. */
export async function noteChange(dir: string, change: Partial<Pick<DeploymentRecordFile, 'image' | 'server' | 'storage' | 'nodeId' | 'shares' | 'threshold'>>): Promise<boolean> {
  const record = await readRecord(dir);
  if (record === undefined) return false;
  const next = { ...record, ...change };
  if (JSON.stringify(next) !== JSON.stringify(record)) await writeRecord(dir, next);
  return true;
}

/** Fields written since init skipped them (`secret put`): no longer skipped in the record, so verify stops warning. */
export async function noteWritten(dir: string | undefined, secretPath: string, fields: string[]): Promise<void> {
  if (dir === undefined) return;
  const record = await readRecord(dir);
  if (record === undefined) return;
  const written = new Set(fields.map((f) => `${secretPath}.${f}`));
  const skippedFields = record.skippedFields.filter((f) => !written.has(f));
  if (skippedFields.length !== record.skippedFields.length) await writeRecord(dir, { ...record, skippedFields });
}
