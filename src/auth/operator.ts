// The operator identity: a userpass login at auth/userpass whose policy grants the daily work and nothing that is
// root-equivalent. Writing, changing or reading-to-change policies, creating roles or logins, minting tokens with
// chosen policies, rekey, generate-root and rotation are all absent: any of them would let it make itself root.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { readStdinText } from '../secrets/values.ts';
import { OPERATOR_POLICY, USERPASS_MOUNT } from './sign-in.ts';

/** Operator tokens live one hour at most: a forgotten one is harmless soon. */
export const OPERATOR_TTL = '1h';

/** The policy text; the userpass mount's accessor names the login whose own password it may change. */
export function operatorPolicy(userpassAccessor: string): string {
  return `# vault-setup operator: the daily work, nothing root-equivalent (written by vault-setup; changes need the quorum).
# KV v2 under secret/: read, write, delete, list.
path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete"] }
path "secret/metadata" { capabilities = ["list"] }
path "secret/metadata/*" { capabilities = ["read", "list", "delete"] }
path "secret/delete/*" { capabilities = ["update"] }
path "secret/undelete/*" { capabilities = ["update"] }
path "secret/destroy/*" { capabilities = ["update"] }
# Existing agents: read their roles, issue and rotate secret_ids. No role is created or changed.
path "auth/approle/role" { capabilities = ["list"] }
path "auth/approle/role/+" { capabilities = ["read"] }
path "auth/approle/role/+/role-id" { capabilities = ["read"] }
path "auth/approle/role/+/secret-id" { capabilities = ["update", "list"] }
path "auth/approle/role/+/secret-id-accessor/lookup" { capabilities = ["update"] }
path "auth/approle/role/+/secret-id-accessor/destroy" { capabilities = ["update"] }
# Reading what agents may read (agent list); writing any policy is absent.
path "sys/policies/acl" { capabilities = ["list"] }
path "sys/policies/acl/agent-*" { capabilities = ["read"] }
path "sys/policies/acl/${OPERATOR_POLICY}" { capabilities = ["read"] }
# Snapshots, health, mounts, auth methods and audit devices: read only.
path "sys/storage/raft/snapshot" { capabilities = ["read"] }
path "sys/health" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
path "sys/auth" { capabilities = ["read"] }
path "sys/audit" { capabilities = ["read", "sudo"] }
# Which tokens are alive (verify: no root token left), without revoking any.
path "auth/token/accessors" { capabilities = ["list", "sudo"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }
# The cluster: its members and autopilot's view, a joining node's certificate signed by the cluster CA (the
# role allows only node names: localhost and IP addresses), removing a node that is gone. Raft's settings are absent.
path "sys/storage/raft/configuration" { capabilities = ["read"] }
path "sys/storage/raft/autopilot/state" { capabilities = ["read"] }
path "sys/storage/raft/remove-peer" { capabilities = ["update"] }
path "vault-setup-pki/sign/node" { capabilities = ["update"] }
path "vault-setup-pki/certs" { capabilities = ["list"] }
path "vault-setup-pki/cert/*" { capabilities = ["read"] }
path "vault-setup-pki/revoke" { capabilities = ["update"] }
# The emergency stop: unsealing needs the quorum anyway.
path "sys/seal" { capabilities = ["update", "sudo"] }
# Its own password, nobody else's.
path "auth/${USERPASS_MOUNT}/users/{{identity.entity.aliases.${userpassAccessor}.name}}/password" { capabilities = ["update"] }
`;
}

/** auth/userpass enabled (once) and its accessor. */
export async function ensureUserpass(api: VaultApi, token: string): Promise<{ accessor: string; enabled: boolean }> {
  const read = async () => {
    const res = await api.request<any>('GET', 'sys/auth', { token });
    const table = (res.body?.data ?? res.body ?? {}) as Record<string, { type?: string; accessor?: string }>;
    return table[`${USERPASS_MOUNT}/`];
  };
  let entry = await read();
  let enabled = false;
  if (entry === undefined) {
    await api.request('POST', `sys/auth/${USERPASS_MOUNT}`, { token, body: { type: 'userpass', description: 'vault-setup: operator logins' } });
    entry = await read();
    enabled = true;
  }
  if (entry?.type !== 'userpass' || entry.accessor === undefined) {
    throw new VaultSetupError('E_MOUNT_CONFLICT', `auth/${USERPASS_MOUNT} is a ${String(entry?.type)} mount, not userpass`, { hint: `move it elsewhere, then run the command again` });
  }
  return { accessor: entry.accessor, enabled };
}

