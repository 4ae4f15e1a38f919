// The redactor against every spelling a secret can take on its way to a terminal (hex in either case, base64,
// base64url, URL- and JSON-escaped), overlapping secrets, PEM private keys; the one-line conversion stays linear;
// control characters from a server are shown escaped; key files are never diffed; sensitive bodies never quoted.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VaultSetupError, escapeControls, oneLine, quoted } from '../../src/errors.ts';
import { describeConflict } from '../../src/services/file-diff.ts';
import { Redactor, clip } from '../../src/services/redactor.ts';
import { MAX_BODY_BYTES, VaultApi, bodySnippet } from '../../src/services/vault-api.ts';

const share = fc.uint8Array({ minLength: 33, maxLength: 33 }).map((b) => Buffer.from(b));
const token = fc.stringMatching(/^[A-Za-z0-9+/=._-]{12,40}$/);
const filler = fc.string({ maxLength: 40 });

/** What a secret may look like by the time it reaches an error message. */
function spellingsOf(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()), JSON.stringify(encodeURIComponent(secret)).slice(1, -1)];
}

const PEM = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----`;

describe('redactor', () => {
  it('a share is gone in hex (either case), base64 and base64url, padded or not', () => {
    fc.assert(
      fc.property(share, filler, filler, (bytes, before, after) => {
        const r = new Redactor();
        r.addShare(bytes.toString('base64'));
        for (const shown of [bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, '')]) {
          const out = r.redact(`${before}${shown}${after}`);
          assert.ok(!out.includes(shown), `${shown} survived`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a token is gone as given, URL-encoded and JSON-escaped', () => {
    fc.assert(
      fc.property(token, filler, (secret, around) => {
        const r = new Redactor();
        r.add(secret);
        for (const shown of spellingsOf(secret)) assert.ok(!r.redact(`${around}${shown}${around}`).includes(shown), `${shown} survived`);
      }),
      { numRuns: 300 },
    );
  });

  it('a secret value with quotes, backslashes, controls, <>& and non-ASCII is gone in every JSON spelling (JavaScript\'s, Go\'s, all-ASCII)', () => {
    const u = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    const value = fc.string({ unit: fc.constantFrom('a', 'B', '7', '"', '\\', '\n', '\t', '<', '>', '&', 'é', '€', '漢', '\u2028', ' '), minLength: 8, maxLength: 24 });
    fc.assert(
      fc.property(value, filler, (secret, around) => {
        const r = new Redactor();
        r.add(secret);
        const js = JSON.stringify(secret).slice(1, -1);
        const go = js.replace(/[<>&\u2028\u2029]/g, u);
        for (const shown of [js, go, go.replace(/[\u0080-\uffff]/g, u)]) assert.ok(!r.redact(`${around}${shown}${around}`).includes(shown), `${shown} survived`);
      }),
      { numRuns: 300 },
    );
  });

  it('overlapping secrets leave no fragment: all ranges are merged before anything is replaced', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{8,20}$/), fc.stringMatching(/^[a-z0-9]{8,20}$/), fc.integer({ min: 1, max: 7 }), (a, b, overlap) => {
        const joined = a + b.slice(0);
        const second = a.slice(-overlap) + b; // starts inside the first
        const r = new Redactor();
        r.add(a, second);
        const out = r.redact(`x ${joined} y`);
        assert.equal(out, 'x [redacted] y');
      }),
      { numRuns: 200 },
    );
    const r = new Redactor();
    r.add('abcdefgh', 'efghijkl');
    assert.equal(r.redact('abcdefghijkl'), '[redacted]');
  });

  it('any PEM private-key block is removed by pattern, also a cut one and a one-lined one', () => {
    const r = new Redactor();
    assert.equal(r.redact(`key:\n${PEM}\nend`), 'key:\n[redacted]\nend');
    assert.equal(r.redact(`cut: ${PEM.slice(0, 80)}`), 'cut: [redacted]');
    assert.equal(r.redact(oneLine(PEM)), '[redacted]');
    assert.equal(r.redact(PEM.replace('PRIVATE KEY', 'EC PRIVATE KEY').replace('END PRIVATE KEY', 'END EC PRIVATE KEY')), '[redacted]');
    assert.match(r.redact('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'), /MIIB/);
  });

  it('a secret that spans lines is redacted before the message is made one line', () => {
    const r = new Redactor();
    const value = 'first-line-of-it\nsecond-line-of-it';
    r.add(value);
    const error = new VaultSetupError('E_SERVER', `server said: ${value}`);
    assert.equal(error.message, 'server said: [redacted]');
  });

  it('text is redacted before it is cut: no half secret at the cut', () => {
    const r = new Redactor();
    const secret = 'hvs.ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
    r.add(secret);
    const text = `${'x'.repeat(100)}${secret}`;
    const shown = clip(text, 120);
    assert.ok(!shown.includes(secret.slice(0, 12)), shown);
    assert.ok(!quoted(text, 120).includes(secret.slice(0, 12)));
  });
});

describe('one line, control characters', () => {
  it('the one-line conversion of 40 kB of spaces and 400 kB of mixed whitespace', () => {
    // Its growth with the input (linear, where the old pattern was quadratic) is measured by bench/one-line.ts.
    assert.equal(oneLine(`a${' '.repeat(40_000)}b`), `a${' '.repeat(40_000)}b`);
    const big = 'word \t \n '.repeat(50_000);
    assert.equal(oneLine(big), Array.from({ length: 50_000 }, () => 'word').join(' '));
  });

  it('C0 and C1 controls from a server are shown escaped', () => {
    assert.equal(escapeControls('1.21.4\u001b[2J\u009b31m'), '1.21.4\\u001b[2J\\u009b31m');
    assert.equal(oneLine('v\u0085x\u001by'), 'v\\u0085x\\u001by');
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => assert.ok(!/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(escapeControls(s)))));
  });
});

describe('conflicts', () => {
  it('a key file is never diffed: checksums only', () => {
    const said = describeConflict({ path: '/d/config/tls/server.key', existing: PEM, content: PEM.replace('MIIEv', 'MIIEw') });
    assert.match(said, /server\.key: differs, sha256 [0-9a-f]{16} -> [0-9a-f]{16}, contents not shown$/);
    assert.ok(!said.includes('MII'));
    // Whatever the name, a file holding a private key is not shown either.
    assert.ok(!describeConflict({ path: '/d/ca.crt', existing: 'x', content: PEM }).includes('MII'));
    assert.match(describeConflict({ path: '/d/docker-compose.yml', existing: 'a\n', content: 'b\n' }), /\+b\n-a|-a\n\+b/);
  });
});

describe('server answers', () => {
  it('a sensitive endpoint body is never quoted; others are redacted and cut', () => {
    const shareText = Buffer.alloc(33, 7).toString('base64');
    assert.doesNotMatch(bodySnippet('sys/init', `keys: ${shareText}`, 'text/plain'), new RegExp(shareText.slice(0, 10)));
    assert.match(bodySnippet('sys/init', 'x'.repeat(10), 'text/plain; charset=utf-8'), /^10 bytes of text\/plain, not shown/);
    assert.match(bodySnippet('auth/approle/login', 'y', undefined), /not shown/);
    // OpenBao >= 2.5's rekey (its answers carry the new shares).
    assert.match(bodySnippet('sys/rotate/root/update', `keys: ${shareText}`, 'text/plain'), /not shown/);
    assert.match(bodySnippet('sys/health', '<html>portal</html>', 'text/html'), /portal/);
  });

  it('a non-JSON 200 from sys/init puts no part of the body in the error; an oversized answer is cut off', async (t) => {
    const shareText = Buffer.alloc(33, 9).toString('base64');
    const server = createServer((req, res) => {
      if (req.url?.includes('sys/init')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`keys=${shareText}`);
      } else if (req.url?.includes('snapshot')) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('e'.repeat(MAX_BODY_BYTES + 1));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"a":"${'z'.repeat(MAX_BODY_BYTES)}"}`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const api = new VaultApi({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: 1 });
    t.after(() => api.close());
    await assert.rejects(api.init({ secret_shares: 1, secret_threshold: 1 }), (e: Error) => !e.message.includes(shareText.slice(0, 8)) && /not shown/.test(e.message));
    await assert.rejects(api.request('GET', 'sys/mounts', { retry: false }), /larger than 8 MiB/);
    // The snapshot endpoints stream a 2xx; any other answer is read into memory, and bounded the same way.
    await assert.rejects(api.transfer('GET', 'sys/storage/raft/snapshot', { download: new PassThrough() }), /the answer to GET sys\/storage\/raft\/snapshot \(500\) is larger than 8 MiB/);
  });
});
