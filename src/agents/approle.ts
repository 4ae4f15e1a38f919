// AppRole agents: one policy `agent-NAME` that reads exactly the agent's KV v2 paths, one role bound to that
// policy only, and secret_ids delivered response-wrapped so that only the agent ever sees the real one.
import net from 'node:net';
import { VaultSetupError, usageError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { renderRules } from '../config/policy.ts';
import { needs } from './capabilities.ts';

export const MOUNT = 'approle';
export const KV_MOUNT = 'secret';

export const policyName = (agent: string): string => `agent-${agent}`;

export function validateName(name: string | undefined): string {
  if (name === undefined || name.length === 0) throw usageError('the agent needs a NAME', 'e.g. vault-setup agent add openclaw --secret secret/openrouter');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
    throw usageError(`agent name "${name}" is not allowed`, 'use letters, digits, "-" and "_" (at most 64), starting with a letter or digit');
  }
  return name;
}

/** `secret/openrouter` or `openrouter` -> `openrouter`: the key under the KV v2 mount, exactly, no globs. */
export function normalisePath(raw: string): string {
  const key = raw.trim().replace(/^\/+/, '').replace(new RegExp(`^${KV_MOUNT}/`), '').replace(/\/+$/, '');
  const segments = key.split('/');
  if (key.length === 0 || segments.some((s) => s.length === 0 || s === '.' || s === '..') || !/^[A-Za-z0-9_.\-/]+$/.test(key)) {
    throw usageError(`--secret "${raw}" is not a KV path an agent can be given`, 'use paths like secret/openrouter or secret/team/api (letters, digits, ".", "-", "_"; no wildcards)');
  }
  if (segments[0] === 'data' || segments[0] === 'metadata') {
    throw usageError(`--secret "${raw}": give the secret's path (secret/${segments.slice(1).join('/')}), not the API path`);
  }
  return key;
}

export function validateCidr(raw: string): string {
  const [ip, prefix, ...rest] = raw.trim().split('/');
  const family = net.isIP(ip ?? '');
  const max = family === 6 ? 128 : 32;
  if (family === 0 || rest.length > 0 || (prefix !== undefined && (!/^\d+$/.test(prefix) || Number(prefix) > max))) {
    throw usageError(`--cidr "${raw}" is not an IP network`, 'use forms like 10.0.0.0/8, 192.168.1.20/32 or 127.0.0.1');
  }
  return raw.trim();
}

/** Read on exactly these paths; the token may look up, renew and revoke itself (no default policy is attached). */
export function renderPolicy(agent: string, keys: string[]): string {
  return renderRules(`Written by vault-setup for agent ${agent}: read exactly these KV v2 secrets and renew, look up and revoke its own token; nothing else.`, [
    ...keys.flatMap((key) => [
      { path: `${KV_MOUNT}/data/${key}`, capabilities: ['read'] },
      { path: `${KV_MOUNT}/metadata/${key}`, capabilities: ['read', 'list'] },
    ]),
    { path: 'auth/token/renew-self', capabilities: ['update'] },
    { path: 'auth/token/lookup-self', capabilities: ['read'] },
    { path: 'auth/token/revoke-self', capabilities: ['update'] },
  ]);
}

/** The KV keys a policy written by renderPolicy grants (for `agent list`). */
export function policyPaths(hcl: string): string[] {
  return [...hcl.matchAll(new RegExp(`path "${KV_MOUNT}/data/([^"]+)"`, 'g'))].map((m) => `${KV_MOUNT}/${m[1]}`);
}

export interface RoleSettings {
  tokenTtl: string;
  tokenMaxTtl: string;
  secretIdTtl: string;
  secretIdUses: number;
  cidrs: string[];
}

/** Enables AppRole at approle/ unless it is there; anything else mounted there is an error, never replaced. */
export async function ensureApprole(api: VaultApi, token: string): Promise<'enabled' | 'present'> {
  const mounts = await needs('read', 'sys/auth', () => api.request<{ data?: Record<string, { type: string }> } & Record<string, unknown>>('GET', 'sys/auth', { token }));
  const table = (mounts.body.data ?? mounts.body) as Record<string, { type?: string } | undefined>;
  const existing = table[`${MOUNT}/`];
  if (existing !== undefined) {
    if (existing.type !== 'approle') {
      throw new VaultSetupError('E_MOUNT_CONFLICT', `an auth method of type "${existing.type}" is mounted at ${MOUNT}/, not AppRole`, {
        hint: `vault-setup does not replace it: move that method elsewhere (sys/auth/${MOUNT}), then re-run`,
      });
    }
    return 'present';
  }
  await needs(['create', 'update', 'sudo'], `sys/auth/${MOUNT}`, () =>
    api.request('POST', `sys/auth/${MOUNT}`, { token, body: { type: 'approle', description: 'vault-setup agents' } }),
  );
  return 'enabled';
}

