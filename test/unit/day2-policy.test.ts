// The operator policy vault-setup writes grants no path that makes a root token; verify's reading of a policy
// finds each way to escalate, and decoding the generate-root answer is the OTP XOR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { operatorPolicy } from '../../src/auth/operator.ts';
import { decodeRootToken, withOption, withoutLeftover, OPTION_LINE } from '../../src/quorum/generate-root.ts';
import { escalationsIn, policyMatches } from '../../src/verify/checks/day2.ts';

test('the operator policy has no escalation path', () => {
  assert.deepEqual(escalationsIn(operatorPolicy('auth_userpass_1234')), []);
});

test('escalationsIn finds writes to policies, tokens, auth methods, logins, rekey, generate-root', () => {
  assert.deepEqual(escalationsIn('path "sys/policies/acl/*" { capabilities = ["update"] }'), ['sys/policies/acl/* (update)']);
  assert.deepEqual(escalationsIn('path "auth/token/create" { capabilities = ["create", "read"] }'), ['auth/token/create (create)']);
  assert.deepEqual(escalationsIn('path "*" { capabilities = ["sudo"] }'), ['* (sudo)']);
  assert.deepEqual(escalationsIn('path "auth/+/users/*" { capabilities = ["update"] }'), ['auth/+/users/* (update)']);
  assert.deepEqual(escalationsIn('path "sys/rekey/*" { capabilities = ["update"] }'), ['sys/rekey/* (update)']);
  assert.deepEqual(escalationsIn('path "sys/policies/acl/*" { capabilities = ["read", "list"] }'), []);
  assert.equal(policyMatches('secret/data/*', 'sys/policies/acl/x'), false);
  assert.equal(policyMatches('auth/approle/role/+/secret-id', 'auth/approle/role/x'), false);
});

test('decodeRootToken: base64 of token XOR otp', () => {
  const token = 'hvs.EXAMPLEexampleEXAMPLE1234';
  const otp = 'A'.repeat(token.length);
  const encoded = Buffer.from([...Buffer.from(token)].map((b, i) => b ^ otp.charCodeAt(i))).toString('base64').replace(/=+$/, '');
  assert.equal(decodeRootToken(encoded, otp), token);
  assert.throws(() => decodeRootToken(encoded, 'short'), /one-time password/);
});

test('the listener option goes in after listener "tcp" { and comes out byte for byte', () => {
  const config = 'ui = false\nlistener "tcp" {\n  address = "0.0.0.0:8200"\n}\n';
  const on = withOption(config);
  assert.ok(on.split('\n').includes(OPTION_LINE));
  assert.equal(withoutLeftover(on), config);
  assert.equal(withoutLeftover(config), undefined);
});
