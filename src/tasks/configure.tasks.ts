// init, third phase (playbook steps 9 to 12, done the way a reviewer signs off): audit on, KV v2 at secret/,
// seeded secrets (create-only), a least-privilege policy and app token, the root token retired.
// Order: read everything and ask every question first (nothing is written if anything is missing), then the
// task list writes, then tokens are shown once the renderer has stopped.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ListrTask } from 'listr2';
import type { Context } from '../context.ts';
import type { DeploymentPaths } from '../deployment.ts';
import type { Flags } from '../options/flags.ts';
import { bool, duration, str } from '../options/flags.ts';
import { type Catalog, type CatalogEntry, loadCatalog } from '../config/catalog.ts';
import { KV_MOUNT, policyRules, renderPolicy, validateAppName } from '../config/policy.ts';
import { VaultSetupError, isVaultSetupError } from '../errors.ts';
import { readIfExists, refuseSymlink, writeAtomic } from '../services/files.ts';
import { type MountState, type SecretMeta, enableKv2, kvMountState, secretMeta, writeSecret } from '../services/kv.ts';
import { generateValue } from '../services/secrets-gen.ts';
import { obtainToken } from '../services/token.ts';
import { type VaultApi, serverErrors } from '../services/vault-api.ts';
import { toServerDuration } from '../services/wait.ts';
import { type PhaseInput, type StepRecord, record, runTasks } from './listr.ts';

export interface ConfigureInput extends PhaseInput {
  /** The root token from this run's ceremony (memory only), else the phase asks for a privileged token. */
  rootToken?: string | undefined;
}

export interface ConfigureOutcome {
  steps: StepRecord[];
  data: Record<string, unknown>;
  human: string[];
}

/** Marks the app tokens vault-setup issues, so a re-run finds a live one instead of minting another. */
export const APP_META = 'vault-setup-app';

interface Options {
  app: string;
  catalogFile: string | undefined;
  overwriteAll: boolean;
  tokenTtl: string;
  /** As the operator wrote it (720h), for people. */
  tokenTtlText: string;
  tokenFile: string | undefined;
  wrapTtl: string | undefined;
  showToken: boolean;
  keepRoot: boolean;
  force: boolean;
  printKeys: boolean;
}

type SecretAction = 'create' | 'keep' | 'overwrite';
type SecretStatus = 'created' | 'kept' | 'updated';
type TokenDelivery = 'file' | 'result' | 'terminal';

interface AppTokenInfo {
  accessor: string;
  ttl: number;
  expireTime: string | undefined;
}

interface Plan {
  token: string;
  fromCeremony: boolean;
  isRoot: boolean;
  kv: MountState;
  /** declared: config/vault.hcl has an audit stanza (servers that refuse API creation need one). */
  audit: { existing: { path: string; filePath: string } | undefined; filePath: string; declared: boolean };
  secrets: { entry: CatalogEntry; meta: SecretMeta | undefined; action: SecretAction }[];
  policy: { current: string | undefined; wanted: string };
  appToken: { existing: AppTokenInfo | undefined; checked: boolean };
}

interface State {
  steps: StepRecord[];
  audit?: { status: 'created' | 'kept'; device: string; filePath: string; via: 'api' | 'config' };
  kv?: 'created' | 'kept';
  secrets: { path: string; status: SecretStatus; fields: string[]; version: number }[];
  policy?: 'created' | 'kept' | 'updated';
  appToken?: { status: 'created' | 'kept'; accessor: string; ttl: number; expireTime?: string | undefined; wrapAccessor?: string };
}

