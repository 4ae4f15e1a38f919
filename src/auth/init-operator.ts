// `init` creates the operator login before it retires the root token, so day 2 starts with a way in that is not
// root. The password is asked before any step runs (typed twice, hidden) or read from --password-stdin; without
// either, init creates none and says in one line how to add one later.
import type { Context } from '../context.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { OPERATOR_TTL, addOperator, newPassword, operatorExists, refreshOperatorPolicy } from './operator.ts';
import { OPERATOR_POLICY } from './sign-in.ts';

export type OperatorPlan = { action: 'create'; name: string; password: string } | { action: 'skip'; name: string; reason: string; status: 'skipped' | 'kept' | 'not-created' };

export interface OperatorOptions {
  name: string;
  none: boolean;
  passwordStdin: boolean;
}

export async function planOperator(ctx: Context, api: VaultApi, token: string, options: OperatorOptions | undefined, isRoot: boolean): Promise<OperatorPlan> {
  if (options === undefined || options.none) return { action: 'skip', name: '', reason: '--no-operator', status: 'skipped' };
  const name = options.name;
  if (!isRoot) return { action: 'skip', name, reason: 'the supplied token is not a root token', status: 'skipped' };
  if (await operatorExists(api, token, name).catch(() => false)) return { action: 'skip', name, reason: 'it exists', status: 'kept' };
  if (!options.passwordStdin && !ctx.prompter.interactive) {
    return { action: 'skip', name, reason: 'no terminal to ask a password and no --password-stdin', status: 'not-created' };
  }
  return { action: 'create', name, password: await newPassword(ctx, name, options.passwordStdin) };
}

export async function applyOperator(ctx: Context, api: VaultApi, token: string, plan: OperatorPlan): Promise<{ data: Record<string, unknown>; human: string[] }> {
  if (plan.action === 'skip') {
    if (plan.status === 'not-created') {
      ctx.output.warn(`No operator login was created (${plan.reason}); add one later: vault-setup operator add ${plan.name} (with a privileged token).`);
    }
    // A kept login gets the policy this release writes (planOperator keeps one only with a root token).
    const refreshed = plan.status === 'kept' ? await refreshOperatorPolicy(api, token) : false;
    return {
      data: { status: plan.status, ...(plan.name ? { name: plan.name } : {}), reason: plan.reason, ...(plan.status === 'kept' ? { policy: refreshed ? 'updated' : 'kept' } : {}) },
      human: plan.status === 'kept' ? [`Operator login ${plan.name}: kept (policy ${OPERATOR_POLICY}${refreshed ? ', brought up to date' : ''}).`] : [],
    };
  }
  const { created } = await addOperator(api, token, plan.name, plan.password);
  return {
    data: { status: created ? 'created' : 'updated', name: plan.name, policy: OPERATOR_POLICY, token_max_ttl: OPERATOR_TTL },
    human: [`Operator login ${plan.name}: ${created ? 'created' : 'updated'} (policy ${OPERATOR_POLICY}, tokens of ${OPERATOR_TTL} at most). Day-2 commands take --operator ${plan.name}.`],
  };
}
