// `vault-setup rekey` with the server's verification, on every rig server (sys/rekey where served, sys/rotate/root
// with a token where not): 5/3 -> 4/2 with --stdin. The current
// shares go in, the new ones come out on stdout and are typed back over the same pipe; a wrong type-back leaves the
// old shares valid (and a second rekey is refused while it is pending: exit 9); a one-way pipe ends before the
// type-back (exit 15); after a complete rekey the new shares unseal and the old ones do not. Once, at a real terminal
// (tmux): the new shares shown as init shows them, then cleared from screen and scrollback.
// The same with --pgp-keys: each new share is encrypted to its holder (real gpg keys in a throwaway GNUPGHOME), the
// holders decrypt theirs and type it back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { call, readyServer, unseal, waitSealed } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { gpgHome } from '../helpers/gpg.ts';
import { runInProcess } from '../helpers/in-process.ts';
import type { Prompter } from '../../src/services/prompter.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';

/**
 * Runs rekey; old shares are written at once, then `typeBack(newShares)` answers once the new shares appear on stdout
 * (or, with `ready`, once stderr matches it: --keys-out writes files and prints nothing on stdout).
 */
function rekeyRun(args: string[], token: string, oldShares: string[], typeBack: (fresh: string[]) => string[], ready?: RegExp): Promise<{ code: number; stdout: string; stderr: string; fresh: string[] }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', VAULT_TOKEN: token };
    delete env.BAO_TOKEN;
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, 'rekey', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let fresh: string[] = [];
    let answered = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^(\{"new_shares".*\})$/m.exec(stdout);
      if (m !== null && ready === undefined && !answered) {
        answered = true;
        fresh = JSON.parse(m[1] as string).new_shares;
        child.stdin.end(`${typeBack(fresh).join('\n')}\n`);
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (ready !== undefined && ready.test(stderr) && !answered) {
        answered = true;
        child.stdin.end(`${typeBack([]).join('\n')}\n`);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, fresh });
    });
    child.stdin.write(`${oldShares.join('\n')}\n`);
  });
}

async function sealWith(server: { address: string }, token: string): Promise<void> {
  const res = await call(server, 'PUT', 'sys/seal', { token });
  assert.equal(res.status, 204, JSON.stringify(res.body));
  await waitSealed(server);
}

async function unsealOutcome(server: { address: string }, keys: string[]): Promise<any> {
  let last: any;
  for (const key of keys) last = (await call(server, 'PUT', 'sys/unseal', { body: { key } })).body;
  return last;
}

