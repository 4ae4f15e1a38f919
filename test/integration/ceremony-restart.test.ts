// A server that restarts while init unseals it from the shares in memory (--print-keys) comes back sealed with its
// round gone. The ceremony notices and enters the shares once more, saying so. The restart is driven by the fault
// proxy at a fixed point of the exchange (after the server answered the last share, before init reads the answer),
// so the outcome does not depend on timing.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { unsealFromMemory } from '../../src/ceremony/from-memory.ts';
import { createContext } from '../../src/context.ts';
import { VaultApi } from '../../src/services/vault-api.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { serverImages } from '../helpers/rig.ts';
import { api, deploy } from '../helpers/server.ts';

const sealStatus = async (address: string) => (await api(address, 'GET', 'sys/seal-status')).body;

for (const { label, flavor, image } of serverImages()) {
  describe(`the ceremony survives a restart while it unseals (${label})`, () => {
    it('restarted after the last share was answered: the shares held in memory are entered once more, once', { timeout: 5 * 60_000 }, async () => {
      await using d = await testDeployment(`cr-${label.slice(0, 6)}`);
      await deploy(d, flavor, image);
      const init = await api(d.address, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
      assert.equal(init.status, 200);
      const keys = (init.body.keys_base64 as string[]).slice(0, 2);
      await using proxy = await faultProxy(d.address);
      let said = '';
      const stderr = new PassThrough();
      stderr.on('data', (chunk) => (said += chunk));
      const ctx = createContext({ yes: true, env: {}, streams: { stdout: new PassThrough(), stderr }, stdin: Object.assign(new PassThrough(), { isTTY: false }) });
      const client = new VaultApi({ address: proxy.address, clock: ctx.clock });
      try {
        // 1. The last share unseals the server; the container restarts before the answer reaches init.
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, times: 1, rewrite: (body) => body });
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, times: 1, rewrite: (body) => (docker('restart', d.name), body) });
        const first = await unsealFromMemory(ctx, client, keys);
        assert.equal(first.sealed, false);
        assert.equal(proxy.count(/^sys\/unseal$/, 'PUT'), 4, 'two shares, then the same two once more');
        assert.equal(said.match(/once more/g)?.length, 1, said);
        assert.match(said, /sealed again \(progress 0\/2\): it restarted after the shares were entered/);
        assert.deepEqual(((s) => [s.sealed, s.t])(await sealStatus(d.address)), [false, 2]);

      } finally {
        client.close();
      }
    });
  });
}
