// A three-node cluster on one machine (three deployments, three addresses on a private link, as in
// test/integration/cluster.test.ts): how long from `join` until the node is a voter (join, unseal --cluster,
// autopilot's promotion), and how long until another node leads after the leader's container stops (RUNS times).
// Prints figures; asserts nothing.  RUNS=3 BENCH_IMAGE=... scripts/node bench/cluster.ts
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestDeployment, docker, testDeployment } from '../test/helpers/deployment.ts';
import { call, privateNet } from '../test/helpers/private-net.ts';
import { ROOT, rig } from '../test/helpers/rig.ts';

const images = process.env.BENCH_IMAGE ? [process.env.BENCH_IMAGE] : [rig().openbaoImage, rig().vaultImage];
const runs = Number(process.env.RUNS ?? 3);
const cliTs = path.join(ROOT, 'src/cli.ts');
const PASSWORD = 'bench operator pw';
// vault.hcl sets raft's performance_multiplier to 1 (init's default): raft's election timeout is 1 s times it.
const ELECTION_TIMEOUT_S = 1;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[], input: string): any {
  const r = spawnSync(process.execPath, [cliTs, ...args], { encoding: 'utf8', input, env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${args[0]} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  return JSON.parse(r.stdout);
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await attempt().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms / 1000} s`);
}

async function bench(image: string): Promise<void> {
  const flavor = image.includes('/vault:') ? 'vault' : 'openbao';
  await using net = privateNet(3);
  await using d1 = await testDeployment('bcl1');
  await using d2 = await testDeployment('bcl2');
  await using d3 = await testDeployment('bcl3');
  const ds: TestDeployment[] = [d1, d2, d3];
  const apis = ds.map((d, i) => `https://${net.addresses[i]}:${d.port}`);
  const dep = (d: TestDeployment) => ['--dir', d.dir, '--flavor', flavor, '--image', image, '--name', d.name, '--port', String(d.port)];
  const pw = `${PASSWORD}\n`;
  fs.mkdirSync(d1.dir, { recursive: true });
  const catalog = path.join(d1.dir, 'catalog.yaml');
  fs.writeFileSync(catalog, 'secrets:\n  bench:\n    key: { from: generate, format: hex, bytes: 16 }\n');
  const init = cli(['init', ...dep(d1), '--advertise', net.addresses[0] as string, '--yes', '--print-keys', '--password-stdin', '--secrets', catalog, '--app-token-file', path.join(d1.dir, 'app-token'), '--json'], pw);
  const shares = (init.init.unseal_keys_b64 as string[]).slice(0, 3).join('\n');
  const ca = fs.readFileSync(path.join(d1.dir, 'ca.crt'), 'utf8');
  const status = () => cli(['cluster', 'status', '--dir', d1.dir, '--operator', 'admin', '--password-stdin', '--json'], pw);
  const joinToVoter: number[] = [];
  for (const i of [1, 2]) {
    const started = now();
    cli(['join', ...dep(ds[i] as TestDeployment), '--advertise', net.addresses[i] as string, '--leader', apis[0] as string, '--leader-ca', path.join(d1.dir, 'ca.crt'), '--operator', 'admin', '--password-stdin', '--json'], pw);
    const joined = now();
    cli(['unseal', '--cluster', '--stdin', '--dir', (ds[i] as TestDeployment).dir, '--json'], `${shares}\n`);
    const unsealed = now();
    await until('voter', async () => (status().nodes.some((n: any) => n.api === apis[i] && n.voter && n.healthy) ? true : undefined));
    joinToVoter.push(now() - started);
    console.log(`${image}  node ${i + 1}: join ${((joined - started) / 1000).toFixed(2)} s, unseal --cluster ${((unsealed - joined) / 1000).toFixed(2)} s, voter after ${((now() - started) / 1000).toFixed(2)} s`);
  }
  const failovers: number[] = [];
  for (let run = 0; run < runs; run++) {
    await until('3 healthy voters', async () => {
      const s = status();
      return s.voters === 3 && s.failureTolerance === 1 && s.nodes.every((n: any) => n.healthy) ? true : undefined;
    });
    const leaderApi = status().nodes.find((n: any) => n.leader).api as string;
    const old = ds[apis.indexOf(leaderApi)] as TestDeployment;
    const others = apis.filter((a) => a !== leaderApi);
    const stopped = now();
    docker('stop', old.name);
    await until('a new leader', async () => {
      for (const a of others) if ((await call(a, ca, 'GET', 'sys/leader')).body?.is_self === true) return true;
      return undefined;
    });
    failovers.push(now() - stopped);
    docker('start', old.name);
    cli(['unseal', '--cluster', '--stdin', '--dir', d1.dir, '--json'], `${shares}\n`);
  }
  const sorted = [...failovers].sort((a, b) => a - b);
  const median = (sorted[Math.floor(runs / 2)] as number) / 1000;
  console.log(`${image}  failover (docker stop of the leader -> another node is_self): median ${median.toFixed(2)} s  runs ${failovers.map((t) => (t / 1000).toFixed(2)).join(', ')} s`);
  console.log(`${image}  failover median / election timeout (${ELECTION_TIMEOUT_S} s): ${(median / ELECTION_TIMEOUT_S).toFixed(2)}x (the target: under 3x)`);
  console.log(`${image}  join -> voter: ${joinToVoter.map((t) => (t / 1000).toFixed(2)).join(', ')} s`);
}

console.log(`bench/cluster.ts  ${new Date().toISOString()}  node ${process.version}  ${os.cpus().length} cpus  load ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
for (const image of images) await bench(image);
