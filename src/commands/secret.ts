// `vault-setup secret put|list|get`: KV v2 secrets under secret/ after init. Values come from a hidden prompt,
// standard input (one field) or a named environment variable, never from argv; list shows names and field names
// only; get prints a value only when asked.
import { type DeploymentRecordFile, noteGrant, noteWritten } from '../deployment/record.ts';
import type { Context } from '../context.ts';
import { normalisePath } from '../agents/approle.ts';
import { checkSignInFlags, signIn } from '../auth/sign-in.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { KV_MOUNT } from '../config/policy.ts';
import { secretMeta, writeSecret } from '../services/kv.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { openTarget } from '../services/target.ts';
import { parseFields, parseFromEnv, readStdinText } from '../secrets/values.ts';
import { type Grantee, type PreparedGrant, applyGrant, granteeText, grantPolicy, parseGrantee, prepareGrant } from '../secrets/grant.ts';
import { bool, list, str } from '../options/flags.ts';
import type { CommandResult, Flags, Invocation } from '../invocation.ts';

const SUBCOMMANDS = ['put', 'list', 'get'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

export async function secret({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const [sub, rawPath, ...rest] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw usageError(sub === undefined ? 'say what to do: secret put|list|get' : `unknown secret command "${sub.slice(0, 40)}"`, 'vault-setup secret put PATH FIELD... | secret list [PATH] | secret get PATH [--field F]');
  }
  // Every argument is checked before a token or a value is asked for.
  const plan = planFor(sub as Sub, rawPath, rest, flags, ctx);
  const { target, api } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  try {
    const seal = await api.sealStatus();
    if (!seal.initialized || seal.sealed) {
      throw new VaultSetupError(seal.initialized ? 'E_SEALED' : 'E_NOT_INITIALIZED', `the server at ${target.address} is ${seal.initialized ? 'sealed' : 'not initialised'}`, {
        hint: seal.initialized ? 'unseal it first: vault-setup unseal' : 'run `vault-setup init` first',
      });
    }
    // A grantee the deployment's record does not know is refused before a value or a share is asked (the quorum
    // would restart an OpenBao server twice only to find no such policy). Without a record the server decides.
    if (plan.kind === 'put' && target.record !== undefined) for (const who of plan.grants) refuseUnknownGrantee(who, target.record);
    // Values are collected before the login so that stdin has one reader and a typo costs no token.
    const values = plan.kind === 'put' ? await collectValues(ctx, plan) : undefined;
    const quorum = plan.kind === 'put' && plan.quorum ? { target, fromStdin: plan.stdin } : undefined;
    await using session = await signIn(ctx, api, { tokenFile: str(flags, 'token-file'), operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), quorum, purpose: plan.kind === 'put' && plan.grants.length > 0 ? 'put a secret and grant it' : `${plan.kind} secrets` });
    switch (plan.kind) {
      case 'put': {
        // Every grant is checked (the policy is vault-setup's, the token may rewrite it) before the secret is written.
        const grants: PreparedGrant[] = [];
        for (const who of plan.grants) grants.push(await prepareGrant(api, session.token, who));
        const result = await put(ctx, api, session.token, plan, values as Record<string, string>);
        await noteWritten(target.dir, plan.path, Object.keys(values ?? {}));
        if (grants.length === 0) return result;
        return await grantAll(ctx, api, session.token, target.dir, plan.path, grants, result);
      }
      case 'list':
        return await listSecrets(api, session.token, plan.path);
      case 'get':
        return await get(ctx, api, session.token, plan);
    }
  } finally {
    api.close();
  }
}

type Plan =
  | { kind: 'put'; path: string; fields: string[]; stdin: boolean; fromEnv: Map<string, string>; overwrite: boolean; grants: Grantee[]; quorum: boolean }
  | { kind: 'list'; path: string }
  | { kind: 'get'; path: string; field: string | undefined; showValues: boolean };

