// secret put's argument rules: field names only (FIELD=value refused without echoing the value), --from-env pairs.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { parseFields, parseFromEnv, readStdinText } from '../../src/secrets/values.ts';

test('parseFields: names pass, FIELD=value is refused and the value is not in the message', () => {
  assert.deepEqual(parseFields(['api_key', 'url']), ['api_key', 'url']);
  assert.throws(() => parseFields(['password=hunter2-secret']), (e: Error & { hint?: string }) => {
    assert.match(e.message, /refused "password=\.\.\.": a value on the command line is visible in `ps`/);
    assert.ok(!e.message.includes('hunter2') && !String(e.hint).includes('hunter2'));
    return true;
  });
  assert.throws(() => parseFields([]), /say which fields to write/);
  assert.throws(() => parseFields(['a', 'a']), /named twice/);
  assert.throws(() => parseFields(['-bad']), /not a field name/);
});

test('parseFromEnv: FIELD=VAR for a field being written', () => {
  assert.deepEqual([...parseFromEnv(['token=API_TOKEN'], ['token', 'url'])], [['token', 'API_TOKEN']]);
  assert.throws(() => parseFromEnv(['other=X'], ['token']), /not among the fields/);
  assert.throws(() => parseFromEnv(['token=not a name'], ['token']), /FIELD=VAR/);
  assert.throws(() => parseFromEnv(['token=A', 'token=B'], ['token']), /twice/);
});

test('readStdinText: one trailing line break dropped, inner ones kept, non-UTF-8 refused', async () => {
  assert.equal(await readStdinText(Readable.from([Buffer.from('a\nb\n')]), 'x'), 'a\nb');
  assert.equal(await readStdinText(Readable.from([Buffer.from('v\r\n')]), 'x'), 'v');
  assert.equal(await readStdinText(Readable.from([Buffer.from(' v ')]), 'x'), ' v ');
  await assert.rejects(readStdinText(Readable.from([Buffer.from([0xff, 0xfe])]), 'the value'), /the value is not UTF-8 text/);
});
