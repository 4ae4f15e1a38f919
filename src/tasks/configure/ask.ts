// init, third phase, step two: every answer before the first write. Where the app token goes, whether the root
// token can be shown, and every secret value (asked, made or read from the environment): nothing is written if
// anything is missing.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../../context.ts';
import type { Catalog, CatalogEntry } from '../../config/catalog.ts';
import { KV_MOUNT } from '../../config/policy.ts';
import { VaultSetupError } from '../../errors.ts';
import { refuseSymlink } from '../../services/files.ts';
import { generateValue } from '../../services/secrets-gen.ts';
import type { ConfigureOptions, Plan, TokenDelivery } from './plan.ts';

/** Where a new app token goes. Decided up front: a token with nowhere to go is never minted. */
export async function chooseDelivery(ctx: Context, options: ConfigureOptions): Promise<TokenDelivery> {
  if (options.tokenFile !== undefined) {
    const file = options.tokenFile;
    await refuseSymlink(file);
    const exists = await fs.stat(file).then(
      () => true,
      () => false,
    );
    if (exists && !options.force) {
      throw new VaultSetupError('E_FILE_CONFLICT', `--app-token-file ${file} exists already; vault-setup will not overwrite it`, {
        hint: 'choose another path, or re-run with --force to replace it',
      });
    }
    const dir = path.dirname(file);
    const ok = await fs.access(dir, fs.constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!ok) throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot write --app-token-file: ${dir} does not exist or is not writable`, { hint: 'create the directory first, or choose another path' });
    return 'file';
  }
  if (options.showToken || options.wrapTtl !== undefined) return 'result';
  if (ctx.output.interactive && !ctx.output.json) return 'terminal';
  throw new VaultSetupError('E_NEEDS_ANSWER', 'the app token would have nowhere to go: there is no terminal to show it on (or --json is set)', {
    hint: 'pass --app-token-file PATH (written 0600), --wrap-ttl 10m (only a single-use wrapping token is printed), or --show-token (printed in the result); nothing was changed',
  });
}

export function checkRootDisplay(ctx: Context, options: ConfigureOptions, plan: Pick<Plan, 'fromCeremony'>): void {
  if (!options.keepRoot || !plan.fromCeremony) return;
  if (options.showToken || options.printKeys || (ctx.output.interactive && !ctx.output.json)) return;
  throw new VaultSetupError('E_NEEDS_ANSWER', '--keep-root-token: there is no terminal to show the root token on', {
    hint: 'add --show-token (the root token is put in the result), or run in a terminal; nothing was changed',
  });
}

/**
 * Every field that has no value and nobody to ask for one: all listed in one error, before anything is written.
 * `state` says truthfully what the run has done so far (nothing, or a server deployed and not initialised).
 */
export function assertNothingMissing(ctx: Context, entries: CatalogEntry[], state = 'nothing was changed'): void {
  const missing: string[] = [];
  for (const entry of entries) {
    for (const { name, spec } of entry.fields) {
      const where = `${entry.path}.${name}`;
      if (spec.from === 'env') {
        const v = ctx.env[spec.var];
        if ((v === undefined || v === '') && spec.default === undefined) missing.push(`${where} (set ${spec.var})`);
      } else if (spec.from === 'prompt') {
        const v = spec.env === undefined ? undefined : ctx.env[spec.env];
        if ((v === undefined || v === '') && !ctx.prompter.interactive && spec.default === undefined) {
          missing.push(`${where}${spec.env === undefined ? '' : ` (or set ${spec.env})`}`);
        }
      }
    }
  }
  if (missing.length > 0) {
    throw new VaultSetupError('E_NEEDS_ANSWER', `${missing.length} secret value${missing.length > 1 ? 's are' : ' is'} missing: ${missing.join(', ')}`, {
      hint: ctx.prompter.interactive
        ? `set the variables named, or change the source in the catalog (--secrets FILE); ${state}`
        : `run in a terminal (without --yes) to be asked, set the variables named, give those fields another source in --secrets FILE, or seed nothing with --secrets none; ${state}`,
    });
  }
}

/**
 * Before a fresh server is initialised: everything configure will need that can be known now (every catalog path
 * is new then). A run that would stop after the ceremony for want of an answer stops before it instead, so the
 * server is not initialised by a run that cannot finish.
 */
export async function checkBeforeInit(ctx: Context, options: ConfigureOptions, catalog: Catalog, state?: string): Promise<void> {
  assertNothingMissing(ctx, catalog.entries, state);
  await chooseDelivery(ctx, options).catch((error: unknown) => {
    throw state === undefined || !(error instanceof VaultSetupError) ? error : new VaultSetupError(error.code, error.message, { hint: (error.hint ?? '').replace(/nothing was changed$/, state) });
  });
  checkRootDisplay(ctx, options, { fromCeremony: true });
}

/**
 * Every value for every secret that will be written, asked or made before the task list starts.
 * Without a terminal (or with --yes) all missing answers are listed in one error before anything is written.
 */
export interface ResolvedValues {
  /** Secret values by path; a path whose every field was skipped has no entry. */
  values: Map<string, Record<string, string>>;
  /** Fields the operator skipped at the prompt, as "path.field" (names only). */
  skipped: string[];
}

export async function resolveValues(ctx: Context, entries: CatalogEntry[], catalog: Pick<Catalog, 'source' | 'entries'>): Promise<ResolvedValues> {
  const values = new Map<string, Record<string, string>>();
  const toAsk: { entry: CatalogEntry; field: string; spec: Extract<CatalogEntry['fields'][number]['spec'], { from: 'prompt' }> }[] = [];
  const keep = (entry: CatalogEntry, field: string, value: string, sensitive: boolean) => {
    if (sensitive) ctx.redactor.add(value);
    const data = values.get(entry.path) ?? {};
    data[field] = value;
    values.set(entry.path, data);
  };
  assertNothingMissing(ctx, entries);
  for (const entry of entries) {
    for (const { name, spec } of entry.fields) {
      if (spec.from === 'generate') {
        keep(entry, name, generateValue(spec), true);
      } else if (spec.from === 'env') {
        const v = ctx.env[spec.var];
        if (v !== undefined && v !== '') keep(entry, name, v, spec.sensitive);
        else if (spec.default !== undefined) keep(entry, name, spec.default, false);
      } else {
        const v = spec.env === undefined ? undefined : ctx.env[spec.env];
        if (v !== undefined && v !== '') keep(entry, name, v, spec.sensitive);
        else if (ctx.prompter.interactive) toAsk.push({ entry, field: name, spec });
        else if (spec.default !== undefined) keep(entry, name, spec.default, false);
      }
    }
  }
  const skipped: string[] = [];
  if (toAsk.length > 0) {
    for (const line of introLines(toAsk.length, catalog)) ctx.output.info(line);
    ctx.output.info(`Values for ${toAsk.length} secret field${toAsk.length > 1 ? 's' : ''} under ${KV_MOUNT}/ (never shown, never saved outside the server):`);
  }
  for (const { entry, field, spec } of toAsk) {
    const label = `${KV_MOUNT}/${entry.path} ${field}`;
    const value = await ask(ctx, label, spec);
    if (value === undefined) skipped.push(`${entry.path}.${field}`);
    else keep(entry, field, value, spec.sensitive);
  }
  if (skipped.length > 0) ctx.output.info(`Skipped ${skipped.length} field${skipped.length > 1 ? 's' : ''}: ${skipped.join(', ')} (recorded in vault-setup.json; verify warns until they are written).`);
  return { values, skipped };
}

/** What the catalog is and how to change it, said once before the first question: nothing to guess. */
export function introLines(asked: number, catalog: Pick<Catalog, 'source' | 'entries'>): string[] {
  const generated = catalog.entries.flatMap((e) => e.fields.filter((f) => f.spec.from === 'generate').map((f) => `${e.path}.${f.name}`));
  const what =
    catalog.source === 'built-in'
      ? `The built-in catalog seeds the playbook's apps (${catalog.entries.map((e) => e.path).join(', ')}): ${asked} value${asked === 1 ? '' : 's'} to type${generated.length > 0 ? `, ${generated.length} generated` : ''}.`
      : `The catalog ${catalog.source} asks for ${asked} value${asked === 1 ? '' : 's'}${generated.length > 0 ? ` (${generated.length} generated)` : ''}.`;
  return [
    what,
    'Your own list instead: --secrets FILE; no seeded secrets at all: --secrets none (docs/commands/init.md: "The secrets catalog").',
    'Enter alone on a field with no default skips it: it is recorded, and verify warns until you write it (vault-setup secret put).',
  ];
}

/** The value typed, the default on an empty answer, or undefined when an empty answer skips the field (no default). */
async function ask(ctx: Context, label: string, spec: { default?: string; confirm: boolean; sensitive: boolean }): Promise<string | undefined> {
  const emptyMeans = spec.default === undefined ? 'Enter alone skips it' : 'empty keeps the default';
  if (!spec.sensitive) {
    const v = await ctx.prompter.input(spec.default === undefined ? `${label}, ${emptyMeans}` : label, spec.default === undefined ? {} : { default: spec.default });
    return v.length > 0 ? v : spec.default;
  }
  for (let attempt = 1; ; attempt++) {
    const first = await ctx.prompter.secret(`${label} (hidden), ${emptyMeans}`);
    if (first.length === 0) return spec.default;
    if (!spec.confirm) return first;
    const again = await ctx.prompter.secret(`${label} again, to confirm`);
    if (again === first) return first;
    if (attempt >= 3) throw new VaultSetupError('E_NEEDS_ANSWER', `the two entries for ${label} did not match (3 tries)`, { hint: 're-run init; nothing was changed' });
    ctx.output.warn('The two entries did not match; once more.');
  }
}
