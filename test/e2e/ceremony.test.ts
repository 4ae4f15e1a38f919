// The whole interactive ceremony in a real terminal (tmux), as an operator would do it: init shows the shares,
// a SIGTERM and a Ctrl-C before the backup is confirmed do not lose them, the operator confirms, the screen and
// scrollback are cleared, a malformed share and a wrong round are explained, the shares are shown again on
// request, three shares typed back unseal the server. Then a restart and `unseal --stdin` (watched for argv/env
// leaks), and a scan of every file, log and `docker inspect` for the shares and the root token.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { configureArgs } from '../helpers/ceremony.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { assertNoLeaks, watchProcesses } from '../helpers/leaks.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';
import { terminal } from '../helpers/tmux.ts';

const SAVED_QUESTION = /Have you saved all 5 shares and the root token outside this server\?/;
const count = (text: string, re: RegExp) => [...text.matchAll(new RegExp(re.source, 'g'))].length;

function readShares(screen: string): { shares: string[]; rootToken: string } {
  const shares = [...screen.matchAll(/^\s+Share (\d):\s+([A-Za-z0-9+/=]{44})\s*$/gm)].map((m) => m[2] as string);
  const rootToken = /^\s+Root token: (\S+)\s*$/m.exec(screen)?.[1] ?? '';
  return { shares, rootToken };
}

