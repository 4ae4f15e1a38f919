// The backup identity (backup --create-identity) may take snapshots and nothing else: its policy is exactly
// `read` on sys/storage/raft/snapshot, and its role hands out tokens with that policy alone (no default policy).
// Reading policies and roles needs a privileged token; without one, or without an identity, the check is `skip`.
import { IDENTITY } from '../../backup/identity.ts';
import { BACKUP_POLICY } from '../../backup/snapshot.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip } from '../types.ts';

const squeeze = (hcl: string): string => hcl.replace(/#[^\n]*/g, '').replace(/\s+/g, '');

export async function backupIdentity(p: Probe): Promise<CheckResult> {
  const id = 'backup-identity';
  if (p.token === undefined) return skip(id, 'no token');
  const serving = await p.serving();
  if (serving !== undefined) return skip(id, serving);
  const policy = await p.withToken<{ data?: { policy?: string } }>('GET', `sys/policies/acl/${IDENTITY}`);
  if (policy?.status === 404) return skip(id, `no backup identity (policy ${IDENTITY} is absent)`, 'create one for scheduled backups: vault-setup backup --create-identity');
  if (policy?.status !== 200) return skip(id, `this token cannot read sys/policies/acl/${IDENTITY} (HTTP ${policy?.status ?? 'none'})`);
  const text = policy.body?.data?.policy ?? '';
  const fixPolicy = `vault policy write ${IDENTITY} with exactly: path "sys/storage/raft/snapshot" { capabilities = ["read"] }`;
  if (squeeze(text) !== squeeze(BACKUP_POLICY)) return fail(id, `policy ${IDENTITY} grants more or other than read on sys/storage/raft/snapshot`, fixPolicy);
  const role = await p.withToken<{ data?: { token_policies?: string[]; policies?: string[]; token_no_default_policy?: boolean } }>('GET', `auth/approle/role/${IDENTITY}`);
  if (role?.status === 200) {
    const policies = role.body?.data?.token_policies ?? role.body?.data?.policies ?? [];
    if (policies.length !== 1 || policies[0] !== IDENTITY || role.body?.data?.token_no_default_policy !== true) {
      return fail(id, `role ${IDENTITY} issues tokens with policies ${policies.join(', ') || 'none'}${role.body?.data?.token_no_default_policy === true ? '' : ' plus default'}, not ${IDENTITY} alone`, `set token_policies=${IDENTITY} token_no_default_policy=true on auth/approle/role/${IDENTITY}`);
    }
  }
  return pass(id, `policy ${IDENTITY} is exactly read on sys/storage/raft/snapshot${role?.status === 200 ? '; its role issues tokens with that policy alone' : ''}`);
}

export const BACKUP_IDENTITY_CHECKS = [backupIdentity];
