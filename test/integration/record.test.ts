// A deployment knows itself (vault-setup.json): a deployment made by the previous release (labels only) is resumed
// without repeating its flags (its files, which lack this release's hardening, replaced only with --force) and gets its record; init resumes from the record (no pull, same container, same data); verify uses
// the recorded catalog and app; changes that would break initialised data are refused with nothing written; a name
// that belongs to another directory is never touched; status exits 21 when the container is stopped or gone.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/errors.ts';
import { type CliRun, runCli } from '../helpers/cli.ts';
import { docker, freePort, removeContainers, testDeployment } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { call, unseal, waitSealed } from '../helpers/day2.ts';
import { api } from '../helpers/server.ts';

/** The CLI as it was before vault-setup.json: the parent of the commit that added the record module. */
let legacyRoot: string;
before(() => {
  const added = execFileSync('git', ['log', '--diff-filter=A', '--format=%H', '--', 'src/deployment/record.ts'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop() as string;
  assert.match(added, /^[0-9a-f]{40}$/, 'the commit that added src/deployment/record.ts');
  legacyRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-legacy-'));
  execFileSync('sh', ['-c', `git archive ${added}^ src templates package.json | tar -x -C "${legacyRoot}"`], { cwd: ROOT });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(legacyRoot, 'node_modules'));
  assert.ok(!fs.existsSync(path.join(legacyRoot, 'src/deployment/record.ts')), 'the legacy tree has no record module');
});
after(() => fs.rmSync(legacyRoot, { recursive: true, force: true }));

function legacyCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(legacyRoot, 'src/cli.ts'), ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/** Every file under dir with its bytes (what "nothing was written" is checked against). */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !file.startsWith(path.join(dir, 'data')) && !file.startsWith(path.join(dir, 'logs'))) out[path.relative(dir, file)] = fs.readFileSync(file, 'base64');
  }
  return out;
}

const containerId = (name: string): string => docker('inspect', '-f', '{{.Id}}', name).trim();
const check = (run: CliRun, id: string): { status: string; finding: string } | undefined => run.json().checks.find((c: { id: string }) => c.id === id);

/** A one-shot container in state "Created" as an interrupted run leaves it. */
function leftover(name: string, image: string, dir: string): string {
  return docker('create', '--label', 'org.vault-setup.one-shot=1', '--label', `org.vault-setup.project=${name}`, '--label', `org.vault-setup.dir=${dir}`, '--name', `${name}-version-left`, '--network', 'none', image, 'version').trim();
}
const exists = (id: string): boolean => docker('ps', '-aq', '--no-trunc', '--filter', `id=${id}`).trim() !== '';

