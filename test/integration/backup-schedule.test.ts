// Backups that run themselves, on the real servers: the narrow backup identity (it can snapshot and nothing
// else), retention after five runs (--keep 3), the off-host copy with its checksum verified, the drill on a real
// snapshot, and the units: `systemd-analyze verify` passes on them, and the backup unit's ExecStart, run as
// written, takes a backup with the identity and no token in its environment.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { call, putPolicy, putSecret, readyServer } from '../helpers/day2.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { findLeaks } from '../helpers/leaks.ts';
import { serverImages } from '../helpers/rig.ts';

const STAMPED = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d{3})?Z(?:-\d+)?\.snap$/;

/** The next backup gets another name: names have a resolution of one second. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));

/** Splits an ExecStart= value as systemd does for the words install-units writes (plain, or "quoted"). */
function execWords(unit: string, key: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `${key}= in the unit`);
  const words: string[] = [];
  for (const m of line.slice(key.length + 1).matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push((m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string)).replace(/%%/g, '%').replace(/\$\$/g, '$'));
  return words;
}

for (const [i, { label, flavor, image }] of serverImages().entries()) {
  test(`scheduled backups: identity, retention, copy, drill${i === 0 ? ', units' : ''} (${label})`, { timeout: 10 * 60_000 }, async (t) => {
    await using d = await testDeployment(`bs-${label.slice(0, 6)}`);
    const server = await readyServer(d, flavor, image);
    const root = { VAULT_TOKEN: server.rootToken };
    const off = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-bs-off-'));
    t.after(() => fs.rmSync(off, { recursive: true, force: true }));
    await putSecret(server, server.rootToken, 'openrouter', { api_key: 'sk-or-scheduled' });
    const backups = path.join(d.dir, 'backups');
    const identityFile = path.join(d.dir, 'backup-identity.json');
    let secretId = '';

    await t.test('backup --create-identity: a 0600 credential; the identity snapshots and gets 403 on secret/ and sys/policy', async () => {
      const made = await runCli(['backup', '--create-identity', '--dir', d.dir, '--json'], { env: root });
      assert.equal(made.code, 0, made.stderr);
      assert.equal(made.json().file, identityFile);
      assert.equal(fs.statSync(identityFile).mode & 0o777, 0o600);
      const cred = JSON.parse(fs.readFileSync(identityFile, 'utf8'));
      secretId = cred.secret_id;
      const login = await call(server, 'POST', 'auth/approle/login', { body: { role_id: cred.role_id, secret_id: cred.secret_id } });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assert.deepEqual(login.body.auth.policies, ['vault-setup-backup']);
      const token = login.body.auth.client_token as string;
      const snap = await fetch(`${server.address}/v1/sys/storage/raft/snapshot`, { headers: { 'x-vault-token': token } });
      assert.equal(snap.status, 200);
      assert.deepEqual([...new Uint8Array(await snap.arrayBuffer()).subarray(0, 2)], [0x1f, 0x8b], 'a gzip snapshot');
      assert.equal((await call(server, 'GET', 'secret/data/openrouter', { token })).status, 403);
      assert.equal((await call(server, 'GET', 'sys/policy', { token })).status, 403);
      assert.equal((await call(server, 'GET', 'sys/policies/acl/vault-setup-backup', { token })).status, 403);
      assert.equal((await call(server, 'POST', 'sys/storage/raft/snapshot', { token })).status, 403, 'no restore');
      const again = await runCli(['backup', '--create-identity', '--dir', d.dir], { env: root });
      assert.equal(again.code, 6, again.stderr);
    });

    await t.test('verify: the identity\'s policy is exactly read on the snapshot; a wider one fails', async () => {
      const ok = await runCli(['verify', '--dir', d.dir, '--json'], { env: root });
      const check = ok.json().checks.find((c: any) => c.id === 'backup-identity');
      assert.equal(check.status, 'pass', check.finding);
      await putPolicy(server, server.rootToken, 'vault-setup-backup', 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\npath "secret/*" {\n  capabilities = ["read"]\n}\n');
      const wide = await runCli(['verify', '--dir', d.dir, '--json'], { env: root });
      assert.equal(wide.code, 13);
      assert.equal(wide.json().checks.find((c: any) => c.id === 'backup-identity').status, 'fail');
      await putPolicy(server, server.rootToken, 'vault-setup-backup', 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n');
      // A token that may not read policies (an app's): the credential in the deployment shows what its tokens carry.
      const app = await call(server, 'POST', 'auth/token/create', { token: server.rootToken, body: { policies: ['default'], ttl: '10m' } });
      const appRun = await runCli(['verify', '--dir', d.dir, '--json'], { env: { VAULT_TOKEN: app.body.auth.client_token } });
      const appCheck = appRun.json().checks.find((c: any) => c.id === 'backup-identity');
      assert.equal(appCheck.status, 'pass', appCheck.finding);
      assert.match(appCheck.finding, /the backup identity's tokens carry vault-setup-backup alone/);
    });

    await t.test('backup --keep 3 after 5 runs with the identity: the newest 3 with their checksums; other files stay', async () => {
      fs.mkdirSync(backups, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(backups, 'before-upgrade.snap'), 'kept: not made by a scheduled backup');
      const made: string[] = [];
      for (let n = 0; n < 5; n++) {
        await nextSecond();
        const run = await runCli(['backup', '--dir', d.dir, '--keep', '3', '--json']); // no token: the identity file
        assert.equal(run.code, 0, run.stderr);
        made.push(path.basename(run.json().file));
        assert.equal(run.json().retention.kept.length, Math.min(n + 1, 3));
      }
      const left = fs.readdirSync(backups).sort();
      const newest = made.slice(2).sort();
      assert.deepEqual(left, ['before-upgrade.snap', ...newest.flatMap((f) => [f, `${f}.sha256`])].sort());
      for (const f of newest) assert.match(execFileSync('sha256sum', ['-c', `${f}.sha256`], { cwd: backups, encoding: 'utf8' }), /: OK/);
      assert.ok(newest.every((f) => STAMPED.test(f)));
    });

    await t.test('backup --drill on the real snapshot: archive, server checksums, raft metadata, newer than the last', async () => {
      const run = await runCli(['backup', '--drill', '--dir', d.dir, '--json']);
      assert.equal(run.code, 0, run.stdout);
      const report = run.json();
      assert.deepEqual(report.checks.map((c: any) => `${c.id} ${c.status}`), ['checksum pass', 'archive pass', 'inner-checksums pass', 'metadata pass', 'newer pass']);
      assert.ok(report.meta.index > 0 && report.meta.term > 0 && report.meta.size > 0, JSON.stringify(report.meta));
      fs.appendFileSync(report.file, 'x');
      const damaged = await runCli(['backup', '--drill', '--dir', d.dir]);
      assert.equal(damaged.code, 13, damaged.stdout);
      assert.match(damaged.stdout, /fail checksum: .* does not match its checksum/);
      fs.rmSync(report.file);
      fs.rmSync(`${report.file}.sha256`);
    });

    await t.test('--keep 1 --keep-weekly 3 on backdated snapshots: the newest, and the newest of each of the 3 newest weeks', async () => {
      const real = fs.readdirSync(backups).filter((f) => STAMPED.test(f)).sort().at(-1) as string;
      // ISO weeks: 2025-12-31 and 2026-01-02 are both in 2026-W01; 2026-01-07 in W02; 2026-01-14 in W03.
      const backdated = ['2025-12-31T03-15-00Z.snap', '2026-01-02T03-15-00Z.snap', '2026-01-07T03-15-00Z.snap', '2026-01-14T03-15-00Z.snap'];
      for (const name of backdated) {
        fs.copyFileSync(path.join(backups, real), path.join(backups, name));
        fs.writeFileSync(path.join(backups, `${name}.sha256`), fs.readFileSync(path.join(backups, `${real}.sha256`), 'utf8').replace(real, name));
      }
      const before = fs.readdirSync(backups).filter((f) => STAMPED.test(f));
      await nextSecond();
      const run = await runCli(['backup', '--dir', d.dir, '--keep', '1', '--keep-weekly', '3', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const newest = path.basename(run.json().file);
      const weekly = ['2026-01-07T03-15-00Z.snap', '2026-01-14T03-15-00Z.snap'];
      assert.deepEqual(run.json().retention.removed.map((f: string) => path.basename(f)).sort(), before.filter((f) => !weekly.includes(f)).sort(), 'the older ones of this week and of 2026-W01 go');
      assert.deepEqual(fs.readdirSync(backups).filter((f) => STAMPED.test(f)).sort(), ['2026-01-07T03-15-00Z.snap', '2026-01-14T03-15-00Z.snap', newest].sort());
      for (const f of ['2026-01-07T03-15-00Z.snap', '2026-01-14T03-15-00Z.snap', newest]) assert.ok(fs.existsSync(path.join(backups, `${f}.sha256`)));
      assert.ok(!fs.existsSync(path.join(backups, '2026-01-02T03-15-00Z.snap.sha256')), 'removed with its checksum');
      assert.ok(fs.existsSync(path.join(backups, 'before-upgrade.snap')));
    });

    await t.test('backup --copy-to DIR: the copy and its checksum arrive, verified; a bad target fails and keeps the local one', async () => {
      await nextSecond();
      const target = path.join(off, 'usb');
      const run = await runCli(['backup', '--dir', d.dir, '--copy-to', target, '--json'], { env: root });
      assert.equal(run.code, 0, run.stderr);
      const out = run.json();
      const name = path.basename(out.file);
      assert.equal(out.copy.to, path.join(target, name));
      assert.equal(out.copy.sha256, out.sha256);
      assert.match(execFileSync('sha256sum', ['-c', `${name}.sha256`], { cwd: target, encoding: 'utf8' }), /: OK/);
      assert.equal(fs.statSync(path.join(target, name)).mode & 0o777, 0o600);
      fs.writeFileSync(path.join(off, 'not-a-dir'), '');
      await nextSecond();
      const bad = await runCli(['backup', '--dir', d.dir, '--copy-to', path.join(off, 'not-a-dir', 'x'), '--json'], { env: root });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /cannot copy the snapshot|off-host copy|not a directory|ENOTDIR|EEXIST/);
    });

    if (i === 0) {
      await t.test('install-units: shown without --yes; systemd-analyze verify passes; the backup unit\'s ExecStart takes a backup', async () => {
        const unitDir = path.join(off, 'units');
        const tgFile = path.join(off, 'telegram-token');
        fs.writeFileSync(tgFile, '4242:not-a-real-bot-token\n', { mode: 0o600 });
        const flags = ['--dir', d.dir, '--format', 'systemd', '--unit-dir', unitDir, '--notify', 'http://127.0.0.1:59999/hook', '--telegram=-1001234', '--telegram-token-file', tgFile, '--telegram-api', 'http://127.0.0.1:59999', '--keep', '2', '--keep-weekly', '0'];
        const shown = await runCli(['install-units', ...flags]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /Nothing was written: re-run with --yes/);
        assert.equal(fs.existsSync(unitDir), false);
        const installed = await runCli(['install-units', ...flags, '--yes', '--json']);
        assert.equal(installed.code, 0, installed.stderr);
        const names = fs.readdirSync(unitDir).sort();
        const base = `vault-setup-${d.name}`;
        assert.deepEqual(names, [`${base}-backup.service`, `${base}-backup.timer`, `${base}-watch.service`, `${base}-watch.timer`], 'named after the deployment');
        const analyze = spawnSync('systemd-analyze', ['verify', ...names.map((n) => path.join(unitDir, n))], { encoding: 'utf8' });
        assert.equal(analyze.status, 0, analyze.stderr);
        assert.equal(analyze.stderr.trim(), '', 'no warning either');

        const unit = fs.readFileSync(path.join(unitDir, `${base}-backup.service`), 'utf8');
        const before = fs.readdirSync(backups).filter((f) => STAMPED.test(f));
        await nextSecond();
        const [cmd, ...args] = execWords(unit, 'ExecStart');
        const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir() }; // a unit's bare environment: no token
        const ran = spawnSync(cmd as string, args, { encoding: 'utf8', env });
        assert.equal(ran.status, 0, ran.stderr);
        const after = fs.readdirSync(backups).filter((f) => STAMPED.test(f)).sort();
        assert.equal(after.length, 2, `--keep 2 from the unit: ${after.join(', ')} (before: ${before.join(', ')})`);
        assert.ok(!before.includes(after[1] as string), 'a new snapshot');
        const [pcmd, ...pargs] = execWords(unit, 'ExecStartPost');
        const drill = spawnSync(pcmd as string, pargs, { encoding: 'utf8', env });
        assert.equal(drill.status, 0, drill.stdout);

        const watchUnit = fs.readFileSync(path.join(unitDir, `${base}-watch.service`), 'utf8');
        const [wcmd, ...wargs] = execWords(watchUnit, 'ExecStart');
        assert.deepEqual(wargs.slice(1), ['watch', '--once', '--dir', d.dir, '--notify=http://127.0.0.1:59999/hook', '--telegram=-1001234', `--telegram-token-file=${tgFile}`, '--telegram-api=http://127.0.0.1:59999']);
        // verify's token-less checks are part of watch: the hand-made 0644 snapshot above is a finding.
        const watched = spawnSync(wcmd as string, [...wargs, '--json'], { encoding: 'utf8', env });
        assert.equal(watched.status, 13, `${watched.stdout}\n${watched.stderr}`);
        assert.deepEqual(JSON.parse(watched.stdout).problems.map((p: any) => `${p.id} ${p.message}`), ['verify:hygiene/file-modes world-readable: backups/before-upgrade.snap (644)']);
        fs.chmodSync(path.join(backups, 'before-upgrade.snap'), 0o600);
        const healthy = spawnSync(wcmd as string, [...wargs, '--json'], { encoding: 'utf8', env });
        assert.equal(healthy.status, 0, `${healthy.stdout}\n${healthy.stderr}`);
        assert.equal(JSON.parse(healthy.stdout).state, 'healthy');

        const cron = await runCli(['install-units', '--dir', d.dir, '--format', 'cron', '--unit-dir', path.join(off, 'cron'), '--yes']);
        assert.equal(cron.code, 0, cron.stderr);
        assert.match(fs.readFileSync(path.join(off, 'cron', base), 'utf8'), /^\*\/1 \* \* \* \* \S+ .* watch --once --dir /m);

        const removed = await runCli(['install-units', '--dir', d.dir, '--format', 'systemd', '--unit-dir', unitDir, '--uninstall', '--yes', '--json']);
        assert.equal(removed.code, 0, removed.stderr);
        assert.deepEqual(fs.readdirSync(unitDir), []);
      });
    }

    await t.test('no root token or identity secret_id outside the credential file', async () => {
      assert.deepEqual(await findLeaks({ secrets: [server.rootToken, secretId, ...server.keys], dirs: [d.dir, off], exclude: [identityFile] }), []);
    });
  });
}
