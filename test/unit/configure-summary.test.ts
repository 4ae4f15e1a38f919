// init's closing summary says what the app's policy really reads: the catalog's paths and the granted ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_CATALOG } from '../../src/config/catalog.ts';
import { deploymentPaths } from '../../src/deployment.ts';
import type { ConfigureOptions } from '../../src/tasks/configure/plan.ts';
import { summaryLines } from '../../src/tasks/configure/reveal.ts';
import type { ConfigureState } from '../../src/tasks/configure/state.ts';

const state: ConfigureState = { steps: [], secrets: [], kv: 'kept', policy: 'kept', audit: { status: 'kept', device: 'file/', filePath: '/vault/logs/audit.log', via: 'api' } };
const options = { app: 'openclaw', overwriteAll: false } as ConfigureOptions;
const policyLine = (paths: string[]) => summaryLines(state, options, { source: NO_CATALOG, entries: [] }, deploymentPaths('/srv/vault'), paths).split('\n').at(-1);

describe('init summary: the policy line', () => {
  it('counts the granted paths, not only the catalog seeded in this run', () => {
    assert.equal(policyLine([]), 'Policy "openclaw" (kept): token self-service only, nothing under secret/');
    assert.equal(policyLine(['granted', 'stripe']), 'Policy "openclaw" (kept): read on 2 paths under secret/ and token self-service, nothing else');
  });
});
