// The secret paths `verify` expects under secret/: those of the catalog `init` seeded (--secrets FILE), else the
// built-in playbook catalog. The same loader and validation as init's (src/config/catalog.ts); only paths are used.
import { loadCatalog } from '../config/catalog.ts';

export interface CatalogPaths {
  paths: string[];
  source: string;
}

export async function catalogPaths(file: string | undefined): Promise<CatalogPaths> {
  const catalog = await loadCatalog(file);
  return { paths: catalog.entries.map((e) => e.path), source: catalog.source === 'built-in' ? 'the built-in playbook catalog' : catalog.source };
}

/** The catalog as init recorded it in vault-setup.json (paths and field names), so verify needs no --secrets. */
export function recordedCatalog(catalog: { file: string | null; paths: { path: string }[] }): CatalogPaths {
  return { paths: catalog.paths.map((p) => p.path), source: catalog.file ?? 'the built-in playbook catalog' };
}
