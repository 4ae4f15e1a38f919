// Explicit waiting: poll with backoff and a deadline, on an injectable clock.
import { quoted } from '../errors.ts';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PollOptions {
  timeoutMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  clock?: Clock;
}

/**
 * Calls `attempt` until it returns a value other than undefined, or the deadline passes.
 * Returns undefined on timeout; the caller turns that into an error that names what it waited for.
 */
export async function poll<T>(attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T | undefined> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  let delay = options.initialDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 1000;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await clock.sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** Parses durations like 90s, 10m, 720h, 1h30m, or a bare number of seconds. Returns milliseconds. */
export function parseDuration(text: string): number {
  // A bare number is seconds.
  const trimmed = /^\d+$/.test(text.trim()) ? `${text.trim()}s` : text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let matched = 0;
  for (const m of trimmed.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] as string] as number);
    matched += m[0].length;
  }
  if (trimmed.length === 0 || matched !== trimmed.length) {
    throw new RangeError(`${quoted(text)} is not a duration: use forms like 90s, 10m, 720h or 1h30m`);
  }
  // Beyond this, milliseconds stop being exact and the server would be sent "1e+26s".
  if (!Number.isSafeInteger(Math.round(total))) throw new RangeError(`${quoted(text)} is too long a duration`);
  return Math.round(total);
}

/** Formats milliseconds as the server accepts a TTL: whole seconds with an "s". */
export const toServerDuration = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;