function planFor(sub: Sub, rawPath: string | undefined, rest: string[], flags: Flags, ctx: Context): Plan {
  const operator = str(flags, 'operator');
  const passwordStdin = bool(flags, 'password-stdin');
  const tokenFile = str(flags, 'token-file');
  if (sub === 'list') {
    if (rest.length > 0) throw usageError(`unexpected argument "${String(rest[0]).slice(0, 40)}"`, 'secret list [PATH]');
    checkSignInFlags({ operator, passwordStdin, tokenFile });
    return { kind: 'list', path: rawPath === undefined || rawPath.replace(/\/+$/, '') === KV_MOUNT ? '' : secretPath(rawPath) };
  }
  if (rawPath === undefined) throw usageError(`secret ${sub} needs a PATH`, sub === 'put' ? 'e.g. vault-setup secret put secret/openrouter api_key' : 'e.g. vault-setup secret get secret/openrouter --field api_key');
  const path = secretPath(rawPath);
  if (sub === 'get') {
    if (rest.length > 0) throw usageError(`unexpected argument "${String(rest[0]).slice(0, 40)}"`, 'secret get PATH [--field F] [--show-values]');
    checkSignInFlags({ operator, passwordStdin, tokenFile });
    return { kind: 'get', path, field: str(flags, 'field'), showValues: bool(flags, 'show-values') };
  }
  const fields = parseFields(rest);
  const stdin = bool(flags, 'stdin');
  const quorum = bool(flags, 'quorum');
  const fromEnv = parseFromEnv(list(flags, 'from-env'), fields);
  const grants = [...new Map(list(flags, 'grant').map(parseGrantee).map((g) => [granteeText(g), g])).values()];
  const shown = `vault-setup secret put ${KV_MOUNT}/${path} ${fields.join(' ')}`;
  if (grants.length > 0 && operator !== undefined) {
    // Refused before a password, a value or a share is asked: the operator policy may write no policy.
    throw new VaultSetupError('E_USAGE', `--grant changes the policy ${grantPolicy(grants[0] as Grantee)}: a privilege change, which the operator login (--operator ${operator}) may not make`, {
      hint: `let the share holders make a token for this one command: ${shown}${grants.map((g) => ` --grant ${granteeText(g)}`).join('')} --quorum (or use a privileged token in VAULT_TOKEN)`,
    });
  }
  if (quorum && (operator !== undefined || tokenFile !== undefined)) {
    throw usageError('--quorum is a way to authenticate of its own: drop --operator and --token-file', 'the share holders make a root token for this one command');
  }
  if (quorum) {
    // With --quorum, standard input carries the shares (as on agent and operator); the values come from elsewhere.
    const asked = fields.filter((f) => !fromEnv.has(f));
    if (stdin && asked.length > 0 && !ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', `with --quorum --stdin, standard input carries the shares: no way to read the value of ${asked.join(', ')}`, {
        hint: `name an environment variable: --from-env ${asked[0]}=VAR (never FIELD=value in argv), or run in a terminal to type it hidden`,
      });
    }
    if (!stdin && !ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', 'no terminal to ask the share holders for their shares', { hint: 'pipe the shares with --stdin, one per line, and give the values with --from-env FIELD=VAR' });
    }
    if (stdin && bool(flags, 'password-stdin')) throw usageError('--stdin (the shares) and --password-stdin both read standard input');
    return { kind: 'put', path, fields, stdin, fromEnv, overwrite: bool(flags, 'overwrite'), grants, quorum };
  }
  if (stdin && fields.length - fromEnv.size !== 1) {
    throw usageError('--stdin gives the value of exactly one field', 'put one field per run from standard input, or give the others with --from-env FIELD=VAR');
  }
  if (stdin && ctx.stdin.isTTY === true) {
    throw new VaultSetupError('E_USAGE', '--stdin reads a pipe, but standard input is a terminal (the value would be echoed)', { hint: 'drop --stdin to be asked with hidden input' });
  }
  checkSignInFlags({ operator, passwordStdin, tokenFile, ...(stdin ? { stdinTaken: '--stdin' } : {}) });
  const asked = fields.filter((f) => !fromEnv.has(f));
  if (!stdin && asked.length > 0 && !ctx.prompter.interactive) {
    throw new VaultSetupError('E_NEEDS_ANSWER', `no terminal to ask the value of ${asked.join(', ')}`, {
      hint: `pipe one value with --stdin, or name an environment variable: --from-env ${asked[0]}=VAR (never FIELD=value in argv)`,
    });
  }
  return { kind: 'put', path, fields, stdin, fromEnv, overwrite: bool(flags, 'overwrite'), grants, quorum };
}

