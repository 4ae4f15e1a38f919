// Pure checks for what an operator types or passes: share counts and the shape of a share. No I/O here.
import { VaultSetupError, quoted, usageError } from '../errors.ts';

export const DEFAULT_SHARES = 5;
export const DEFAULT_THRESHOLD = 3;

/** The server's own rule (vault/seal config): 1 <= T <= N < 256, and T > 1 when N > 1. */
export function countsProblem(shares: number, threshold: number): string | undefined {
  if (!Number.isInteger(shares) || !Number.isInteger(threshold)) return 'shares and threshold must be whole numbers';
  if (shares < 1 || shares > 255) return `--shares must be between 1 and 255, got ${shares}`;
  if (threshold < 1) return `--threshold must be at least 1, got ${threshold}`;
  if (threshold > shares) return `--threshold (${threshold}) cannot be larger than --shares (${shares})`;
  if (shares > 1 && threshold === 1) return `--threshold 1 with ${shares} shares would let any single holder unseal alone; use a threshold of 2 or more`;
  return undefined;
}

const WHOLE = /^\d+$/;

/**
 * Reads --shares/--threshold. With --pgp-keys the share count defaults to the number of keys, and the default
 * threshold shrinks to fit a small N (3 of 5, 2 of 2, 1 of 1).
 */
export function resolveCounts(raw: { shares?: string | undefined; threshold?: string | undefined }, keyCount?: number): { shares: number; threshold: number } {
  for (const [flag, value] of [['shares', raw.shares], ['threshold', raw.threshold]] as const) {
    if (value !== undefined && !WHOLE.test(value.trim())) throw usageError(`--${flag} must be a whole number, got ${quoted(value)}`);
  }
  const shares = raw.shares !== undefined ? Number(raw.shares) : (keyCount ?? DEFAULT_SHARES);
  const threshold = raw.threshold !== undefined ? Number(raw.threshold) : shares === 1 ? 1 : Math.min(DEFAULT_THRESHOLD, shares);
  const problem = countsProblem(shares, threshold);
  if (problem !== undefined) throw usageError(problem, 'for example --shares 5 --threshold 3');
  if (keyCount !== undefined && keyCount !== shares) {
    throw usageError(`--pgp-keys names ${keyCount} key${keyCount === 1 ? '' : 's'} but --shares is ${shares}`, 'give one public key per share holder');
  }
  return { shares, threshold };
}

// A Shamir share is 33 bytes (32 bytes of key and one x coordinate); with a single share the "share" is the key
// itself, 32 bytes. The server takes anything from 16 bytes and counts a truncated share as a real one (the
// round then fails as a whole), so the length is checked here, where the typo can still be named.
const MIN_BYTES = 32;
const MAX_BYTES = 33;
const SHAPE = 'a share has 44 characters in base64 or 66 in hex';

export type ShareCheck = { ok: true; key: string } | { ok: false; reason: string };

/**
 * Normalises a typed share to what sys/unseal takes. Accepts hex or standard base64; spaces and line breaks are
 * dropped. The reason never quotes the input: it may be a real share with one typo.
 */
export function checkShare(input: string, shares?: number): ShareCheck {
  const text = input.replace(/\s+/g, '');
  // Knowing N (from seal-status) pins the length: 32 bytes for a single share, 33 for Shamir shares.
  const min = shares === undefined ? MIN_BYTES : shares === 1 ? 32 : 33;
  const max = shares === undefined ? MAX_BYTES : shares === 1 ? 32 : 33;
  if (text.length === 0) return { ok: false, reason: 'empty: type or paste a share' };
  const isHex = /^[0-9a-fA-F]+$/.test(text);
  if (isHex && text.length >= 2 * MIN_BYTES) {
    if (text.length % 2 === 0 && text.length >= 2 * min && text.length <= 2 * max) return { ok: true, key: text.toLowerCase() };
    return { ok: false, reason: `${text.length} hex characters is not a share (${SHAPE})` };
  }
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const bytes = text.length % 4 === 0 ? Buffer.from(text, 'base64').length : 0;
    if (bytes >= min && bytes <= max) return { ok: true, key: text };
    return { ok: false, reason: `${text.length} characters is not a share (${SHAPE})` };
  }
  return { ok: false, reason: `not a share: it has characters that are neither hex nor base64 (${SHAPE})` };
}

/** The same check, as the error `unseal --stdin` reports: which line, never its content. */
export function shareOrThrow(input: string, where: string, shares?: number): string {
  const checked = checkShare(input, shares);
  if (!checked.ok) {
    throw new VaultSetupError('E_BAD_SHARE', `${where}: ${checked.reason}`, {
      hint: 'nothing was sent to the server; check the share and try again',
    });
  }
  return checked.key;
}
