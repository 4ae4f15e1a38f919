// What adopt shows before asking for its raft and configure steps (the shape step shows its file diffs itself).
import { loadCatalog } from '../config/catalog.ts';
import type { DeploymentRecord } from '../deployment.ts';
import { clusterAddrFor, fileStorageBlock, raftConfig } from '../migrate/host.ts';
import { lineDiff, readIfExists } from '../services/files.ts';
import type { Target } from '../services/target.ts';

/** What the configure step will write, listed before its question (nothing existing is overwritten). */
export async function configurePreview(app: string, catalogFile: string | undefined, appTokenFile: string | undefined, operator: string): Promise<string[]> {
  const catalog = await loadCatalog(catalogFile);
  const paths = catalog.entries.map((e) => `secret/${e.path}`);
  return [
    '    + a file audit device writing to logs/ (when none is enabled)',
    '    + KV v2 at secret/ (kept as it is when it exists)',
    `    + the catalog's paths that do not exist yet (${catalog.source}): ${paths.join(', ') || 'none'}; existing secrets untouched`,
    `    + the policy "${app}" reading ${paths.length === 0 ? 'no path' : 'exactly those paths'}, and a token for it (720h) ${appTokenFile === undefined ? 'shown once' : `written to ${appTokenFile} (0600)`}`,
    `    + the operator login "${operator}" (its password asked, or read with --password-stdin)`,
  ];
}

/** The vault.hcl change the migration will make, shown before the question (the migration shows it again when it switches). */
export async function raftPreview(deployment: DeploymentRecord, target: Target): Promise<string> {
  const hcl = (await readIfExists(deployment.paths.config)) ?? '';
  const dataPath = fileStorageBlock(hcl)?.path ?? `${deployment.layout.home}/data`;
  const after = raftConfig(hcl, { nodeId: target.record?.nodeId ?? `${deployment.name}-1`, clusterAddr: clusterAddrFor(hcl, deployment.port, deployment.tls), dataPath });
  return `--- config/vault.hcl\n${lineDiff(hcl, after, { before: 'file storage', after: 'raft' })}`;
}
