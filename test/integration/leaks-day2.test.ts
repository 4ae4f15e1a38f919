// The day-2 commands against the leak scanner: `secret put` with the value typed at a hidden prompt (tmux), piped
// with --stdin and named with --from-env; an operator login with --password-stdin; `secret put --grant --quorum
// --stdin` (shares piped, the value from the environment); `generate-root --stdin`.
// While they run every process's argv and environment is sampled; afterwards the deployment dir, $HOME, the temp
// dirs, the container's log and `docker inspect`, and stderr are searched for each value, the password, the shares
// and the new root token, in every spelling. Allowed, because the operator asked: the root token on
// generate-root's stdout, and a value in the CLI's own environment for --from-env (that process only).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { call, readyServer } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { findLeaks, watchProcesses } from '../helpers/leaks.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';

const SERVERS = serverImages().filter((s) => s.label !== 'openbao-in-vault-layout');

/** The CLI as a child whose pid is known, so its own environment can be told apart from any other process's. */
function runWithPid(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<{ pid: number; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid as number, code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

for (const { label, flavor, image } of SERVERS) {
  test(`leaks (day 2): ${label}`, { timeout: 10 * 60_000 }, async () => {
    const since = Date.now();
    await using d = await testDeployment(`lk2-${label.slice(0, 6)}`);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lk2-home-'));
    const server = await readyServer(d, flavor, image);
    const root = server.rootToken;
    const dir = ['--dir', d.dir];
    const typed = `typed-value-${label}-Qx7#`;
    const piped = `piped-value-${label}-Zr9!`;
    const fromEnv = `env-value-${label}-Lm3%`;
    const granted = `granted-value-${label}-Gt4&`;
    const password = `operator-password-${label}-Wp5`;
    const outputs: string[] = [];

    // The root token travels in VAULT_TOKEN of the CLI's own environment where the test gives it: not watched here.
    const watch = watchProcesses([typed, piped, password, ...server.keys]);
    // An operator login to use below, made with the root token that readyServer kept.
    const add = await runCli(['operator', 'add', 'admin', '--password-stdin', ...dir], { env: { VAULT_TOKEN: root, HOME: home }, input: `${password}\n` });
    assert.equal(add.code, 0, add.stderr);
    outputs.push(add.stdout, add.stderr);

    // Typed at the hidden prompt, twice, in a real terminal; the login's password too.
    {
      using term = terminal([process.execPath, `${ROOT}src/cli.ts`, 'secret', 'put', 'secret/typed', 'key', '--operator', 'admin', ...dir], { env: { PATH: process.env.PATH, HOME: home } });
      await term.waitFor(/Value of key for secret\/typed \(input hidden\)/);
      term.paste(typed);
      term.key('Enter');
      await term.waitFor(/Value of key again/);
      term.paste(typed);
      term.key('Enter');
      await term.waitFor(/Password of the operator admin/);
      term.paste(password);
      term.key('Enter');
      assert.equal(await term.waitExit(), 0, term.screen({ history: true }));
      outputs.push(term.screen({ history: true }));
    }
    const piping = await runCli(['secret', 'put', 'secret/piped', 'key', '--stdin', ...dir], { env: { VAULT_TOKEN: root, HOME: home }, input: piped });
    assert.equal(piping.code, 0, piping.stderr);
    outputs.push(piping.stdout, piping.stderr);
    const envWatch = watchProcesses([fromEnv]);
    const envRun = await runWithPid(['secret', 'put', 'secret/env', 'key', '--from-env', 'key=THE_VALUE', '--operator', 'admin', '--password-stdin', ...dir], { THE_VALUE: fromEnv, HOME: home }, `${password}\n`);
    assert.equal(envRun.code, 0, envRun.stderr);
    const envLeaks = envWatch.stop().filter((l) => l.where !== `/proc/${envRun.pid}/environ`);
    outputs.push(envRun.stdout, envRun.stderr);
    // A grant through the quorum: the shares on standard input, the value in the CLI's own environment only.
    const bot = await runCli(['agent', 'add', 'bot', '--secret', 'secret/typed', ...dir], { env: { VAULT_TOKEN: root, HOME: home } });
    assert.equal(bot.code, 0, bot.stderr);
    const grantWatch = watchProcesses([granted]);
    const grantRun = await runWithPid(['secret', 'put', 'secret/granted', 'key', '--from-env', 'key=THE_VALUE', '--grant', 'agent:bot', '--quorum', '--stdin', ...dir], { THE_VALUE: granted, HOME: home }, `${server.keys.slice(1, 4).join('\n')}\n`);
    assert.equal(grantRun.code, 0, grantRun.stderr);
    const grantLeaks = grantWatch.stop().filter((l) => l.where !== `/proc/${grantRun.pid}/environ`);
    outputs.push(grantRun.stdout, grantRun.stderr);
    const gen = await runCli(['generate-root', '--stdin', ...dir, '--json'], { env: { HOME: home }, input: `${server.keys.slice(0, 3).join('\n')}\n`, timeoutMs: 240_000 });
    assert.equal(gen.code, 0, gen.stderr);
    const newRoot = gen.json().root_token as string;
    outputs.push(gen.stderr);
    const processLeaks = watch.stop();

    for (const [key, value] of [['typed', typed], ['piped', piped], ['env', fromEnv], ['granted', granted]]) {
      assert.equal((await call(server, 'GET', `secret/data/${key}`, { token: root })).body.data.data.key, value, `secret/${key} byte-exact`);
    }
    const secrets = [typed, piped, fromEnv, granted, password, root, newRoot, ...server.keys];
    const leaks = await findLeaks({ secrets, dirs: [d.dir, home], recentDirs: [os.tmpdir()], since, containers: [d.name] });
    assert.deepEqual(leaks, []);
    assert.deepEqual(processLeaks, [], 'a value, the password, a share or a token in some process argv or environment');
    // --from-env: the value is in the CLI's own environment (the operator put it there) and in no other process's.
    assert.deepEqual(envLeaks, []);
    assert.deepEqual(grantLeaks, []);
    for (const [i, out] of outputs.entries()) {
      for (const [j, s] of secrets.entries()) assert.ok(!out.includes(s), `output ${i} holds secret ${j}`);
    }
    assert.equal((await call(server, 'POST', 'auth/token/revoke-self', { token: newRoot })).status, 204);
    fs.rmSync(home, { recursive: true, force: true });
  });
}
