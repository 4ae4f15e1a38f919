// AppRole defaults chosen from an agent's life, and what a re-run of `agent add` keeps.
//
// An agent logs in with role_id + secret_id when it starts, renews its token every token_ttl, and must log in again
// when token_max_ttl is reached, on every restart and after every host reboot. Each of those logins needs the
// secret_id it unwrapped once (the wrapped delivery works once, for --wrap-ttl). So:
//  - token_ttl 1h: a stolen token is useful for at most an hour unless renewed by its holder;
//  - token_max_ttl 24h: a daily fresh login bounds how long one token lives;
//  - secret_id_ttl 30 days (720h): it must outlive restarts and daily re-logins; a 24h secret_id (the earlier
//    default) left an agent unable to log in again one day after `agent add`. Rotate monthly with
//    `agent rotate NAME --revoke-old` (the old secret_id stops working at once);
//  - secret_id_num_uses 0: a daily re-login and restarts need more than one use; --secret-id-uses 1 for one-shot jobs.
import { usageError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { MOUNT, type RoleSettings } from './approle.ts';

export const ROLE_DEFAULTS = { tokenTtl: '1h', tokenMaxTtl: '24h', secretIdTtl: '720h', secretIdUses: 0 } as const;

export type SettingKey = keyof RoleSettings;

/** The role's current settings as the server reports them (seconds, lists). */
export function fromServer(data: Record<string, unknown>): RoleSettings {
  const cidrs = (data.secret_id_bound_cidrs as string[] | null | undefined) ?? (data.token_bound_cidrs as string[] | null | undefined) ?? [];
  return {
    tokenTtl: `${Number(data.token_ttl ?? 0)}s`,
    tokenMaxTtl: `${Number(data.token_max_ttl ?? 0)}s`,
    secretIdTtl: `${Number(data.secret_id_ttl ?? 0)}s`,
    secretIdUses: Number(data.secret_id_num_uses ?? 0),
    cidrs: [...cidrs],
  };
}

const LABELS: Record<SettingKey, string> = {
  tokenTtl: 'token TTL',
  tokenMaxTtl: 'token max TTL',
  secretIdTtl: 'secret_id TTL',
  secretIdUses: 'secret_id uses',
  cidrs: 'bound CIDRs',
};

const seconds = (d: string): number => {
  const m = /^(\d+)([smh]?)$/.exec(d);
  return m === null ? Number.NaN : Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
};

const show = (key: SettingKey, value: RoleSettings[SettingKey]): string =>
  key === 'cidrs' ? ((value as string[]).length ? (value as string[]).join(', ') : 'none') : key === 'secretIdUses' ? (value === 0 ? 'unlimited' : String(value)) : `${seconds(value as string)}s`;

const same = (key: SettingKey, a: RoleSettings[SettingKey], b: RoleSettings[SettingKey]): boolean =>
  key === 'cidrs' ? [...(a as string[])].sort().join() === [...(b as string[])].sort().join() : key === 'secretIdUses' ? a === b : seconds(a as string) === seconds(b as string);

/**
 * What `agent add` writes to an existing role: the flags given on this run, and the role's current value for every
 * setting not given (an earlier --cidr, use limit or TTL is never dropped silently); with the list of changes.
 */
export function mergeSettings(current: RoleSettings | undefined, planned: RoleSettings, given: ReadonlySet<SettingKey>): { settings: RoleSettings; changes: string[] } {
  if (current === undefined) return { settings: planned, changes: [] };
  const settings = { ...planned };
  const changes: string[] = [];
  for (const key of Object.keys(LABELS) as SettingKey[]) {
    if (!given.has(key)) (settings as Record<SettingKey, unknown>)[key] = current[key];
    if (!same(key, current[key], settings[key])) changes.push(`${LABELS[key]} ${show(key, current[key])} -> ${show(key, settings[key])}`);
  }
  return { settings, changes };
}

/** The role as the server holds it now. */
export async function readRoleSettings(api: VaultApi, token: string, agent: string): Promise<RoleSettings> {
  const res = await api.request<{ data: Record<string, unknown> }>('GET', `auth/${MOUNT}/role/${agent}`, { token });
  return fromServer(res.body.data);
}

/** A kept TTL and a new maximum (or the reverse) must still fit together. */
export function checkTtls(settings: RoleSettings): void {
  if (seconds(settings.tokenTtl) > seconds(settings.tokenMaxTtl)) {
    throw usageError(`the role's token TTL (${show('tokenTtl', settings.tokenTtl)}) would be longer than its max TTL (${show('tokenMaxTtl', settings.tokenMaxTtl)})`, 'give both --token-ttl and --token-max-ttl');
  }
}