export async function configurePhase(ctx: Context, input: ConfigureInput): Promise<ConfigureOutcome> {
  const options = readOptions(input.flags);
  const catalog = await loadCatalog(options.catalogFile);
  const plan = await makePlan(ctx, input, options, catalog);
  const delivery = plan.appToken.existing === undefined ? await chooseDelivery(ctx, options) : undefined;
  checkRootDisplay(ctx, options, plan);
  const values = await resolveValues(ctx, plan.secrets.filter((s) => s.action !== 'keep').map((s) => s.entry));

  const state: State = { steps: [], secrets: [] };
  // Held outside the listr state so no renderer or error path ever serialises it.
  const minted: { token?: string; wrapping?: string } = {};
  try {
    await runTasks(ctx, configureTasks(ctx, input, options, plan, values, delivery, minted), state);
  } catch (error) {
    // A token minted but never delivered would be a live credential nobody holds: take it back.
    if (state.appToken?.status === 'created' && delivery !== 'file') await revokeAccessor(input.api, plan.token, state.appToken.accessor);
    throw error;
  } finally {
    values.clear();
  }

  const data: Record<string, unknown> = {
    app: options.app,
    catalog: catalog.source,
    audit: state.audit,
    kv: { mount: `${KV_MOUNT}/`, status: state.kv },
    secrets: state.secrets,
    policy: { name: options.app, status: state.policy, paths: plan.secrets.map((s) => s.entry.path) },
  };
  const human: string[] = [summaryLines(state, options, catalog, input.paths)];

  // The app token: shown once now the renderer is done, or in the result, or already in its file.
  const app = state.appToken as NonNullable<State['appToken']>;
  const appData: Record<string, unknown> = { status: app.status, accessor: app.accessor, policies: [options.app], ttl: app.ttl };
  if (app.status === 'kept') {
    human.push(`App token: kept (accessor ${app.accessor}${app.expireTime ? `, expires ${app.expireTime}` : ''}); to issue a new one, revoke it (token revoke -accessor ${app.accessor}) and re-run init.`);
  } else {
    const shown = minted.wrapping ?? (minted.token as string);
    const what = minted.wrapping === undefined ? 'app token' : `single-use wrapping token (valid ${options.wrapTtl}; unwrap it to get the app token)`;
    appData.delivered = delivery;
    if (minted.wrapping !== undefined) {
      appData.wrapped = { ttl: options.wrapTtl, accessor: app.wrapAccessor };
    }
    if (delivery === 'file') {
      appData.file = options.tokenFile;
      human.push(`App ${minted.wrapping === undefined ? 'token' : 'wrapping token'} written to ${options.tokenFile} (0600, accessor ${app.accessor}).`);
    } else if (delivery === 'result') {
      appData[minted.wrapping === undefined ? 'token' : 'wrappingToken'] = shown;
      if (!ctx.output.json) human.push(`App ${minted.wrapping === undefined ? 'token' : 'wrapping token'}: ${shown}`);
    } else {
      const s = ctx.output.style;
      ctx.output.revealToTerminal(
        `\n${s.yellow('!')} The ${what} for "${options.app}" is shown ONCE. Store it in the app's secret store now; it is not saved anywhere.\n\n    ${s.bold(shown)}\n\n`,
      );
      human.push(`App token: shown above once (accessor ${app.accessor}, ttl ${options.tokenTtlText}).`);
    }
    // The server caps a TTL at its max_lease_ttl (32 days by default) without failing: say so.
    if (minted.wrapping === undefined && app.ttl > 0 && app.ttl < seconds(options.tokenTtl)) {
      human.push(`Note: the server capped the app token's TTL at ${app.ttl}s (its max_lease_ttl), below --token-ttl ${options.tokenTtlText}.`);
    }
  }
  data.appToken = appData;
  minted.token = undefined;
  minted.wrapping = undefined;

  // The root token last: nothing above needs it any more.
  const root = await retireRoot(ctx, input, options, plan, state.steps);
  data.rootToken = root.data;
  human.push(...root.human);
  return { steps: state.steps, data, human };
}

function readOptions(flags: Flags): Options {
  const tokenFile = str(flags, 'token-file');
  const wrap = str(flags, 'wrap-ttl');
  return {
    app: validateAppName(str(flags, 'app') ?? 'openclaw'),
    catalogFile: str(flags, 'secrets'),
    overwriteAll: bool(flags, 'overwrite'),
    tokenTtl: toServerDuration(duration(flags, 'token-ttl', '720h')),
    tokenTtlText: str(flags, 'token-ttl') ?? '720h',
    tokenFile: tokenFile === undefined ? undefined : path.resolve(tokenFile),
    wrapTtl: wrap === undefined ? undefined : toServerDuration(duration(flags, 'wrap-ttl', wrap)),
    showToken: bool(flags, 'show-token'),
    keepRoot: bool(flags, 'keep-root-token'),
    force: bool(flags, 'force'),
    printKeys: bool(flags, 'print-keys'),
  };
}

