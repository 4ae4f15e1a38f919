// `vault-setup agent add|list|rotate|remove`: AppRole credentials for apps and AI agents.
// The agent reads exactly its own KV paths; the operator hands it a role_id and a wrapped secret_id.
import path from 'node:path';
import type { Context } from '../context.ts';
import {
  type IssuedSecretId,
  type RoleSettings,
  destroyAccessor,
  ensureApprole,
  issueSecretId,
  listAccessors,
  listAgents,
  normalisePath,
  policyName,
  readRoleId,
  removeAgent,
  roleExists,
  validateCidr,
  validateName,
  writeAgent,
  MOUNT,
} from '../agents/approle.ts';
import { prepareOutDir, writeCredentials } from '../agents/deliver.ts';
import { missingSecrets, missingWarning } from '../agents/missing-paths.ts';
import { withComposeSnippet } from '../agents/compose-snippet.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { grantedPaths, noteAgent } from '../deployment/record.ts';
import { refuseSymlink } from '../services/files.ts';
import { signIn } from '../auth/sign-in.ts';
import { type Target, openTarget, requireUnsealed } from '../services/target.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { toServerDuration } from '../services/wait.ts';
import { bool, duration, int, list, str } from '../options/flags.ts';
import type { CommandResult, Flags, Invocation } from '../invocation.ts';
import { ROLE_DEFAULTS, type SettingKey, checkTtls, mergeSettings, readRoleSettings } from '../agents/role-settings.ts';