export async function roleExists(api: VaultApi, token: string, agent: string): Promise<boolean> {
  const res = await needs('read', `auth/${MOUNT}/role/${agent}`, () => api.request('GET', `auth/${MOUNT}/role/${agent}`, { token, accept: [404] }));
  return res.status !== 404;
}

export async function writeAgent(api: VaultApi, token: string, agent: string, keys: string[], settings: RoleSettings): Promise<void> {
  const policy = policyName(agent);
  await needs(['create', 'update'], `sys/policies/acl/${policy}`, () =>
    api.request('PUT', `sys/policies/acl/${policy}`, { token, body: { policy: renderPolicy(agent, keys) } }),
  );
  await needs(['create', 'update'], `auth/${MOUNT}/role/${agent}`, () =>
    api.request('POST', `auth/${MOUNT}/role/${agent}`, {
      token,
      body: {
        token_policies: [policy],
        // "That policy only": the default policy would add cubbyhole and more; renewal is in the agent's own policy.
        token_no_default_policy: true,
        token_ttl: settings.tokenTtl,
        token_max_ttl: settings.tokenMaxTtl,
        secret_id_ttl: settings.secretIdTtl,
        secret_id_num_uses: settings.secretIdUses,
        secret_id_bound_cidrs: settings.cidrs,
        token_bound_cidrs: settings.cidrs,
      },
    }),
  );
}

export async function readRoleId(api: VaultApi, token: string, agent: string): Promise<string> {
  const res = await needs('read', `auth/${MOUNT}/role/${agent}/role-id`, () =>
    api.request<{ data: { role_id: string } }>('GET', `auth/${MOUNT}/role/${agent}/role-id`, { token }),
  );
  return res.body.data.role_id;
}

export interface IssuedSecretId {
  accessor: string;
  /** The single-use wrapping token (when wrapped). */
  wrapped?: { token: string; ttl: number };
  /** The secret_id itself (only when the operator asked for files). */
  secretId?: string;
}

/** A new secret_id: wrapped (only the agent unwraps it) unless `wrapTtl` is undefined. */
export async function issueSecretId(api: VaultApi, token: string, agent: string, wrapTtl: string | undefined): Promise<IssuedSecretId> {
  const path = `auth/${MOUNT}/role/${agent}/secret-id`;
  const res = await needs('update', path, () =>
    api.request<{ data: { secret_id: string; secret_id_accessor: string } | null; wrap_info: { token: string; ttl: number; wrapped_accessor: string } | null }>(
      'POST',
      path,
      { token, ...(wrapTtl === undefined ? {} : { wrapTtl }) },
    ),
  );
  if (wrapTtl !== undefined) {
    const info = res.body.wrap_info;
    if (info === null || info === undefined) throw new VaultSetupError('E_SERVER', `the server did not wrap the secret_id (POST ${path})`);
    return { accessor: info.wrapped_accessor, wrapped: { token: info.token, ttl: info.ttl } };
  }
  const data = res.body.data;
  if (data === null || data === undefined) throw new VaultSetupError('E_SERVER', `the server returned no secret_id (POST ${path})`);
  return { accessor: data.secret_id_accessor, secretId: data.secret_id };
}

export async function listAccessors(api: VaultApi, token: string, agent: string): Promise<string[]> {
  const path = `auth/${MOUNT}/role/${agent}/secret-id`;
  const res = await needs('list', path, () => api.request<{ data?: { keys?: string[] } }>('LIST', path, { token, accept: [404] }));
  return res.status === 404 ? [] : (res.body.data?.keys ?? []);
}

export interface AccessorInfo {
  accessor: string;
  expiration_time: string;
  secret_id_num_uses: number;
}

