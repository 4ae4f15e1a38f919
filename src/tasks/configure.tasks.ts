// init, third phase (playbook steps 9 to 12, done the way a reviewer signs off): audit on, KV v2 at secret/,
// seeded secrets (create-only), a least-privilege policy and app token, the root token retired.
// Order: plan (configure/plan.ts: read the server, decide), ask (configure/ask.ts: every answer), write (this task
// list), reveal (configure/reveal.ts: tokens shown once the renderer has stopped).
import type { ListrTask } from 'listr2';
import { applyOperator, planOperator } from '../auth/init-operator.ts';
import type { Context } from '../context.ts';
import { type Catalog, loadCatalog } from '../config/catalog.ts';
import { KV_MOUNT, policyRules } from '../config/policy.ts';
import { VaultSetupError } from '../errors.ts';
import { writeAtomic } from '../services/files.ts';
import { enableKv2, writeSecret } from '../services/kv.ts';
import { type VaultApi, serverErrors } from '../services/vault-api.ts';
import { chooseDelivery, checkRootDisplay, resolveValues } from './configure/ask.ts';
import { APP_META, type ConfigureInput, type ConfigureOptions, type Plan, type SecretStatus, type TokenDelivery, makePlan } from './configure/plan.ts';
import { retireRoot, revealAppToken, seconds, summaryLines } from './configure/reveal.ts';
import type { ConfigureState } from './configure/state.ts';
import { type StepRecord, runTasks, step } from './listr.ts';

export { APP_META, type ConfigureInput, type ConfigureOptions } from './configure/plan.ts';
export { checkBeforeInit } from './configure/ask.ts';

export interface ConfigureOutcome {
  steps: StepRecord[];
  data: Record<string, unknown>;
  human: string[];
  /** Catalog fields the operator skipped in this run ("path.field"), for the deployment record. */
  skipped: string[];
}

export async function configurePhase(ctx: Context, input: ConfigureInput): Promise<ConfigureOutcome> {
  const options = input.options;
  const catalog = input.catalog ?? (await loadCatalog(options.catalogFile));
  const plan = await makePlan(ctx, input, options, catalog);
  const delivery = plan.appToken.existing === undefined ? await chooseDelivery(ctx, options) : undefined;
  checkRootDisplay(ctx, options, plan);
  const operator = await planOperator(ctx, input.api, plan.token, options.operator, plan.isRoot);
  const { values, skipped } = await resolveValues(ctx, plan.secrets.filter((s) => s.action !== 'keep').map((s) => s.entry), catalog);

  const state: ConfigureState = { steps: [], secrets: [] };
  // Held outside the listr state so no renderer or error path ever serialises it.
  const minted: { token?: string; wrapping?: string } = {};
  try {
    await runTasks(ctx, configureTasks(ctx, { input, options, plan, values, delivery, minted }), state);
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
    skippedFields: skipped,
    policy: { name: options.app, status: state.policy, paths: plan.policy.paths },
  };
  const human: string[] = [summaryLines(state, options, catalog, input.paths, plan.policy.paths)];
  if (skipped.length > 0) human.push(...skippedLines(state, catalog));

  data.appToken = revealAppToken(ctx, state, options, delivery, minted, human);
  minted.token = undefined;
  minted.wrapping = undefined;

  const operatorOutcome = await applyOperator(ctx, input.api, plan.token, operator);
  data.operator = operatorOutcome.data;
  human.push(...operatorOutcome.human);
  // The root token last: nothing above needs it any more.
  const root = await retireRoot(ctx, input, options, plan, state.steps);
  data.rootToken = root.data;
  human.push(...root.human);
  return { steps: state.steps, data, human, skipped };
}

/** Each path with a skipped field and the one command that writes it later (names only, never a value). */
function skippedLines(state: ConfigureState, catalog: Catalog): string[] {
  const lines = state.secrets.flatMap((s) => {
    const entry = catalog.entries.find((e) => e.path === s.path);
    const all = entry?.fields.map((f) => f.name) ?? [];
    if (s.status === 'skipped') return [`  vault-setup secret put ${KV_MOUNT}/${s.path} ${all.join(' ')}`];
    if (s.status !== 'kept' && s.fields.length < all.length) return [`  vault-setup secret put ${KV_MOUNT}/${s.path} ${all.join(' ')} --overwrite   (all its fields again; skipped: ${all.filter((f) => !s.fields.includes(f)).join(', ')})`];
    return [];
  });
  return ['Skipped fields (recorded in vault-setup.json; verify warns until they are written):', ...lines];
}

/** Everything the writes work from, decided before the list starts. */
export interface ConfigureRun {
  input: ConfigureInput;
  options: ConfigureOptions;
  plan: Plan;
  /** Secret values by path, deleted as each is written. */
  values: Map<string, Record<string, string>>;
  delivery: TokenDelivery | undefined;
  /** Held outside the listr state so no renderer or error path ever serialises it. */
  minted: { token?: string; wrapping?: string };
}

