// The secret paths `verify` expects under secret/: those of the catalog `init` seeded (--secrets FILE), else the
// built-in playbook catalog. The same loader and validation as init's (src/config/catalog.ts); only paths are used.
import { NO_CATALOG, loadCatalog } from '../config/catalog.ts';

export interface CatalogPaths {
  paths: string[];
  source: string;
  /** Fields skipped on purpose at init, by path (from the record): a warning until written, not a failure. */
  skipped?: Map<string, { fields: string[]; all: boolean }>;
}

const sourceName = (source: string | null): string => (source === null || source === 'built-in' ? 'the built-in playbook catalog' : source === NO_CATALOG ? 'none (init --secrets none)' : source);

export async function catalogPaths(file: string | undefined): Promise<CatalogPaths> {
  const catalog = await loadCatalog(file);
  return { paths: catalog.entries.map((e) => e.path), source: sourceName(catalog.source) };
}

/** The catalog as init recorded it in vault-setup.json (paths and field names), so verify needs no --secrets. */
export function recordedCatalog(catalog: { file: string | null; paths: { path: string; fields: string[] }[] }, skippedFields: readonly string[] = []): CatalogPaths {
  const skipped = new Map<string, { fields: string[]; all: boolean }>();
  for (const { path, fields } of catalog.paths) {
    const left = fields.filter((f) => skippedFields.includes(`${path}.${f}`));
    if (left.length > 0) skipped.set(path, { fields: left, all: left.length === fields.length });
  }
  return { paths: catalog.paths.map((p) => p.path), source: sourceName(catalog.file), skipped };
}
