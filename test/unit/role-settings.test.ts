// What a re-run of `agent add` writes: given flags win, everything else keeps the role's current value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROLE_DEFAULTS, fromServer, mergeSettings } from '../../src/agents/role-settings.ts';

const planned = { tokenTtl: '3600s', tokenMaxTtl: '86400s', secretIdTtl: '2592000s', secretIdUses: 0, cidrs: [] as string[] };

describe('agent add on an existing role', () => {
  it('keeps an earlier --cidr, use limit and TTL when the flags are not given again', () => {
    const current = fromServer({ token_ttl: 1800, token_max_ttl: 86400, secret_id_ttl: 600, secret_id_num_uses: 5, secret_id_bound_cidrs: ['10.0.0.0/8'], token_bound_cidrs: ['10.0.0.0/8'] });
    const { settings, changes } = mergeSettings(current, planned, new Set());
    assert.deepEqual(settings, current);
    assert.deepEqual(changes, []);
  });

  it('a flag given again changes only that setting, and says so', () => {
    const current = fromServer({ token_ttl: 3600, token_max_ttl: 86400, secret_id_ttl: 2592000, secret_id_num_uses: 0, secret_id_bound_cidrs: ['10.0.0.0/8'] });
    const { settings, changes } = mergeSettings(current, { ...planned, tokenTtl: '7200s', cidrs: [] }, new Set(['tokenTtl']));
    assert.equal(settings.tokenTtl, '7200s');
    assert.deepEqual(settings.cidrs, ['10.0.0.0/8']);
    assert.deepEqual(changes, ['token TTL 3600s -> 7200s']);
    const dropped = mergeSettings(current, { ...planned, cidrs: ['192.168.0.0/16'] }, new Set(['cidrs']));
    assert.deepEqual(dropped.changes, ['bound CIDRs 10.0.0.0/8 -> 192.168.0.0/16']);
  });

  it('defaults follow an agent\'s life: the secret_id outlives daily re-logins and restarts', () => {
    assert.equal(ROLE_DEFAULTS.secretIdTtl, '720h');
    assert.equal(ROLE_DEFAULTS.secretIdUses, 0);
    assert.deepEqual(mergeSettings(undefined, planned, new Set()), { settings: planned, changes: [] });
  });
});
