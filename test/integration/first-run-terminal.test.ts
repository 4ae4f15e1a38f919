// The first run at a real terminal (tmux), as a newcomer meets it: a fresh `init` with the built-in catalog says
// what the catalog is and how to use another, lets Enter skip a field (reported, recorded in vault-setup.json,
// a warning in verify instead of a failure), and ends with a short "Next steps" block. `unseal` on the unsealed
// server is a notice, not a red ✖. A skipped field written later with `secret put` leaves the record.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { assertNoLeaks } from '../helpers/leaks.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';
import { terminal } from '../helpers/tmux.ts';

function readShares(screen: string): { shares: string[]; rootToken: string } {
  const shares = [...screen.matchAll(/^\s+Share (\d):\s+([A-Za-z0-9+/=]{44})\s*$/gm)].map((m) => m[2] as string);
  const rootToken = /^\s+Root token: (\S+)\s*$/m.exec(screen)?.[1] ?? '';
  return { shares, rootToken };
}

describe('the first run at a terminal', () => {
  const { flavor, image } = serverImages()[0] as { flavor: string; image: string };

  it('the catalog explained, fields skipped with Enter, next steps; verify warns about the skipped fields', { timeout: 10 * 60_000 }, async () => {
    const since = Date.now();
    await using d = await testDeployment('first-tty');
    const home = path.join(d.dir, 'home');
    fs.mkdirSync(home);
    const tokenFile = path.join(d.dir, 'app-token');
    const githubToken = `ghp_${randomBytes(12).toString('hex')}`;
    const password = `op-${randomBytes(9).toString('hex')}`;
    const env = { PATH: process.env.PATH, HOME: home };
    using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'init', ...d.args(flavor, image), '--shares', '3', '--threshold', '2', '--app-token-file', tokenFile], { env });

    const shown = await term.waitFor(/Have you saved all 3 shares and the root token outside this server\?/);
    const { shares, rootToken } = readShares(shown);
    assert.equal(shares.length, 3, shown);
    term.type('y');
    term.key('Enter');
    await term.waitFor(/Share 1 of 2 \(hidden\)/);
    term.paste(shares[0] as string);
    term.key('Enter');
    await term.waitFor(/Share accepted: 1\/2/);
    term.paste(shares[2] as string);
    term.key('Enter');
    await term.waitFor(/New password for the operator admin/);
    term.paste(password);
    term.key('Enter');
    await term.waitFor(/Password for admin again/);
    term.paste(password);
    term.key('Enter');

    const intro = await term.waitFor(/secret\/openrouter api_key \(hidden\), Enter alone skips it/);
    assert.match(intro, /The built-in catalog seeds the playbook's apps \(openrouter, telegram, github, database, cockpit\): 9 values to type, 2 generated\./);
    assert.match(intro, /Your own list instead: --secrets FILE; no seeded secrets at all: --secrets none/);
    assert.match(intro, /Enter alone on a field with no default skips it: it is recorded, and verify warns until you write it/);
    term.key('Enter'); // openrouter.api_key: skipped
    await term.waitFor(/secret\/telegram bot_token \(hidden\), Enter alone skips it/);
    term.key('Enter');
    await term.waitFor(/secret\/telegram chat_id \(hidden\), Enter alone skips it/);
    term.key('Enter');
    await term.waitFor(/secret\/github token \(hidden\), Enter alone skips it/);
    term.paste(githubToken);
    term.key('Enter');
    for (const field of ['host', 'port', 'name', 'user']) {
      await term.waitFor(new RegExp(`secret/database ${field}`));
      term.key('Enter'); // keeps the default
    }
    await term.waitFor(/secret\/database password \(hidden\), Enter alone skips it/);
    term.key('Enter');

    assert.equal(await term.waitExit(), 0, term.screen({ history: true }));
    const all = term.screen({ history: true });
    assert.match(all, /Skipped 4 fields: openrouter\.api_key, telegram\.bot_token, telegram\.chat_id, database\.password/);
    assert.match(all, /Secrets \(built-in catalog\): created: github, database, cockpit; skipped: openrouter, telegram/);
    assert.match(all, /vault-setup secret put secret\/openrouter api_key\n/);
    assert.match(all, /vault-setup secret put secret\/database host port name user password --overwrite/);
    assert.match(all, /Next steps:\n {2}vault-setup verify --dir \S+ --token-file \S+ +prove the deployment is healthy and safe\n {2}vault-setup unseal --dir \S+ +after a reboot or restart/);
    assert.match(all, /vault-setup secret list --operator admin --dir \S+ +daily work: log in as "admin" \(no root token\)/);
    for (const secret of [...shares, rootToken, githubToken, password]) assert.ok(!all.includes(secret), 'nothing secret left on screen');

    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    assert.deepEqual(record.skippedFields, ['openrouter.api_key', 'telegram.bot_token', 'telegram.chat_id', 'database.password']);
    const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
    assert.equal((await api(d.address, 'GET', 'secret/data/github', { token: appToken })).body.data.data.token, githubToken);
    assert.deepEqual(Object.keys((await api(d.address, 'GET', 'secret/data/database', { token: appToken })).body.data.data).sort(), ['host', 'name', 'port', 'user']);
    assert.equal((await api(d.address, 'GET', 'secret/data/openrouter', { token: appToken })).status, 404, 'a skipped path is not written, and still in the policy');

    const verify = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json']);
    assert.equal(verify.code, 0, verify.stdout);
    const catalog = (verify.json().checks as { id: string; status: string; finding: string; fix: string }[]).find((c) => c.id === 'catalog-paths');
    assert.equal(catalog?.status, 'warn');
    assert.equal(catalog?.finding, '3/5 paths present, skipped at init: secret/openrouter, secret/telegram, secret/database (password) (catalog: the built-in playbook catalog)');
    assert.equal(catalog?.fix, 'write them when you have the values, e.g. vault-setup secret put secret/openrouter api_key');

    // The skipped field written later: it leaves the record, and verify no longer names it.
    const orKey = `sk-or-${randomBytes(9).toString('hex')}`;
    const put = await runCli(['secret', 'put', 'secret/openrouter', 'api_key', '--from-env', 'api_key=OR_KEY', '--operator', 'admin', '--password-stdin', '--dir', d.dir], { input: `${password}\n`, env: { OR_KEY: orKey, HOME: home } });
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8')).skippedFields, ['telegram.bot_token', 'telegram.chat_id', 'database.password']);
    const again = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json']);
    const after = (again.json().checks as { id: string; finding: string }[]).find((c) => c.id === 'catalog-paths');
    assert.match(after?.finding ?? '', /^4\/5 paths present, skipped at init: secret\/telegram, secret\/database \(password\)/);

    // `unseal` at a terminal on the open server: exit 17, said as a notice, not as a failure.
    using unseal = terminal([process.execPath, `${ROOT}src/cli.ts`, 'unseal', '--dir', d.dir], { env });
    assert.equal(await unseal.waitExit(), 17, unseal.screen({ history: true }));
    const said = unseal.screen({ history: true });
    assert.match(said, /ℹ vault-setup unseal: the server at \S+ is already unsealed; no share was used/);
    assert.doesNotMatch(said, /✖/);

    await assertNoLeaks([...shares, rootToken, githubToken, password, orKey], { dirs: [d.dir], since, containers: [d.name] });
  });
});
