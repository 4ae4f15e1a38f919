// Runs the checks concurrently and turns their results into what the operator (or cron) sees.
import { EXIT, escapeControls } from '../errors.ts';
import type { Style } from '../output.ts';
import type { Redactor } from '../services/redactor.ts';
import type { Probe } from './probe.ts';
import type { CheckGroup, CheckResult, CheckStatus, GroupedResult } from './types.ts';

export type CheckFn = (p: Probe) => Promise<CheckResult>;

/** Every check at once: they share the probe's memoised facts, so independent ones overlap their waits. */
export async function runChecks(probe: Probe, groups: [CheckGroup, CheckFn[]][], redactor: Redactor): Promise<GroupedResult[]> {
  const jobs = groups.flatMap(([group, checks]) =>
    checks.map(async (check): Promise<GroupedResult> => {
      let result: CheckResult;
      try {
        result = await check(probe);
      } catch (error) {
        // A check that breaks is a failed check with its reason, not a crashed command.
        result = { id: check.name, status: 'fail', finding: `the check itself failed: ${(error as Error)?.message ?? String(error)}`, fix: 'please report this' };
      }
      // Findings quote what the server said (version, display names): controls are shown escaped.
      return { group, ...result, finding: escapeControls(redactor.redact(result.finding)), fix: escapeControls(redactor.redact(result.fix)) };
    }),
  );
  return Promise.all(jobs);
}

export type Summary = Record<CheckStatus, number>;

export function summarise(results: GroupedResult[]): Summary {
  const summary: Summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}

/** 0 when nothing fails (warnings are listed, not fatal); 13 on a failure; 14 on a warning with --strict. */
export function exitCodeFor(summary: Summary, strict: boolean): number {
  if (summary.fail > 0) return EXIT.verifyFailed;
  if (strict && summary.warn > 0) return EXIT.verifyWarnings;
  return EXIT.ok;
}

export function verdict(summary: Summary, strict: boolean): 'healthy' | 'warnings' | 'failed' {
  if (summary.fail > 0) return 'failed';
  return summary.warn > 0 ? (strict ? 'failed' : 'warnings') : 'healthy';
}

export interface RenderOptions {
  tty: boolean;
  style: Style;
  quiet: boolean;
  strict: boolean;
  columns?: number | undefined;
}

const MARK: Record<CheckStatus, string> = { pass: '✔', warn: '⚠', fail: '✖', skip: '–' };

export function render(results: GroupedResult[], options: RenderOptions): string {
  const shown = options.quiet ? results.filter((r) => r.status === 'warn' || r.status === 'fail') : results;
  const summary = summarise(results);
  const lines = options.tty ? table(shown, options) : shown.flatMap((r) => plainLines(r));
  if (options.quiet && shown.length === 0) return '';
  lines.push(summaryLine(summary, options.strict));
  return lines.join('\n');
}

function plainLines(r: GroupedResult): string[] {
  const out = [`${r.status} ${r.group}/${r.id}: ${r.finding}`];
  if (r.fix !== '' && r.status !== 'pass') out.push(`  fix: ${r.fix}`);
  return out;
}

function table(results: GroupedResult[], { style, columns }: RenderOptions): string[] {
  const colour: Record<CheckStatus, (t: string) => string> = { pass: style.green, warn: style.yellow, fail: style.red, skip: style.dim };
  const idWidth = Math.max(5, ...results.map((r) => r.id.length));
  const groupWidth = Math.max(5, ...results.map((r) => r.group.length));
  const left = 2 + 6 + 1 + groupWidth + 2 + idWidth + 2;
  const width = Math.max(40, (columns ?? 120) - left);
  const out = [style.bold(`  ${'STATUS'.padEnd(7)}${'GROUP'.padEnd(groupWidth + 2)}${'CHECK'.padEnd(idWidth + 2)}FINDING`)];
  let lastGroup = '';
  for (const r of results) {
    const status = colour[r.status](`${MARK[r.status]} ${r.status}`.padEnd(6));
    const group = r.group === lastGroup ? ''.padEnd(groupWidth) : r.group.padEnd(groupWidth);
    lastGroup = r.group;
    const finding = wrap(r.finding, width);
    out.push(`  ${status} ${group}  ${r.id.padEnd(idWidth)}  ${finding[0] ?? ''}`);
    for (const more of finding.slice(1)) out.push(`${''.padEnd(left)}${more}`);
    if (r.fix !== '' && r.status !== 'pass') {
      for (const [i, line] of wrap(`→ ${r.fix}`, width).entries()) out.push(`${''.padEnd(left)}${style.dim(i === 0 ? line : `  ${line}`)}`);
    }
  }
  out.push('');
  return out;
}

function summaryLine(s: Summary, strict: boolean): string {
  const v = verdict(s, strict);
  const head = v === 'healthy' ? 'healthy' : v === 'warnings' ? 'healthy, with warnings' : strict && s.fail === 0 ? 'warnings fail with --strict' : 'problems found';
  return `verify: ${head}: ${s.pass} passed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.fail} failed, ${s.skip} skipped`;
}

export function wrap(text: string, width: number): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}