function secretPath(raw: string): string {
  try {
    return normalisePath(raw);
  } catch {
    throw usageError(`"${raw.slice(0, 60)}" is not a secret path under ${KV_MOUNT}/`, `use paths like ${KV_MOUNT}/openrouter or ${KV_MOUNT}/team/api (letters, digits, ".", "-", "_")`);
  }
}

async function collectValues(ctx: Context, plan: Extract<Plan, { kind: 'put' }>): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const [field, variable] of plan.fromEnv) {
    const value = ctx.env[variable];
    if (value === undefined || value.length === 0) throw usageError(`--from-env ${field}=${variable}: the variable ${variable} is ${value === undefined ? 'not set' : 'empty'}`, `export ${variable} first (e.g. read -rs ${variable}; export ${variable})`);
    ctx.redactor.add(value);
    values[field] = value;
  }
  for (const field of plan.fields.filter((f) => !plan.fromEnv.has(f))) {
    let value: string;
    if (plan.stdin && !plan.quorum) {
      value = await readStdinText(ctx.stdin, `the value of ${field} on standard input`);
      if (value.length === 0) throw usageError(`standard input held no value for ${field}`, `pipe the value in: ... | vault-setup secret put ${KV_MOUNT}/${plan.path} ${field} --stdin`);
    } else {
      const first = await ctx.prompter.secret(`Value of ${field} for ${KV_MOUNT}/${plan.path} (input hidden)`, { validate: (v) => (v.length > 0 ? true : 'a value is needed') });
      ctx.redactor.add(first);
      const again = await ctx.prompter.secret(`Value of ${field} again, to confirm (input hidden)`);
      if (again !== first) throw new VaultSetupError('E_USAGE', `the two values typed for ${field} differ; nothing was written`, { hint: 'run the command again' });
      value = first;
    }
    ctx.redactor.add(value);
    values[field] = value;
  }
  return values;
}

async function put(ctx: Context, api: VaultApi, token: string, plan: Extract<Plan, { kind: 'put' }>, values: Record<string, string>): Promise<CommandResult> {
  const meta = await secretMeta(api, token, KV_MOUNT, plan.path, ctx.clock);
  const full = `${KV_MOUNT}/${plan.path}`;
  if (meta !== undefined && !meta.currentDeleted && !plan.overwrite) {
    throw new VaultSetupError('E_USAGE', `${full} already exists (version ${meta.currentVersion}); nothing was written`, { hint: `to replace the fields given (the others are kept), add --overwrite` });
  }
  const cas = plan.overwrite && meta !== undefined ? meta.currentVersion : 0;
  // --overwrite replaces the fields given and keeps the others: a new password must not drop the host beside it.
  const kept = cas === 0 || meta?.currentDeleted === true ? {} : await currentFields(ctx, api, token, plan.path, meta?.currentVersion ?? 0);
  for (const field of Object.keys(values)) delete kept[field];
  const result = await writeSecret(api, token, KV_MOUNT, plan.path, { ...kept, ...values }, cas, ctx.clock);
  if (!result.written) {
    throw new VaultSetupError('E_USAGE', `${full} was written by someone else meanwhile; nothing was written`, { hint: 'look at it with `vault-setup secret get`, then run the command again' });
  }
  const fields = Object.keys(values);
  const keptNames = Object.keys(kept);
  return {
    data: { path: full, fields, kept: keptNames, version: result.version, created: cas === 0 },
    human: `${cas === 0 ? 'Created' : 'Replaced'} ${full} (version ${result.version}): ${fields.join(', ')}${keptNames.length > 0 ? `; kept: ${keptNames.join(', ')}` : ''}`,
  };
}

