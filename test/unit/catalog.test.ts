import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHARSETS, loadCatalog, parseCatalog, validatePath } from '../../src/config/catalog.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { entropyBits, generateValue } from '../../src/services/secrets-gen.ts';

const problem = (yaml: string): VaultSetupError => {
  try {
    parseCatalog(yaml, 'c.yaml');
  } catch (error) {
    assert.ok(error instanceof VaultSetupError);
    assert.equal(error.code, 'E_CATALOG');
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    return error;
  }
  assert.fail('expected a catalog error');
};

describe('secrets catalog', () => {
  it('the built-in catalog is the playbook: five paths, jwt_secret generated', async () => {
    const catalog = await loadCatalog(undefined);
    assert.equal(catalog.source, 'built-in');
    assert.deepEqual(
      catalog.entries.map((e) => [e.path, e.fields.map((f) => f.name)]),
      [
        ['openrouter', ['api_key']],
        ['telegram', ['bot_token', 'chat_id']],
        ['github', ['token']],
        ['database', ['host', 'port', 'name', 'user', 'password']],
        ['cockpit', ['jwt_secret', 'admin_password']],
      ],
    );
    const cockpit = catalog.entries[4]?.fields;
    assert.deepEqual(cockpit?.[0]?.spec, { from: 'generate', format: 'hex', bytes: 32, sensitive: true });
    const db = catalog.entries[3]?.fields;
    assert.deepEqual(db?.[0]?.spec, { from: 'prompt', env: 'DB_HOST', default: '127.0.0.1', confirm: false, sensitive: false });
    assert.deepEqual(db?.[4]?.spec, { from: 'prompt', env: 'DB_PASSWORD', confirm: true, sensitive: true });
  });

  it('reads the issue\'s example shape', () => {
    const c = parseCatalog(
      `secrets:
  openrouter:
    api_key: { from: prompt }
  database:
    host: { from: prompt, default: 127.0.0.1 }
    port: { from: prompt, default: 5432 }
    password: { from: env, var: DB_PASSWORD }
  cockpit:
    jwt_secret: { from: generate, format: hex, bytes: 32 }
    admin_password: { from: generate, format: password, length: 24 }
`,
      'c.yaml',
    );
    assert.equal(c.entries.length, 3);
    assert.deepEqual(c.entries[1]?.fields[1]?.spec, { from: 'prompt', default: '5432', confirm: false, sensitive: true });
    assert.deepEqual(c.entries[1]?.fields[2]?.spec, { from: 'env', var: 'DB_PASSWORD', sensitive: true });
    assert.deepEqual(c.entries[2]?.fields[1]?.spec, { from: 'generate', format: 'password', length: 24, chars: CHARSETS.alnum, sensitive: true });
    assert.equal(c.entries.every((e) => !e.overwrite), true);
  });

  it('the long form says overwrite per path; a field named "fields" is still a field', () => {
    const c = parseCatalog(
      `secrets:
  apps/cockpit:
    overwrite: true
    fields:
      jwt: { from: generate, format: base64, bytes: 48 }
  odd:
    fields: { from: env, var: X }
`,
      'c.yaml',
    );
    assert.equal(c.entries[0]?.path, 'apps/cockpit');
    assert.equal(c.entries[0]?.overwrite, true);
    assert.equal(c.entries[0]?.fields[0]?.name, 'jwt');
    assert.equal(c.entries[1]?.overwrite, false);
    assert.equal(c.entries[1]?.fields[0]?.name, 'fields');
  });

  it('paths: no "..", no leading "/", no globs, no empty segments', () => {
    for (const [path, why] of [
      ['../sys', /"\.\." is not allowed/],
      ['a/../b', /"\.\." is not allowed/],
      ['/abs', /no leading "\/"/],
      ['a//b', /"\/\/"/],
      ['a/', /may not end/],
      ['app/*', /segment "\*"/],
      ['a+b', /segment "a\+b"/],
      ['a b', /segment "a b"/],
      ['.hidden', /segment "\.hidden"/],
      ['x"y', /segment/],
    ] as const) {
      assert.match(validatePath(path) ?? 'valid', why, path);
      assert.match(problem(`secrets:\n  "${path.replace(/"/g, '\\"')}":\n    k: { from: prompt }\n`).message, why);
    }
    for (const ok of ['openrouter', 'apps/cockpit/db', 'a.b-c_d', '9lives']) assert.equal(validatePath(ok), undefined, ok);
  });

  it('each mistake is a one-line error that names where it is, and all are listed', () => {
    assert.match(problem('secrets:\n  a:\n    k: { from: promt }\n').message, /secrets\.a\.k\.from: must be prompt, generate or env, got "promt"/);
    assert.match(problem('secrets:\n  a:\n    k: { from: env }\n').message, /secrets\.a\.k\.var: must be an environment variable name/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: hex, bytes: 8 }\n').message, /bytes: must be a whole number from 16/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: password, length: 6 }\n').message, /length: must be a whole number from 12/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: password, charset: emoji }\n').message, /charset: must be one of alnum/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: password, chars: abc }\n').message, /at least 10 different characters/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: uuid }\n').message, /format: must be hex, base64 or password/);
    assert.match(problem('secrets:\n  a:\n    k: { from: prompt, defualt: x }\n').message, /unknown key "defualt"/);
    assert.match(problem('secrets:\n  a:\n    k: { from: generate, format: hex, sensitive: false }\n').message, /always sensitive/);
    assert.match(problem('secrets:\n  a:\n    "1k": { from: prompt }\n').message, /a field name/);
    assert.match(problem('secrets:\n  a: {}\n').message, /has no fields/);
    assert.match(problem('secrets:\n  a: [x]\n').message, /must map field names/);
    assert.match(problem('secrets: {}\n').message, /at least one path/);
    assert.match(problem('secret:\n  a:\n    k: { from: prompt }\n').message, /"secrets:"/);
    assert.match(problem('secrets:\n  a:\n   k: [\n').message, /not valid YAML/);
    assert.match(problem('secrets:\n  a:\n    k: { from: prompt }\n  a:\n    j: { from: prompt }\n').message, /not valid YAML/, 'duplicate keys');
    const many = problem('secrets:\n  ../x:\n    k: { from: prompt }\n  b:\n    k: { from: nope }\n  c:\n    k: { from: env }\n');
    assert.match(many.message, /^secrets catalog c\.yaml: secrets\.\.\.\/x: .* \(and 2 more problems\)$/);
    assert.equal(many.detail?.split('\n').length, 3);
  });

  it('a missing file is a clear error', async () => {
    await assert.rejects(loadCatalog('/nonexistent/catalog.yaml'), (e: VaultSetupError) => e.code === 'E_CATALOG' && /cannot read the secrets catalog \/nonexistent\/catalog\.yaml \(ENOENT\)/.test(e.message));
  });
});

