// The backup identity: an AppRole whose tokens carry one policy, `read` on sys/storage/raft/snapshot and nothing
// else (not even the default policy), so a timer can take snapshots without holding a privileged token. Its
// role_id and secret_id live in one 0600 file readable by the unit's user only. Each backup logs in for a short
// token (10 minutes) and uses it for the snapshot.
import fs from 'node:fs/promises';
import { needs } from '../agents/capabilities.ts';
import { MOUNT, ensureApprole } from '../agents/approle.ts';
import { VaultSetupError } from '../errors.ts';
import type { Redactor } from '../services/redactor.ts';
import { refuseSymlink, writeAtomic } from '../services/files.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { BACKUP_POLICY } from './snapshot.ts';

export const IDENTITY = 'vault-setup-backup';
export const IDENTITY_FILE = 'backup-identity.json';

export interface IdentityCredential {
  role: string;
  role_id: string;
  secret_id: string;
}

/** Writes the policy and the role, issues a secret_id, and writes the credential file (0600, never replaced). */
export async function createIdentity(api: VaultApi, token: string, file: string, redactor: Redactor): Promise<{ approle: 'enabled' | 'present'; file: string }> {
  await refuseSymlink(file);
  if (await fs.lstat(file).then(() => true, () => false)) {
    throw new VaultSetupError('E_FILE_CONFLICT', `${file} already exists`, { hint: 'remove it first to issue a new credential (the old secret_id keeps working until the role is changed), or choose another --identity' });
  }
  await needs(['create', 'update'], `sys/policies/acl/${IDENTITY}`, () => api.request('PUT', `sys/policies/acl/${IDENTITY}`, { token, body: { policy: BACKUP_POLICY } }));
  const approle = await ensureApprole(api, token);
  await needs(['create', 'update'], `auth/${MOUNT}/role/${IDENTITY}`, () =>
    api.request('POST', `auth/${MOUNT}/role/${IDENTITY}`, {
      token,
      body: { token_policies: [IDENTITY], token_no_default_policy: true, token_ttl: '10m', token_max_ttl: '30m', secret_id_ttl: 0, secret_id_num_uses: 0, token_type: 'service' },
    }),
  );
  const roleId = (await needs('read', `auth/${MOUNT}/role/${IDENTITY}/role-id`, () => api.request<{ data: { role_id: string } }>('GET', `auth/${MOUNT}/role/${IDENTITY}/role-id`, { token }))).body.data.role_id;
  const issued = await needs('update', `auth/${MOUNT}/role/${IDENTITY}/secret-id`, () => api.request<{ data: { secret_id: string } }>('POST', `auth/${MOUNT}/role/${IDENTITY}/secret-id`, { token, body: {} }));
  const secretId = issued.body.data.secret_id;
  redactor.add(secretId);
  const credential: IdentityCredential = { role: IDENTITY, role_id: roleId, secret_id: secretId };
  await writeAtomic(file, `${JSON.stringify(credential, null, 2)}\n`, { mode: 0o600, exclusive: true });
  return { approle, file };
}

/** Logs in with the credential file and returns a short-lived token that may only take snapshots. */
export async function loginIdentity(api: VaultApi, file: string, redactor: Redactor): Promise<string> {
  let credential: IdentityCredential;
  try {
    const stat = await fs.stat(file);
    if ((stat.mode & 0o077) !== 0) {
      throw new VaultSetupError('E_UNSAFE_PATH', `${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
    }
    credential = JSON.parse(await fs.readFile(file, 'utf8')) as IdentityCredential;
  } catch (error) {
    if (error instanceof VaultSetupError) throw error;
    throw new VaultSetupError('E_AUTH', `cannot read the backup identity ${file} (${(error as NodeJS.ErrnoException).code ?? 'not JSON'})`, { hint: 'create it with: vault-setup backup --create-identity (with a privileged token)' });
  }
  redactor.add(credential.secret_id);
  if (typeof credential.role_id !== 'string' || typeof credential.secret_id !== 'string') {
    throw new VaultSetupError('E_AUTH', `${file} is not a backup identity (role_id and secret_id missing)`, { hint: 'create it with: vault-setup backup --create-identity' });
  }
  const res = await api.request<{ auth?: { client_token?: string } }>('POST', `auth/${MOUNT}/login`, { body: { role_id: credential.role_id, secret_id: credential.secret_id }, accept: [400, 403] });
  const token = res.body?.auth?.client_token;
  if (res.status !== 200 || token === undefined) {
    throw new VaultSetupError('E_AUTH', `the backup identity in ${file} was refused (HTTP ${res.status})`, { hint: 'the role or its secret_id was removed: create a new one with vault-setup backup --create-identity' });
  }
  redactor.add(token);
  return token;
}