// --- Before anything is written ---------------------------------------------------------------------

async function privilegedToken(ctx: Context, input: ConfigureInput): Promise<{ token: string; fromCeremony: boolean }> {
  if (input.rootToken !== undefined) {
    ctx.redactor.add(input.rootToken);
    return { token: input.rootToken, fromCeremony: true };
  }
  const supplied = ctx.env.BAO_TOKEN ?? ctx.env.VAULT_TOKEN;
  if ((supplied === undefined || supplied.trim() === '') && !ctx.prompter.interactive) {
    // Not obtainToken's hint: in `init`, --token-file is where the APP token goes.
    throw new VaultSetupError('E_AUTH', 'the server is initialised already: configuring it needs a privileged token', {
      hint: 'set VAULT_TOKEN (or BAO_TOKEN) to a root or admin token, or run in a terminal to be asked for it',
    });
  }
  return { token: await obtainToken(ctx, { purpose: 'configure the server (root or admin)' }), fromCeremony: false };
}

async function makePlan(ctx: Context, input: ConfigureInput, options: Options, catalog: Catalog): Promise<Plan> {
  const { api } = input;
  const { token, fromCeremony } = await privilegedToken(ctx, input);
  const self = await api.request<any>('GET', 'auth/token/lookup-self', { token, accept: [403] });
  if (self.status === 403) {
    throw new VaultSetupError('E_AUTH', 'the server refused the token (invalid, expired or revoked)', {
      hint: 'use a valid root or admin token; if the root token was revoked, make a new one with generate-root and the unseal keys',
    });
  }
  const isRoot = ((self.body?.data?.policies ?? []) as string[]).includes('root');
  if (!isRoot) await checkCapabilities(api, token, options, catalog);

  const kv = await kvMountState(api, token, KV_MOUNT);
  if (kv.state === 'conflict') {
    const what = kv.type === 'kv' ? `a KV version ${kv.version ?? '1'} engine` : `a "${kv.type}" engine`;
    throw new VaultSetupError('E_MOUNT_CONFLICT', `${KV_MOUNT}/ is already mounted as ${what}, not KV v2; vault-setup will not change it`, {
      hint: `upgrade it yourself if that is wanted (${input.layout.binary} kv enable-versioning ${KV_MOUNT}/) and re-run init`,
    });
  }
  const secrets: Plan['secrets'] = [];
  for (const entry of catalog.entries) {
    const meta = kv.state === 'kv2' ? await secretMeta(api, token, KV_MOUNT, entry.path, ctx.clock) : undefined;
    const action: SecretAction = meta === undefined ? 'create' : entry.overwrite || options.overwriteAll ? 'overwrite' : 'keep';
    secrets.push({ entry, meta, action });
  }

  const filePath = `${input.layout.home}/logs/audit.log`;
  const devices = (await api.request<any>('GET', 'sys/audit', { token })).body;
  const table = (devices?.data ?? devices ?? {}) as Record<string, { type?: string; options?: { file_path?: string } }>;
  const found = Object.entries(table).find(([, d]) => d?.type === 'file' && d.options?.file_path === filePath);

  const policyRes = await api.request<any>('GET', `sys/policies/acl/${options.app}`, { token, accept: [404] });
  const current = policyRes.status === 404 ? undefined : String(policyRes.body?.data?.policy ?? '');
  const wanted = renderPolicy(options.app, catalog.entries.map((e) => e.path));

  const existing = await findAppToken(api, token, options.app);
  return {
    token,
    fromCeremony,
    isRoot,
    kv,
    audit: { existing: found === undefined ? undefined : { path: found[0], filePath }, filePath, declared: /^\s*audit\s+"file"/m.test((await readIfExists(input.paths.config)) ?? '') },
    secrets,
    policy: { current, wanted },
    appToken: existing,
  };
}

