// How long `sys/init` takes on a freshly deployed single-node raft server, by raft's performance_multiplier.
// sys/init returns once raft has elected the node, so this is the election wait the multiplier scales.
// Prints figures; asserts nothing.  RUNS=3 MULTIPLIERS=1,5 BENCH_IMAGE=... scripts/node bench/raft-election.ts
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { testDeployment } from '../test/helpers/deployment.ts';
import { rig, ROOT } from '../test/helpers/rig.ts';

const images = process.env.BENCH_IMAGE ? [process.env.BENCH_IMAGE] : [rig().openbaoImage, rig().vaultImage];
const multipliers = (process.env.MULTIPLIERS ?? '1,5').split(',').map(Number);
const runs = Number(process.env.RUNS ?? 3);
const cliTs = path.join(ROOT, 'src/cli.ts');

async function timeInit(image: string, multiplier: number): Promise<number> {
  const flavor = image.includes('/vault:') || image.includes('vault-layout') ? 'vault' : 'openbao';
  await using d = await testDeployment('raft');
  const r = spawnSync(process.execPath, [cliTs, 'init', ...d.args(flavor, image), '--deploy-only', '--raft-multiplier', String(multiplier), '--json'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.status !== 0) throw new Error(`init --deploy-only exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
  const start = process.hrtime.bigint();
  const response = await fetch(`${d.address}/v1/sys/init`, { method: 'PUT', body: JSON.stringify({ secret_shares: 1, secret_threshold: 1 }) });
  await response.text();
  if (response.status !== 200) throw new Error(`sys/init answered ${response.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

console.log(`bench/raft-election.ts  ${new Date().toISOString()}  node ${process.version}  ${os.cpus().length} cpus  load ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
for (const image of images) {
  for (const multiplier of multipliers) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await timeInit(image, multiplier));
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`${image}  performance_multiplier ${multiplier}:  sys/init median ${(sorted[Math.floor(runs / 2)]! / 1000).toFixed(2)} s  runs ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} s`);
  }
}
