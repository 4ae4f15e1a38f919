// The playbook by hand vs the raw-HTTP floor vs vault-setup, on the same local image, in one run. Prints figures;
// asserts nothing. Every flow starts from a freshly deployed, uninitialised server (raft, performance_multiplier 1):
//   A. by hand: `docker exec <c> bao|vault ...` for status, init, 3 unseals, secrets enable, 5 kv puts, token create
//   B. the floor: the same work as plain HTTP calls, no tool (init 5/3, 3 unseals, KV v2, 5 secrets, policy, token,
//      root revoked): what no tool can go below
//   C. vault-setup: one `init --yes --print-keys` (ceremony, unseal, configure: the same work as B, and audit)
//   C' the PGP ceremony: `init --yes --pgp-keys` + 3x `gpg -d | unseal --stdin` + `init --yes` (configure)
// Then the same C and the whole `init --yes --print-keys` from an empty directory (deploy included), each with
// raft's default timing (--raft-multiplier 5, what vault-setup wrote before) and with the new default (1).
// Then seeding throughput (200 secrets: a `docker exec ... kv put` loop vs one `init --secrets`; SEED=0 skips it),
// status latency, and peak RSS of each vault-setup command.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testDeployment, type TestDeployment } from '../test/helpers/deployment.ts';
import { gpgHome } from '../test/helpers/gpg.ts';
import { rig, ROOT } from '../test/helpers/rig.ts';

const image = process.env.BENCH_IMAGE ?? rig().openbaoImage;
const flavor = image.includes('vault-layout') || image.includes('/vault:') ? 'vault' : 'openbao';
const cli = image.includes('/vault:') ? 'vault' : 'bao';
const node = process.execPath;
const bin = path.join(ROOT, 'bin/vault-setup.js');
if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('run `npm run build` first');
const time = '/usr/bin/time';

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const peaks: Record<string, number> = {};
let cpuSeconds = 0; // user + system time of every vault-setup process in the current flow