/** A non-root token must be able to do every step, checked before the first write. */
async function checkCapabilities(api: VaultApi, token: string, options: Options, catalog: Catalog): Promise<void> {
  const needs: [string, string[]][] = [
    ['sys/mounts', ['read']],
    [`sys/mounts/${KV_MOUNT}`, ['update']],
    ['sys/audit', ['read', 'sudo']],
    ['sys/audit/file', ['update', 'sudo']],
    [`sys/policies/acl/${options.app}`, ['read', 'update']],
    ['auth/token/accessors', ['list', 'sudo']],
    ['auth/token/lookup-accessor', ['update']],
    ['auth/token/revoke-accessor', ['update']],
    ['auth/token/create-orphan', ['update', 'sudo']],
    ...catalog.entries.flatMap((e): [string, string[]][] => [
      [`${KV_MOUNT}/metadata/${e.path}`, ['read']],
      [`${KV_MOUNT}/data/${e.path}`, ['create']],
    ]),
  ];
  const res = await api.request<any>('POST', 'sys/capabilities-self', { token, body: { paths: needs.map(([p]) => p) } });
  const caps = (res.body?.data ?? res.body ?? {}) as Record<string, string[]>;
  const missing = needs.flatMap(([p, wanted]) => {
    const have = caps[p] ?? [];
    if (have.includes('root')) return [];
    const lacking = wanted.filter((c) => !have.includes(c) && !(c === 'update' && have.includes('create')));
    return lacking.length === 0 ? [] : [`${lacking.join('+')} on ${p}`];
  });
  if (missing.length > 0) {
    throw new VaultSetupError('E_DENIED', `the token cannot configure the server: it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`, {
      hint: 'use the root token or an admin token (see README: "Resuming init"); nothing was changed',
      detail: missing.map((m) => `  - ${m}`).join('\n'),
    });
  }
}

/** A live token vault-setup issued for this app earlier (found by its metadata), so a re-run keeps it. */
async function findAppToken(api: VaultApi, token: string, app: string): Promise<Plan['appToken']> {
  const list = await api.request<any>('LIST', 'auth/token/accessors', { token, accept: [403, 404] });
  if (list.status !== 200) return { existing: undefined, checked: false };
  for (const accessor of (list.body?.data?.keys ?? []) as string[]) {
    const res = await api.request<any>('POST', 'auth/token/lookup-accessor', { token, body: { accessor }, accept: [400, 403] });
    const d = res.body?.data;
    if (res.status !== 200 || d?.meta?.[APP_META] !== app) continue;
    if (JSON.stringify(d.policies ?? []) !== JSON.stringify([app])) continue;
    return { existing: { accessor, ttl: Number(d.ttl ?? 0), expireTime: d.expire_time ?? undefined }, checked: true };
  }
  return { existing: undefined, checked: true };
}

/** Where a new app token goes. Decided up front: a token with nowhere to go is never minted. */
async function chooseDelivery(ctx: Context, options: Options): Promise<TokenDelivery> {
  if (options.tokenFile !== undefined) {
    const file = options.tokenFile;
    await refuseSymlink(file);
    const exists = await fs.stat(file).then(
      () => true,
      () => false,
    );
    if (exists && !options.force) {
      throw new VaultSetupError('E_FILE_CONFLICT', `--token-file ${file} exists already; vault-setup will not overwrite it`, {
        hint: 'choose another path, or re-run with --force to replace it',
      });
    }
    const dir = path.dirname(file);
    const ok = await fs.access(dir, fs.constants.W_OK).then(
      () => true,
      () => false,
    );
    if (!ok) throw new VaultSetupError('E_DIR_NOT_WRITABLE', `cannot write --token-file: ${dir} does not exist or is not writable`, { hint: 'create the directory first, or choose another path' });
    return 'file';
  }
  if (options.showToken || options.wrapTtl !== undefined) return 'result';
  if (ctx.output.interactive && !ctx.output.json) return 'terminal';
  throw new VaultSetupError('E_NEEDS_ANSWER', 'the app token would have nowhere to go: there is no terminal to show it on (or --json is set)', {
    hint: 'pass --token-file PATH (written 0600), --wrap-ttl 10m (only a single-use wrapping token is printed), or --show-token (printed in the result); nothing was changed',
  });
}

