import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLive, normalisePath, policyPaths, renderPolicy, validateCidr, validateName } from '../../src/agents/approle.ts';
import { renderRules } from '../../src/config/policy.ts';
import { VaultSetupError } from '../../src/errors.ts';

const usage = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof VaultSetupError && e.code === 'E_USAGE');

test('paths: secret/x and x name the same KV key; globs, API paths and traversal are refused', () => {
  assert.equal(normalisePath('secret/openrouter'), 'openrouter');
  assert.equal(normalisePath('openrouter'), 'openrouter');
  assert.equal(normalisePath('/secret/team/api/'), 'team/api');
  for (const bad of ['secret/*', 'secret/a/+/b', 'secret/../sys', 'secret//x', '', 'secret/', 'secret/data/x', 'a b']) usage(() => normalisePath(bad));
});

test('names: letters, digits, - and _; no policy-name tricks', () => {
  assert.equal(validateName('openclaw-1'), 'openclaw-1');
  for (const bad of [undefined, '', '-x', 'a/b', 'a.b', 'x'.repeat(65), 'a b']) usage(() => validateName(bad));
});

test('cidr: IPv4/IPv6 networks and bare addresses', () => {
  for (const ok of ['10.0.0.0/8', '127.0.0.1', '192.168.1.20/32', '::1/128', 'fd00::/8']) assert.equal(validateCidr(ok), ok);
  for (const bad of ['10.0.0.0/33', 'host.example', '10.0.0/8', '1.2.3.4/8/9', '::1/129']) usage(() => validateCidr(bad));
});

test('policy: read on data/, read+list on metadata/ for exactly the given keys, and its own token', () => {
  const hcl = renderPolicy('bot', ['openrouter', 'team/api']);
  assert.match(hcl, /path "secret\/data\/openrouter" \{\n  capabilities = \["read"\]\n\}/);
  assert.match(hcl, /path "secret\/metadata\/team\/api" \{\n  capabilities = \["read", "list"\]\n\}/);
  assert.match(hcl, /path "auth\/token\/renew-self"/);
  assert.doesNotMatch(hcl, /\*|"create"|"update", "delete"|sudo/);
  assert.deepEqual(policyPaths(hcl), ['secret/openrouter', 'secret/team/api']);
});

test('a secret_id is live until its expiry; a zero time never expires', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(isLive({ accessor: 'a', expiration_time: '2026-01-02T00:00:00Z', secret_id_num_uses: 0 }, now), true);
  assert.equal(isLive({ accessor: 'a', expiration_time: '2025-12-31T00:00:00Z', secret_id_num_uses: 0 }, now), false);
  assert.equal(isLive({ accessor: 'a', expiration_time: '0001-01-01T00:00:00Z', secret_id_num_uses: 0 }, now), true);
});

test('the agent policy is rendered by the one policy renderer: exactly its paths and its own token', () => {
  const hcl = renderPolicy('bot', ['openrouter']);
  const rules = [...hcl.matchAll(/path "([^"]+)" \{\n  capabilities = (\[[^\]]*\])\n\}/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(rules, [
    'secret/data/openrouter ["read"]',
    'secret/metadata/openrouter ["read", "list"]',
    'auth/token/renew-self ["update"]',
    'auth/token/lookup-self ["read"]',
    'auth/token/revoke-self ["update"]',
  ]);
  const comment = 'Written by vault-setup for agent bot: read exactly these KV v2 secrets and renew, look up and revoke its own token; nothing else.';
  const parsed = [...hcl.matchAll(/path "([^"]+)" \{\n  capabilities = (\[[^\]]*\])\n\}/g)].map((m) => ({ path: m[1] as string, capabilities: JSON.parse(m[2] as string) as string[] }));
  assert.equal(hcl, renderRules(comment, parsed));
});
