// Input validation for the key ceremony: share counts (the server's own rule) and the shape of a typed share.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { VaultSetupError } from '../../src/errors.ts';
import { checkShare, countsProblem, resolveCounts, shareOrThrow } from '../../src/ceremony/shares.ts';

/** The server's rule, written independently: 1 <= T <= N < 256, T > 1 when N > 1. */
const serverAccepts = (n: number, t: number) => n >= 1 && n < 256 && t >= 1 && t <= n && !(n > 1 && t === 1);

describe('share counts', () => {
  test('accepted exactly when the server would accept them (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 300 }), fc.integer({ min: -5, max: 300 }), (n, t) => {
        assert.equal(countsProblem(n, t) === undefined, serverAccepts(n, t), `N=${n} T=${t}`);
      }),
      { numRuns: 5000 },
    );
  });

  test('resolveCounts agrees with the rule for any pair given as flags (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (n, t) => {
        const run = () => resolveCounts({ shares: String(n), threshold: String(t) });
        if (serverAccepts(n, t)) assert.deepEqual(run(), { shares: n, threshold: t });
        else assert.throws(run, (e: unknown) => e instanceof VaultSetupError && e.code === 'E_USAGE');
      }),
    );
  });

  test('defaults: 5 shares, threshold 3; with PGP keys N follows the key count and T shrinks to fit', () => {
    assert.deepEqual(resolveCounts({}), { shares: 5, threshold: 3 });
    assert.deepEqual(resolveCounts({}, 3), { shares: 3, threshold: 3 });
    assert.deepEqual(resolveCounts({}, 2), { shares: 2, threshold: 2 });
    assert.deepEqual(resolveCounts({}, 1), { shares: 1, threshold: 1 });
    assert.deepEqual(resolveCounts({ threshold: '2' }, 4), { shares: 4, threshold: 2 });
    assert.deepEqual(resolveCounts({ shares: '1' }), { shares: 1, threshold: 1 });
  });

  test('a key count that differs from --shares is refused', () => {
    assert.throws(() => resolveCounts({ shares: '5' }, 3), /names 3 keys but --shares is 5/);
  });

  test('non-numbers are refused with the flag named', () => {
    for (const bad of ['five', '3.5', '-1', '', '0x5', '1e2']) {
      assert.throws(() => resolveCounts({ shares: bad }), /--shares must be a whole number/);
      assert.throws(() => resolveCounts({ threshold: bad }), /--threshold must be a whole number/);
    }
  });

  test('the messages say what is wrong', () => {
    assert.match(countsProblem(5, 1) as string, /single holder/);
    assert.match(countsProblem(3, 4) as string, /cannot be larger/);
    assert.match(countsProblem(256, 3) as string, /between 1 and 255/);
  });
});

describe('share shape', () => {
  const share = fc.uint8Array({ minLength: 33, maxLength: 33 }).map((b) => Buffer.from(b));

  test('a real share is accepted in hex (any case) and base64, with stray whitespace (property)', () => {
    fc.assert(
      fc.property(share, fc.constantFrom('', ' ', '\n', '\t', '  \r\n'), (bytes, pad) => {
        const hex = bytes.toString('hex');
        const b64 = bytes.toString('base64');
        assert.deepEqual(checkShare(`${pad}${hex}${pad}`), { ok: true, key: hex });
        assert.deepEqual(checkShare(hex.toUpperCase()), { ok: true, key: hex });
        assert.deepEqual(checkShare(`${pad}${b64}${pad}`), { ok: true, key: b64 });
        // A share split over two lines while copying is still the share.
        assert.deepEqual(checkShare(`${b64.slice(0, 20)} ${b64.slice(20)}`), { ok: true, key: b64 });
      }),
    );
  });

  test('the single-share key (32 bytes) is accepted too', () => {
    const key = randomBytes(32);
    assert.equal(checkShare(key.toString('hex')).ok, true);
    assert.equal(checkShare(key.toString('base64'), 1).ok, true);
    assert.equal(checkShare(key.toString('base64'), 3).ok, false);
    assert.equal(checkShare(randomBytes(33).toString('hex'), 1).ok, false);
  });

  test('a share with characters dropped or added is refused before it reaches the server (property)', () => {
    fc.assert(
      fc.property(share, fc.integer({ min: 1, max: 10 }), fc.boolean(), fc.boolean(), (bytes, cut, hex, add) => {
        const text = hex ? bytes.toString('hex') : bytes.toString('base64');
        const damaged = add ? text + text.slice(0, cut) : text.slice(0, text.length - cut);
        // Knowing N (seal-status) pins the length; without it a 66-hex share cut to 64 could be a single-share key.
        assert.equal(checkShare(damaged, 5).ok, false, damaged);
        if (!(hex && !add && cut === 2)) assert.equal(checkShare(damaged).ok, false, damaged);
      }),
    );
  });

  test('the reason never quotes the input', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6, maxLength: 80 }), (text) => {
        const checked = checkShare(text);
        if (!checked.ok) assert.ok(!checked.reason.includes(text.trim()) || text.trim().length < 6);
      }),
    );
    const almost = randomBytes(33).toString('hex').slice(0, 60);
    const checked = checkShare(almost);
    assert.equal(checked.ok, false);
    assert.ok(!JSON.stringify(checked).includes(almost));
  });

  test('garbage, empty and too short inputs are refused with a reason', () => {
    for (const bad of ['', '   ', 'not a share', 'abcd', 'zz!!zz!!', randomBytes(16).toString('base64'), '%%%'.repeat(20)]) {
      const checked = checkShare(bad);
      assert.equal(checked.ok, false, bad);
      if (!checked.ok) assert.match(checked.reason, /share/);
    }
  });

  test('shareOrThrow: E_BAD_SHARE naming the line, not the content', () => {
    const almost = randomBytes(33).toString('base64').slice(0, 40);
    try {
      shareOrThrow(almost, 'line 2 of standard input');
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof VaultSetupError);
      assert.equal(error.code, 'E_BAD_SHARE');
      assert.equal(error.exitCode, 11);
      assert.match(error.message, /^line 2 of standard input: /);
      assert.ok(!error.message.includes(almost) && !(error.hint ?? '').includes(almost));
    }
  });
});
