// Property tests for the secrets catalog, the YAML file the operator writes by hand: whatever the text, the parser
// returns a catalog or throws one E_CATALOG error (one line, never quoting a value), and a catalog that is accepted
// means exactly what was written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CHARSETS, type FieldSpec, parseCatalog, validatePath } from '../../src/config/catalog.ts';
import { VaultSetupError } from '../../src/errors.ts';

/** Calls parseCatalog; any throw other than a one-line E_CATALOG VaultSetupError fails the property. */
function outcome(text: string): { ok: true; catalog: ReturnType<typeof parseCatalog> } | { ok: false; error: VaultSetupError } {
  try {
    return { ok: true, catalog: parseCatalog(text, 'c.yaml') };
  } catch (error) {
    assert.ok(error instanceof VaultSetupError, `not a VaultSetupError: ${String((error as Error)?.stack ?? error)}`);
    assert.equal(error.code, 'E_CATALOG');
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /[\r\n\u2028\u2029]/, 'one line');
    assert.match(error.message, /^secrets catalog c\.yaml: /);
    for (const line of error.detail?.split('\n') ?? []) assert.match(line, /^ {2}- /, 'one problem per detail line');
    return { ok: false, error };
  }
}

// --- Generators for catalogs the parser must accept -------------------------------------------------------

const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const word = (first: string, rest: string, max: number) =>
  fc.tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), maxLength: max })).map(([a, b]) => a + b);
const segment = word(alnum, `${alnum}._-`, 12);
const secretPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const fieldName = word(`${alnum.slice(0, 52)}_`, `${alnum}_.-`, 15);
const envVar = word(`${alnum.slice(0, 52)}_`, `${alnum}_`, 15);
/** Defaults as an operator types them: any text, including numbers with leading zeros and more digits than a double holds. */
const defaultText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.stringMatching(/^0[0-9]{1,8}$/),
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 30n }).map(String),
  fc.constantFrom('5432', '127.0.0.1', '1e5', '0x1F', '1_000', '.5', '+1', '-0', '1:30', '08', 'null', 'yes', 'on'),
);

const fieldSpec: fc.Arbitrary<FieldSpec> = fc.oneof(
  fc.record(
    { from: fc.constant('prompt' as const), env: envVar, default: defaultText, confirm: fc.boolean(), sensitive: fc.boolean() },
    { requiredKeys: ['from', 'confirm', 'sensitive'] },
  ),
  fc.record({ from: fc.constant('env' as const), var: envVar, default: defaultText, sensitive: fc.boolean() }, { requiredKeys: ['from', 'var', 'sensitive'] }),
  fc.record({ from: fc.constant('generate' as const), format: fc.constantFrom('hex' as const, 'base64' as const), bytes: fc.integer({ min: 16, max: 4096 }), sensitive: fc.constant(true as const) }),
  fc.record({
    from: fc.constant('generate' as const),
    format: fc.constant('password' as const),
    length: fc.integer({ min: 12, max: 1024 }),
    chars: fc.oneof(fc.constantFrom(...Object.values(CHARSETS)), fc.uniqueArray(fc.constantFrom(...`${alnum}!#%*+-.:=?@^_~é€`), { minLength: 10, maxLength: 40 }).map((c) => c.join(''))),
    sensitive: fc.constant(true as const),
  }),
);

interface Model {
  path: string;
  overwrite: boolean;
  fields: { name: string; spec: FieldSpec }[];
}

const model = fc.uniqueArray(
  fc.record({ path: secretPath, overwrite: fc.boolean(), fields: fc.uniqueArray(fc.record({ name: fieldName, spec: fieldSpec }), { minLength: 1, maxLength: 4, selector: (f) => f.name }) }),
  { minLength: 1, maxLength: 5, selector: (e) => e.path },
);

/** The YAML an operator could write for a model. Values are quoted by the serializer; `plainDefaults` writes them bare. */
function toYaml(entries: Model[], style: 'block' | 'flow'): string {
  const secrets: Record<string, unknown> = {};
  for (const e of entries) {
    const fields = Object.fromEntries(
      e.fields.map(({ name, spec }) => {
        const { from } = spec;
        if (spec.from === 'generate' && spec.format === 'password') {
          const charset = Object.entries(CHARSETS).find(([, c]) => c === spec.chars)?.[0];
          return [name, { from, format: 'password', length: spec.length, ...(charset ? { charset } : { chars: spec.chars }) }];
        }
        return [name, { ...spec }];
      }),
    );
    secrets[e.path] = e.overwrite ? { overwrite: true, fields } : fields;
  }
  return stringify({ secrets }, { collectionStyle: style, lineWidth: 0 });
}

const sortByPath = (entries: Model[]) => [...entries].sort((a, b) => (a.path < b.path ? -1 : 1));