for (const { label, flavor, image } of serverImages()) {
  describe(`interactive ceremony in a terminal (${label})`, () => {
    it('shares shown once, backup confirmed and proven by typing 3 back; nothing left on screen, disk or in argv', { timeout: 10 * 60_000 }, async (t) => {
      const since = Date.now();
      await using d = await testDeployment(`tty-${label.slice(0, 6)}`);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-tty-home-'));
      t.after(() => fs.rmSync(home, { recursive: true, force: true }));
      using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'init', ...d.args(flavor, image), ...configureArgs(d.dir)], {
        env: { PATH: process.env.PATH, HOME: home },
      });

      let shares: string[] = [];
      let rootToken = '';
      await t.test('init shows 5 shares, the root token and the advice, then asks for the backup', async () => {
        const screen = await term.waitFor(SAVED_QUESTION);
        ({ shares, rootToken } = readShares(screen));
        assert.equal(shares.length, 5, screen);
        assert.ok(rootToken.length > 10);
        assert.match(screen, /any 3 of them unseal the server/);
        assert.match(screen, /different holder/);
        assert.match(screen, /OUTSIDE this server/);
        assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.initialized, true);
      });

      await t.test('SIGTERM before the backup is confirmed: says what is lost and keeps going', async () => {
        process.kill(term.pid(), 'SIGTERM');
        const screen = await term.waitFor(/Signal again to stop anyway/);
        assert.match(screen, /exist nowhere else.*can never be unsealed again/s);
        assert.equal(term.exitStatus(), undefined, 'still running');
      });

      await t.test('Ctrl-C at the question: asks to confirm and says what is lost; "no" goes back to it', async () => {
        const before = count(term.screen({ history: true }), SAVED_QUESTION);
        term.key('C-c');
        await term.waitFor(/Stop anyway and lose them\?/);
        term.type('n');
        term.key('Enter');
        await term.waitFor(new RegExp(`(${SAVED_QUESTION.source}[^]*){${before + 1}}`));
        assert.equal(term.exitStatus(), undefined);
      });

      await t.test('"no, not saved yet": the shares stay; "yes": screen and scrollback are cleared', async () => {
        term.type('n');
        term.key('Enter');
        await term.waitFor(/Nothing is lost yet: the shares stay on screen/);
        assert.equal(readShares(term.screen()).shares.length, 5, 'still visible');
        term.type('y');
        term.key('Enter');
        const screen = await term.waitFor(/Prove the backup[^]*Share 1 of 3 \(hidden\)/);
        for (const secret of [...shares, rootToken]) assert.ok(!screen.includes(secret), 'no share left in the scrollback');
        assert.doesNotMatch(screen, /Unseal key shares/);
      });

      await t.test('a malformed share is refused at the prompt, masked, before it reaches the server', async () => {
        term.paste((shares[0] as string).slice(0, 40));
        term.key('Enter');
        const screen = await term.waitFor(/40 characters is not a share/);
        assert.ok(!screen.includes((shares[0] as string).slice(0, 40)), 'masked');
        assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.progress, 0);
        // No clearing of the line here: the refused text is gone, and the next share (below) is accepted as typed.
      });

      await t.test('a wrong round: explained (the server cannot tell which share), the shares may be shown again', async () => {
        term.paste(shares[0] as string);
        term.key('Enter');
        await term.waitFor(/Share accepted: 1\/3/);
        term.paste(shares[0] as string);
        term.key('Enter');
        await term.waitFor(/already entered in this round/);
        term.paste(shares[1] as string);
        term.key('Enter');
        await term.waitFor(/Share accepted: 2\/3/);
        term.paste(randomBytes(33).toString('base64'));
        term.key('Enter');
        const screen = await term.waitFor(/Show the shares again\?/);
        assert.match(screen, /cannot tell which one was wrong/);
        assert.deepEqual([(await api(d.address, 'GET', 'sys/seal-status')).body.progress], [0]);
        const asked = count(term.screen({ history: true }), SAVED_QUESTION);
        term.type('y');
        term.key('Enter');
        const again = await term.waitFor(new RegExp(`(${SAVED_QUESTION.source}[^]*){${asked + 1}}`));
        assert.deepEqual(readShares(again).shares, shares, 'the same shares, shown again');
        term.type('y');
        term.key('Enter');
        const cleared = await term.waitFor(/New round: type 3 shares[^]*Share 1 of 3/);
        for (const secret of shares) assert.ok(!cleared.includes(secret));
      });

      await t.test('three shares typed back (base64 and hex) unseal the server; the screen is cleared at the end', async () => {
        term.paste(shares[4] as string);
        term.key('Enter');
        await term.waitFor(/Share accepted: 1\/3/);
        term.paste(Buffer.from(shares[2] as string, 'base64').toString('hex'));
        term.key('Enter');
        await term.waitFor(/Share accepted: 2\/3/);
        term.paste(shares[3] as string);
        term.key('Enter');
        const screen = await term.waitFor(/Backup proven: the server is unsealed/);
        const s = (await api(d.address, 'GET', 'sys/seal-status')).body;
        assert.deepEqual([s.sealed, s.t, s.n], [false, 3, 5]);
        for (const secret of [...shares, rootToken]) assert.ok(!screen.includes(secret), 'nothing secret left in the terminal');
        const status = await term.waitExit();
        const final = term.screen({ history: true });
        assert.equal(status, 0, final);
        for (const secret of [...shares, rootToken]) assert.ok(!final.includes(secret));
      });

      await t.test('after a restart, `unseal --stdin` brings it back; no argv or environment holds a share meanwhile', async () => {
        docker('stop', d.name);
        const watch = watchProcesses([...shares, rootToken]);
        const run = await runCli(['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${shares[1]}\n${shares[3]}\n${shares[0]}\n`, env: { HOME: home } });
        const leaks = watch.stop();
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual([run.json().started, run.json().sealed], [true, false]);
        assert.deepEqual(leaks, []);
      });

      await t.test('two holders at their own terminals: the second sees the first one\'s progress', async () => {
        docker('restart', d.name);
        const cmd = [process.execPath, `${ROOT}src/cli.ts`, 'unseal', '--dir', d.dir];
        const env = { PATH: process.env.PATH, HOME: home };
        {
          using first = terminal(cmd, { env });
          await first.waitFor(/sealed: 0\/3 \(3 of 5 shares unseal it\)[^]*Share 1 of 3 \(hidden; empty to stop\)/);
          first.paste(shares[2] as string);
          first.key('Enter');
          await first.waitFor(/Share accepted: 1\/3[^]*Share 2 of 3/);
          first.key('Enter'); // empty: this holder is done
          await first.waitFor(/Still sealed: 1\/3/);
          assert.equal(await first.waitExit(), 0);
        }
        using second = terminal(cmd, { env });
        await second.waitFor(/sealed: 1\/3[^]*Share 2 of 3/);
        second.paste(shares[4] as string);
        second.key('Enter');
        await second.waitFor(/Share 3 of 3/);
        second.paste(shares[0] as string);
        second.key('Enter');
        await second.waitFor(/Unsealed: /);
        assert.equal(await second.waitExit(), 0);
        const final = second.screen({ history: true });
        for (const secret of shares) assert.ok(!final.includes(secret), 'typed shares are masked');
        assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.sealed, false);
      });

      await t.test('--stdin on a terminal is refused (the share would be echoed)', async () => {
        using term2 = terminal([process.execPath, `${ROOT}src/cli.ts`, 'unseal', '--dir', d.dir, '--stdin'], { env: { PATH: process.env.PATH, HOME: home } });
        await term2.waitFor(/standard input is a terminal/);
        assert.equal(await term2.waitExit(), 2);
      });

      await t.test('init on a sealed, initialised server offers to take the shares right there', async () => {
        docker('restart', d.name);
        using again = terminal([process.execPath, `${ROOT}src/cli.ts`, 'init', ...d.args(flavor, image), ...configureArgs(d.dir)], { env: { PATH: process.env.PATH, HOME: home } });
        await again.waitFor(/initialised but sealed \(0\/3\)\. Enter unseal shares now\?/);
        again.type('y');
        again.key('Enter');
        await again.waitFor(/Share 1 of 3 \(hidden; empty to stop\)/);
        again.paste(shares[3] as string);
        again.key('Enter');
        await again.waitFor(/Share accepted: 1\/3[^]*Share 2 of 3/);
        again.paste(shares[1] as string);
        again.key('Enter');
        await again.waitFor(/Share accepted: 2\/3[^]*Share 3 of 3/);
        again.paste(shares[4] as string);
        again.key('Enter');
        await again.waitFor(/Unsealed with the shares entered/);
        assert.equal((await api(d.address, 'GET', 'sys/seal-status')).body.sealed, false);
        assert.doesNotMatch(again.screen({ history: true }), /Unseal key shares/, 'a resumed init never shows shares');
      });

      await t.test('no share (hex or base64) or root token in any file, container log or docker inspect', async () => {
        await assertNoLeaks([...shares, rootToken], { dirs: [d.dir, home], since, containers: [d.name] });
      });
    });
  });
}
