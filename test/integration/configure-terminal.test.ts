// The configure phase at a real terminal (tmux): a resumed init asks for a privileged token and each secret value
// masked, confirms a new password twice, and shows the app token once after a warning. Typed values and tokens
// never reach the screen (except the app token, on purpose), a file, a log, argv or a process environment.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { testDeployment } from '../helpers/deployment.ts';
import { assertNoLeaks, watchProcesses } from '../helpers/leaks.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { api, deploy, initAndUnseal } from '../helpers/server.ts';
import { terminal } from '../helpers/tmux.ts';

for (const { label, flavor, image } of serverImages()) {
  describe(`configure at a terminal (${label})`, () => {
    it('masked token and values, a password confirmed twice, the app token shown once', async () => {
      const since = Date.now();
      await using d = await testDeployment(`cfgt-${label}`);
      await deploy(d, flavor, image);
      const { rootToken } = await initAndUnseal(d.address);
      const home = path.join(d.dir, 'home');
      fs.mkdirSync(home);
      const catalog = path.join(d.dir, 'catalog.yaml');
      fs.writeFileSync(
        catalog,
        `secrets:
  web:
    api_key: { from: prompt }
    password: { from: prompt, confirm: true }
    host: { from: prompt, default: db.internal, sensitive: false }
`,
      );
      const apiKey = `key-${randomBytes(9).toString('hex')}`;
      const password = `pw-${randomBytes(9).toString('hex')}`;
      const typo = `pw-${randomBytes(9).toString('hex')}`;
      const watch = watchProcesses([rootToken, apiKey, password, typo]);
      using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'init', ...d.args(flavor, image), '--secrets', catalog, '--app', 'web'], {
        env: { PATH: process.env.PATH, HOME: home },
      });
      await term.waitFor(/Token to configure the server \(root or admin\) \(input hidden\)/);
      term.paste(rootToken);
      term.key('Enter');
      await term.waitFor(/Values for 3 secret fields under secret\/[^]*secret\/web api_key \(hidden\)/);
      term.paste(apiKey);
      term.key('Enter');
      await term.waitFor(/secret\/web password \(hidden\)/);
      term.paste(password);
      term.key('Enter');
      await term.waitFor(/secret\/web password again, to confirm/);
      term.paste(typo);
      term.key('Enter');
      await term.waitFor(/did not match; once more[^]*secret\/web password \(hidden\)/);
      term.paste(password);
      term.key('Enter');
      await term.waitFor(/(password again, to confirm[^]*){2}/);
      term.paste(password);
      term.key('Enter');
      await term.waitFor(/secret\/web host/);
      term.key('Enter'); // keeps the default
      const screen = await term.waitFor(/The app token for "web" is shown ONCE[^]*\n\s+(\S{20,})\s*\n/);
      assert.equal(await term.waitExit(), 0, term.screen({ history: true }));
      const leaks = watch.stop();
      assert.deepEqual(leaks, [], 'no argv or environment held a typed value or the root token');

      const appToken = /shown ONCE[^\n]*\n\s*\n\s+(\S+)/.exec(screen)?.[1] as string;
      const all = term.screen({ history: true });
      for (const secret of [rootToken, apiKey, password, typo]) assert.ok(!all.includes(secret), 'typed input is masked');
      assert.match(all, /secret\/web: created \(api_key, password, host\)/);
      assert.match(all, /App token: shown above once/);
      assert.match(all, /The root token you supplied was revoked/);

      const read = await api(d.address, 'GET', 'secret/data/web', { token: appToken });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.data.data, { api_key: apiKey, password, host: 'db.internal' });
      assert.equal((await api(d.address, 'GET', 'auth/token/lookup-self', { token: rootToken })).status, 403);

      await assertNoLeaks([rootToken, apiKey, password, typo, appToken], { dirs: [d.dir], since, containers: [d.name] });
    });
  });
}