export async function lookupAccessor(api: VaultApi, token: string, agent: string, accessor: string): Promise<AccessorInfo | undefined> {
  const path = `auth/${MOUNT}/role/${agent}/secret-id-accessor/lookup`;
  const res = await needs('update', path, () =>
    api.request<{ data?: AccessorInfo }>('POST', path, { token, body: { secret_id_accessor: accessor }, accept: [404] }),
  );
  return res.status === 404 || res.body?.data === undefined ? undefined : { ...res.body.data, accessor };
}

/** Live = not expired (a zero time means no expiry). Used-up secret_ids are deleted by the server itself. */
export function isLive(info: AccessorInfo, now: number): boolean {
  const t = Date.parse(info.expiration_time);
  return Number.isNaN(t) || t <= 0 || t > now;
}

export async function destroyAccessor(api: VaultApi, token: string, agent: string, accessor: string): Promise<void> {
  const path = `auth/${MOUNT}/role/${agent}/secret-id-accessor/destroy`;
  await needs('update', path, () => api.request('POST', path, { token, body: { secret_id_accessor: accessor }, accept: [404] }));
}

export interface AgentSummary {
  agent: string;
  policy: string;
  paths: string[];
  token_ttl: number;
  token_max_ttl: number;
  secret_id_ttl: number;
  secret_id_num_uses: number;
  bound_cidrs: string[];
  live_secret_ids: number;
}

/** The roles vault-setup manages: those whose only policy is agent-<role>. Other roles are not touched. */
export async function listAgents(api: VaultApi, token: string, now: number): Promise<AgentSummary[]> {
  const mounts = await needs('read', 'sys/auth', () => api.request<Record<string, any>>('GET', 'sys/auth', { token }));
  const table = (mounts.body.data ?? mounts.body) as Record<string, { type?: string } | undefined>;
  if (table[`${MOUNT}/`]?.type !== 'approle') return [];
  const roles = await needs('list', `auth/${MOUNT}/role`, () => api.request<{ data?: { keys?: string[] } }>('LIST', `auth/${MOUNT}/role`, { token, accept: [404] }));
  const names = roles.status === 404 ? [] : (roles.body.data?.keys ?? []);
  const out: AgentSummary[] = [];
  for (const agent of names.sort()) {
    const role = await needs('read', `auth/${MOUNT}/role/${agent}`, () => api.request<{ data: Record<string, any> }>('GET', `auth/${MOUNT}/role/${agent}`, { token }));
    const data = role.body.data;
    const policy = policyName(agent);
    if (!Array.isArray(data.token_policies) || data.token_policies.length !== 1 || data.token_policies[0] !== policy) continue;
    const hcl = await needs('read', `sys/policies/acl/${policy}`, () =>
      api.request<{ data?: { policy?: string } }>('GET', `sys/policies/acl/${policy}`, { token, accept: [404] }),
    );
    let live = 0;
    for (const accessor of await listAccessors(api, token, agent)) {
      const info = await lookupAccessor(api, token, agent, accessor);
      if (info !== undefined && isLive(info, now)) live++;
    }
    out.push({
      agent,
      policy,
      paths: policyPaths(hcl.body?.data?.policy ?? ''),
      token_ttl: Number(data.token_ttl ?? 0),
      token_max_ttl: Number(data.token_max_ttl ?? 0),
      secret_id_ttl: Number(data.secret_id_ttl ?? 0),
      secret_id_num_uses: Number(data.secret_id_num_uses ?? 0),
      bound_cidrs: (data.secret_id_bound_cidrs as string[] | null) ?? [],
      live_secret_ids: live,
    });
  }
  return out;
}

/** Deletes the role (and with it every secret_id) and the policy: tokens already issued lose their access. */
export async function removeAgent(api: VaultApi, token: string, agent: string): Promise<{ role: boolean; policy: boolean }> {
  const role = await roleExists(api, token, agent);
  if (role) await needs('delete', `auth/${MOUNT}/role/${agent}`, () => api.request('DELETE', `auth/${MOUNT}/role/${agent}`, { token }));
  const policy = policyName(agent);
  const existing = await needs('read', `sys/policies/acl/${policy}`, () => api.request('GET', `sys/policies/acl/${policy}`, { token, accept: [404] }));
  if (existing.status !== 404) await needs('delete', `sys/policies/acl/${policy}`, () => api.request('DELETE', `sys/policies/acl/${policy}`, { token }));
  return { role, policy: existing.status !== 404 };
}
