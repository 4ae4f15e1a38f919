// KV v2 at secret/ over the HTTP API: mount state, create-only writes (cas), metadata. Values never leave
// the request body; errors name the path, not the data.
import { VaultSetupError, isVaultSetupError } from '../errors.ts';
import type { VaultApi } from './vault-api.ts';
import type { Clock } from './wait.ts';

export type MountState = { state: 'absent' } | { state: 'kv2' } | { state: 'conflict'; type: string; version: string | undefined };

export async function kvMountState(api: VaultApi, token: string, mount: string): Promise<MountState> {
  const res = await api.request<Record<string, any>>('GET', 'sys/mounts', { token });
  // Both the top level and `data` carry the table (older servers only the top level).
  const table = (res.body?.data ?? res.body ?? {}) as Record<string, { type?: string; options?: { version?: string } | null }>;
  const entry = table[`${mount}/`];
  if (entry === undefined) return { state: 'absent' };
  const version = entry.options?.version;
  if ((entry.type === 'kv' && version === '2') || entry.type === 'kv-v2') return { state: 'kv2' };
  return { state: 'conflict', type: String(entry.type), version };
}

export async function enableKv2(api: VaultApi, token: string, mount: string): Promise<void> {
  await api.request('POST', `sys/mounts/${mount}`, {
    token,
    body: { type: 'kv', options: { version: '2' }, description: 'vault-setup: application secrets (KV v2)' },
  });
}

export interface SecretMeta {
  currentVersion: number;
  /** The newest version is deleted or destroyed: the data is gone, the path is not. */
  currentDeleted: boolean;
}

/** Metadata of a secret, or undefined when the path holds none. Reads no value. */
export async function secretMeta(api: VaultApi, token: string, mount: string, path: string, clock: Clock): Promise<SecretMeta | undefined> {
  const res = await retryUpgrading(clock, () => api.request<any>('GET', `${mount}/metadata/${path}`, { token, accept: [404] }));
  if (res.status === 404) return undefined;
  const data = res.body?.data ?? {};
  const current = Number(data.current_version ?? 0);
  const version = data.versions?.[String(current)];
  return { currentVersion: current, currentDeleted: version !== undefined && (version.destroyed === true || (version.deletion_time ?? '') !== '') };
}

export type WriteResult = { written: true; version: number } | { written: false; reason: 'exists' };

/**
 * Writes one secret with check-and-set: cas 0 creates only; cas N replaces exactly version N. A cas mismatch
 * means someone else wrote first: reported, never retried over their data.
 */
export async function writeSecret(
  api: VaultApi,
  token: string,
  mount: string,
  path: string,
  data: Record<string, unknown>,
  cas: number,
  clock: Clock,
): Promise<WriteResult> {
  let res: { status: number; body: any };
  try {
    res = await retryUpgrading(clock, () => api.request<any>('POST', `${mount}/data/${path}`, { token, body: { data, options: { cas } }, accept: [400] }));
  } catch (error) {
    // Raft refuses an entry over its max_entry_size (1 MiB by default) with a 500; retrying cannot help.
    // OpenBao: "... too large; got N bytes, max M bytes"; Vault: "... too large, max value size for key K is M, got N".
    // Vault 1.21 (and the 1.16.25, 1.18.14, 1.19.9, 1.20.3 patches) also refuses a JSON string longer than the
    // listener's max_json_string_value_length (1 MiB by default), with a 500 that names no field or figure.
    if (isVaultSetupError(error) && /JSON string value exceeds allowed length/i.test(error.message)) {
      const longest = Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? Buffer.byteLength(v) : 0] as const).sort((a, b) => b[1] - a[1])[0];
      throw new VaultSetupError('E_SERVER', `${mount}/${path} was refused: the server takes no JSON string longer than its listener's max_json_string_value_length (1 MiB by default)${longest === undefined ? '' : `, and ${longest[0]} is ${longest[1]} bytes`}`, {
        hint: `keep large files outside the server (store where they are, or a key to them, instead), or raise max_json_string_value_length in config/vault.hcl's listener block; ${mount}/${path} was not written`,
      });
    }
    const m = isVaultSetupError(error) && /value being too large/i.test(error.message) ? /max:? (\d+) bytes|max value size for key \S+ is (\d+)/i.exec(error.message) : null;
    const max = m?.[1] ?? m?.[2];
    if (max === undefined) throw error;
    throw new VaultSetupError('E_SERVER', `${mount}/${path} is too large for the server's storage: ${Buffer.byteLength(JSON.stringify(data))} bytes of fields, and one storage entry holds at most ${max} bytes with its metadata`, {
      hint: `keep large files outside the server (store where they are, or a key to them, instead) and re-run init: it resumes, and ${mount}/${path} was not written`,
    });
  }
  if (res.status === 400) {
    const errors = (res.body?.errors ?? []).map(String).join('; ');
    if (/check-and-set parameter did not match/i.test(errors)) return { written: false, reason: 'exists' };
    throw new VaultSetupError('E_SERVER', `the server refused to write ${mount}/${path}: ${errors || 'HTTP 400'}`);
  }
  return { written: true, version: Number(res.body?.data?.version ?? 0) };
}

const UPGRADING = /upgrading from non-versioned to versioned/i;

/** Right after a KV v2 mount the server answers 400 "Upgrading from non-versioned..." for a moment. */
async function retryUpgrading<T extends { status: number; body: any }>(clock: Clock, call: () => Promise<T>): Promise<T> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    let res: T | undefined;
    try {
      res = await call();
    } catch (error) {
      if (!(isVaultSetupError(error) && UPGRADING.test(error.message)) || attempt >= 20) throw error;
    }
    if (res !== undefined) {
      const upgrading = res.status === 400 && UPGRADING.test(JSON.stringify(res.body?.errors ?? []));
      if (!upgrading || attempt >= 20) return res;
    }
    await clock.sleep(delay);
    delay = Math.min(delay * 2, 1000);
  }
}
