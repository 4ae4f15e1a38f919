// `vault-setup verify` end to end on a healthy deployment (real Docker, the real OpenBao server from the rig):
// median and p90 wall time of the CLI over N runs, the same in-process (without Node's start-up), and the
// slowest checks, to show where the time goes. Target: under 500 ms median end to end. Prints figures only.
//   scripts/node bench/verify.ts            (RUNS=20, IMAGE=<rig openbao image>)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { Writable } from 'node:stream';
import { verify } from '../src/commands/verify.ts';
import { CHECK_GROUPS } from '../src/verify/groups.ts';
import { createContext } from '../src/context.ts';
import type { CheckFn } from '../src/verify/report.ts';
import { rig } from '../test/helpers/rig.ts';
import { verifyFixture } from '../test/helpers/verify-fixture.ts';

const runs = Number(process.env.RUNS ?? 20);
const image = process.env.IMAGE ?? rig().openbaoImage;
const flavor = image.includes('vault-layout') || image.includes('hashicorp') ? 'vault' : 'openbao';
const root = new URL('..', import.meta.url).pathname;
// Operators run the built CLI (plain JS); the sources run under type stripping, which costs ~150 ms more.
// Build a private copy (node_modules/.cache, ignored) so the shared dist/ is left alone.
const built = `${root}node_modules/.cache/vs-bench-dist`;
// The built modules find templates/ two levels up, as dist/ does: give the private build the same neighbour.
if (!existsSync(`${root}node_modules/.cache/templates`)) {
  mkdirSync(`${root}node_modules/.cache`, { recursive: true });
  symlinkSync(`${root}templates`, `${root}node_modules/.cache/templates`);
}
const tsc = spawnSync(`${root}node_modules/.bin/tsc`, ['-p', `${root}tsconfig.build.json`, '--outDir', built], { stdio: 'inherit' });
const entries: [string, string][] = [['src/cli.ts (type stripping)', `${root}src/cli.ts`]];
if (tsc.status === 0) entries.unshift(['built CLI', `${built}/cli.js`]);
else console.error('bench: tsc failed; measuring the sources only');

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
  return `median ${pct(50).toFixed(0)} ms   p90 ${pct(90).toFixed(0)} ms   min ${(s[0] as number).toFixed(0)} ms   max ${(s.at(-1) as number).toFixed(0)} ms`;
};

await using f = await verifyFixture('bench', flavor, image);
console.log(`verify on ${image}  node ${process.version}  runs=${runs}  load average ${os.loadavg()[0]?.toFixed(1)}`);

// 1. The CLI, as cron runs it: a fresh process, --json, the app token in the environment.
for (const [name, entry] of entries) {
  const cli: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [entry, 'verify', '--dir', f.d.dir, '--json'], {
      env: { PATH: process.env.PATH, HOME: f.home, VAULT_TOKEN: f.appToken, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`verify exited ${r.status}: ${r.stdout}${r.stderr}`);
    if (i >= 2) cli.push(ms); // the first runs warm the page cache
  }
  console.log(`  end to end, ${name.padEnd(28)} ${stats(cli)}   (target < 500 ms median)`);
}

// 2. In process: the command alone, without Node's start-up and module loading.
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
const makeCtx = () =>
  createContext({ json: true, env: { HOME: f.home, VAULT_TOKEN: f.appToken, PATH: process.env.PATH ?? '' }, streams: { stdout: sink(), stderr: sink() }, stdin: Object.assign(sink() as unknown as NodeJS.ReadableStream, { isTTY: false }) });
const inProcess: number[] = [];
for (let i = 0; i < runs + 2; i++) {
  const start = process.hrtime.bigint();
  const result = await verify({ flags: { dir: f.d.dir, json: true }, positionals: [] }, makeCtx());
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.exitCode !== 0) throw new Error(`verify reported exit ${result.exitCode}`);
  if (i >= 2) inProcess.push(ms);
}
console.log(`  in process (no Node start-up)${''.padEnd(12)} ${stats(inProcess)}`);

// 3. Where the time goes: each check's own wall time in one concurrent run (they overlap).
const timings: { id: string; ms: number }[] = [];
const originals = CHECK_GROUPS.map(([, checks]) => [...checks]);
for (const [, checks] of CHECK_GROUPS) {
  checks.forEach((check, i) => {
    const timed: CheckFn = async (p) => {
      const start = process.hrtime.bigint();
      try {
        return await check(p);
      } finally {
        timings.push({ id: check.name, ms: Number(process.hrtime.bigint() - start) / 1e6 });
      }
    };
    checks[i] = timed;
  });
}
await verify({ flags: { dir: f.d.dir, json: true }, positionals: [] }, makeCtx());
CHECK_GROUPS.forEach(([, checks], g) => checks.splice(0, checks.length, ...(originals[g] as CheckFn[])));
timings.sort((a, b) => b.ms - a.ms);
console.log(`  slowest checks (one run, concurrent): ${timings.slice(0, 6).map((t) => `${t.id} ${t.ms.toFixed(0)} ms`).join(', ')}`);
