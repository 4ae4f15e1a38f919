import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SELF_PATHS, policyRules, renderPolicy, validateAppName, validateNewAppName } from '../../src/config/policy.ts';

describe('app policy', () => {
  it('grants read on data/ and read+list on metadata/ of exactly the seeded paths, and token self-service', () => {
    const rules = policyRules(['telegram', 'openrouter', 'apps/db']);
    assert.deepEqual(rules, [
      { path: 'secret/data/apps/db', capabilities: ['read'] },
      { path: 'secret/metadata/apps/db', capabilities: ['read', 'list'] },
      { path: 'secret/data/openrouter', capabilities: ['read'] },
      { path: 'secret/metadata/openrouter', capabilities: ['read', 'list'] },
      { path: 'secret/data/telegram', capabilities: ['read'] },
      { path: 'secret/metadata/telegram', capabilities: ['read', 'list'] },
      { path: 'auth/token/lookup-self', capabilities: ['read'] },
      { path: 'auth/token/renew-self', capabilities: ['update'] },
      { path: 'auth/token/revoke-self', capabilities: ['update'] },
      { path: 'sys/capabilities-self', capabilities: ['update'] },
    ]);
    assert.equal(SELF_PATHS.length, 4);
  });

  it('renders HCL without globs, stable for the same set of paths', () => {
    const hcl = renderPolicy('openclaw', ['b', 'a']);
    assert.equal(hcl, renderPolicy('openclaw', ['a', 'b', 'a']));
    assert.doesNotMatch(hcl, /[*+]/);
    assert.match(hcl, /^path "secret\/data\/a" \{\n  capabilities = \["read"\]\n\}$/m);
    assert.match(hcl, /^path "secret\/metadata\/b" \{\n  capabilities = \["read", "list"\]\n\}$/m);
    assert.equal(hcl.match(/^path /gm)?.length, 8);
    assert.doesNotMatch(hcl, /sudo|create|delete|"update"\]\n\}\npath "secret/);
  });

  it('app names are policy-safe', () => {
    assert.equal(validateAppName('openclaw'), 'openclaw');
    assert.equal(validateAppName('my-app_2'), 'my-app_2');
    for (const bad of ['root', 'default', 'Open', 'a b', '-x', 'a/b', '', 'x'.repeat(70)]) assert.throws(() => validateAppName(bad), /--app must be/, bad);
    // agent-NAME is the policy of `agent add NAME`: an app there would overwrite it.
    assert.throws(() => validateAppName('agent-x'), /namespace of `vault-setup agent`/);
    // vault-setup-* holds the operator login's and the backup identity's policies.
    for (const name of ['vault-setup-operator', 'vault-setup-backup']) assert.throws(() => validateNewAppName(name), /vault-setup's own namespace/);
    assert.equal(validateAppName('agentx'), 'agentx');
  });
});
