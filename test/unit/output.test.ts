import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Output, wantsColour } from '../../src/output.ts';
import { Redactor } from '../../src/services/redactor.ts';

const capture = (isTTY: boolean) => {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
};

describe('output', () => {
  it('colour only on a TTY, never with NO_COLOR or TERM=dumb', () => {
    assert.equal(wantsColour({ isTTY: true }, {}), true);
    assert.equal(wantsColour({ isTTY: false }, {}), false);
    assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '' }), false);
    assert.equal(wantsColour({ isTTY: true }, { TERM: 'dumb' }), false);
  });

  it('people-lines go to stderr redacted; results to stdout; --json prints one object', () => {
    const out = capture(false);
    const err = capture(false);
    const redactor = new Redactor();
    redactor.add('s.supersecrettoken');
    const o = new Output({ streams: { stdout: out.stream, stderr: err.stream }, env: {}, json: false, redactor, stdinIsTTY: false });
    o.info('token is s.supersecrettoken');
    o.result({ a: 1 }, 'human line');
    assert.equal(err.text(), 'token is [redacted]\n');
    assert.equal(out.text(), 'human line\n');
    assert.equal(o.interactive, false);

    const jout = capture(false);
    const jerr = capture(false);
    const j = new Output({ streams: { stdout: jout.stream, stderr: jerr.stream }, env: {}, json: true, redactor, stdinIsTTY: true });
    j.info('progress');
    j.result({ a: 1 }, 'human line');
    assert.equal(jerr.text(), '');
    assert.deepEqual(JSON.parse(jout.text()), { a: 1 });
  });

  it('redacts shares in hex and base64 spellings', () => {
    const r = new Redactor();
    const hex = 'ab'.repeat(33);
    r.addShare(hex);
    const b64 = Buffer.from(hex, 'hex').toString('base64');
    assert.equal(r.redact(`x ${hex} y ${b64} z ${hex.toUpperCase()}`).includes(hex), false);
    assert.equal(r.redact(b64), '[redacted]');
  });
});