for (const { label, flavor, image } of serverImages()) {
test(`rekey 5/3 -> 4/2 with verification: a wrong type-back keeps the old shares, a right one replaces them: ${label}`, { timeout: 6 * 60_000 }, async (t) => {
  await using d = await testDeployment(`rk-${label.slice(0, 6)}`);
  const server = await readyServer(d, flavor, image);
  const dir = ['--dir', d.dir, '--shares', '4', '--threshold', '2', '--stdin'];
  let current: string[] = [];

  await t.test('a wrong type-back: refused, the old shares still unseal', async () => {
    const run = await rekeyRun(dir, server.rootToken, server.keys.slice(0, 3), (fresh) => [fresh[0] as string, server.keys[4] as string]);
    assert.equal(run.code, 11, run.stderr);
    assert.equal(run.fresh.length, 4);
    assert.match(run.stderr, /do not match the new ones: the rekey is not complete and the old shares stay valid/);
    for (const key of server.keys) assert.ok(!run.stderr.includes(key), 'no old share on stderr');
    // The unverified rekey is still pending: a new one is the server in the wrong state (9), with the way out.
    const busy = await rekeyRun(dir, server.rootToken, [], () => []);
    assert.equal(busy.code, 9, busy.stderr);
    assert.match(busy.stderr, /a rekey is already in progress on \S+ \(\d+\/\d+ shares\)\n.*vault-setup rekey --cancel/);
    const cancel = await rekeyRun(['--dir', d.dir, '--cancel', '--json'], server.rootToken, [], () => []);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(JSON.parse(cancel.stdout).cancelled, true, 'the unverified rekey was still pending');
    await sealWith(server, server.rootToken);
    await unseal(server, server.keys.slice(2, 5));
  });

  await t.test('a one-way pipe: input ends before the type-back, exit 15 naming what works, the rekey pending', async () => {
    const run = await rekeyRun(dir, server.rootToken, server.keys.slice(0, 3), () => []);
    assert.equal(run.code, 15, run.stderr);
    assert.match(run.stderr, /standard input ended: new share typed back 1 of 2 is missing\n.*vault-setup rekey --cancel`; then the type-back is written to the same standard input after the new shares came out: a coprocess, not a one-way pipe/);
    const cancel = await rekeyRun(['--dir', d.dir, '--cancel', '--json'], server.rootToken, [], () => []);
    assert.equal(JSON.parse(cancel.stdout).cancelled, true, 'left pending');
  });

  await t.test('a right type-back: 4 new shares, 2 unseal, the old ones no longer do', async () => {
    const run = await rekeyRun(dir, server.rootToken, server.keys.slice(1, 4), (fresh) => fresh.slice(2, 4));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.fresh.length, 4);
    // stdout holds the new shares' JSON line alone (a program reads it); the summary is for people, on stderr.
    assert.equal(run.stdout.trim().split('\n').length, 1, run.stdout);
    assert.match(run.stderr, /Rekeyed: 4 new shares, 2 unseal/);
    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));
    assert.deepEqual([record.shares, record.threshold], [4, 2], 'the deployment record follows the rekey');
    assert.match(run.stderr, /Snapshots taken before now still open only with the OLD shares: take a new one \(vault-setup backup\)/);
    current = run.fresh;
    await sealWith(server, server.rootToken);
    const old = await unsealOutcome(server, server.keys.slice(0, 3));
    assert.equal(old.sealed, true, 'the old shares do not unseal');
    await call(server, 'PUT', 'sys/unseal', { body: { reset: true } });
    await unseal(server, run.fresh.slice(0, 2));
  });

  // At a real terminal, once (the display is the same on every server): as init's ceremony shows its shares.
  if (label === serverImages()[0]?.label) await t.test('at a terminal: the new shares in base64 as init shows them, saved, typed back, then gone from screen and scrollback', async () => {
    const home = path.join(d.dir, 'tty-home');
    fs.mkdirSync(home);
    const env = { PATH: process.env.PATH, HOME: home, VAULT_TOKEN: server.rootToken };
    const rekeyAt = (term: ReturnType<typeof terminal>) => async () => {
      for (const [i, share] of current.slice(0, 2).entries()) {
        await term.waitFor(new RegExp(`Current share ${i + 1} of 2`));
        term.paste(share);
        term.key('Enter');
      }
      return term.waitFor(/Have all 3 new shares been saved outside this server\?/, { timeoutMs: 30_000 });
    };
    const args = [process.execPath, `${ROOT}src/cli.ts`, 'rekey', '--dir', d.dir, '--shares', '3', '--threshold', '2'];
    {
      // Ctrl-C at the question: the rekey is discarded (nothing is lost), the screen cleared.
      using stopped = terminal(args, { env });
      const seen = [...(await rekeyAt(stopped)()).matchAll(/^\s+Share \d:\s+([A-Za-z0-9+/=]{44})\s*$/gm)].map((m) => m[1] as string);
      stopped.key('C-c');
      assert.equal(await stopped.waitExit(), 130, stopped.screen({ history: true }));
      const left = stopped.screen({ history: true });
      assert.match(left, /stopped before the new shares were saved: the rekey was discarded and the current shares stay valid/);
      for (const share of seen) assert.ok(!left.includes(share), 'cleared');
      const cancel = await rekeyRun(['--dir', d.dir, '--cancel', '--json'], server.rootToken, [], () => []);
      assert.equal(JSON.parse(cancel.stdout).cancelled, false, 'nothing left pending');
    }
    using term = terminal(args, { env });
    const shown = await rekeyAt(term)();
    const fresh = [...shown.matchAll(/^\s+Share (\d):\s+([A-Za-z0-9+/=]{44})\s*$/gm)].map((m) => m[2] as string);
    assert.equal(fresh.length, 3, shown);
    assert.match(shown, /any 2 of them unseal the server once the rekey is verified/);
    term.type('y');
    term.key('Enter');
    const asked = await term.waitFor(/New share typed back 1 of 2/);
    for (const share of fresh) assert.ok(!asked.includes(share), 'typed back from the saved copy: the screen no longer shows it');
    term.paste(fresh[0] as string);
    term.key('Enter');
    await term.waitFor(/New share typed back 2 of 2/);
    term.paste(fresh[2] as string);
    term.key('Enter');
    assert.equal(await term.waitExit(), 0, term.screen({ history: true }));
    const all = term.screen({ history: true });
    assert.match(all, /Rekeyed: 3 new shares, 2 unseal/);
    for (const share of [...fresh, ...current]) assert.ok(!all.includes(share), 'no share left on screen or in the scrollback');
    await sealWith(server, server.rootToken);
    await unseal(server, fresh.slice(1, 3));
  });
});
}

const grouped = (fpr: string) => fpr.replace(/(.{4})(?!$)/g, '$1 ');

for (const { label, flavor, image } of serverImages()) {
test(`rekey 5/3 -> 4/2 with --pgp-keys: shares encrypted to the new holders, decrypted and typed back: ${label}`, { timeout: 6 * 60_000 }, async (t) => {
  await using d = await testDeployment(`rkp-${label.slice(0, 5)}`);
  using gpg = gpgHome();
  const server = await readyServer(d, flavor, image);
  // RSA and Curve25519 keys, binary and armored exports.
  const holders = [gpg.holder('ana'), gpg.holder('ben', 'future-default'), gpg.holder('cy', 'future-default'), gpg.holder('dee', 'future-default')];
  const keyFiles = holders.map((h, i) => (i === 0 ? h.binaryFile : h.armoredFile));
  const base = ['--dir', d.dir, '--shares', '4', '--threshold', '2', '--stdin', '--pgp-keys', keyFiles.join(',')];

  await t.test('--keys-out and a wrong type-back: fingerprints first, 0600 files per holder, refused, the old shares still unseal', async () => {
    const keysOut = path.join(d.dir, 'new-shares');
    const decrypted: string[] = [];
    const run = await rekeyRun([...base, '--keys-out', keysOut], server.rootToken, server.keys.slice(0, 3), () => {
      decrypted.push(gpg.decrypt(path.join(keysOut, 'share-1.asc')).trim());
      return [decrypted[0] as string, server.keys[4] as string];
    }, /Wrote the encrypted new shares/);
    assert.equal(run.code, 11, run.stderr);
    // Each holder's fingerprint, before the rekey started (before the current holders were asked).
    for (const [i, h] of holders.entries()) {
      const line = `share ${i + 1} -> ${path.basename(keyFiles[i] as string)}: ${grouped(h.fingerprint)}`;
      assert.ok(run.stderr.includes(line), `${line}\n${run.stderr}`);
      assert.ok(run.stderr.indexOf(line) < run.stderr.indexOf('Rekey 5/3 -> 4/2'), 'shown before the rekey starts');
    }
    assert.deepEqual(fs.readdirSync(keysOut).sort(), ['share-1.asc', 'share-2.asc', 'share-3.asc', 'share-4.asc']);
    for (const [i, h] of holders.entries()) {
      const file = path.join(keysOut, `share-${i + 1}.asc`);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`Comment: share ${i + 1} of 4 \\(threshold 2\\), encrypted to ${path.basename(keyFiles[i] as string).replace('.', '\\.')}`));
      const share = gpg.decrypt(file).trim();
      assert.match(share, /^[0-9a-f]{66}$/, `${h.name}'s file decrypts to a share`);
    }
    assert.match(run.stderr, /do not match the new ones: the rekey is not complete and the old shares stay valid/);
    assert.match(run.stderr, /share files in .*new-shares are void: remove them before the next rekey/);
    assert.equal(run.stdout, '', 'nothing on stdout: the shares went to --keys-out');
    for (const key of [...server.keys, ...decrypted]) assert.ok(!run.stderr.includes(key), 'no share on stderr');
    const cancel = await rekeyRun(['--dir', d.dir, '--cancel', '--json'], server.rootToken, [], () => []);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(JSON.parse(cancel.stdout).cancelled, true, 'the unverified rekey was still pending');
    await sealWith(server, server.rootToken);
    await unseal(server, server.keys.slice(2, 5));
  });

  let decrypted: string[] = [];
  await t.test('a right type-back of decrypted shares: the encrypted ones on stdout, the new shares unseal, the old ones no longer do', async () => {
    const run = await rekeyRun(base, server.rootToken, server.keys.slice(1, 4), (fresh) => {
      decrypted = fresh.map((b64) => gpg.decrypt(Buffer.from(b64, 'base64')).trim());
      return decrypted.slice(2, 4);
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.fresh.length, 4);
    for (const [i, share] of decrypted.entries()) {
      assert.match(share, /^[0-9a-f]{66}$/, `new share ${i + 1} decrypts to a share`);
      assert.ok(!run.stdout.includes(share) && !run.stderr.includes(share), 'no decrypted share on stdout or stderr');
    }
    // stdout holds the encrypted shares' JSON line alone; the summary is for people (stderr), as init --pgp-keys.
    assert.equal(run.stdout.trim().split('\n').length, 1, run.stdout);
    assert.match(run.stderr, /Rekeyed: 4 new shares, 2 unseal/);
    await sealWith(server, server.rootToken);
    const old = await unsealOutcome(server, server.keys.slice(0, 3));
    assert.equal(old.sealed, true, 'the old shares do not unseal');
    await call(server, 'PUT', 'sys/unseal', { body: { reset: true } });
    await unseal(server, decrypted.slice(0, 2));
  });

  await t.test('at the masked prompts: the current holders, then each new holder types the share gpg decrypted from --keys-out', async () => {
    const keysOut = path.join(d.dir, 'prompted');
    const current = decrypted.slice(1, 3);
    const asked: string[] = [];
    const prompter: Prompter = {
      interactive: true,
      secret: async (message, options) => {
        asked.push(message);
        const typeBack = /^Decrypted new share typed back (\d) of 2$/.exec(message);
        const answer = typeBack === null ? (current.shift() as string) : gpg.decrypt(path.join(keysOut, `share-${Number(typeBack[1]) + 1}.asc`)).trim();
        assert.equal(options?.validate?.(answer), true, `the prompt takes the answer to "${message}"`);
        return answer;
      },
      confirm: async (message) => assert.fail(`unexpected question: ${message}`),
      input: async (message) => assert.fail(`unexpected question: ${message}`),
    };
    const run = await runInProcess(['rekey', '--dir', d.dir, '--threshold', '2', '--pgp-keys', keyFiles.join(','), '--keys-out', keysOut], { env: { VAULT_TOKEN: server.rootToken }, prompter });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(asked, ['Current share 1 of 2', 'Current share 2 of 2', 'Decrypted new share typed back 1 of 2', 'Decrypted new share typed back 2 of 2']);
    assert.match(run.stderr, /gpg -d .*prompted\/share-N\.asc\); 2 of them type it back/);
    assert.match(run.stdout, /Rekeyed: 4 new shares, 2 unseal/);
    await sealWith(server, server.rootToken);
    // Two shares are a whole round here: it fails (an error, not a seal status); the server stays sealed.
    await unsealOutcome(server, decrypted.slice(0, 2));
    assert.equal((await call(server, 'GET', 'sys/seal-status')).body.sealed, true, 'the shares of the previous rekey no longer unseal');
    await call(server, 'PUT', 'sys/unseal', { body: { reset: true } });
    await unseal(server, [1, 4].map((n) => gpg.decrypt(path.join(keysOut, `share-${n}.asc`)).trim()));
  });
});
}