describe('generated values', () => {
  it('hex and base64 have the asked number of bytes; passwords the length and alphabet', () => {
    assert.match(generateValue({ from: 'generate', format: 'hex', bytes: 32, sensitive: true }), /^[0-9a-f]{64}$/);
    assert.equal(Buffer.from(generateValue({ from: 'generate', format: 'base64', bytes: 48, sensitive: true }), 'base64').length, 48);
    const spec = { from: 'generate', format: 'password', length: 40, chars: CHARSETS['alnum-symbols'] as string, sensitive: true } as const;
    const pw = generateValue(spec);
    assert.equal(pw.length, 40);
    for (const ch of pw) assert.ok(spec.chars.includes(ch));
    assert.equal(entropyBits(spec), Math.floor(40 * Math.log2(spec.chars.length)));
  });

  it('never repeats and uses the whole alphabet roughly evenly (CSPRNG, no modulo bias)', () => {
    const spec = { from: 'generate', format: 'password', length: 24, chars: CHARSETS.alnum as string, sensitive: true } as const;
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const pw = generateValue(spec);
      seen.add(pw);
      for (const ch of pw) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    assert.equal(seen.size, 2000);
    assert.equal(counts.size, 62);
    const expected = (2000 * 24) / 62;
    for (const [, n] of counts) assert.ok(Math.abs(n - expected) < expected * 0.25, `count ${n} vs ${expected}`);
  });
});
