// What is wrong with a command line, said the way every other error is said (✖ message, → what to do):
// an unknown option with the closest known one, an option without its value, a stray argument.
import { wantsColour } from './output.ts';

export interface ArgvProblem {
  message: string;
  hint: string;
}

/** Commands that take no positional argument at all (the others check their own). */
const NO_ARGUMENTS = new Set(['init', 'status', 'verify', 'join']);

/** node's parseArgs error, reworded; `arg` names each string option's value (e.g. FILE). */
export function parseProblem(command: string, error: Error, options: Record<string, { arg?: string }>): ArgvProblem {
  const first = error.message.split('\n')[0] as string;
  const help = `see \`vault-setup ${command} --help\` for its options`;
  const unknown = /^Unknown option '([^']*)'/.exec(first);
  if (unknown) {
    const given = unknown[1] as string;
    const closest = given.startsWith('--') ? closestOption(given.slice(2), Object.keys(options)) : undefined;
    return { message: `unknown option ${given}`, hint: closest === undefined ? help : `did you mean --${closest}? (${help})` };
  }
  const missing = /^Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(first);
  if (missing) {
    const name = missing[1] as string;
    return { message: `--${name} needs a value`, hint: `e.g. --${name} ${options[name]?.arg ?? 'VALUE'}; ${help}` };
  }
  const ambiguous = /^Option '(?:-\w, )?--([\w-]+)' argument is ambiguous/.exec(first);
  if (ambiguous) {
    const name = ambiguous[1] as string;
    return { message: `--${name} needs a value, and the word after it is another option`, hint: `e.g. --${name} ${options[name]?.arg ?? 'VALUE'} (a value that starts with "-" is written --${name}=-VALUE); ${help}` };
  }
  const noValue = /^Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(first);
  if (noValue) return { message: `--${noValue[1]} takes no value`, hint: `write --${noValue[1]} alone; ${help}` };
  return { message: first.replace(/\.$/, ''), hint: help };
}

/**
 * A stray argument (`--wait 5 minutes`) would otherwise be ignored silently. It is named only when it looks like a
 * word: anything else may be a value that belongs nowhere on a command line.
 */
export function strayArgument(command: string, positionals: string[]): ArgvProblem | undefined {
  const [stray] = positionals;
  if (!NO_ARGUMENTS.has(command) || stray === undefined) return undefined;
  const shown = /^[\w.:-]{1,24}$/.test(stray) ? `"${stray}"` : '(not shown)';
  return {
    message: `\`vault-setup ${command}\` takes no arguments; unexpected argument ${shown}`,
    hint: `give each value with its option, quoted if it holds spaces (e.g. --wait 5m); see \`vault-setup ${command} --help\` for its options`,
  };
}

/** The known option nearest to a mistyped one: a prefix of it, or at most a third of its letters changed. */
export function closestOption(given: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = name.startsWith(given) && given.length >= 3 ? 0.5 : editDistance(given, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(given.length / 3)) ? best.name : undefined;
}

/** Damerau-Levenshtein (optimal string alignment): a swap of two letters counts as one change. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, (d[i - 2] as number[])[j - 2]! + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The two lines every usage error prints, coloured only on a terminal (the context does not exist yet). */
export function formatProblem(command: string, problem: ArgvProblem, stderr: { isTTY?: boolean }, env: NodeJS.ProcessEnv): string {
  const colour = wantsColour(stderr, env);
  const red = (t: string) => (colour ? `\u001b[31m${t}\u001b[39m` : t);
  const dim = (t: string) => (colour ? `\u001b[2m${t}\u001b[22m` : t);
  return `${red('✖')} vault-setup ${command}: ${problem.message}\n  ${dim('→')} ${problem.hint}\n`;
}
