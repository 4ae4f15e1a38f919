// init, third phase, last step: what is shown once the task list has stopped rendering. The app token (once, on
// the terminal, in the result or already in its file), the root token retired (or kept and shown), the summary.
import path from 'node:path';
import type { Context } from '../../context.ts';
import { type Catalog, NO_CATALOG } from '../../config/catalog.ts';
import { KV_MOUNT } from '../../config/policy.ts';
import type { DeploymentPaths } from '../../deployment.ts';
import { type StepRecord, record } from '../listr.ts';
import type { ConfigureInput, ConfigureOptions, Plan, SecretStatus, TokenDelivery } from './plan.ts';
import type { ConfigureState } from './state.ts';

export const seconds = (serverDuration: string): number => Number(serverDuration.replace(/s$/, ''));

/** The app token's member of the result and its lines for people; a new one is shown now, exactly once. */
export function revealAppToken(
  ctx: Context,
  state: ConfigureState,
  options: ConfigureOptions,
  delivery: TokenDelivery | undefined,
  minted: { token?: string; wrapping?: string },
  human: string[],
): Record<string, unknown> {
  // The app token: shown once now the renderer is done, or in the result, or already in its file.
  const app = state.appToken as NonNullable<ConfigureState['appToken']>;
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
  return appData;
}

export async function retireRoot(ctx: Context, input: ConfigureInput, options: ConfigureOptions, plan: Plan, steps: StepRecord[]): Promise<{ data: Record<string, unknown>; human: string[] }> {
  const howToGetOne = NEW_ROOT_HINT;
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
  const whose = plan.fromCeremony ? 'The root token from this run' : plan.fromQuorum ? 'The root token the share holders made for this run' : 'The root token you supplied';
  return { data: { status: 'revoked', newRoot: howToGetOne }, human: [`${whose} was revoked.`, `  ${howToGetOne}`] };
}

/** One short line: the command that makes a new root token from the shares, on either server. */
const NEW_ROOT_HINT = 'To get a new one when needed: vault-setup generate-root, with a threshold of unseal shares (docs/day2.md).';

/** `policyPaths`: every path the app's policy reads (the catalog's and those granted with `secret put --grant`). */
export function summaryLines(state: ConfigureState, options: ConfigureOptions, catalog: Catalog, paths: DeploymentPaths, policyPaths: string[]): string {
  const by = (s: SecretStatus) => state.secrets.filter((x) => x.status === s).map((x) => x.path);
  const parts = (['created', 'updated', 'kept', 'skipped'] as const).map((s) => (by(s).length > 0 ? `${s}: ${by(s).join(', ')}` : undefined)).filter(Boolean);
  const audit = state.audit as NonNullable<ConfigureState['audit']>;
  const n = policyPaths.length;
  return [
    `Audit: ${audit.device} -> ${audit.filePath}, on the host ${path.join(paths.logsDir, path.basename(audit.filePath))} (${audit.status}${audit.via === 'config' ? ', declared in config/vault.hcl' : ''})`,
    `Secrets engine: KV v2 at ${KV_MOUNT}/ (${state.kv})`,
    catalog.source === NO_CATALOG
      ? 'Secrets: none seeded (--secrets none)'
      : `Secrets (${catalog.source === 'built-in' ? 'built-in catalog' : catalog.source}): ${parts.join('; ')}${options.overwriteAll ? ' [--overwrite]' : ''}`,
    n === 0
      ? `Policy "${options.app}" (${state.policy}): token self-service only, nothing under ${KV_MOUNT}/`
      : `Policy "${options.app}" (${state.policy}): read on ${n} path${n === 1 ? '' : 's'} under ${KV_MOUNT}/ and token self-service, nothing else`,
  ].join('\n');
}