for (const { label, flavor, image } of serverImages()) {
  describe(`deployment record (${label})`, () => {
    it('legacy deployment resumed without flags; record; verify from it; refusals; owned names; status', { timeout: 15 * 60_000 }, async (t) => {
      await using d = await testDeployment(`rec-${label.slice(0, 6)}`);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-rec-home-'));
      t.after(() => fs.rmSync(home, { recursive: true, force: true }));
      const record = () => JSON.parse(fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8'));

      await t.test('the previous release deploys (labels only, no record)', async () => {
        const run = await legacyCli(['init', ...d.args(flavor, image), '--deploy-only']);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(!fs.existsSync(path.join(d.dir, 'vault-setup.json')));
      });

      let id = '';
      await t.test('the files the previous release wrote lack this release\'s hardening: shown as a diff, nothing changed (6)', async () => {
        const before = containerId(d.name);
        const files = listing(d.dir);
        const run = await runCli(['init', '--dir', d.dir, '--deploy-only']);
        assert.equal(run.code, EXIT.fileConflict, run.stderr);
        assert.match(run.stderr, /docker-compose\.yml.* differ from what vault-setup would write/);
        assert.match(run.stderr, /\+ {4}cap_drop:/);
        assert.match(run.stderr, /re-run with --force to replace it/);
        assert.equal(containerId(d.name), before, 'the container was not touched');
        assert.deepEqual(listing(d.dir), files, 'nothing was written');
        assert.ok(!fs.existsSync(path.join(d.dir, 'vault-setup.json')));
      });

      await t.test('init --dir D --deploy-only --force, no other flag: the legacy settings kept, no pull, the record is written; leftovers removed', async () => {
        const left = leftover(d.name, image, d.dir);
        const run = await runCli(['init', '--dir', d.dir, '--deploy-only', '--force', '--json']);
        assert.equal(run.code, 0, run.stderr);
        id = containerId(d.name);
        const result = run.json();
        assert.equal(result.image, image);
        assert.equal(result.container, d.name);
        assert.equal(result.address, d.address);
        assert.equal(result.steps.find((s: { id: string }) => s.id === 'image')?.detail, 'present', 'no pull');
        assert.ok(!exists(left), 'the leftover one-shot container was removed');
        const r = record();
        assert.deepEqual(
          { format: r.format, flavor: r.flavor, image: r.image, name: r.name, port: r.port, storage: r.storage, nodeId: r.nodeId, tls: r.tls },
          { format: 1, flavor, image, name: d.name, port: d.port, storage: 'raft', nodeId: `${d.name}-1`, tls: 'off' },
        );
        assert.match(r.server, /^(OpenBao|Vault) v\d/);
        assert.equal(fs.statSync(path.join(d.dir, 'vault-setup.json')).mode & 0o777, 0o644);
      });

      const catalog = path.join(home, 'catalog.yaml');
      fs.writeFileSync(catalog, 'secrets:\n  svc/api:\n    key: { from: generate, format: hex, bytes: 16 }\n  svc/db:\n    password: { from: generate, format: password, length: 20 }\n');
      const tokenFile = path.join(home, 'svc.token');
      let rootToken = '';
      let shares: string[] = [];
      await t.test('init --dir D --secrets C --app svc (no --flavor/--image/--name/--port): initialised, same container, recorded', async () => {
        const run = await runCli(['init', '--dir', d.dir, '--yes', '--print-keys', '--json', '--secrets', catalog, '--app', 'svc', '--app-token-file', tokenFile, '--keep-root-token'], { env: { HOME: home } });
        assert.equal(run.code, 0, run.stderr);
        rootToken = run.json().init.root_token;
        shares = run.json().init.unseal_keys_b64;
        assert.equal(containerId(d.name), id, 'same container');
        const r = record();
        assert.deepEqual(r.catalog, { file: catalog, paths: [{ path: 'svc/api', fields: ['key'] }, { path: 'svc/db', fields: ['password'] }] });
        assert.deepEqual([r.app, r.shares, r.threshold], ['svc', 5, 3]);
        const text = fs.readFileSync(path.join(d.dir, 'vault-setup.json'), 'utf8');
        for (const secret of [rootToken, ...shares, fs.readFileSync(tokenFile, 'utf8').trim()]) assert.ok(!text.includes(secret), 'no secret in the record');
      });

      await t.test('verify with the app token and no --secrets/--app: the recorded catalog; a deleted path fails (13)', async () => {
        const left = leftover(d.name, image, d.dir);
        const ok = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json'], { env: { HOME: home } });
        assert.equal(ok.code, 0, ok.stdout);
        assert.equal(check(ok, 'catalog-paths')?.status, 'pass', check(ok, 'catalog-paths')?.finding);
        assert.equal(check(ok, 'one-shot-leftovers')?.status, 'warn');
        assert.match(check(ok, 'one-shot-leftovers')?.finding ?? '', new RegExp(`${d.name}-version-left \\(created\\)`));
        docker('rm', '-f', left);
        assert.equal((await api(d.address, 'DELETE', 'secret/metadata/svc/db', { token: rootToken })).status, 204);
        const failed = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json'], { env: { HOME: home } });
        assert.equal(failed.code, EXIT.verifyFailed, failed.stdout);
        assert.equal(check(failed, 'catalog-paths')?.status, 'fail');
        assert.match(check(failed, 'catalog-paths')?.finding ?? '', /svc\/db/);
      });

      await t.test('--name or --storage change on initialised raft data, with --force: refused (20), files byte-identical, server active', async () => {
        const files = listing(d.dir);
        for (const flags of [['--name', `${d.name}x`], ['--storage', 'file'], ['--image', 'example.invalid/vault:9']]) {
          const run = await runCli(['init', '--dir', d.dir, '--force', '--yes', '--json', ...flags], { env: { HOME: home } });
          assert.equal(run.code, EXIT.breakingChange, run.stderr);
          assert.equal(run.json().error.code, 'E_BREAKING_CHANGE');
          assert.match(run.json().error.message, new RegExp(`^${flags[0]} ${flags[1]?.replace(/[.]/g, '\\.')} would .* nothing was changed$`));
          assert.match(run.json().error.hint, /vault-setup (migrate|upgrade)/);
        }
        assert.deepEqual(listing(d.dir), files);
        assert.equal(containerId(d.name), id);
        assert.equal((await api(d.address, 'GET', 'sys/health')).status, 200, 'active');
      });

      await t.test('a second deployment with the taken name: refused (19), the first untouched', async () => {
        const second = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-rec-second-'));
        try {
          const run = await runCli(['init', '--dir', second, '--flavor', flavor, '--image', image, '--name', d.name, '--port', String(await freePort()), '--deploy-only', '--json']);
          assert.equal(run.code, EXIT.nameTaken, run.stderr);
          assert.match(run.json().error.message, new RegExp(`the name "${d.name}" belongs to the deployment in ${d.dir} `));
          assert.match(run.json().error.hint, /--name NAME/);
          assert.deepEqual(fs.readdirSync(second), [], 'nothing written');
        } finally {
          fs.rmSync(second, { recursive: true, force: true });
        }
        assert.equal(containerId(d.name), id, 'same container');
        assert.equal(docker('inspect', '-f', '{{index .Config.Labels "com.docker.compose.project.working_dir"}}', d.name).trim(), d.dir);
        assert.equal((await api(d.address, 'GET', 'secret/data/svc/api', { token: rootToken })).status, 200, 'same data');
      });

      await t.test('agent add/remove: the agent and its grant are recorded (names only)', async () => {
        const add = await runCli(['agent', 'add', 'ci', '--secret', 'secret/svc/api', '--dir', d.dir, '--json'], { env: { HOME: home, VAULT_TOKEN: rootToken } });
        assert.equal(add.code, 0, add.stderr);
        assert.deepEqual([record().agents, record().grants], [['ci'], [{ agent: 'ci', paths: ['svc/api'] }]]);
        const remove = await runCli(['agent', 'remove', 'ci', '--dir', d.dir, '--yes', '--json'], { env: { HOME: home, VAULT_TOKEN: rootToken } });
        assert.equal(remove.code, 0, remove.stderr);
        assert.deepEqual([record().agents, record().grants], [[], []]);
      });

      await t.test('a raft node whose node_id changed under its data: unsealed, no leader; verify fails ha-state (13), status says so', async () => {
        const hcl = path.join(d.dir, 'config', 'vault.hcl');
        const good = fs.readFileSync(hcl, 'utf8');
        const server = { address: d.address };
        const restartUnsealed = async (): Promise<void> => {
          docker('restart', d.name);
          await waitSealed(server);
          for (const key of shares.slice(0, 3)) await call(server, 'PUT', 'sys/unseal', { body: { key } });
        };
        fs.writeFileSync(hcl, good.replace(`node_id = "${d.name}-1"`, `node_id = "${d.name}-renamed"`));
        try {
          await restartUnsealed();
          const seal = await call(server, 'GET', 'sys/seal-status');
          assert.equal(seal.body.sealed, false);
          const run = await runCli(['verify', '--dir', d.dir, '--token-file', tokenFile, '--json'], { env: { HOME: home } });
          assert.equal(run.code, EXIT.verifyFailed, run.stdout);
          assert.equal(check(run, 'ha-state')?.status, 'fail', check(run, 'ha-state')?.finding);
          assert.match(check(run, 'ha-state')?.finding ?? '', /neither active nor a standby with a leader/);
          const status = await runCli(['status', '--dir', d.dir, '--json']);
          assert.equal(status.json().server.ha, 'standby, no leader');
        } finally {
          fs.writeFileSync(hcl, good);
        }
        docker('restart', d.name);
        await waitSealed(server);
        await unseal(server, shares.slice(0, 3));
      });

      await t.test('status: product, HA mode; a stopped server and a missing container exit 21', async () => {
        const up = await runCli(['status', '--dir', d.dir, '--json']);
        assert.equal(up.code, 0, up.stderr);
        assert.equal(up.json().server.product, label === 'vault' ? 'Vault' : 'OpenBao');
        assert.equal(up.json().server.ha, 'active');
        docker('stop', d.name);
        const stopped = await runCli(['status', '--dir', d.dir, '--json']);
        assert.equal(stopped.code, EXIT.notRunning, stopped.stdout);
        assert.equal(stopped.json().container.state, 'exited');
        removeContainers(d.name);
        const gone = await runCli(['status', '--dir', d.dir]);
        assert.equal(gone.code, EXIT.notRunning, gone.stdout);
        assert.match(gone.stdout, /Container: not found/);
      });
    });
  });
}