function vs(label: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): string {
  const r = spawnSync(time, ['-f', '%U %S %M', node, bin, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = r.stderr.trim().split('\n');
  const [user, sys, kb] = (lines.pop() ?? '').split(' ').map(Number) as [number, number, number];
  cpuSeconds += user + sys;
  peaks[label] = Math.max(peaks[label] ?? 0, kb / 1024);
  if (r.status !== 0) throw new Error(`vault-setup ${args.join(' ')} exited ${r.status}: ${lines.slice(-5).join('\n')}`);
  return r.stdout;
}

async function deployed(label: string, multiplier = 1): Promise<TestDeployment> {
  const d = await testDeployment(`bench-${label}`);
  vs('init --deploy-only', ['init', ...d.args(flavor, image), '--raft-multiplier', String(multiplier), '--deploy-only', '--json']);
  return d;
}

function dockerExec(d: TestDeployment, args: string[]): string {
  return execFileSync('docker', ['exec', '-e', 'VAULT_ADDR=http://127.0.0.1:8200', '-e', 'BAO_ADDR=http://127.0.0.1:8200', ...args.slice(0, 0), d.name, cli, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const SECRETS: [string, Record<string, string>][] = [
  ['openrouter', { api_key: 'sk-or-bench' }],
  ['telegram', { bot_token: '123:abc', chat_id: '42' }],
  ['github', { token: 'ghp_bench' }],
  ['database', { host: '127.0.0.1', port: '5432', name: 'oa', user: 'oa', password: 'pw-bench' }],
  ['cockpit', { jwt_secret: 'a'.repeat(64), admin_password: 'pw-admin' }],
];

async function manual(): Promise<number> {
  await using d = await deployed('manual');
  const start = process.hrtime.bigint();
  spawnSync('docker', ['exec', '-e', 'BAO_ADDR=http://127.0.0.1:8200', '-e', 'VAULT_ADDR=http://127.0.0.1:8200', d.name, cli, 'status'], { stdio: 'ignore' });
  const init = JSON.parse(dockerExec(d, ['operator', 'init', '-key-shares=5', '-key-threshold=3', '-format=json']));
  for (const key of (init.unseal_keys_b64 as string[]).slice(0, 3)) dockerExec(d, ['operator', 'unseal', key]);
  const withToken = (args: string[]) =>
    execFileSync('docker', ['exec', '-e', 'BAO_ADDR=http://127.0.0.1:8200', '-e', 'VAULT_ADDR=http://127.0.0.1:8200', '-e', `VAULT_TOKEN=${init.root_token}`, '-e', `BAO_TOKEN=${init.root_token}`, d.name, cli, ...args], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      withToken(['secrets', 'enable', '-path=secret', 'kv-v2']);
      break;
    } catch (error) {
      if (i > 50) throw error; // the node is still becoming active after unseal
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const [p, data] of SECRETS) {
    for (let i = 0; ; i++) {
      try {
        withToken(['kv', 'put', `secret/${p}`, ...Object.entries(data).map(([k, v]) => `${k}=${v}`)]);
        break;
      } catch (error) {
        if (i > 50) throw error; // "Upgrading from non-versioned to versioned data"
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  withToken(['token', 'create', '-display-name=openclaw-app', '-ttl=720h', '-renewable=true', '-policy=default']);
  return ms(start);
}

async function http(): Promise<number> {
  await using d = await deployed('http');
  const call = async (method: string, p: string, body?: unknown, token?: string) => {
    const r = await fetch(`${d.address}/v1/${p}`, { method, headers: token ? { 'x-vault-token': token } : {}, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  const start = process.hrtime.bigint();
  await call('GET', 'sys/seal-status');
  const init = (await call('PUT', 'sys/init', { secret_shares: 5, secret_threshold: 3 })).body;
  for (const key of init.keys.slice(0, 3)) await call('PUT', 'sys/unseal', { key });
  const token = init.root_token as string;
  while ((await call('GET', 'sys/health')).status !== 200) await new Promise((r) => setTimeout(r, 50));
  await call('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } }, token);
  for (const [p, data] of SECRETS) {
    while ((await call('POST', `secret/data/${p}`, { data, options: { cas: 0 } }, token)).status === 400) await new Promise((r) => setTimeout(r, 50));
  }
  await call('PUT', 'sys/policies/acl/openclaw', { policy: 'path "secret/data/openrouter" { capabilities = ["read"] }' }, token);
  await call('POST', 'auth/token/create', { policies: ['openclaw'], ttl: '720h', no_default_policy: true }, token);
  await call('POST', 'auth/token/revoke-self', undefined, token);
  return ms(start);
}

/** A catalog of the five secrets above, generated (no values on the command line or in the environment). */
function catalogFile(dir: string): string {
  const catalog = path.join(dir, 'catalog.yaml');
  fs.writeFileSync(catalog, `secrets:\n${SECRETS.map(([p, data]) => `  ${p}:\n${Object.keys(data).map((k) => `    ${k}: { from: generate, format: hex, bytes: 16 }`).join('\n')}`).join('\n')}\n`);
  return catalog;
}

/** C: one unattended `init --yes --print-keys` on a deployed server; with `fromEmpty`, the deploy is timed too. */
async function oneInit(multiplier: number, fromEmpty: boolean): Promise<number> {
  await using d = fromEmpty ? await testDeployment('bench-empty') : await deployed('one', multiplier);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-bench-one-'));
  const args = ['init', ...d.args(flavor, image), '--raft-multiplier', String(multiplier), '--yes', '--print-keys', '--secrets', catalogFile(work), '--app-token-file', path.join(work, 'app-token'), '--json'];
  const start = process.hrtime.bigint();
  const out = JSON.parse(vs(fromEmpty ? 'init --print-keys (empty dir)' : 'init --print-keys', args));
  const total = ms(start);
  fs.rmSync(work, { recursive: true, force: true });
  if (out.sealed !== false || out.configure === undefined) throw new Error('init --print-keys did not reach a configured server');
  return total;
}

async function tool(): Promise<{ total: number; gpg: number; cpu: number; statusMs: number[] }> {
  await using d = await deployed('tool');
  cpuSeconds = 0;
  using gpg = gpgHome();
  const holders = ['h1', 'h2', 'h3', 'h4', 'h5'].map((n) => gpg.holder(n));
  const admin = gpg.holder('admin');
  const keysOut = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-bench-keys-'));
  const catalog = catalogFile(keysOut);
  const tokenFile = path.join(keysOut, 'app-token');
  let gpgMs = 0;
  const start = process.hrtime.bigint();
  vs('init (ceremony, PGP)', ['init', ...d.args(flavor, image), '--yes', '--pgp-keys', holders.map((h) => h.binaryFile).join(','), '--root-token-pgp-key', admin.binaryFile, '--keys-out', keysOut, '--secrets', catalog, '--app-token-file', tokenFile, '--json']);
  for (let i = 1; i <= 3; i++) {
    const g = process.hrtime.bigint();
    const share = gpg.decrypt(path.join(keysOut, `share-${i}.asc`));
    gpgMs += ms(g);
    vs('unseal --stdin', ['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${share}\n` });
  }
  const g = process.hrtime.bigint();
  const root = gpg.decrypt(path.join(keysOut, 'root-token.asc')).trim();
  gpgMs += ms(g);
  vs('init (configure)', ['init', ...d.args(flavor, image), '--yes', '--secrets', catalog, '--app-token-file', tokenFile, '--json'], { env: { BAO_TOKEN: root } });
  const total = ms(start);
  const cpu = cpuSeconds;
  const statusMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = process.hrtime.bigint();
    vs('status', ['status', '--dir', d.dir, '--json']);
    statusMs.push(ms(s));
  }
  fs.rmSync(keysOut, { recursive: true, force: true });
  return { total, gpg: gpgMs, cpu, statusMs };
}

async function seeding(count: number): Promise<{ manual: number; tool: number }> {
  await using d = await deployed('seed');
  // Initialise and configure once with vault-setup (print-keys keeps this bench unattended), then seed twice.
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-bench-seed-'));
  const small = path.join(keysDir, 'small.yaml');
  fs.writeFileSync(small, 'secrets:\n  warmup:\n    v: { from: generate, format: hex, bytes: 16 }\n');
  const out = JSON.parse(vs('init (print-keys)', ['init', ...d.args(flavor, image), '--yes', '--print-keys', '--keep-root-token', '--secrets', small, '--app-token-file', path.join(keysDir, 't'), '--json']));
  const root = out.init.root_token as string;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    execFileSync('docker', ['exec', '-e', 'BAO_ADDR=http://127.0.0.1:8200', '-e', 'VAULT_ADDR=http://127.0.0.1:8200', '-e', `BAO_TOKEN=${root}`, '-e', `VAULT_TOKEN=${root}`, d.name, cli, 'kv', 'put', `secret/manual/s${i}`, `value=v${i}`], { stdio: 'ignore' });
  }
  const manualMs = ms(start);
  const catalog = path.join(keysDir, 'many.yaml');
  fs.writeFileSync(catalog, `secrets:\n${Array.from({ length: count }, (_, i) => `  tool/s${i}:\n    value: { from: generate, format: hex, bytes: 16 }`).join('\n')}\n`);
  const t = process.hrtime.bigint();
  vs('init (seed 200)', ['init', ...d.args(flavor, image), '--yes', '--secrets', catalog, '--app-token-file', path.join(keysDir, 't2'), '--keep-root-token', '--json'], { env: { BAO_TOKEN: root } });
  const toolMs = ms(t);
  fs.rmSync(keysDir, { recursive: true, force: true });
  return { manual: manualMs, tool: toolMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const f = (x: number) => `${(x / 1000).toFixed(2)} s`;

console.log(`bench/playbook.ts  ${new Date().toISOString()}  image ${image}  node ${process.version}  ${os.cpus().length} cpus  load ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
const runs = Number(process.env.RUNS ?? 3);
const series = { a: [] as number[], b: [] as number[], c: [] as number[], c5: [] as number[], empty: [] as number[], empty5: [] as number[] };
const pgp: Awaited<ReturnType<typeof tool>>[] = [];
for (let i = 0; i < runs; i++) {
  series.a.push(await manual());
  series.b.push(await http());
  series.c.push(await oneInit(1, false));
  series.c5.push(await oneInit(5, false));
  series.empty.push(await oneInit(1, true));
  series.empty5.push(await oneInit(5, true));
  pgp.push(await tool());
}
const m = Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof series, number>;
const runsOf = (xs: number[]) => `runs: ${xs.map(f).join(', ')}`;
const cPgp = pgp.map((x) => x.total - x.gpg);
console.log(`median of ${runs} runs each; deployed, uninitialised server -> configured (raft performance_multiplier 1):`);
console.log(`A by hand (docker exec ${cli} ...):                      ${f(m.a)}   ${runsOf(series.a)}`);
console.log(`B the floor (plain HTTP calls):                        ${f(m.b)}   ${runsOf(series.b)}`);
console.log(`C vault-setup init --yes --print-keys:                 ${f(m.c)}   ${runsOf(series.c)}`);
console.log(`C' vault-setup PGP: init + 3 x unseal --stdin + init:  ${f(median(cPgp))}   ${runsOf(cPgp)}  (holders' gpg -d excluded)`);
console.log(`  C / B (target <= 1.3x):                              ${(m.c / m.b).toFixed(2)}x`);
console.log(`  A / C (by hand / vault-setup):                       ${(m.a / m.c).toFixed(2)}x`);
console.log(`  C' CPU (user+sys) over its 5 processes: ${median(pgp.map((x) => x.cpu)).toFixed(2)} s`);
console.log('before -> after (raft performance_multiplier 5, as written before, -> 1):');
console.log(`  deployed -> configured (C):       ${f(m.c5)} -> ${f(m.c)}: ${(m.c5 / m.c).toFixed(2)}x faster (target >= 3x)   before ${runsOf(series.c5)}`);
console.log(`  init --yes from an empty dir:     ${f(m.empty5)} -> ${f(m.empty)}: ${(m.empty5 / m.empty).toFixed(2)}x faster (target >= 2x)   ${runsOf(series.empty)}; before ${runsOf(series.empty5)}`);
console.log(`  status: median ${median(pgp.flatMap((x) => x.statusMs)).toFixed(0)} ms`);
if (process.env.SEED !== '0') {
  const s = await seeding(200);
  console.log(`Seeding 200 secrets: docker exec kv put loop ${f(s.manual)}, vault-setup ${f(s.tool)}: ${(s.manual / s.tool).toFixed(1)}x (target >= 20x)`);
}
console.log('Peak RSS per vault-setup command (target < 120 MB):');
for (const [label, mb] of Object.entries(peaks)) console.log(`  ${label.padEnd(30)} ${mb.toFixed(1)} MB`);
