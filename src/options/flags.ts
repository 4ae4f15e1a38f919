// Flag readers for the commands' option parsing (only src/cli.ts and src/commands use them): each bad value is a
// one-line usage error that says what to do.
import { quoted, usageError } from '../errors.ts';
import { parseDuration } from '../services/wait.ts';

/** argv as node:util parseArgs returns it: read only at the edge (src/cli.ts and src/commands). */
export type Flags = Record<string, string | boolean | string[] | undefined>;

export const str = (flags: Flags, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
};

export const bool = (flags: Flags, name: string): boolean => flags[name] === true;

export const list = (flags: Flags, name: string): string[] => {
  const v = flags[name];
  const values = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x.length > 0);
};

export function int(flags: Flags, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = str(flags, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw usageError(`--${name} must be a whole number, got ${quoted(raw)}`);
  const n = Number(raw);
  if (n < range.min || n > range.max) throw usageError(`--${name} must be between ${range.min} and ${range.max}, got ${n}`);
  return n;
}

export function duration(flags: Flags, name: string, fallback: string): number {
  const raw = str(flags, name) ?? fallback;
  try {
    const ms = parseDuration(raw);
    if (ms <= 0) throw new RangeError('must be positive');
    return ms;
  } catch (error) {
    throw usageError(`--${name}: ${(error as Error).message}`);
  }
}

export function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(flags, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw usageError(`--${name} must be one of ${allowed.join(', ')}, got ${quoted(raw)}`);
  return raw as T;
}