/** The fields of the version being replaced (values stay in memory and are registered with the redactor). */
async function currentFields(ctx: Context, api: VaultApi, token: string, path: string, version: number): Promise<Record<string, unknown>> {
  const res = await api.request<any>('GET', `${KV_MOUNT}/data/${path}?version=${version}`, { token, accept: [404] });
  const data = res.status === 200 && typeof res.body?.data?.data === 'object' && res.body.data.data !== null ? (res.body.data.data as Record<string, unknown>) : {};
  for (const v of Object.values(data)) ctx.redactor.add(typeof v === 'string' ? v : JSON.stringify(v));
  return { ...data };
}

function refuseUnknownGrantee(who: Grantee, record: DeploymentRecordFile): void {
  const known = who.kind === 'app' ? record.app === who.name : record.agents.includes(who.name);
  if (known) return;
  const has = [record.app === null ? undefined : `app ${record.app}`, record.agents.length > 0 ? `agents ${record.agents.join(', ')}` : 'no agents'].filter(Boolean).join('; ');
  throw new VaultSetupError('E_USAGE', `--grant ${granteeText(who)}: this deployment has no ${who.kind} ${who.name} (${has}); nothing was asked or written`, {
    hint: who.kind === 'agent' ? `create it first: vault-setup agent add ${who.name} --secret ${KV_MOUNT}/PATH --quorum (an agent made with --addr is not in this directory's record: add it again with --dir)` : `the app's policy is the one init made: --grant ${record.app ?? 'APP'}`,
  });
}

/** Adds the secret's path to each policy, then notes each grant in the record so init and `agent add` keep it. */
async function grantAll(ctx: Context, api: VaultApi, token: string, dir: string | undefined, key: string, grants: PreparedGrant[], written: CommandResult): Promise<CommandResult> {
  const done: { to: string; policy: string; status: 'added' | 'present'; recorded: boolean }[] = [];
  for (const grant of grants) {
    let added: boolean;
    try {
      added = await applyGrant(api, token, grant, key);
    } catch (error) {
      // The secret is written; say so, and how to finish the grant.
      const why = error instanceof Error ? error.message : String(error);
      throw new VaultSetupError(error instanceof VaultSetupError ? error.code : 'E_SERVER', `${KV_MOUNT}/${key} was written, but the policy ${grant.policy} was not changed: ${why}`, {
        hint: `finish the grant: vault-setup secret put ${KV_MOUNT}/${key} FIELD... --overwrite --grant ${granteeText(grant.who)} --quorum`,
        cause: error,
      });
    }
    const recorded = await noteGrant(dir, grant.who, key);
    done.push({ to: granteeText(grant.who), policy: grant.policy, status: added ? 'added' : 'present', recorded });
  }
  const unrecorded = done.filter((g) => !g.recorded);
  if (unrecorded.length > 0) {
    ctx.output.warn(`No deployment record (vault-setup.json) to keep the grant in: a later \`vault-setup init\` or \`agent add\` renders ${unrecorded.map((g) => g.policy).join(', ')} without ${KV_MOUNT}/${key}.`);
  }
  const lines = done.map((g) => `${g.status === 'added' ? 'Granted' : 'Already granted'}: ${g.to} reads ${KV_MOUNT}/${key} (policy ${g.policy})`);
  return { data: { ...(written.data as Record<string, unknown>), grants: done }, human: [written.human, ...lines].join('\n') };
}

interface Listed {
  path: string;
  fields: string[];
  version: number;
}

