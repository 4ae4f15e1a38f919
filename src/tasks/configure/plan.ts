// init, third phase, step one: read what the server holds and decide every write before the first one; a token
// that cannot do every step is refused here, before anything is changed.
import type { Context } from '../../context.ts';
import type { Catalog, CatalogEntry } from '../../config/catalog.ts';
import { KV_MOUNT, renderPolicy } from '../../config/policy.ts';
import { VaultSetupError } from '../../errors.ts';
import { readIfExists } from '../../services/files.ts';
import { type MountState, type SecretMeta, kvMountState, secretMeta } from '../../services/kv.ts';
import { obtainToken } from '../../services/token.ts';
import type { VaultApi } from '../../services/vault-api.ts';
import type { PhaseInput } from '../listr.ts';

export interface ConfigureInput extends PhaseInput {
  /** The root token from this run's ceremony (memory only), else the phase asks for a privileged token. */
  rootToken?: string | undefined;
  options: ConfigureOptions;
  /** The catalog init loaded while checking its options; loaded from options.catalogFile when absent. */
  catalog?: Catalog | undefined;
  /** A root token the share holders made for this run (--quorum): revoked when init ends. */
  quorumToken?: string | undefined;
  /** Paths `secret put --grant APP` added to the app's policy (vault-setup.json): rendered again, not taken away. */
  granted?: string[] | undefined;
}

/** Marks the app tokens vault-setup issues, so a re-run finds a live one instead of minting another. */
export const APP_META = 'vault-setup-app';

/** configure's options, as init parsed them. */
import type { OperatorOptions } from '../../auth/init-operator.ts';

export interface ConfigureOptions {
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
  /** The operator login init creates before retiring root (absent: none asked for). */
  operator?: OperatorOptions;
}

export type SecretAction = 'create' | 'keep' | 'overwrite';
export type SecretStatus = 'created' | 'kept' | 'updated' | 'skipped';
export type TokenDelivery = 'file' | 'result' | 'terminal';

interface AppTokenInfo {
  accessor: string;
  ttl: number;
  expireTime: string | undefined;
}

export interface Plan {
  token: string;
  fromCeremony: boolean;
  fromQuorum: boolean;
  isRoot: boolean;
  kv: MountState;
  /** declared: config/vault.hcl has an audit stanza (servers that refuse API creation need one). */
  audit: { existing: { path: string; filePath: string } | undefined; filePath: string; declared: boolean };
  secrets: { entry: CatalogEntry; meta: SecretMeta | undefined; action: SecretAction }[];
  policy: { current: string | undefined; wanted: string; paths: string[] };
  appToken: { existing: AppTokenInfo | undefined; checked: boolean };
}

async function privilegedToken(ctx: Context, input: ConfigureInput): Promise<{ token: string; fromCeremony: boolean; fromQuorum?: boolean }> {
  if (input.rootToken !== undefined) {
    ctx.redactor.add(input.rootToken);
    return { token: input.rootToken, fromCeremony: true };
  }
  if (input.quorumToken !== undefined) return { token: input.quorumToken, fromCeremony: false, fromQuorum: true };
  const supplied = ctx.env.BAO_TOKEN ?? ctx.env.VAULT_TOKEN;
  if ((supplied === undefined || supplied.trim() === '') && !ctx.prompter.interactive) {
    // Not obtainToken's hint: `init` reads no token from a file (--app-token-file is where the APP token goes).
    throw new VaultSetupError('E_AUTH', 'the server is initialised already: configuring it needs a privileged token', {
      hint: `let the share holders make a root token for this run: vault-setup init --dir ${input.paths.dir} --quorum (shares typed hidden, or --stdin); or set VAULT_TOKEN (or BAO_TOKEN) to a root or admin token`,
    });
  }
  return { token: await obtainToken(ctx, { purpose: 'configure the server (root or admin)' }), fromCeremony: false };
}

export async function makePlan(ctx: Context, input: ConfigureInput, options: ConfigureOptions, catalog: Catalog): Promise<Plan> {
  const { api } = input;
  const { token, fromCeremony, fromQuorum = false } = await privilegedToken(ctx, input);
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
  const paths = [...new Set([...catalog.entries.map((e) => e.path), ...(input.granted ?? [])])].sort();
  const wanted = renderPolicy(options.app, paths);

  const existing = await findAppToken(api, token, options.app);
  return {
    token,
    fromCeremony,
    fromQuorum,
    isRoot,
    kv,
    audit: { existing: found === undefined ? undefined : { path: found[0], filePath }, filePath, declared: /^\s*audit\s+"file"/m.test((await readIfExists(input.paths.config)) ?? '') },
    secrets,
    policy: { current, wanted, paths },
    appToken: existing,
  };
}

/** A non-root token must be able to do every step, checked before the first write. */
export async function checkCapabilities(api: VaultApi, token: string, options: ConfigureOptions, catalog: Catalog): Promise<void> {
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
      hint: 'use the root token or an admin token (see docs/commands/init.md: "Resuming, re-running"); nothing was changed',
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