const SUBCOMMANDS = ['add', 'list', 'rotate', 'remove'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

export async function agent({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const [sub, name, ...extra] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw usageError(sub === undefined ? 'say what to do: agent add|list|rotate|remove' : `unknown agent command "${sub}"`, 'vault-setup agent add NAME --secret secret/PATH | agent list | agent rotate NAME | agent remove NAME');
  }
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`, 'give one agent NAME; list several paths as --secret a,b');
  const agentName = sub === 'list' ? undefined : validateName(name);
  // Every flag is checked before a token is asked for or the server is touched.
  const plan = sub === 'add' ? addPlan(flags) : undefined;
  const delivery = sub === 'add' || sub === 'rotate' ? deliveryPlan(flags) : undefined;
  // A linked --out-dir is refused before the role is written, not after.
  if (delivery?.outDir !== undefined) await refuseSymlink(path.resolve(delivery.outDir));

  using open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const { target, api } = open;
  await using session = await signIn(ctx, api, { tokenFile: str(flags, 'token-file'), operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), quorum: bool(flags, 'quorum') ? { target, fromStdin: bool(flags, 'stdin') } : undefined, purpose: 'manage agents (AppRole)' });
  const token = session.token;
  const seal = await api.sealStatus();
  requireUnsealed(seal, target.address);
  switch (sub as Sub) {
    case 'list':
      return await listCommand(ctx, api, token);
    case 'remove':
      return await privilegeChange(session.via, () => removeCommand(ctx, api, token, agentName as string)).then(async (r) => (await noteAgent(target.dir, agentName as string, undefined), r));
    case 'add':
    case 'rotate': {
      // Paths `secret put --grant agent:NAME` added stay in the policy this run renders.
      const granted = grantedPaths(target.record, { kind: 'agent', name: agentName as string });
      const issue = () => issueCommand(ctx, api, token, sub as 'add' | 'rotate', agentName as string, plan, delivery as Delivery, bool(flags, 'revoke-old'), granted);
      const result = await withComposeSnippet(await (sub === 'add' ? privilegeChange(session.via, issue) : issue()), agentName as string, sub === 'add' ? target.dir : undefined);
      if (plan !== undefined) await noteAgent(target.dir, agentName as string, plan.keys);
      return withClusterNodes(result, target);
    }
  }
}

interface AddPlan {
  keys: string[];
  settings: RoleSettings;
  /** The settings given on this run's command line; the others keep an existing role's values. */
  given: Set<SettingKey>;
}

function addPlan(flags: Flags): AddPlan {
  const raw = list(flags, 'secret');
  if (raw.length === 0) throw usageError('agent add needs --secret PATH[,PATH...]: the KV paths the agent may read', 'e.g. --secret secret/openrouter,secret/github');
  const keys = [...new Set(raw.map(normalisePath))];
  const tokenTtl = duration(flags, 'token-ttl', ROLE_DEFAULTS.tokenTtl);
  const tokenMaxTtl = duration(flags, 'token-max-ttl', ROLE_DEFAULTS.tokenMaxTtl);
  if (tokenTtl > tokenMaxTtl) throw usageError('--token-ttl is longer than --token-max-ttl', 'the maximum bounds every renewal: make it at least the TTL');
  return {
    keys,
    settings: {
      tokenTtl: toServerDuration(tokenTtl),
      tokenMaxTtl: toServerDuration(tokenMaxTtl),
      secretIdTtl: toServerDuration(duration(flags, 'secret-id-ttl', ROLE_DEFAULTS.secretIdTtl)),
      secretIdUses: int(flags, 'secret-id-uses', ROLE_DEFAULTS.secretIdUses, { min: 0, max: 1_000_000 }),
      cidrs: list(flags, 'cidr').map(validateCidr),
    },
    given: new Set(([['token-ttl', 'tokenTtl'], ['token-max-ttl', 'tokenMaxTtl'], ['secret-id-ttl', 'secretIdTtl'], ['secret-id-uses', 'secretIdUses'], ['cidr', 'cidrs']] as const).filter(([flag]) => flags[flag] !== undefined).map(([, key]) => key)),
  };
}

interface Delivery {
  wrapTtl: string;
  outDir: string | undefined;
  force: boolean;
}

function deliveryPlan(flags: Flags): Delivery {
  return { wrapTtl: toServerDuration(duration(flags, 'wrap-ttl', '10m')), outDir: str(flags, 'out-dir'), force: bool(flags, 'force') };
}

async function issueCommand(ctx: Context, api: VaultApi, token: string, sub: 'add' | 'rotate', agent: string, plan: AddPlan | undefined, delivery: Delivery, revokeOld: boolean, granted: string[]): Promise<CommandResult> {
  const policy = policyName(agent);
  let approle: 'enabled' | 'present' | undefined;
  let existed: boolean;
  let changes: string[] | undefined;
  let missing: string[] | undefined;
  if (plan !== undefined) {
    approle = await ensureApprole(api, token);
    existed = await roleExists(api, token, agent);
    const merged = mergeSettings(existed ? await readRoleSettings(api, token, agent) : undefined, plan.settings, plan.given);
    if (merged.settings.tokenTtl !== plan.settings.tokenTtl || merged.settings.tokenMaxTtl !== plan.settings.tokenMaxTtl) checkTtls(merged.settings);
    const kept = granted.filter((k) => !plan.keys.includes(k));
    await writeAgent(api, token, agent, [...plan.keys, ...kept], merged.settings);
    if (kept.length > 0) ctx.output.info(`Kept in the policy, granted by \`secret put --grant agent:${agent}\`: ${kept.map((k) => `secret/${k}`).join(', ')}.`);
    if (existed) ctx.output.info(merged.changes.length === 0 ? 'Role settings unchanged (flags not given keep their earlier values).' : `Role settings changed: ${merged.changes.join('; ')}.`);
    changes = merged.changes;
    if (plan.settings.cidrs.some((c) => /^(127\.|::1(\/|$))/.test(c))) {
      ctx.output.warn('Note: containers reach the server through its unix socket, which carries no client address: a CIDR-bound agent must run on the host (127.0.0.1) or elsewhere.');
    }
    ctx.output.info(`${existed ? 'Updated' : 'Created'} policy ${policy} and role ${MOUNT}/${agent}${approle === 'enabled' ? ' (AppRole enabled at approle/)' : ''}.`);
    missing = await missingSecrets(api, token, plan.keys);
    if (missing !== undefined && missing.length > 0) ctx.output.warn(missingWarning(missing));
  } else {
    existed = await roleExists(api, token, agent);
    if (!existed) throw new VaultSetupError('E_USAGE', `there is no agent "${agent}" to rotate`, { hint: 'see `vault-setup agent list`, or create it with `vault-setup agent add`' });
  }
  const roleId = await readRoleId(api, token, agent);
  const earlier = revokeOld ? await listAccessors(api, token, agent) : [];
  const out = delivery.outDir === undefined ? undefined : await prepareOutDir(delivery.outDir, roleId, delivery.force);

  // Files need the secret_id itself; otherwise only a single-use wrapping token leaves the server.
  const issued: IssuedSecretId = await issueSecretId(api, token, agent, out === undefined ? delivery.wrapTtl : undefined);
  ctx.redactor.add(issued.secretId, issued.wrapped?.token);
  if (out !== undefined) await writeCredentials(out, roleId, issued.secretId as string, delivery.force);

  let revoked = 0;
  for (const accessor of earlier) {
    if (accessor === issued.accessor) continue;
    await destroyAccessor(api, token, agent, accessor);
    revoked++;
  }

  const data = {
    agent,
    role_id: roleId,
    wrapped_secret_id: issued.wrapped?.token ?? null,
    wrap_ttl: issued.wrapped?.ttl ?? null,
    policy,
    ...(plan === undefined ? {} : { paths: plan.keys.map((k) => `secret/${k}`), ...(granted.length > 0 ? { granted: granted.map((k) => `secret/${k}`) } : {}), created: !existed, approle, changes: changes ?? [], missing_paths: missing === undefined ? null : missing.map((k) => `secret/${k}`) }),
    ...(out === undefined ? {} : { out_dir: out.dir, files: [out.roleIdFile, out.secretIdFile] }),
    ...(revokeOld ? { revoked_secret_ids: revoked } : {}),
  };
  const lines = [
    `Agent ${agent}${plan === undefined ? '' : `: reads ${plan.keys.map((k) => `secret/${k}`).join(', ')} (policy ${policy})`}`,
    `role_id:           ${roleId}`,
  ];
  if (issued.wrapped !== undefined) {
    lines.push(`wrapped secret_id: ${issued.wrapped.token}`);
    ctx.output.info(`The wrapped secret_id works once and expires in ${issued.wrapped.ttl}s: hand it to the agent, which unwraps it (POST sys/wrapping/unwrap) and logs in.`);
  } else if (out !== undefined) {
    lines.push(`secret_id:         written to ${out.secretIdFile} (0600)`, `role_id file:      ${out.roleIdFile}`);
  }
  if (revokeOld) ctx.output.info(`Destroyed ${revoked} earlier secret_id${revoked === 1 ? '' : 's'}.`);
  return { data, human: lines.join('\n') };
}