function checkRootDisplay(ctx: Context, options: Options, plan: Pick<Plan, 'fromCeremony'>): void {
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
export async function checkBeforeInit(ctx: Context, flags: Flags): Promise<void> {
  const options = readOptions(flags);
  const catalog = await loadCatalog(options.catalogFile);
  assertNothingMissing(ctx, catalog.entries);
  await chooseDelivery(ctx, options);
  checkRootDisplay(ctx, options, { fromCeremony: true });
}

/**
 * Every value for every secret that will be written, asked or made before the task list starts.
 * Without a terminal (or with --yes) all missing answers are listed in one error before anything is written.
 */
async function resolveValues(ctx: Context, entries: CatalogEntry[]): Promise<Map<string, Record<string, string>>> {
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

// --- The writes ---------------------------------------------------------------------------------------

function configureTasks(
  ctx: Context,
  input: ConfigureInput,
  options: Options,
  plan: Plan,
  values: Map<string, Record<string, string>>,
  delivery: TokenDelivery | undefined,
  minted: { token?: string; wrapping?: string },
): ListrTask<State>[] {
  const { api } = input;
  const token = plan.token;
  return [
    {
      // First, so every write after it is in the log.
      title: 'Audit device',
      task: async (state, task) => {
        const filePath = plan.audit.filePath;
        if (plan.audit.existing !== undefined) {
          state.audit = { status: 'kept', device: plan.audit.existing.path, filePath, via: plan.audit.declared ? 'config' : 'api' };
          task.title = `Audit device ${plan.audit.existing.path} writes ${filePath}`;
          record(state.steps, 'audit', 'kept', `${plan.audit.existing.path} -> ${filePath}`);
          return;
        }
        const res = await api.request<any>('PUT', 'sys/audit/file', {
          token,
          body: { type: 'file', description: 'vault-setup: every request, HMACed', options: { file_path: filePath } },
          accept: [400, 405],
        });
        if (res.status >= 400) {
          const why = serverErrors(res.body).join('; ') || `HTTP ${res.status}`;
          const declarative = /declarative|config-based|not allowed|unsupported/i.test(why);
          throw new VaultSetupError('E_SERVER', `the server refused to enable the file audit device: ${why}`, {
            hint: declarative
              ? `this server takes audit devices only from its config: declare audit "file" "file" { options { file_path = "${filePath}" } } in config/vault.hcl (re-run init with --force to get vault-setup's file, which has it), restart the container, unseal, and re-run`
              : `check that ${input.paths.logsDir} is writable by the server (uid ${input.layout.uid}) and re-run`,
          });
        }
        state.audit = { status: 'created', device: 'file/', filePath, via: 'api' };
        task.title = `Audit device file/ enabled: ${filePath}`;
        record(state.steps, 'audit', 'done', `file/ -> ${filePath}`);
      },
    },
    {
      title: `KV v2 at ${KV_MOUNT}/`,
      task: async (state, task) => {
        if (plan.kv.state === 'kv2') {
          state.kv = 'kept';
          task.title = `KV v2 at ${KV_MOUNT}/ is enabled`;
          record(state.steps, 'kv', 'kept');
          return;
        }
        await enableKv2(api, token, KV_MOUNT);
        state.kv = 'created';
        task.title = `KV v2 enabled at ${KV_MOUNT}/`;
        record(state.steps, 'kv', 'done', 'created');
      },
    },
    ...plan.secrets.map(
      ({ entry, meta, action }): ListrTask<State> => ({
        title: `${KV_MOUNT}/${entry.path}`,
        task: async (state, task) => {
          const fields = entry.fields.map((f) => f.name);
          const id = `secret:${entry.path}`;
          const data = values.get(entry.path);
          if (action === 'keep' || data === undefined) {
            state.secrets.push({ path: entry.path, status: 'kept', fields, version: meta?.currentVersion ?? 0 });
            task.title = `${KV_MOUNT}/${entry.path}: kept (exists, version ${meta?.currentVersion ?? '?'})`;
            record(state.steps, id, 'kept', `version ${meta?.currentVersion ?? '?'}`);
            return;
          }
          const cas = action === 'overwrite' ? (meta?.currentVersion ?? 0) : 0;
          const result = await writeSecret(api, token, KV_MOUNT, entry.path, data, cas, ctx.clock);
          values.delete(entry.path);
          if (!result.written) {
            // Someone wrote it between the plan and now: theirs stays.
            state.secrets.push({ path: entry.path, status: 'kept', fields, version: 0 });
            task.title = `${KV_MOUNT}/${entry.path}: kept (written by someone else meanwhile)`;
            record(state.steps, id, 'kept', 'written concurrently');
            return;
          }
          const status: SecretStatus = action === 'overwrite' ? 'updated' : 'created';
          state.secrets.push({ path: entry.path, status, fields, version: result.version });
          task.title = `${KV_MOUNT}/${entry.path}: ${status} (${fields.join(', ')})`;
          record(state.steps, id, 'done', `${status}, version ${result.version}`);
        },
      }),
    ),
    {
      title: `Policy "${options.app}"`,
      task: async (state, task) => {
        const rules = policyRules(plan.secrets.map((s) => s.entry.path)).length;
        if (plan.policy.current === plan.policy.wanted) {
          state.policy = 'kept';
          task.title = `Policy "${options.app}" is up to date (${rules} rules)`;
          record(state.steps, 'policy', 'kept');
          return;
        }
        await api.request('PUT', `sys/policies/acl/${options.app}`, { token, body: { policy: plan.policy.wanted } });
        state.policy = plan.policy.current === undefined ? 'created' : 'updated';
        task.title = `Policy "${options.app}" ${state.policy} (${rules} rules)`;
        record(state.steps, 'policy', 'done', state.policy);
      },
    },
    {
      title: `App token for "${options.app}"`,
      task: async (state, task) => {
        const existing = plan.appToken.existing;
        if (existing !== undefined) {
          state.appToken = { status: 'kept', accessor: existing.accessor, ttl: existing.ttl, expireTime: existing.expireTime };
          task.title = `App token for "${options.app}" exists (accessor ${existing.accessor})`;
          record(state.steps, 'app-token', 'kept', existing.accessor);
          return;
        }
        // An orphan: revoking the root token (its parent) must not revoke it too.
        const res = await api.request<any>('POST', 'auth/token/create-orphan', {
          token,
          body: {
            policies: [options.app],
            no_default_policy: true,
            ttl: options.tokenTtl,
            renewable: true,
            display_name: options.app,
            meta: { [APP_META]: options.app },
          },
          ...(options.wrapTtl === undefined ? {} : { wrapTtl: options.wrapTtl }),
        });
        if (options.wrapTtl !== undefined) {
          const wrap = res.body?.wrap_info ?? {};
          minted.wrapping = String(wrap.token);
          ctx.redactor.add(minted.wrapping);
          state.appToken = { status: 'created', accessor: String(wrap.wrapped_accessor), ttl: seconds(options.tokenTtl), wrapAccessor: String(wrap.accessor) };
        } else {
          minted.token = String(res.body?.auth?.client_token);
          ctx.redactor.add(minted.token);
          state.appToken = { status: 'created', accessor: String(res.body?.auth?.accessor), ttl: Number(res.body?.auth?.lease_duration ?? 0) };
        }
        if (delivery === 'file') {
          const file = options.tokenFile as string;
          try {
            await writeAtomic(file, `${minted.wrapping ?? minted.token}\n`, { mode: 0o600, exclusive: !options.force });
          } catch (error) {
            await revokeAccessor(api, token, state.appToken.accessor);
            const code = (error as NodeJS.ErrnoException).code;
            throw new VaultSetupError(code === 'EEXIST' ? 'E_FILE_CONFLICT' : 'E_DIR_NOT_WRITABLE', `could not write --token-file ${file} (${code ?? 'error'}); the new token was revoked`, {
              hint: 'choose another path (or --force to replace the file) and re-run',
            });
          }
        }
        task.title = `App token for "${options.app}" created (accessor ${state.appToken.accessor}${options.wrapTtl === undefined ? '' : ', wrapped'})`;
        record(state.steps, 'app-token', 'done', state.appToken.accessor);
      },
    },
  ];
}

const seconds = (serverDuration: string): number => Number(serverDuration.replace(/s$/, ''));

async function revokeAccessor(api: VaultApi, token: string, accessor: string): Promise<void> {
  await api.request('POST', 'auth/token/revoke-accessor', { token, body: { accessor }, accept: [400, 403] }).catch(() => undefined);
}

// --- The root token -------------------------------------------------------------------------------------

async function retireRoot(ctx: Context, input: ConfigureInput, options: Options, plan: Plan, steps: StepRecord[]): Promise<{ data: Record<string, unknown>; human: string[] }> {
  const howToGetOne = await newRootHint(input);
  if (!plan.isRoot) {
    record(steps, 'root-token', 'skipped', 'the supplied token is not a root token');
    return { data: { status: 'not-root' }, human: ['The token you supplied is not a root token; it was left as it is.'] };
  }
  if (options.keepRoot) {
    record(steps, 'root-token', 'kept');
    const data: Record<string, unknown> = { status: 'kept' };
    const human = ['Root token: KEPT (--keep-root-token). Revoke it as soon as you are done with it: token revoke -self.'];
    if (plan.fromCeremony) {
      if (options.showToken) {
        data.token = plan.token;
        if (!ctx.output.json) human.push(`Root token: ${plan.token}`);
      } else if (ctx.output.interactive && !ctx.output.json) {
        const s = ctx.output.style;
        ctx.output.revealToTerminal(`\n${s.red('!')} The ROOT token is shown ONCE. Anyone holding it controls the server.\n\n    ${s.bold(plan.token)}\n\n`);
      }
    }
    return { data, human };
  }
  await input.api.request('POST', 'auth/token/revoke-self', { token: plan.token });
  record(steps, 'root-token', 'done', 'revoked');
  const whose = plan.fromCeremony ? 'The root token from this run' : 'The root token you supplied';
  return { data: { status: 'revoked', newRoot: howToGetOne }, human: [`${whose} was revoked.`, `  ${howToGetOne}`] };
}

/** Asks the server whether unauthenticated generate-root is open (Vault) or off (OpenBao >= 2.5.3). */
async function newRootHint(input: ConfigureInput): Promise<string> {
  const bin = input.layout.binary;
  let open = true;
  try {
    const res = await input.api.request('GET', 'sys/generate-root/attempt', { accept: [400, 403, 404, 405] });
    open = res.status === 200;
  } catch (error) {
    if (!isVaultSetupError(error)) throw error;
  }
  // OpenBao's own CLI (2.6+) only uses the token-protected sys/generate-root-token/*: useless without a token.
  return open
    ? `To get a new one when needed: ${bin} operator generate-root -init, then holders of a threshold of unseal keys each run ${bin} operator generate-root, then decode it with -decode and -otp.`
    : 'To get a new one when needed: this server refuses unauthenticated generate-root; add disable_unauthed_generate_root_endpoints = false to the listener in config/vault.hcl, restart, unseal, and follow the README ("A new root token") with a threshold of unseal keys; then remove the line again.';
}

function summaryLines(state: State, options: Options, catalog: Catalog, paths: DeploymentPaths): string {
  const by = (s: SecretStatus) => state.secrets.filter((x) => x.status === s).map((x) => x.path);
  const parts = (['created', 'updated', 'kept'] as const).map((s) => (by(s).length > 0 ? `${s}: ${by(s).join(', ')}` : undefined)).filter(Boolean);
  const audit = state.audit as NonNullable<State['audit']>;
  const n = state.secrets.length;
  return [
    `Audit: ${audit.device} -> ${audit.filePath}, on the host ${path.join(paths.logsDir, path.basename(audit.filePath))} (${audit.status}${audit.via === 'config' ? ', declared in config/vault.hcl' : ''})`,
    `Secrets engine: KV v2 at ${KV_MOUNT}/ (${state.kv})`,
    `Secrets (${catalog.source === 'built-in' ? 'built-in catalog' : catalog.source}): ${parts.join('; ')}${options.overwriteAll ? ' [--overwrite]' : ''}`,
    `Policy "${options.app}" (${state.policy}): read on ${n} path${n === 1 ? '' : 's'} under ${KV_MOUNT}/ and token self-service, nothing else`,
  ].join('\n');
}
