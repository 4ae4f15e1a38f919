// `vault-setup rekey` with the server's verification, on every rig server (sys/rekey where served, sys/rotate/root
// with a token where not): 5/3 -> 4/2 with --stdin. The current
// shares go in, the new ones come out on stdout and are typed back over the same pipe; a wrong type-back leaves the
// old shares valid; after a complete rekey the new shares unseal and the old ones do not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { call, readyServer, unseal, waitSealed } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';

/** Runs rekey; old shares are written at once, then `typeBack(newShares)` answers once the new shares appear. */
function rekeyRun(args: string[], token: string, oldShares: string[], typeBack: (fresh: string[]) => string[]): Promise<{ code: number; stdout: string; stderr: string; fresh: string[] }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', VAULT_TOKEN: token };
    delete env.BAO_TOKEN;
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, 'rekey', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let fresh: string[] = [];
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^(\{"new_shares".*\})$/m.exec(stdout);
      if (m !== null && fresh.length === 0) {
        fresh = JSON.parse(m[1] as string).new_shares;
        child.stdin.end(`${typeBack(fresh).join('\n')}\n`);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
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

  await t.test('a wrong type-back: refused, the old shares still unseal', async () => {
    const run = await rekeyRun(dir, server.rootToken, server.keys.slice(0, 3), (fresh) => [fresh[0] as string, server.keys[4] as string]);
    assert.equal(run.code, 11, run.stderr);
    assert.equal(run.fresh.length, 4);
    assert.match(run.stderr, /do not match the new ones: the rekey is not complete and the old shares stay valid/);
    for (const key of server.keys) assert.ok(!run.stderr.includes(key), 'no old share on stderr');
    const cancel = await rekeyRun(['--dir', d.dir, '--cancel', '--json'], server.rootToken, [], () => []);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(JSON.parse(cancel.stdout).cancelled, true, 'the unverified rekey was still pending');
    await sealWith(server, server.rootToken);
    await unseal(server, server.keys.slice(2, 5));
  });

  await t.test('a right type-back: 4 new shares, 2 unseal, the old ones no longer do', async () => {
    const run = await rekeyRun(dir, server.rootToken, server.keys.slice(1, 4), (fresh) => fresh.slice(2, 4));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.fresh.length, 4);
    assert.match(run.stdout, /Rekeyed: 4 new shares, 2 unseal/);
    assert.match(run.stdout, /Snapshots taken before now still open only with the OLD shares: take a new one \(vault-setup backup\)/);
    await sealWith(server, server.rootToken);
    const old = await unsealOutcome(server, server.keys.slice(0, 3));
    assert.equal(old.sealed, true, 'the old shares do not unseal');
    await call(server, 'PUT', 'sys/unseal', { body: { reset: true } });
    await unseal(server, run.fresh.slice(0, 2));
  });
});
}
