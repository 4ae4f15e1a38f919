// Day 2 without a standing root token: no generate-root listener option left on, the operator policy grants
// nothing root-equivalent, and no token with the root policy is alive.
import { OPTION, OPTION_LINE } from '../../quorum/generate-root.ts';
import { OPERATOR_POLICY } from '../../auth/sign-in.ts';
import { blocks, parseHcl } from '../hcl.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip } from '../types.ts';

export async function generateRootOption(p: Probe): Promise<CheckResult> {
  const id = 'generate-root-option';
  const config = await p.config();
  if (!config.ok) return skip(id, config.error);
  if (config.text.split('\n').includes(OPTION_LINE)) {
    return fail(id, `config/vault.hcl still holds the ${OPTION} line of an interrupted generate-root: unauthenticated root-token generation is open`, 'run `vault-setup generate-root` again (it removes the line first), or delete the line, restart and unseal');
  }
  return pass(id, 'no generate-root round left open in config/vault.hcl');
}

/** Paths whose write or sudo lets a token make itself root (or mint one). */
const ESCALATIONS = [
  'sys/policies/acl/x',
  'sys/policy/x',
  'auth/token/create',
  'auth/token/create-orphan',
  'auth/token/create/x',
  'auth/token/roles/x',
  'sys/auth/x',
  'sys/mounts/x',
  'auth/userpass/users/x',
  'auth/approle/role/x',
  'sys/rekey/init',
  'sys/generate-root/attempt',
  'sys/generate-root-token/attempt',
  'sys/rotate',
  'sys/storage/raft/snapshot',
  'sys/raw/x',
  'identity/entity',
  'identity/group',
];
const WRITE = new Set(['create', 'update', 'patch', 'sudo', 'delete']);

/** Vault's glob: "*" at the end matches any suffix, "+" one path segment. */
export function policyMatches(pattern: string, target: string): boolean {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  const re = new RegExp(`^${body.split('+').map((part) => part.replace(/[.*?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}${prefix ? '' : '$'}`);
  return re.test(target);
}

/** The escalation paths a policy text may write to, as "path (capabilities)". */
export function escalationsIn(policy: string): string[] {
  const found: string[] = [];
  for (const block of blocks(parseHcl(policy), 'path')) {
    const pattern = block.labels[0] ?? '';
    const caps = block.body.attrs.capabilities;
    const list = Array.isArray(caps) ? caps.map(String) : [];
    const writes = list.filter((c) => WRITE.has(c));
    if (writes.length === 0) continue;
    for (const target of ESCALATIONS) {
      // sys/storage/raft/snapshot: reading is the daily backup; writing is a restore.
      if (policyMatches(pattern, target)) found.push(`${pattern} (${writes.join(', ')})`);
    }
  }
  return [...new Set(found)];
}

export async function operatorPolicy(p: Probe): Promise<CheckResult> {
  const id = 'operator-policy';
  if (p.inspector === undefined) return skip(id, 'no token to read policies with', 'vault-setup verify --operator NAME');
  const res = await p.withInspector<any>('GET', `sys/policies/acl/${OPERATOR_POLICY}`);
  if (res === undefined) return skip(id, 'the API is not reachable');
  if (res.status === 404) return pass(id, `no ${OPERATOR_POLICY} policy (no operator login)`);
  if (res.status === 403) return skip(id, `the token may not read the policy ${OPERATOR_POLICY}`, 'vault-setup verify --operator NAME (an operator login may read it)');
  const text = String(res.body?.data?.policy ?? '');
  let bad: string[];
  try {
    bad = escalationsIn(text);
  } catch (error) {
    return fail(id, `the policy ${OPERATOR_POLICY} does not parse (${(error as Error).message})`, 'write it again: vault-setup operator add NAME (with a privileged token)');
  }
  if (bad.length > 0) {
    return fail(id, `the policy ${OPERATOR_POLICY} is root-equivalent: it may write ${bad.join('; ')}`, 'write it again as vault-setup makes it: vault-setup operator add NAME (with a privileged token)');
  }
  return pass(id, `the policy ${OPERATOR_POLICY} grants no way to make a root token`);
}

export async function noRootToken(p: Probe): Promise<CheckResult> {
  const id = 'no-root-token';
  if (p.inspector === undefined) return skip(id, 'no token to list token accessors with', 'vault-setup verify --operator NAME (an operator login may list them)');
  const list = await p.withInspector<any>('LIST', 'auth/token/accessors');
  if (list === undefined) return skip(id, 'the API is not reachable');
  if (list.status !== 200) return skip(id, `the token may not list token accessors (HTTP ${list.status}), so live root tokens cannot be counted`, 'vault-setup verify --operator NAME (an operator login may: list + sudo on auth/token/accessors)');
  const accessors = (list.body?.data?.keys ?? []) as string[];
  const roots: string[] = [];
  for (const accessor of accessors) {
    const info = await p.withInspector<any>('POST', 'auth/token/lookup-accessor', { accessor });
    if (info?.status === 200 && ((info.body?.data?.policies ?? []) as string[]).includes('root')) roots.push(accessor);
  }
  if (roots.length > 0) {
    return fail(id, `${roots.length} token${roots.length === 1 ? '' : 's'} with the root policy ${roots.length === 1 ? 'is' : 'are'} alive (accessor ${roots.join(', ')})`, 'revoke each when done: POST auth/token/revoke-accessor {"accessor": "..."} (vault token revoke -accessor ...)');
  }
  return pass(id, `no token with the root policy is alive (${accessors.length} tokens looked at)`);
}

export const DAY2_CHECKS = [generateRootOption, operatorPolicy, noRootToken];
