// The secrets catalog: WHAT `init` seeds under secret/ and where each value comes from, never the values.
// Parsed and validated in full before anything talks to the server; every problem is one line naming its place.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isScalar as isYamlScalar, parseDocument, visit } from 'yaml';
import { VaultSetupError, quoted } from '../errors.ts';

export type PromptSpec = { from: 'prompt'; env?: string; default?: string; confirm: boolean; sensitive: boolean };
export type EnvSpec = { from: 'env'; var: string; default?: string; sensitive: boolean };
export type BytesSpec = { from: 'generate'; format: 'hex' | 'base64'; bytes: number; sensitive: true };
export type PasswordSpec = { from: 'generate'; format: 'password'; length: number; chars: string; sensitive: true };
export type FieldSpec = PromptSpec | EnvSpec | BytesSpec | PasswordSpec;

export interface CatalogField {
  name: string;
  spec: FieldSpec;
}

export interface CatalogEntry {
  /** Path under the KV v2 mount, e.g. "database" or "apps/cockpit". */
  path: string;
  /** Replace the secret when it exists already (else create-only). */
  overwrite: boolean;
  fields: CatalogField[];
}

export interface Catalog {
  /** The file it came from, or "built-in". */
  source: string;
  entries: CatalogEntry[];
}

export const CHARSETS: Record<string, string> = {
  alnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  'alnum-symbols': 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%*+-.:=?@^_~',
  hex: '0123456789abcdef',
};

const MIN_BYTES = 16; // 128 bits: anything shorter is a guessable "random" secret
const MAX_BYTES = 4096;
const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1024;

// Segments start with a letter or digit: no empty segment, no "." or "..", no glob characters a policy would expand.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const DEFAULT_CATALOG_FILE = fileURLToPath(new URL('../../templates/catalog.default.yaml', import.meta.url));

export function validatePath(path: string): string | undefined {
  if (path.length === 0) return 'a path may not be empty';
  if (path.length > 200) return 'a path may have at most 200 characters';
  if (path.startsWith('/')) return 'a path is relative to secret/: no leading "/"';
  if (path.endsWith('/')) return 'a path may not end with "/"';
  for (const segment of path.split('/')) {
    if (segment === '..' || segment === '.') return `"${segment}" is not allowed in a path`;
    if (segment.length === 0) return 'a path may not contain "//"';
    if (!SEGMENT.test(segment)) return `segment ${quoted(segment)} may only use letters, digits, ".", "_" and "-" (starting with a letter or digit)`;
  }
  return undefined;
}

/** `--secrets none`: a server with no seeded secrets (no catalog paths; the policy keeps only token self-service). */
export const NO_CATALOG = 'none';

