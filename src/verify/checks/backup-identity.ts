// The backup identity (backup --create-identity) may take snapshots and nothing else: its policy is exactly
// `read` on sys/storage/raft/snapshot, and its role hands out tokens with that policy alone (no default policy).
// With a token that may read policies, the policy text is compared; with one that may not (the app token), the
// credential file in the deployment, if any, is used to log in and its tokens' policies are checked.
import fs from 'node:fs/promises';
import path from 'node:path';
import { IDENTITY, IDENTITY_FILE } from '../../backup/identity.ts';
import { BACKUP_POLICY } from '../../backup/snapshot.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip } from '../types.ts';

const squeeze = (hcl: string): string => hcl.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
const FIX_POLICY = `vault policy write ${IDENTITY} with exactly: path "sys/storage/raft/snapshot" { capabilities = ["read"] }`;
const FIX_ROLE = `set token_policies=${IDENTITY} token_no_default_policy=true on auth/approle/role/${IDENTITY}`;

export async function backupIdentity(p: Probe): Promise<CheckResult> {
  const id = 'backup-identity';
  if (p.inspector === undefined) return skip(id, 'no token (set VAULT_TOKEN or BAO_TOKEN, or pass --token-file)', 'or vault-setup verify --operator NAME');
  const serving = await p.serving();
  if (serving !== undefined) return skip(id, serving);
  const policy = await p.withInspector<{ data?: { policy?: string } }>('GET', `sys/policies/acl/${IDENTITY}`);
  if (policy?.status === 404) return pass(id, `no backup identity on this server (policy ${IDENTITY} is absent)`);
  if (policy?.status === 200) {
    if (squeeze(policy.body?.data?.policy ?? '') !== squeeze(BACKUP_POLICY)) return fail(id, `policy ${IDENTITY} grants more or other than read on sys/storage/raft/snapshot`, FIX_POLICY);
    const role = await p.withInspector<{ data?: { token_policies?: string[]; token_no_default_policy?: boolean } }>('GET', `auth/approle/role/${IDENTITY}`);
    if (role?.status === 200) {
      const policies = role.body?.data?.token_policies ?? [];
      if (policies.length !== 1 || policies[0] !== IDENTITY || role.body?.data?.token_no_default_policy !== true) {
        return fail(id, `role ${IDENTITY} issues tokens with policies ${policies.join(', ') || 'none'}${role.body?.data?.token_no_default_policy === true ? '' : ' plus default'}, not ${IDENTITY} alone`, FIX_ROLE);
      }
    }
    return pass(id, `policy ${IDENTITY} is exactly read on sys/storage/raft/snapshot${role?.status === 200 ? '; its role issues tokens with that policy alone' : ''}`);
  }
  // This token may not read policies: what the credential in the deployment logs in to is still visible.
  const file = p.paths === undefined ? undefined : path.join(p.paths.dir, IDENTITY_FILE);
  const text = file === undefined ? undefined : await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return pass(id, `no backup identity credential in the deployment directory (a token that may read sys/policies/acl/${IDENTITY} checks the policy itself)`);
  let credential: { role_id?: unknown; secret_id?: unknown };
  try {
    credential = JSON.parse(text) as typeof credential;
  } catch {
    return fail(id, `${IDENTITY_FILE} is not JSON`, 'create it again: remove it, then vault-setup backup --create-identity');
  }
  p.ctx.redactor.add(typeof credential.secret_id === 'string' ? credential.secret_id : undefined);
  const login = await p.call<{ auth?: { policies?: string[]; client_token?: string } }>('POST', 'auth/approle/login', { body: { role_id: credential.role_id, secret_id: credential.secret_id } });
  p.ctx.redactor.add(login?.body?.auth?.client_token);
  if (login?.status !== 200) return fail(id, `the backup identity in ${IDENTITY_FILE} cannot log in (HTTP ${login?.status ?? 'none'}): scheduled backups fail`, 'create it again: remove the file, then vault-setup backup --create-identity');
  const policies = login.body?.auth?.policies ?? [];
  if (policies.length !== 1 || policies[0] !== IDENTITY) return fail(id, `the backup identity's tokens carry ${policies.join(', ') || 'no policy'}, not ${IDENTITY} alone`, FIX_ROLE);
  return pass(id, `the backup identity's tokens carry ${IDENTITY} alone (its text needs a token that may read sys/policies/acl/${IDENTITY})`);
}

export const BACKUP_IDENTITY_CHECKS = [backupIdentity];
