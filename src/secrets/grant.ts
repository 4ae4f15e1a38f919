// `secret put PATH ... --grant APP|agent:NAME`: the new secret's path is added to the policy vault-setup wrote for
// the app (policy APP) or an agent (policy agent-NAME). Changing a policy is a privilege change: the token must be
// allowed to write it (the quorum's root token or a privileged one; the operator login is refused before anything
// is asked). Only policies vault-setup rendered are touched, and they are rendered again the way init and
// `agent add` render them, so the grant survives their next run (it is kept in vault-setup.json).
import { policyName, policyPaths, renderPolicy as renderAgentPolicy, validateName } from '../agents/approle.ts';
import { KV_MOUNT, renderPolicy as renderAppPolicy, validateAppName } from '../config/policy.ts';
import type { Grantee } from '../deployment/record.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';

export type { Grantee } from '../deployment/record.ts';

/** `--grant openclaw` (an app) or `--grant agent:bot`. */
export function parseGrantee(raw: string): Grantee {
  if (raw.startsWith('agent:')) {
    try {
      return { kind: 'agent', name: validateName(raw.slice('agent:'.length)) };
    } catch {
      throw usageError(`--grant "${raw.slice(0, 60)}" names no agent`, 'e.g. --grant agent:openclaw (an agent made by `vault-setup agent add`)');
    }
  }
  try {
    return { kind: 'app', name: validateAppName(raw) };
  } catch {
    throw usageError(`--grant "${raw.slice(0, 60)}" is neither an app name nor agent:NAME`, 'e.g. --grant openclaw (the app init configured) or --grant agent:bot');
  }
}

export const granteeText = (who: Grantee): string => (who.kind === 'app' ? who.name : `agent:${who.name}`);
export const grantPolicy = (who: Grantee): string => (who.kind === 'app' ? who.name : policyName(who.name));

/** The first line of the policies vault-setup renders: only those are ever re-rendered by a grant. */
function writtenByVaultSetup(who: Grantee, hcl: string): boolean {
  const first = hcl.split('\n', 1)[0] ?? '';
  return who.kind === 'app' ? first.startsWith(`# Written by vault-setup for the app "${who.name}"`) : first.startsWith(`# Written by vault-setup for agent ${who.name}:`);
}

export interface PreparedGrant {
  who: Grantee;
  policy: string;
  /** The KV keys the policy grants now. */
  current: string[];
}

/**
 * Reads the policy and checks, before the secret is written, that it is one vault-setup rendered and that the
 * token may rewrite it. Nothing is changed here.
 */
export async function prepareGrant(api: VaultApi, token: string, who: Grantee): Promise<PreparedGrant> {
  const policy = grantPolicy(who);
  const res = await api.request<any>('GET', `sys/policies/acl/${policy}`, { token, accept: [403, 404] });
  if (res.status === 403) throw deniedGrant(who);
  const hcl = res.status === 404 ? undefined : String(res.body?.data?.policy ?? res.body?.policy ?? '');
  if (hcl === undefined) {
    throw new VaultSetupError('E_USAGE', `there is no policy ${policy} to grant the path to; nothing was written`, {
      hint: who.kind === 'app' ? 'name the app `vault-setup init` configured (vault-setup.json "app"), or an agent: --grant agent:NAME' : `add the agent first: vault-setup agent add ${who.name} --secret ${KV_MOUNT}/PATH --quorum`,
    });
  }
  if (!writtenByVaultSetup(who, hcl)) {
    throw new VaultSetupError('E_USAGE', `the policy ${policy} was not written by vault-setup for ${granteeText(who)}; it is left alone and nothing was written`, {
      hint: who.kind === 'app' ? 'grant to the app init configured, or to an agent (--grant agent:NAME)' : 'grant to an agent made by `vault-setup agent add`',
    });
  }
  const caps = await api.request<any>('POST', 'sys/capabilities-self', { token, body: { paths: [`sys/policies/acl/${policy}`] } });
  const have = (caps.body?.data?.[`sys/policies/acl/${policy}`] ?? caps.body?.[`sys/policies/acl/${policy}`] ?? caps.body?.capabilities ?? []) as string[];
  if (!have.includes('root') && !have.includes('update')) throw deniedGrant(who);
  return { who, policy, current: policyPaths(hcl).map((p) => p.slice(KV_MOUNT.length + 1)) };
}

/** Adds the key to the policy (rendered as init or `agent add` renders it); false when it was there already. */
export async function applyGrant(api: VaultApi, token: string, grant: PreparedGrant, key: string): Promise<boolean> {
  if (grant.current.includes(key)) return false;
  const keys = [...grant.current, key];
  const hcl = grant.who.kind === 'app' ? renderAppPolicy(grant.who.name, keys) : renderAgentPolicy(grant.who.name, keys);
  await api.request('PUT', `sys/policies/acl/${grant.policy}`, { token, body: { policy: hcl } });
  return true;
}

/** The grant is a privilege change: say how to make it. */
export function deniedGrant(who: Grantee): VaultSetupError {
  return new VaultSetupError('E_DENIED', `the token may not change the policy ${grantPolicy(who)}: --grant ${granteeText(who)} is a privilege change; nothing was written`, {
    hint: 'let the share holders make a token for this one command: add --quorum (or use a privileged token in VAULT_TOKEN)',
  });
}