/** Loads --secrets FILE, or the built-in catalog (the playbook's) when no file is given, or none (`--secrets none`). */
export async function loadCatalog(file: string | undefined): Promise<Catalog> {
  if (file === undefined) return parseCatalog(readFileSync(DEFAULT_CATALOG_FILE, 'utf8'), 'built-in');
  if (file === NO_CATALOG) return { source: NO_CATALOG, entries: [] };
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new VaultSetupError('E_CATALOG', `cannot read the secrets catalog ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'check the path given to --secrets',
    });
  }
  return parseCatalog(text, file);
}

export function parseCatalog(text: string, source: string): Catalog {
  const problems: string[] = [];
  let doc: unknown;
  try {
    const parsed = parseDocument(text, { logLevel: 'error', uniqueKeys: true });
    if (parsed.errors.length > 0) throw parsed.errors[0];
    // A default is text: `default: 0123` or a 20-digit id must not become the number 123 or 1.2e19.
    visit(parsed, {
      Pair(_, pair) {
        if (isYamlScalar(pair.key) && pair.key.value === 'default' && isYamlScalar(pair.value) && typeof pair.value.value === 'number' && typeof pair.value.source === 'string') {
          pair.value.value = pair.value.source;
        }
      },
    });
    doc = parsed.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw catalogError(source, [`not valid YAML (${(error as Error).message.split('\n')[0]})`]);
  }
  if (!isMap(doc)) throw catalogError(source, ['the file must be a mapping with a "secrets:" key']);
  for (const key of Object.keys(doc)) if (key !== 'secrets') problems.push(`unknown top-level key ${quoted(key)} (only "secrets")`);
  const secrets = doc.secrets;
  if (!isMap(secrets) || Object.keys(secrets).length === 0) {
    throw catalogError(source, ['"secrets:" must map at least one path to its fields', ...problems]);
  }
  const entries: CatalogEntry[] = [];
  for (const [path, raw] of Object.entries(secrets)) {
    const where = `secrets.${shown(path)}`;
    const bad = validatePath(path);
    if (bad !== undefined) {
      problems.push(`${where}: ${bad}`);
      continue;
    }
    if (!isMap(raw)) {
      problems.push(`${where}: must map field names to their source, e.g. api_key: { from: prompt }`);
      continue;
    }
    // Long form { overwrite: true, fields: {...} }; a field literally named "fields" has a "from" key instead.
    const long = isMap(raw.fields) && !('from' in raw.fields);
    let overwrite = false;
    let fieldMap: Record<string, unknown> = raw;
    if (long) {
      for (const key of Object.keys(raw)) if (key !== 'fields' && key !== 'overwrite') problems.push(`${where}: unknown key ${quoted(key)} (only "fields" and "overwrite")`);
      if (raw.overwrite !== undefined && typeof raw.overwrite !== 'boolean') problems.push(`${where}.overwrite: must be true or false`);
      overwrite = raw.overwrite === true;
      fieldMap = raw.fields as Record<string, unknown>;
    }
    if (Object.keys(fieldMap).length === 0) {
      problems.push(`${where}: has no fields`);
      continue;
    }
    const fields: CatalogField[] = [];
    for (const [name, spec] of Object.entries(fieldMap)) {
      const fieldWhere = `${where}.${shown(name)}`;
      if (!FIELD.test(name) || name.length > 100) {
        problems.push(`${fieldWhere}: a field name uses letters, digits, "_", "." and "-", starting with a letter or "_"`);
        continue;
      }
      const parsed = parseField(spec, fieldWhere, problems);
      if (parsed !== undefined) fields.push({ name, spec: parsed });
    }
    entries.push({ path, overwrite, fields });
  }
  if (problems.length > 0) throw catalogError(source, problems);
  return { source, entries };
}

function parseField(raw: unknown, where: string, problems: string[]): FieldSpec | undefined {
  if (!isMap(raw)) {
    problems.push(`${where}: must be a mapping like { from: prompt }`);
    return undefined;
  }
  const allowed = (keys: string[]) => {
    for (const key of Object.keys(raw)) if (!keys.includes(key)) problems.push(`${where}: unknown key ${quoted(key)} for from: ${shown(String(raw.from))} (allowed: ${keys.join(', ')})`);
  };
  const sensitive = raw.sensitive === undefined ? true : raw.sensitive;
  if (typeof sensitive !== 'boolean') problems.push(`${where}.sensitive: must be true or false`);
  const dflt = raw.default;
  if (dflt !== undefined && !isScalar(dflt)) problems.push(`${where}.default: must be a string or number`);
  const defaultValue = isScalar(dflt) ? String(dflt) : undefined;
  const envName = (key: string) => {
    const v = raw[key];
    if (typeof v !== 'string' || !ENV_VAR.test(v)) {
      problems.push(`${where}.${key}: must be an environment variable name (letters, digits, "_")`);
      return undefined;
    }
    return v;
  };
  switch (raw.from) {
    case 'prompt': {
      allowed(['from', 'env', 'default', 'confirm', 'sensitive']);
      if (raw.confirm !== undefined && typeof raw.confirm !== 'boolean') problems.push(`${where}.confirm: must be true or false`);
      const env = raw.env === undefined ? undefined : envName('env');
      return {
        from: 'prompt',
        ...(env === undefined ? {} : { env }),
        ...(defaultValue === undefined ? {} : { default: defaultValue }),
        confirm: raw.confirm === true,
        sensitive: sensitive !== false,
      };
    }
    case 'env': {
      allowed(['from', 'var', 'default', 'sensitive']);
      const name = envName('var');
      if (name === undefined) return undefined;
      return { from: 'env', var: name, ...(defaultValue === undefined ? {} : { default: defaultValue }), sensitive: sensitive !== false };
    }
    case 'generate': {
      if (raw.sensitive === false) problems.push(`${where}.sensitive: a generated value is always sensitive`);
      if (raw.format === 'hex' || raw.format === 'base64') {
        allowed(['from', 'format', 'bytes', 'sensitive']);
        const bytes = raw.bytes ?? 32;
        if (!Number.isInteger(bytes) || (bytes as number) < MIN_BYTES || (bytes as number) > MAX_BYTES) {
          problems.push(`${where}.bytes: must be a whole number from ${MIN_BYTES} to ${MAX_BYTES}`);
          return undefined;
        }
        return { from: 'generate', format: raw.format, bytes: bytes as number, sensitive: true };
      }
      if (raw.format === 'password') {
        allowed(['from', 'format', 'length', 'charset', 'chars', 'sensitive']);
        const length = raw.length ?? 24;
        if (!Number.isInteger(length) || (length as number) < MIN_PASSWORD || (length as number) > MAX_PASSWORD) {
          problems.push(`${where}.length: must be a whole number from ${MIN_PASSWORD} to ${MAX_PASSWORD}`);
          return undefined;
        }
        let chars: string | undefined;
        if (raw.chars !== undefined) {
          if (raw.charset !== undefined) problems.push(`${where}: give "charset" or "chars", not both`);
          const unique = typeof raw.chars === 'string' ? [...new Set(raw.chars)].join('') : '';
          if (unique.length < 10) problems.push(`${where}.chars: must be a string of at least 10 different characters`);
          else chars = unique;
        } else {
          const name = raw.charset ?? 'alnum';
          chars = typeof name === 'string' ? CHARSETS[name] : undefined;
          if (chars === undefined) problems.push(`${where}.charset: must be one of ${Object.keys(CHARSETS).join(', ')} (or give "chars")`);
        }
        if (chars === undefined) return undefined;
        return { from: 'generate', format: 'password', length: length as number, chars, sensitive: true };
      }
      problems.push(`${where}.format: must be hex, base64 or password`);
      return undefined;
    }
    default:
      problems.push(`${where}.from: must be prompt, generate or env${raw.from === undefined ? '' : `, got ${quoted(String(raw.from))}`}`);
      return undefined;
  }
}

function catalogError(source: string, problems: string[]): VaultSetupError {
  const where = source === 'built-in' ? 'the built-in secrets catalog' : `secrets catalog ${source}`;
  const [first, ...rest] = problems;
  return new VaultSetupError('E_CATALOG', `${where}: ${first}${rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : ''}`, {
    hint: 'fix the catalog; docs/commands/init.md: "The secrets catalog" describes its format',
    ...(rest.length > 0 ? { detail: problems.map((p) => `  - ${p}`).join('\n') } : {}),
  });
}

/** A name as written when it is plain, quoted and escaped when it holds line breaks, controls or is very long. */
const shown = (text: string): string => (/^[\x20-\x7e]{0,80}$/.test(text) ? text : quoted(text));

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
