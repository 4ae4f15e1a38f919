// The secret paths `verify` expects under secret/: the catalog's top-level `secrets:` keys, or the playbook's.
// Only the names are read here; the catalog's value sources are configure's business (src/config/catalog.ts).
import fs from 'node:fs/promises';
import { VaultSetupError } from '../errors.ts';

export const PLAYBOOK_PATHS = ['openrouter', 'telegram', 'github', 'database', 'cockpit'] as const;

export interface CatalogPaths {
  paths: string[];
  source: string;
}

export async function catalogPaths(file: string | undefined): Promise<CatalogPaths> {
  if (file === undefined) return { paths: [...PLAYBOOK_PATHS], source: 'the playbook default' };
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new VaultSetupError('E_CATALOG', `cannot read the secrets catalog ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'check the path given to --secrets',
    });
  }
  return { paths: await pathsFromCatalog(text, file), source: file };
}

export async function pathsFromCatalog(text: string, file = 'the catalog'): Promise<string[]> {
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new VaultSetupError('E_CATALOG', `${file} is not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const secrets = (doc as { secrets?: unknown } | null)?.secrets;
  if (secrets === null || typeof secrets !== 'object' || Array.isArray(secrets) || Object.keys(secrets).length === 0) {
    throw new VaultSetupError('E_CATALOG', `${file} has no \`secrets:\` mapping with at least one path`, {
      hint: 'shape: secrets: { openrouter: { api_key: { from: prompt } } }',
    });
  }
  const paths = Object.keys(secrets).map((key) => key.replace(/^\/*(secret\/)?/, '').replace(/\/+$/, ''));
  const bad = paths.find((p) => p.length === 0 || p.split('/').some((part) => part === '' || part === '.' || part === '..'));
  if (bad !== undefined) throw new VaultSetupError('E_CATALOG', `${file}: "${bad}" is not a usable secret path`);
  return paths;
}
