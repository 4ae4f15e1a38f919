// Shares piped to `unseal --stdin` in the shapes holders' tools produce (a byte-order mark, CRLF, blank lines,
// indentation, upper-case hex, base64, groups of four), against the real server; a damaged line stops the round
// with its line number and never its text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { rig } from '../helpers/rig.ts';
import { api, waitActive } from '../helpers/server.ts';

describe('hostile share input (OpenBao 2.7)', () => {
  it('unseal --stdin takes every harmless shape of a share and refuses a damaged one by line number', { timeout: 10 * 60_000 }, async () => {
    await using d = await testDeployment('hs');
    const catalog = path.join(d.dir, 'catalog.yaml');
    fs.writeFileSync(catalog, 'secrets:\n  app:\n    key: { from: generate, format: hex }\n');
    const init = await runCli(['init', ...d.args('openbao', rig().openbaoImage), '--yes', '--print-keys', '--keep-root-token', '--show-token', '--json', '--secrets', catalog]);
    assert.equal(init.code, 0, init.stderr);
    const { unseal_keys_hex: keys, unseal_keys_b64: b64, root_token: root } = init.json().init as { unseal_keys_hex: string[]; unseal_keys_b64: string[]; root_token: string };
    const seal = async () => assert.equal((await api(d.address, 'PUT', 'sys/seal', { token: root })).status, 204);
    const sealed = async () => (await api(d.address, 'GET', 'sys/seal-status')).body;

    await seal();
    const shapes = `\uFEFF  ${(keys[0] as string).toUpperCase()} \r\n\r\n\t${b64[1]}\t\r\n\n${(keys[2] as string).replace(/(.{4})/g, '$1 ')}\r\n`;
    const ok = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: shapes });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await sealed()).sealed, false);
    await waitActive(d.address);

    await seal();
    const damaged = (b64[3] as string).replace(/\+/g, '-').replace(/\//g, '_').replace(/^[A-Za-z0-9]/, '-'); // URL-safe alphabet
    const bad = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys[0]}\n\n${damaged}\n${keys[2]}\n` });
    assert.equal(bad.code, 11, bad.stderr);
    assert.equal(bad.json().error.code, 'E_BAD_SHARE');
    assert.match(bad.json().error.message, /^line 3 of standard input: not a share: it has characters that are neither hex nor base64/);
    for (const text of [bad.stdout, bad.stderr]) {
      assert.ok(!text.includes(damaged) && !text.includes(damaged.slice(4, 20)), 'the damaged share is not echoed');
      assert.ok(!text.includes(keys[0] as string), 'the share before it is not echoed');
    }
    const status = await sealed();
    assert.equal(status.sealed, true);
    assert.equal(status.progress, 1, 'the good share before the damaged line counted; nothing after it was sent');

    const rest = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${b64[4]}\r\n${keys[2]}\r\n` });
    assert.equal(rest.code, 0, rest.stderr);
    assert.equal((await sealed()).sealed, false);
  });
});