export async function writeOperatorPolicy(api: VaultApi, token: string, accessor: string): Promise<void> {
  await api.request('PUT', `sys/policies/acl/${OPERATOR_POLICY}`, { token, body: { policy: operatorPolicy(accessor) } });
}

/** Rewrites the operator policy when it is not the one this release writes (a fix it brings); true when it did. */
export async function refreshOperatorPolicy(api: VaultApi, token: string): Promise<boolean> {
  const { accessor } = await ensureUserpass(api, token);
  const res = await api.request<any>('GET', `sys/policies/acl/${OPERATOR_POLICY}`, { token, accept: [404] });
  const current = res.status === 404 ? undefined : String(res.body?.data?.policy ?? res.body?.policy ?? '');
  if (current === operatorPolicy(accessor)) return false;
  await writeOperatorPolicy(api, token, accessor);
  return true;
}

export async function operatorExists(api: VaultApi, token: string, name: string): Promise<boolean> {
  return (await api.request('GET', `auth/${USERPASS_MOUNT}/users/${name}`, { token, accept: [404] })).status === 200;
}

/** The login with the operator policy only (and the server's default policy), tokens of 1 h at most. */
export async function addOperator(api: VaultApi, token: string, name: string, password: string): Promise<{ created: boolean; userpassEnabled: boolean }> {
  const { accessor, enabled } = await ensureUserpass(api, token);
  await writeOperatorPolicy(api, token, accessor);
  const existed = await operatorExists(api, token, name);
  await api.request('POST', `auth/${USERPASS_MOUNT}/users/${name}`, {
    token,
    body: { password, token_policies: [OPERATOR_POLICY], token_ttl: OPERATOR_TTL, token_max_ttl: OPERATOR_TTL, token_type: 'service' },
  });
  return { created: !existed, userpassEnabled: enabled };
}

export async function removeOperator(api: VaultApi, token: string, name: string): Promise<boolean> {
  const existed = await operatorExists(api, token, name);
  if (existed) await api.request('DELETE', `auth/${USERPASS_MOUNT}/users/${name}`, { token });
  return existed;
}

export async function changeOwnPassword(api: VaultApi, token: string, name: string, password: string): Promise<void> {
  await api.request('POST', `auth/${USERPASS_MOUNT}/users/${name}/password`, { token, body: { password } });
}

const TRIES = 3;

/** A new password at a hidden prompt, typed again to confirm; a mismatch asks for both again (three tries). */
async function typedTwice(ctx: Context, name: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const password = await ctx.prompter.secret(`New password for the operator ${name} (input hidden)`, { validate: (v) => (v.length >= 12 ? true : 'at least 12 characters') });
    ctx.redactor.add(password);
    const again = await ctx.prompter.secret(`Password for ${name} again (input hidden)`);
    if (again === password) return password;
    if (attempt === TRIES) throw new VaultSetupError('E_USAGE', `the two passwords differed ${TRIES} times; nothing was changed`, { hint: 'run the command again' });
    ctx.output.streams.stderr.write(`> the two passwords differ; type the new one again\n`);
  }
}

/** A new password: typed twice at a hidden prompt, or the first line of a pipe (--password-stdin). */
export async function newPassword(ctx: Context, name: string, fromStdin: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    if (ctx.stdin.isTTY === true) throw new VaultSetupError('E_USAGE', '--password-stdin reads a pipe, but standard input is a terminal', { hint: 'drop --password-stdin to be asked with hidden input' });
    password = await readStdinText(ctx.stdin, `the password for ${name} on standard input`);
  } else {
    if (!ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', `a password for the operator ${name} is needed and there is no terminal to ask`, { hint: 'pipe it in with --password-stdin, never as an argument' });
    }
    password = await typedTwice(ctx, name);
  }
  ctx.redactor.add(password);
  if (password.length < 12) throw new VaultSetupError('E_USAGE', `the password for ${name} is shorter than 12 characters; nothing was changed`, { hint: 'use a longer one (a password manager can generate it)' });
  if (/[\r\n]/.test(password)) throw new VaultSetupError('E_USAGE', `the password for ${name} spans several lines; nothing was changed`, { hint: 'give one line on standard input' });
  return password;
}
