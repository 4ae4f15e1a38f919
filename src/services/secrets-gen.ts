// Generated secret values, from the OS CSPRNG (node:crypto), never Math.random.
import { randomBytes, randomInt } from 'node:crypto';
import type { BytesSpec, PasswordSpec } from '../config/catalog.ts';

export function generateValue(spec: BytesSpec | PasswordSpec): string {
  if (spec.format === 'password') return password(spec.length, spec.chars);
  const bytes = randomBytes(spec.bytes);
  try {
    return bytes.toString(spec.format);
  } finally {
    bytes.fill(0);
  }
}

/** Each character drawn independently and uniformly (randomInt rejects biased draws): length * log2(|chars|) bits. */
export function password(length: number, chars: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += chars[randomInt(chars.length)];
  return out;
}

export const entropyBits = (spec: BytesSpec | PasswordSpec): number =>
  spec.format === 'password' ? Math.floor(spec.length * Math.log2(spec.chars.length)) : spec.bytes * 8;
