// `agent add --secret secret/opnerouter` (a typo) would grant a path nothing will ever be written to: say which
// granted paths hold no secret yet. Reads KV v2 metadata only, never a value; a token that may not read
// metadata leaves the question open rather than failing the command.
import { KV_MOUNT } from './approle.ts';
import type { VaultApi } from '../services/vault-api.ts';

/** The granted keys (relative to the KV mount) with no secret at them; undefined when the token may not tell. */
export async function missingSecrets(api: VaultApi, token: string, keys: string[]): Promise<string[] | undefined> {
  const missing: string[] = [];
  for (const key of keys) {
    const res = await api.request('GET', `${KV_MOUNT}/metadata/${key}`, { token, accept: [403, 404] });
    if (res.status === 403) return undefined;
    if (res.status === 404) missing.push(key);
  }
  return missing;
}

export function missingWarning(missing: string[]): string {
  const one = missing.length === 1;
  const shown = missing.map((k) => `${KV_MOUNT}/${k}`).join(', ');
  return `⚠ ${shown} ${one ? 'does' : 'do'} not exist yet: the agent can read ${one ? 'it' : 'them'} once written. A typo? Run \`vault-setup agent add\` again with the right --secret (it replaces the paths).`;
}
