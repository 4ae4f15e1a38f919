// What a deployment directory already is: its record (or, for a deployment made before records, its compose file
// and vault.hcl), and the record written after init, join, adopt or a cluster conversion.
import path from 'node:path';
import { loadDeployment, deploymentPaths } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import { type Catalog, NO_CATALOG, loadCatalog } from '../config/catalog.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { readIfExists } from '../services/files.ts';
import { type ClusterRecord, type DeploymentRecordFile, RECORD_FILE, type TlsMode, readRecord, writeRecord } from './record.ts';

export interface Existing {
  record: DeploymentRecordFile;
  /** true when the record was built from a deployment made before vault-setup.json existed. */
  legacy: boolean;
}

/** The deployment in dir as recorded; undefined when dir holds none. */
export async function existingDeployment(dir: string): Promise<Existing | undefined> {
  const record = await readRecord(dir);
  if (record !== undefined) return { record, legacy: false };
  // A compose file vault-setup cannot read is no deployment to resume: the file step shows the diff and stops.
  const d = await loadDeployment(dir).catch((error: unknown) => {
    if (error instanceof VaultSetupError || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (d === undefined) return undefined;
  const hcl = (await readIfExists(d.paths.config)) ?? '';
  const nodeId = /node_id\s*=\s*"([^"]*)"/.exec(hcl)?.[1] ?? `${d.name}-1`;
  const tls: TlsMode = !d.tls ? 'off' : (await readIfExists(path.join(d.paths.tlsDir, 'ca.crt'))) !== undefined ? 'self-signed' : 'files';
  return {
    legacy: true,
    record: {
      format: 1,
      flavor: d.layout.flavor,
      image: d.image,
      server: d.server || 'unknown',
      name: d.name,
      port: d.port,
      storage: d.storage,
      nodeId,
      tls,
      catalog: null,
      app: null,
      shares: null,
      threshold: null,
      agents: [],
      grants: [],
      skippedFields: [],
    },
  };
}

/** Writes vault-setup.json: settings as deployed; what the server and the catalog add is merged in. Unchanged: not rewritten. */
export interface DeployedSettings {
  flavor: DeploymentRecordFile['flavor'];
  image: string;
  name: string;
  port: number;
  storage: DeploymentRecordFile['storage'];
  tls: TlsMode;
}

export async function saveRecord(
  dir: string,
  previous: Existing | undefined,
  now: { settings: DeployedSettings; catalogFile?: string | undefined; catalog?: Catalog | undefined; app?: string | undefined; server: ServerIdentity; shares?: number | undefined; threshold?: number | undefined; skippedFields?: string[] | undefined; cluster?: ClusterRecord | undefined },
): Promise<void> {
  const keep = previous?.record;
  const name = now.settings.name;
  const secrets = now.catalogFile;
  const catalog = secrets === undefined && keep?.catalog !== undefined && keep.catalog !== null ? keep.catalog : await catalogRecord(secrets, now.catalog);
  const hcl = (await readIfExists(deploymentPaths(dir).config)) ?? '';
  const record: DeploymentRecordFile = {
    format: 1,
    flavor: now.settings.flavor,
    image: now.settings.image,
    server: now.server.raw,
    name,
    port: now.settings.port,
    storage: now.settings.storage,
    nodeId: /node_id\s*=\s*"([^"]*)"/.exec(hcl)?.[1] ?? `${name}-1`,
    tls: now.settings.tls,
    catalog,
    app: now.app ?? keep?.app ?? 'openclaw',
    shares: now.shares ?? keep?.shares ?? null,
    threshold: now.threshold ?? keep?.threshold ?? null,
    agents: keep?.agents ?? [],
    grants: keep?.grants ?? [],
    skippedFields: now.skippedFields ?? keep?.skippedFields ?? [],
    ...(now.cluster === undefined ? (keep?.cluster === undefined ? {} : { cluster: keep.cluster }) : { cluster: mergeNodes(keep?.cluster, now.cluster) }),
  };
  const file = path.join(path.resolve(dir), RECORD_FILE);
  const before = await readIfExists(file);
  if (before !== undefined && before === `${JSON.stringify(record, null, 2)}\n`) return;
  await writeRecord(dir, record);
}

/** The nodes known before stay known (a re-run of init must not forget the nodes cluster status saw). */
function mergeNodes(before: ClusterRecord | undefined, now: ClusterRecord): ClusterRecord {
  const nodes = new Map((before?.nodes ?? []).map((n) => [n.id, n]));
  for (const n of now.nodes) nodes.set(n.id, n);
  return { advertise: now.advertise, nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)) };
}

async function catalogRecord(file: string | undefined, loaded: Catalog | undefined): Promise<DeploymentRecordFile['catalog']> {
  const catalog = loaded ?? (await loadCatalog(file));
  return { file: file === undefined ? null : file === NO_CATALOG ? NO_CATALOG : path.resolve(file), paths: catalog.entries.map((e) => ({ path: e.path, fields: e.fields.map((x) => x.name) })) };
}
