// CLI cold start: `vault-setup --help`, median and p90 wall time over N runs, and peak RSS.
// Target: under 50 ms median on the project's 2-core machine when it is quiet. Prints figures; asserts nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';

const runs = Number(process.env.RUNS ?? 30);
const bin = new URL('../bin/vault-setup.js', import.meta.url).pathname;
if (!existsSync(new URL('../dist/cli.js', import.meta.url))) {
  console.error('bench: dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const times: number[] = [];
for (let i = 0; i < runs + 3; i++) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, '--help'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`vault-setup --help exited ${r.status}`);
  if (i >= 3) times.push(ms); // the first runs warm the page cache
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] as number;
let rss = 'n/a (install GNU time: apt-get install time)';
if (existsSync('/usr/bin/time')) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, '--help'], { encoding: 'utf8' });
  rss = `${(Number(r.stderr.trim().split('\n').pop()) / 1024).toFixed(1)} MB`;
}
console.log(`vault-setup --help  node ${process.version}  runs=${runs}  load average ${(os.loadavg()[0] ?? 0).toFixed(2)} (quiet: under 1)`);
console.log(`  median ${pct(50).toFixed(1)} ms   p90 ${pct(90).toFixed(1)} ms   min ${(times[0] as number).toFixed(1)} ms   (target < 50 ms median on a quiet machine)`);
console.log(`  peak RSS ${rss}`);