/** On a cluster node: every node's address and the cluster CA, so the agent can try the next node when one is down. */
function withClusterNodes(result: CommandResult, target: Target): CommandResult {
  const cluster = target.record?.cluster;
  if (cluster === undefined || target.dir === undefined) return result;
  const ca = path.join(target.dir, 'ca.crt');
  const nodes = cluster.nodes.map((n) => n.api);
  return {
    ...result,
    data: { ...(result.data as Record<string, unknown>), cluster: { nodes, ca } },
    human: [result.human, `Cluster: any node serves the agent (standbys forward to the leader); try the next when one does not answer:`, ...nodes.map((n) => `  ${n}`), `Pin the cluster's CA: ${ca} (the same for every node).`].join('\n'),
  };
}

async function listCommand(ctx: Context, api: VaultApi, token: string): Promise<CommandResult> {
  const agents = await listAgents(api, token, ctx.clock.now());
  const human =
    agents.length === 0
      ? 'No agents yet: vault-setup agent add NAME --secret secret/PATH'
      : agents
          .map((a) =>
            [
              `${a.agent}  (policy ${a.policy})`,
              `  reads:      ${a.paths.join(', ') || '(nothing)'}`,
              `  token TTL:  ${seconds(a.token_ttl)} (max ${seconds(a.token_max_ttl)}); secret_id TTL ${seconds(a.secret_id_ttl)}, uses ${a.secret_id_num_uses === 0 ? 'unlimited' : a.secret_id_num_uses}${a.bound_cidrs.length ? `; bound to ${a.bound_cidrs.join(', ')}` : ''}`,
              `  secret_ids: ${a.live_secret_ids} live`,
            ].join('\n'),
          )
          .join('\n');
  return { data: { agents }, human };
}

async function removeCommand(ctx: Context, api: VaultApi, token: string, agent: string): Promise<CommandResult> {
  const removed = await removeAgent(api, token, agent);
  const any = removed.role || removed.policy;
  if (!any) ctx.output.info(`There is no agent "${agent}": nothing to remove.`);
  return {
    data: { agent, removed: any, role: removed.role, policy: removed.policy },
    human: any ? `Removed agent ${agent}: role ${MOUNT}/${agent} and its secret_ids, policy ${policyName(agent)}. Tokens it holds lost their access.` : `Nothing to remove: no agent ${agent}.`,
  };
}

const seconds = (s: number): string => (s === 0 ? 'server default' : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`);

/**
 * Adding or removing an agent writes a policy and a role: a privilege change, which the operator login may not make
 * by design. Its refusal says how to do it instead of which capability to add (adding it would make it root).
 */
async function privilegeChange<T>(via: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof VaultSetupError && error.code === 'E_DENIED' && via.startsWith('operator ')) {
      throw new VaultSetupError('E_DENIED', `the ${via} may not add or remove agents: a new policy and role are a privilege change`, {
        hint: 'run the same command with --quorum (the share holders make a token for it alone), or with a root token',
        cause: error,
      });
    }
    throw error;
  }
}
