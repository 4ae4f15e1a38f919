// How the one-line error conversion (src/errors.ts oneLine) grows with its input, beside the backtracking pattern it
// replaced: median times for 40 kB, 400 kB and 4 MB of whitespace (the worst case for the old pattern: a long run of
// spaces with no line break), and each growth ratio. Linear work grows about 10x per step; quadratic about 100x.
// The old pattern is timed on 40 kB and 120 kB only (4 MB would take hours). Prints figures only.
//   scripts/node bench/one-line.ts            (RUNS=9)
import { oneLine } from '../src/errors.ts';

const runs = Number(process.env.RUNS ?? 9);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
// The conversion before it was made linear (kept here only to measure against).
const old = (text: string): string => text.trim().replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ');

function time(f: (t: string) => string, text: string, n = runs): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    f(text);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

const spaces = (n: number): string => `a${' '.repeat(n)}b`;
time(oneLine, spaces(40_000)); // warm-up
const now = [40_000, 400_000, 4_000_000].map((n) => time(oneLine, spaces(n)));
const before = [40_000, 120_000].map((n) => time(old, spaces(n), 3));
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
console.log(`oneLine now, median of ${runs}: 40 kB ${ms(now[0]!)}, 400 kB ${ms(now[1]!)} (x${(now[1]! / now[0]!).toFixed(1)}), 4 MB ${ms(now[2]!)} (x${(now[2]! / now[1]!).toFixed(1)})`);
console.log(`the old pattern, median of 3: 40 kB ${ms(before[0]!)}, 120 kB ${ms(before[1]!)} (x${(before[1]! / before[0]!).toFixed(1)} for 3x the input: quadratic gives ~9)`);
console.log(`on 40 kB the old pattern took ${(before[0]! / now[0]!).toFixed(0)}x as long`);