async function listSecrets(api: VaultApi, token: string, base: string): Promise<CommandResult> {
  const found: Listed[] = [];
  // A path that is itself a secret is listed alone; otherwise the folder is walked.
  const own = await readFields(api, token, base);
  if (own !== undefined) found.push(own);
  const queue = base === '' ? [''] : [`${base}/`];
  while (queue.length > 0 && found.length < 10_000) {
    const folder = queue.shift() as string;
    const res = await api.request<any>('LIST', `${KV_MOUNT}/metadata/${folder}`, { token, accept: [404] });
    if (res.status === 404) continue;
    for (const key of (res.body?.data?.keys ?? []) as string[]) {
      if (key.endsWith('/')) queue.push(`${folder}${key}`);
      else {
        const entry = await readFields(api, token, `${folder}${key}`);
        found.push(entry ?? { path: `${KV_MOUNT}/${folder}${key}`, fields: [], version: 0 });
      }
    }
  }
  found.sort((a, b) => a.path.localeCompare(b.path));
  if (found.length === 0 && base !== '') throw new VaultSetupError('E_NOT_FOUND', `there is nothing at ${KV_MOUNT}/${base}`, { hint: 'see all paths with `vault-setup secret list`' });
  const human = found.length === 0 ? `No secrets under ${KV_MOUNT}/ yet: vault-setup secret put ${KV_MOUNT}/PATH FIELD` : found.map((s) => `${s.path}  ${s.fields.length > 0 ? s.fields.join(', ') : '(deleted)'}`).join('\n');
  return { data: { secrets: found }, human };
}

/** The field names of a secret; the values are read (KV has no other way) and dropped at once. */
async function readFields(api: VaultApi, token: string, key: string): Promise<Listed | undefined> {
  if (key === '') return undefined;
  const res = await api.request<any>('GET', `${KV_MOUNT}/data/${key}`, { token, accept: [404] });
  if (res.status === 404 || res.body?.data === undefined) return undefined;
  return { path: `${KV_MOUNT}/${key}`, fields: Object.keys(res.body.data.data ?? {}).sort(), version: Number(res.body.data.metadata?.version ?? 0) };
}

async function get(ctx: Context, api: VaultApi, token: string, plan: Extract<Plan, { kind: 'get' }>): Promise<CommandResult> {
  const full = `${KV_MOUNT}/${plan.path}`;
  const res = await api.request<any>('GET', `${KV_MOUNT}/data/${plan.path}`, { token, accept: [404] });
  const data = res.status === 404 ? undefined : (res.body?.data?.data as Record<string, string> | null | undefined);
  if (data === undefined || data === null) throw new VaultSetupError('E_NOT_FOUND', `there is no secret at ${full}`, { hint: 'see the paths with `vault-setup secret list`' });
  for (const v of Object.values(data)) ctx.redactor.add(String(v));
  const fields = Object.keys(data).sort();
  const version = Number(res.body?.data?.metadata?.version ?? 0);
  if (plan.field !== undefined) {
    if (!Object.hasOwn(data, plan.field)) throw new VaultSetupError('E_NOT_FOUND', `${full} has no field ${plan.field}`, { hint: `its fields: ${fields.join(', ')}` });
    const value = String(data[plan.field]);
    // The value alone, byte for byte, with one line break (as `vault kv get -field` prints it).
    if (!ctx.output.json) ctx.output.revealToStdout(`${value}\n`);
    return { data: { path: full, version, field: plan.field, value } };
  }
  if (plan.showValues) {
    const shown = Object.fromEntries(fields.map((f) => [f, String(data[f])]));
    if (!ctx.output.json) ctx.output.revealToStdout(`${fields.map((f) => `${f}=${shown[f]}`).join('\n')}\n`);
    return { data: { path: full, version, fields, data: shown } };
  }
  ctx.output.info(`Values are not shown: add --field F for one value, or --show-values for all.`);
  return { data: { path: full, version, fields }, human: `${full} (version ${version}): ${fields.join(', ')}` };
}
