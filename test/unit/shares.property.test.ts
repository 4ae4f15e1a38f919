// Property tests for key shares as holders type, paste or pipe them: whatever the text, checkShare answers (never
// throws); every shape a real share arrives in is the same key; a refusal's reason is one of a few fixed sentences
// and never carries any piece of what was typed (it may be a real share with one typo).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkShare, shareOrThrow } from '../../src/ceremony/shares.ts';
import { VaultSetupError } from '../../src/errors.ts';

const REASONS = [
  /^empty: type or paste a share$/,
  /^\d+ hex characters is not a share \(a share has 44 characters in base64 or 66 in hex\)$/,
  /^\d+ characters is not a share \(a share has 44 characters in base64 or 66 in hex\)$/,
  /^not a share: it has characters that are neither hex nor base64 \(a share has 44 characters in base64 or 66 in hex\)$/,
];

/** No window of 6 characters of the typed text (whitespace removed) appears in what is said about it. */
function quotesNothing(said: string, typed: string): void {
  const text = typed.replace(/\s+/g, '');
  for (let i = 0; i + 6 <= text.length; i++) {
    const piece = text.slice(i, i + 6);
    if (/^[0-9]+$/.test(piece) || /^[a-z ]+$/i.test(piece)) continue; // digits and words of the fixed sentences
    assert.ok(!said.includes(piece), `${JSON.stringify(said)} quotes ${JSON.stringify(piece)}`);
  }
}

const share = fc.uint8Array({ minLength: 33, maxLength: 33 }).map((b) => Buffer.from(b));
const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));

/** How a share reaches vault-setup: gpg -d output, a Windows pipe, a paste from a PDF or a chat. */
const wrappings: [string, (s: string) => string][] = [
  ['gpg -d output', (s) => `${s}\n`],
  ['CRLF', (s) => `${s}\r\n`],
  ['byte-order mark', (s) => `\uFEFF${s}`],
  ['indented, trailing tab', (s) => `    ${s}\t`],
  ['groups of 4', (s) => s.replace(/(.{4})/g, '$1 ').trim()],
  ['two lines', (s) => `${s.slice(0, 20)}\n${s.slice(20)}`],
  ['non-breaking spaces', (s) => `\u00a0${s.slice(0, 10)}\u00a0${s.slice(10)}\u00a0`],
];

describe('key shares (properties)', () => {
  it('every wrapping of a real share (hex any case, base64) is that share', () => {
    fc.assert(
      fc.property(share, fc.constantFrom(...wrappings), fc.constantFrom('hex', 'HEX', 'base64'), (bytes, [, wrap], form) => {
        const text = form === 'base64' ? bytes.toString('base64') : form === 'hex' ? bytes.toString('hex') : bytes.toString('hex').toUpperCase();
        const checked = checkShare(wrap(text), 5);
        assert.ok(checked.ok, checked.ok ? '' : checked.reason);
        assert.deepEqual(form === 'base64' ? Buffer.from(checked.key, 'base64') : Buffer.from(checked.key, 'hex'), bytes);
        assert.match(checked.key, form === 'base64' ? /^[A-Za-z0-9+/]{44}$/ : /^[0-9a-f]{66}$/);
      }),
      { numRuns: 500 },
    );
  });

  it('the length follows the share count: 32 bytes when N = 1, 33 otherwise', () => {
    fc.assert(
      fc.property(key, share, fc.integer({ min: 2, max: 255 }), (k, s, n) => {
        assert.equal(checkShare(k.toString('base64'), 1).ok, true);
        assert.equal(checkShare(k.toString('hex'), 1).ok, true);
        assert.equal(checkShare(s.toString('base64'), 1).ok, false);
        assert.equal(checkShare(s.toString('base64'), n).ok, true);
        assert.equal(checkShare(k.toString('base64'), n).ok, false);
      }),
    );
  });

  it('any text: an answer, never a throw; a refusal is a fixed sentence that quotes nothing typed', () => {
    const typed = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 120 }),
      share.map((b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')), // URL-safe base64: not what the server takes
      share.map((b) => b.toString('base64').replace(/=+$/, '')),
      key.map((b) => b.toString('base64').replace(/=+$/, '')), // unpadded
      fc.tuple(share, fc.nat(65)).map(([b, cut]) => b.toString('hex').slice(0, cut)),
      fc.tuple(share, fc.nat(43), fc.constantFrom('!', 'O', 'l', '0', 'é', ' ', '.')).map(([b, at, c]) => {
        const t = b.toString('base64');
        return t.slice(0, at) + c + t.slice(at + 1);
      }),
    );
    fc.assert(
      fc.property(typed, fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }), (text, n) => {
        const checked = checkShare(text, n);
        if (checked.ok) {
          const bytes = checked.key.length === 44 ? Buffer.from(checked.key, 'base64') : Buffer.from(checked.key, 'hex');
          assert.ok(bytes.length === 32 || bytes.length === 33);
          return;
        }
        assert.ok(REASONS.some((r) => r.test(checked.reason)), checked.reason);
        quotesNothing(checked.reason, text);
      }),
      { numRuns: 3000 },
    );
  });

  it('shareOrThrow: one E_BAD_SHARE line naming where, never what', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 99 }), (text, line) => {
        try {
          shareOrThrow(text, `line ${line} of standard input`, 3);
        } catch (error) {
          assert.ok(error instanceof VaultSetupError);
          assert.equal(error.code, 'E_BAD_SHARE');
          assert.equal(error.exitCode, 11);
          assert.match(error.message, new RegExp(`^line ${line} of standard input: `));
          assert.doesNotMatch(error.message, /[\r\n]/);
          quotesNothing(`${error.message} ${error.hint ?? ''}`, text);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
