// What a storage migration must carry over, read through the API before and after: every KV key (listed
// recursively), every ACL policy and the number of token accessors. Names and counts are kept (they go into
// migrate-state.json, which holds no secret); a digest of each value is kept in memory only, to compare byte for
// byte within one run.
import { createHash } from 'node:crypto';
import { VaultSetupError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';

export interface Inventory {
  /** "mount/path" for every KV key, sorted; KV v2 keys carry their current version ("secret/app/db@3"). */
  keys: string[];
  policies: string[];
  accessors: number;
}

/** Digests of values by key name: never written anywhere, compared only within the run that read them. */
export type Digests = Map<string, string>;

interface Mount {
  path: string;
  version: 1 | 2;
}

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

async function get<T = any>(api: VaultApi, method: string, path: string, token: string, accept: number[] = []): Promise<{ status: number; body: T }> {
  return api.request<T>(method, path, { token, accept: [403, ...accept] }).then((res) => {
    if (res.status === 403) {
      throw new VaultSetupError('E_DENIED', `the token may not ${method === 'LIST' ? 'list' : 'read'} ${path}: checking the migration needs every key, policy and token accessor`, {
        hint: 'use the root token or an operator token with read and list on every mount, sys/policies/acl and sudo on auth/token/accessors',
      });
    }
    return res;
  });
}

async function kvMounts(api: VaultApi, token: string): Promise<Mount[]> {
  const res = await get<any>(api, 'GET', 'sys/mounts', token);
  const table = (res.body?.data ?? res.body ?? {}) as Record<string, { type?: string; options?: { version?: string } | null }>;
  return Object.entries(table)
    .filter(([, m]) => m?.type === 'kv' || m?.type === 'kv-v2')
    .map(([p, m]) => ({ path: p.replace(/\/$/, ''), version: (m.type === 'kv-v2' || m.options?.version === '2' ? 2 : 1) as 1 | 2 }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

async function listKeys(api: VaultApi, token: string, base: string, prefix = ''): Promise<string[]> {
  const res = await get<any>(api, 'LIST', `${base}/${prefix}`.replace(/\/$/, ''), token, [404]);
  if (res.status === 404) return [];
  const found: string[] = [];
  for (const key of (res.body?.data?.keys ?? []) as string[]) {
    if (key.endsWith('/')) found.push(...(await listKeys(api, token, base, `${prefix}${key}`)));
    else found.push(`${prefix}${key}`);
  }
  return found;
}

/** Reads everything the comparison needs. Values are read (so an unreadable key fails here) but only digested. */
export async function takeInventory(api: VaultApi, token: string): Promise<{ inventory: Inventory; digests: Digests }> {
  const keys: string[] = [];
  const digests: Digests = new Map();
  for (const mount of await kvMounts(api, token)) {
    if (mount.version === 2) {
      for (const key of await listKeys(api, token, `${mount.path}/metadata`)) {
        const meta = await get<any>(api, 'GET', `${mount.path}/metadata/${key}`, token);
        const version = Number(meta.body?.data?.current_version ?? 0);
        const name = `${mount.path}/${key}@${version}`;
        keys.push(name);
        const data = await get<any>(api, 'GET', `${mount.path}/data/${key}`, token, [404]);
        digests.set(name, digest(data.status === 404 ? null : data.body?.data?.data ?? null));
      }
    } else {
      for (const key of await listKeys(api, token, mount.path)) {
        const name = `${mount.path}/${key}`;
        keys.push(name);
        const data = await get<any>(api, 'GET', `${mount.path}/${key}`, token);
        digests.set(name, digest(data.body?.data ?? null));
      }
    }
  }
  const policies = ((await get<any>(api, 'LIST', 'sys/policies/acl', token)).body?.data?.keys ?? []) as string[];
  for (const name of policies) {
    const policy = await get<any>(api, 'GET', `sys/policies/acl/${name}`, token);
    digests.set(`policy:${name}`, digest(policy.body?.data?.policy ?? ''));
  }
  const accessors = ((await get<any>(api, 'LIST', 'auth/token/accessors', token, [404])).body?.data?.keys ?? []) as string[];
  return { inventory: { keys: keys.sort(), policies: [...policies].sort(), accessors: accessors.length }, digests };
}

export interface Difference {
  missing: string[];
  extra: string[];
  changed: string[];
  accessors: { before: number; after: number } | undefined;
}

/** What differs; `changed` compares values only where both runs' digests are in memory. */
export function compareInventories(before: Inventory, after: Inventory, digestsBefore: Digests | undefined, digestsAfter: Digests): Difference {
  const b = new Set([...before.keys, ...before.policies.map((p) => `policy:${p}`)]);
  const a = new Set([...after.keys, ...after.policies.map((p) => `policy:${p}`)]);
  const missing = [...b].filter((k) => !a.has(k));
  const extra = [...a].filter((k) => !b.has(k));
  const changed = digestsBefore === undefined ? [] : [...b].filter((k) => a.has(k) && digestsBefore.get(k) !== digestsAfter.get(k));
  return { missing, extra, changed, accessors: before.accessors === after.accessors ? undefined : { before: before.accessors, after: after.accessors } };
}

export const isSame = (d: Difference): boolean => d.missing.length === 0 && d.extra.length === 0 && d.changed.length === 0 && d.accessors === undefined;

export function describeDifference(d: Difference): string {
  const parts: string[] = [];
  const few = (list: string[]) => `${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;
  if (d.missing.length > 0) parts.push(`missing: ${few(d.missing)}`);
  if (d.extra.length > 0) parts.push(`not there before: ${few(d.extra)}`);
  if (d.changed.length > 0) parts.push(`different value: ${few(d.changed)}`);
  if (d.accessors !== undefined) parts.push(`token accessors ${d.accessors.before} before, ${d.accessors.after} after`);
  return parts.join('; ');
}