describe('secrets catalog (properties)', () => {
  it('any catalog written from a model parses back to that model (block and flow YAML)', () => {
    fc.assert(
      fc.property(model, fc.constantFrom('block' as const, 'flow' as const), (entries, style) => {
        const result = outcome(toYaml(entries, style));
        assert.ok(result.ok, result.ok ? '' : result.error.message);
        const plain = (x: unknown) => JSON.parse(JSON.stringify(x));
        const want = sortByPath(entries).map((e) => ({ path: e.path, overwrite: e.overwrite, fields: e.fields }));
        assert.deepEqual(plain(sortByPath(result.catalog.entries)), plain(want));
      }),
      { numRuns: 300 },
    );
  });

  it('a default written without quotes keeps its exact text (leading zeros, long numbers)', () => {
    const numeric = fc.oneof(fc.stringMatching(/^0[0-9]{1,12}$/), fc.bigInt({ min: 10n ** 15n, max: 10n ** 40n }).map(String), fc.stringMatching(/^[1-9][0-9]{0,5}\.[0-9]{1,6}0$/), fc.constantFrom('0x1F', '1e5', '0o17', '-0', '+12', '.5', '1.'));
    fc.assert(
      fc.property(numeric, (text) => {
        const result = outcome(`secrets:\n  db:\n    port: { from: env, var: DB_PORT, default: ${text} }\n    pin:\n      from: prompt\n      default: ${text}\n`);
        assert.ok(result.ok, result.ok ? '' : result.error.message);
        const fields = result.catalog.entries[0]?.fields ?? [];
        for (const f of fields) assert.equal((f.spec as { default?: string }).default, text, `${f.name}: ${text}`);
      }),
      { numRuns: 300 },
    );
  });

  it('any text at all: a catalog or one E_CATALOG error, never a crash', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => void outcome(text)), { numRuns: 500 });
  });

  it('any YAML value at all: a catalog or one E_CATALOG error', () => {
    const anyValue = fc.oneof(fc.jsonValue(), fc.record({ secrets: fc.jsonValue() }), fc.record({ secrets: fc.dictionary(fc.string(), fc.jsonValue()) }));
    fc.assert(fc.property(anyValue, fc.constantFrom('block' as const, 'flow' as const), (value, style) => void outcome(stringify(value, { collectionStyle: style }))), { numRuns: 500 });
  });

  it('a damaged catalog (lines dropped, characters changed) is a catalog or one E_CATALOG error', () => {
    fc.assert(
      fc.property(model, fc.array(fc.tuple(fc.nat(), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 4 }), (entries, edits) => {
        let text = toYaml(entries, 'block');
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + 1);
        }
        outcome(text);
      }),
      { numRuns: 500 },
    );
  });

  it('hostile names (line breaks, terminal escapes, very long) are refused on one line', () => {
    const hostile = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.constantFrom('a\nb', 'x\r\ny', '\u001b[2J', 'a\u2028b', 'é', '💥', 'a'.repeat(5000)));
    fc.assert(
      fc.property(hostile, fc.constantFrom('path', 'field', 'from', 'top'), (name, where) => {
        const q = JSON.stringify(name);
        const text =
          where === 'path' ? `secrets:\n  ${q}:\n    k: { from: prompt }\n`
          : where === 'field' ? `secrets:\n  a:\n    ${q}: { from: prompt }\n`
          : where === 'from' ? `secrets:\n  a:\n    k: { from: ${q} }\n`
          : `${q}: 1\nsecrets:\n  a:\n    k: { from: prompt }\n`;
        outcome(text);
      }),
      { numRuns: 300 },
    );
  });

  it('an error never quotes a default value (it may be a real secret)', () => {
    const secretLike = fc.string({ unit: fc.constantFrom(...`${alnum}+/=_-`), minLength: 12, maxLength: 40 });
    fc.assert(
      fc.property(secretLike, fc.constantFrom('from: nope', 'from: env', 'from: prompt, confirm: maybe', 'from: generate, format: hex', 'from: prompt, extra: 1'), (value, broken) => {
        const result = outcome(`secrets:\n  a:\n    k: { ${broken}, default: ${JSON.stringify(value)} }\n  b:\n    j: { from: env, var: "1X", default: ${JSON.stringify(value)} }\n`);
        assert.equal(result.ok, false);
        if (!result.ok) {
          for (const text of [result.error.message, result.error.detail ?? '', result.error.hint ?? '']) assert.ok(!text.includes(value), `${text} quotes the default`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('validatePath accepts only relative paths of plain segments; every refusal says why', () => {
    const pathLike = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.array(fc.oneof(segment, fc.constantFrom('', '.', '..', ' ', 'a b', '*', '+', '{x}', 'é', '%2e%2e')), { maxLength: 5 }).map((s) => s.join('/')),
      fc.tuple(fc.constantFrom('/', '', './', '../'), secretPath, fc.constantFrom('', '/', '//', '/..')).map(([a, b, c]) => a + b + c),
    );
    fc.assert(
      fc.property(pathLike, (p) => {
        const problem = validatePath(p);
        if (problem === undefined) {
          assert.ok(p.length > 0 && p.length <= 200);
          for (const s of p.split('/')) assert.match(s, /^[A-Za-z0-9][A-Za-z0-9._-]*$/, `segment ${JSON.stringify(s)} of ${JSON.stringify(p)}`);
        } else {
          assert.ok(problem.length > 10);
          const result = outcome(`secrets:\n  ${JSON.stringify(p)}:\n    k: { from: prompt }\n`);
          assert.equal(result.ok, false);
        }
      }),
      { numRuns: 1000 },
    );
    for (const [p, why] of [
      ['..', /"\.\." is not allowed/],
      ['a/../b', /"\.\." is not allowed/],
      ['with space', /segment "with space"/],
      ['/leading', /no leading "\/"/],
      ['trailing/', /may not end with "\/"/],
      ['a//b', /may not contain "\/\/"/],
      ['', /may not be empty/],
    ] as const) {
      assert.match(validatePath(p) ?? 'accepted', why, p);
    }
  });
});
