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

/** Every field that has no value and nobody to ask for one: all listed in one error, before anything is written. */
function assertNothingMissing(ctx: Context, entries: CatalogEntry[]): void {
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
        ? 'set the variables named, or change the source in the catalog (--secrets FILE); nothing was changed'
        : 'run in a terminal (without --yes) to be asked, set the variables named, or give those fields another source in --secrets FILE; nothing was changed',
    });
  }
}

/**
 * Before a fresh server is initialised: everything configure will need that can be known now (every catalog path
 * is new then). A run that would stop after the ceremony for want of an answer stops before it instead, so the
 * server is not initialised by a run that cannot finish.
 */
export async function checkBeforeInit(ctx: Context, options: ConfigureOptions, catalog: Catalog): Promise<void> {
  assertNothingMissing(ctx, catalog.entries);
  await chooseDelivery(ctx, options);
  checkRootDisplay(ctx, options, { fromCeremony: true });
}

/**
 * Every value for every secret that will be written, asked or made before the task list starts.
 * Without a terminal (or with --yes) all missing answers are listed in one error before anything is written.
 */
export async function resolveValues(ctx: Context, entries: CatalogEntry[]): Promise<Map<string, Record<string, string>>> {
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
  if (toAsk.length > 0) ctx.output.info(`Values for ${toAsk.length} secret field${toAsk.length > 1 ? 's' : ''} under ${KV_MOUNT}/ (never shown, never saved outside the server):`);
  for (const { entry, field, spec } of toAsk) {
    const label = `${KV_MOUNT}/${entry.path} ${field}`;
    keep(entry, field, await ask(ctx, label, spec), spec.sensitive);
  }
  return values;
}

async function ask(ctx: Context, label: string, spec: { default?: string; confirm: boolean; sensitive: boolean }): Promise<string> {
  const nonEmpty = (v: string) => (v.length > 0 || spec.default !== undefined ? true : 'a value is needed');
  if (!spec.sensitive) {
    const v = await ctx.prompter.input(label, { ...(spec.default === undefined ? {} : { default: spec.default }), validate: nonEmpty });
    return v.length > 0 ? v : (spec.default as string);
  }
  for (let attempt = 1; ; attempt++) {
    const first = await ctx.prompter.secret(`${label} (hidden${spec.default === undefined ? '' : '; empty keeps the default'})`, { validate: nonEmpty });
    const value = first.length > 0 ? first : (spec.default as string);
    if (!spec.confirm || first.length === 0) return value;
    const again = await ctx.prompter.secret(`${label} again, to confirm`);
    if (again === first) return value;
    if (attempt >= 3) throw new VaultSetupError('E_NEEDS_ANSWER', `the two entries for ${label} did not match (3 tries)`, { hint: 're-run init; nothing was changed' });
    ctx.output.warn('The two entries did not match; once more.');
  }
}
