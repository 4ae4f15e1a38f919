// The test command (`npm test`): type-check, then every unit and integration test against the real rig.
// A skipped test counts as a failure: nothing here may silently not run.
import { execFileSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const args = process.argv.slice(2);
const patterns = args.length > 0 ? args : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];
const files = patterns.flatMap((p) => globSync(p)).sort();
if (files.length === 0) {
  console.error('test: no test files matched');
  process.exit(1);
}

console.error('test: type-checking (tsc --noEmit)');
execFileSync('node_modules/.bin/tsc', ['--noEmit', '-p', '.'], { stdio: 'inherit' });

let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0; // a failing before/after hook fails its suite even when no test inside reports a failure
const stream = run({ files, concurrency: Number(process.env.TEST_CONCURRENCY ?? 2), timeout: 20 * 60_000 });
stream.on('test:pass', (event) => {
  if (event.details.type === 'suite') return;
  if (event.skip || event.todo) skipped++;
  else passed++;
});
stream.on('test:fail', (event) => {
  if (event.details.type === 'suite') suitesFailed++;
  else failed++;
});
stream.compose(spec).pipe(process.stdout);
await new Promise((resolve) => stream.on('end', resolve));
const bad = failed > 0 || suitesFailed > 0 || skipped > 0 || passed === 0;
console.log(`\n${passed} passed, ${failed + (failed === 0 ? suitesFailed : 0)} failed, ${skipped} skipped`);
if (suitesFailed > 0) console.log(`test: ${suitesFailed} suite(s) failed (a hook, or a file that did not load)`);
if (skipped > 0) console.log('test: skipped tests count as failures here');
process.exit(bad ? 1 : 0);
