// The app's policy: read on exactly the seeded KV v2 paths, plus what its token needs to look up, renew and
// revoke itself and to ask what it may do. Nothing else: a token made with no_default_policy has no other grant.
import { VaultSetupError } from '../errors.ts';

export const KV_MOUNT = 'secret';

/** The self-service grants the `default` policy would have given (lookup, renew, revoke, capabilities). */
export const SELF_PATHS: ReadonlyArray<{ path: string; capabilities: string[] }> = [
  { path: 'auth/token/lookup-self', capabilities: ['read'] },
  { path: 'auth/token/renew-self', capabilities: ['update'] },
  { path: 'auth/token/revoke-self', capabilities: ['update'] },
  { path: 'sys/capabilities-self', capabilities: ['update'] },
];

const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function validateAppName(name: string): string {
  if (!APP_NAME.test(name) || name === 'root' || name === 'default') {
    throw new VaultSetupError('E_USAGE', `--app must be lower-case letters, digits, "-" or "_" (not "root" or "default"), got "${name}"`, {
      hint: 'e.g. --app openclaw',
    });
  }
  // `agent add NAME` owns the policies agent-NAME: an app of that name would overwrite an agent's policy (or the
  // reverse). The two namespaces stay apart.
  if (name.startsWith('agent-')) {
    throw new VaultSetupError('E_USAGE', `--app "${name}" is in the namespace of \`vault-setup agent\` (policies agent-NAME): it would replace an agent's policy`, {
      hint: `choose an app name that does not start with "agent-", e.g. --app ${name.slice('agent-'.length) || 'openclaw'}`,
    });
  }
  return name;
}

/**
 * The name of an app whose policy init or adopt will write: also not in vault-setup's own namespace (the operator
 * login's and the backup identity's policies are vault-setup-*). A grant to an existing app is guarded by the record
 * and by the policy's own marker instead.
 */
export function validateNewAppName(name: string): string {
  validateAppName(name);
  if (name.startsWith('vault-setup-')) {
    throw new VaultSetupError('E_USAGE', `--app "${name}" is in vault-setup's own namespace (policies vault-setup-*, e.g. the operator login's and the backup identity's): it would replace one of them`, {
      hint: `choose an app name that does not start with "vault-setup-", e.g. --app ${name.slice('vault-setup-'.length) || 'openclaw'}`,
    });
  }
  return name;
}

export interface PolicyRule {
  path: string;
  capabilities: string[];
}

export function policyRules(paths: readonly string[], mount = KV_MOUNT): PolicyRule[] {
  const sorted = [...new Set(paths)].sort();
  return [
    ...sorted.flatMap((p) => [
      { path: `${mount}/data/${p}`, capabilities: ['read'] },
      { path: `${mount}/metadata/${p}`, capabilities: ['read', 'list'] },
    ]),
    ...SELF_PATHS.map((r) => ({ path: r.path, capabilities: [...r.capabilities] })),
  ];
}

/** The one HCL renderer for the policies vault-setup writes (the app's, the agents'): a comment, then the rules. */
export function renderRules(comment: string, rules: readonly PolicyRule[]): string {
  const stanzas = rules.map((r) => `path "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]\n}\n`);
  return `# ${comment}\n${stanzas.join('\n')}`;
}

/** HCL for the policy. Paths are validated catalog paths (no globs, no quotes), so they go in verbatim. */
export function renderPolicy(app: string, paths: readonly string[], mount = KV_MOUNT): string {
  return renderRules(`Written by vault-setup for the app "${app}": read its seeded secrets, manage its own token. Nothing else.`, policyRules(paths, mount));
}