export function configureTasks(ctx: Context, run: ConfigureRun): ListrTask<ConfigureState>[] {
  const { input, options, plan, values, delivery, minted } = run;
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
          step(state.steps, task).kept('audit', `Audit device ${plan.audit.existing.path} writes ${filePath}`, `${plan.audit.existing.path} -> ${filePath}`);
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
        step(state.steps, task).done('audit', `Audit device file/ enabled: ${filePath}`, `file/ -> ${filePath}`);
      },
    },
    {
      title: `KV v2 at ${KV_MOUNT}/`,
      task: async (state, task) => {
        if (plan.kv.state === 'kv2') {
          state.kv = 'kept';
          step(state.steps, task).kept('kv', `KV v2 at ${KV_MOUNT}/ is enabled`);
          return;
        }
        await enableKv2(api, token, KV_MOUNT);
        state.kv = 'created';
        step(state.steps, task).done('kv', `KV v2 enabled at ${KV_MOUNT}/`, 'created');
      },
    },
    ...plan.secrets.map(
      ({ entry, meta, action }): ListrTask<ConfigureState> => ({
        title: `${KV_MOUNT}/${entry.path}`,
        task: async (state, task) => {
          const fields = entry.fields.map((f) => f.name);
          const id = `secret:${entry.path}`;
          const data = values.get(entry.path);
          if (action !== 'keep' && data === undefined) {
            // Every field of it was skipped at the prompt: nothing to write, and nothing pretends it exists.
            state.secrets.push({ path: entry.path, status: 'skipped', fields: [], version: meta?.currentVersion ?? 0 });
            step(state.steps, task).kept(id, `${KV_MOUNT}/${entry.path}: skipped (no value given)`, 'skipped');
            return;
          }
          if (action === 'keep' || data === undefined) {
            state.secrets.push({ path: entry.path, status: 'kept', fields, version: meta?.currentVersion ?? 0 });
            step(state.steps, task).kept(id, `${KV_MOUNT}/${entry.path}: kept (exists, version ${meta?.currentVersion ?? '?'})`, `version ${meta?.currentVersion ?? '?'}`);
            return;
          }
          const cas = action === 'overwrite' ? (meta?.currentVersion ?? 0) : 0;
          const result = await writeSecret(api, token, KV_MOUNT, entry.path, data, cas, ctx.clock);
          values.delete(entry.path);
          if (!result.written) {
            // Someone wrote it between the plan and now: theirs stays.
            state.secrets.push({ path: entry.path, status: 'kept', fields, version: 0 });
            step(state.steps, task).kept(id, `${KV_MOUNT}/${entry.path}: kept (written by someone else meanwhile)`, 'written concurrently');
            return;
          }
          const status: SecretStatus = action === 'overwrite' ? 'updated' : 'created';
          const written = fields.filter((f) => Object.hasOwn(data, f));
          state.secrets.push({ path: entry.path, status, fields: written, version: result.version });
          const left = fields.length - written.length;
          step(state.steps, task).done(id, `${KV_MOUNT}/${entry.path}: ${status} (${written.join(', ')}${left > 0 ? `; ${left} skipped` : ''})`, `${status}, version ${result.version}`);
        },
      }),
    ),
    {
      title: `Policy "${options.app}"`,
      task: async (state, task) => {
        const rules = policyRules(plan.policy.paths).length;
        if (plan.policy.current === plan.policy.wanted) {
          state.policy = 'kept';
          step(state.steps, task).kept('policy', `Policy "${options.app}" is up to date (${rules} rules)`);
          return;
        }
        await api.request('PUT', `sys/policies/acl/${options.app}`, { token, body: { policy: plan.policy.wanted } });
        state.policy = plan.policy.current === undefined ? 'created' : 'updated';
        step(state.steps, task).done('policy', `Policy "${options.app}" ${state.policy} (${rules} rules)`, state.policy);
      },
    },
    {
      title: `App token for "${options.app}"`,
      task: async (state, task) => {
        const existing = plan.appToken.existing;
        if (existing !== undefined) {
          state.appToken = { status: 'kept', accessor: existing.accessor, ttl: existing.ttl, expireTime: existing.expireTime };
          step(state.steps, task).kept('app-token', `App token for "${options.app}" exists (accessor ${existing.accessor})`, existing.accessor);
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
            throw new VaultSetupError(code === 'EEXIST' ? 'E_FILE_CONFLICT' : 'E_DIR_NOT_WRITABLE', `could not write --app-token-file ${file} (${code ?? 'error'}); the new token was revoked`, {
              hint: 'choose another path (or --force to replace the file) and re-run',
            });
          }
        }
        step(state.steps, task).done('app-token', `App token for "${options.app}" created (accessor ${state.appToken.accessor}${options.wrapTtl === undefined ? '' : ', wrapped'})`, state.appToken.accessor);
      },
    },
  ];
}

async function revokeAccessor(api: VaultApi, token: string, accessor: string): Promise<void> {
  await api.request('POST', 'auth/token/revoke-accessor', { token, body: { accessor }, accept: [400, 403] }).catch(() => undefined);
}
