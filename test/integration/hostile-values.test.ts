// Hostile secret values through `init --yes` and a catalog, against the real servers: quotes, line breaks, shell
// and template syntax, every kind of Unicode, whitespace-only, values near the environment's size limit, and
// values of 1 MB and more, on every server image. Each is stored and read back byte-exact over the HTTP API with the app token, or refused
// with a clear error before it is written. Values never show up in what the CLI prints.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';
import { api } from '../helpers/server.ts';

/** Values an operator could really have: each goes through an environment variable. */
const HOSTILE: Record<string, string> = {
  quotes: `it's "quoted" and \`back\`ticked`,
  shell: '$(rm -rf /) ; `id` && echo $HOME > /tmp/x | cat',
  template: '${VAR} {{ .Secret }} %s %n %(name)s',
  newlines: 'line 1\nline 2\r\nline 3\n',
  tabs_and_spaces: '\t  leading and trailing  \t',
  only_spaces: '   ',
  backslashes: 'C:\\Users\\x\\n\\t\\u0000',
  json: '{"a":[1,2,{"b":null}],"c":"\\"x\\""}',
  yaml: '- a\n- b: !!binary AAAA\n&anchor *alias',
  hcl: 'path "secret/*" { capabilities = ["sudo"] }',
  emoji: '🔐🗝️👨‍👩‍👧‍👦🏳️‍🌈',
  rtl: 'שלום עולם مرحبا بالعالم',
  combining: 'e\u0301 a\u030a n\u0303 Z\u0335\u0321\u0327',
  cjk: '秘密のパスワード 비밀번호 密码',
  zero_width: 'a\u200bb\u200cc\u200dd\ufeffe',
  controls: '\u0001\u0002\u001b[31mred\u001b[0m\u007f',
  astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 🀄',
  equals: 'a=b=c==',
  near_env_limit: randomBytes(90 * 1024).toString('base64').slice(0, 120 * 1024), // execve caps one env string at 128 KiB
};

/** More values, generated (fixed seed): any Unicode an environment variable can carry (no NUL, valid UTF-16). */
const GENERATED = fc
  .sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }), { numRuns: 60, seed: 7 })
  .filter((s) => !s.includes('\0') && Buffer.from(s, 'utf8').toString('utf8') === s)
  .slice(0, 24);

function catalogFor(fields: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return stringify({ secrets: { hostile: fields, 'apps/x.y-z_9': { generated: { from: 'env', var: 'HV_G0' } }, ...extra } }, { lineWidth: 0 });
}

for (const { label, flavor, image } of serverImages()) {
  describe(`hostile secret values (raft storage, ${label})`, () => {
    it('stored and read back byte-exact; 1 MiB is refused by raft with a clear message; nothing printed', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`hv-raft-${label.slice(0, 6)}`);
      const env: Record<string, string> = {};
      const fields: Record<string, unknown> = {};
      const want: Record<string, string> = {};
      for (const [name, value] of Object.entries(HOSTILE)) {
        env[`HV_${name.toUpperCase()}`] = value;
        fields[name] = { from: 'env', var: `HV_${name.toUpperCase()}` };
        want[name] = value;
      }
      for (const [i, value] of GENERATED.entries()) {
        env[`HV_G${i}`] = value;
        fields[`g${i}`] = { from: 'env', var: `HV_G${i}` };
        want[`g${i}`] = value;
      }
      // Defaults are written into the catalog itself: YAML quoting must carry them unchanged too.
      for (const [name, value] of [['default_quotes', HOSTILE.quotes as string], ['default_newlines', HOSTILE.newlines as string], ['default_unicode', HOSTILE.emoji as string], ['default_number_text', '00123456789012345678901'], ['default_nul', 'a\u0000b (NUL: only a catalog can carry it, not an environment)']] as const) {
        fields[name] = { from: 'env', var: 'HV_UNSET_ON_PURPOSE', default: value };
        want[name] = value;
      }
      const catalog = path.join(d.dir, 'catalog.yaml');
      // 1,000,000 characters in a path of its own: fits one raft entry with its metadata.
      const bigDefault = randomBytes(750_000).toString('base64');
      const big = { big: { value: { from: 'env', var: 'HV_UNSET_ON_PURPOSE', default: bigDefault } } };
      fs.writeFileSync(catalog, catalogFor(fields, big));
      const tokenFile = path.join(d.dir, 'app.token');

      const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--keep-root-token', '--json', '--secrets', catalog, '--app-token-file', tokenFile], { env });
      assert.equal(run.code, 0, run.stderr);
      const result = run.json();
      const appToken = fs.readFileSync(tokenFile, 'utf8').trim();

      const read = await api(d.address, 'GET', 'secret/data/hostile', { token: appToken });
      assert.equal(read.status, 200);
      const stored = read.body.data.data as Record<string, string>;
      assert.deepEqual(Object.keys(stored).sort(), Object.keys(want).sort());
      for (const [name, value] of Object.entries(want)) {
        assert.ok(stored[name] === value, `${name}: stored ${JSON.stringify(stored[name]?.slice(0, 40))}, wanted ${JSON.stringify(value.slice(0, 40))}`);
        assert.equal(Buffer.compare(Buffer.from(stored[name] as string, 'utf8'), Buffer.from(value, 'utf8')), 0, `${name} byte-exact`);
      }
      const dotted = await api(d.address, 'GET', 'secret/data/apps/x.y-z_9', { token: appToken });
      assert.equal(dotted.body.data.data.generated, GENERATED[0]);
      const bigRead = await api(d.address, 'GET', 'secret/data/big', { token: appToken });
      assert.equal(bigRead.body.data.data.value === bigDefault, true, 'the 1,000,000-character value is byte-exact on raft');

      // Sensitive values never appear in what init printed (the shares and root token are there: --print-keys).
      const printed = run.stdout + run.stderr;
      for (const [name, value] of Object.entries(want)) if (value.trim().length >= 6 && !name.startsWith('default_')) assert.ok(!printed.includes(value), `${name} printed`);

      // 1 MiB in one field: over raft's max_entry_size. Refused with the reason, nothing else changes.
      const rootToken = result.init.root_token as string;
      const huge = path.join(d.dir, 'huge.yaml');
      fs.writeFileSync(huge, catalogFor(fields, { ...big, huge: { blob: { from: 'env', var: 'HV_UNSET_ON_PURPOSE', default: 'x'.repeat(1024 * 1024) } } }));
      const before = (await api(d.address, 'GET', 'secret/metadata/hostile', { token: rootToken })).body.data.current_version;
      const refused = await runCli(['init', ...d.args(flavor, image), '--yes', '--json', '--secrets', huge, '--app-token-file', path.join(d.dir, 'app2.token')], { env: { ...env, VAULT_TOKEN: rootToken } });
      assert.equal(refused.code, 16, refused.stderr);
      const error = refused.json().error;
      assert.equal(error.code, 'E_SERVER');
      assert.match(error.message, /^secret\/huge is too large for the server's storage: \d+ bytes of fields, and one storage entry holds at most 1048576 bytes with its metadata$/);
      assert.match(error.hint, /keep large files outside the server/);
      assert.equal((await api(d.address, 'GET', 'secret/metadata/huge', { token: rootToken })).status, 404, 'not written');
      assert.equal((await api(d.address, 'GET', 'secret/metadata/hostile', { token: rootToken })).body.data.current_version, before, 'the others are untouched');
    });

    it('an empty environment variable is a missing value, listed before anything is deployed', { timeout: 5 * 60_000 }, async () => {
      await using d = await testDeployment(`hv-empty-${label.slice(0, 6)}`);
      const catalog = path.join(d.dir, 'catalog.yaml');
      fs.writeFileSync(catalog, stringify({ secrets: { app: { key: { from: 'env', var: 'HV_EMPTY' }, other: { from: 'env', var: 'HV_SET' } } } }));
      const run = await runCli(['init', ...d.args(flavor, image), '--yes', '--print-keys', '--json', '--secrets', catalog, '--app-token-file', path.join(d.dir, 'app.token')], { env: { HV_EMPTY: '', HV_SET: 'x' } });
      assert.equal(run.code, 15, run.stderr);
      assert.equal(run.json().error.code, 'E_NEEDS_ANSWER');
      assert.match(run.json().error.message, /1 secret value is missing: app\.key \(set HV_EMPTY\)/);
      assert.equal(run.json().init, undefined, 'checked before the ceremony');
      assert.deepEqual(fs.readdirSync(d.dir), ['catalog.yaml'], 'a new directory: nothing written beside the catalog');
      assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${d.name}`).trim(), '', 'no container started');
    });
  });
}

for (const { label, image } of serverImages().filter((i) => i.flavor === 'vault')) {
  describe(`hostile secret values (file storage, ${label})`, () => {
    it('1 MiB and 4 MiB values are stored and read back byte-exact where the storage has no entry limit; Vault 1.21 refuses the 4 MiB JSON string, said plainly', { timeout: 10 * 60_000 }, async () => {
      await using d = await testDeployment(`hv-file-${label.slice(0, 6)}`);
      const oneMiB = randomBytes(786_432).toString('base64'); // exactly 1,048,576 characters
      const fourMiB = `${'é'.repeat(1024 * 1024)}${randomBytes(1024 * 1024).toString('base64')}`; // multi-byte text: > 3 MiB of UTF-8
      assert.equal(oneMiB.length, 1024 * 1024);
      const catalog = path.join(d.dir, 'catalog.yaml');
      fs.writeFileSync(catalog, stringify({ secrets: { big: { one: { from: 'env', var: 'HV_UNSET', default: oneMiB } } } }, { lineWidth: 0 }));
      const tokenFile = path.join(d.dir, 'app.token');
      const run = await runCli(['init', ...d.args('vault', image), '--storage', 'file', '--yes', '--print-keys', '--keep-root-token', '--json', '--secrets', catalog, '--app-token-file', tokenFile]);
      assert.equal(run.code, 0, run.stderr);
      const token = fs.readFileSync(tokenFile, 'utf8').trim();
      const one = await api(d.address, 'GET', 'secret/data/big', { token });
      assert.equal(one.body.data.data.one === oneMiB, true, 'the 1 MiB value is byte-exact');
      assert.ok(!run.stdout.includes(oneMiB.slice(0, 64)) && !run.stderr.includes(oneMiB.slice(0, 64)));

      // Measured: HashiCorp Vault 1.21 limits a JSON string in a request to its listener's
      // max_json_string_value_length (1,048,576 by default); OpenBao 2.6 has no such limit.
      const { product, version } = run.json().server as { product: string; version: string };
      const [major, minor] = version.split('.').map(Number) as [number, number];
      const limited = product === 'vault' && (major > 1 || minor >= 21);
      fs.writeFileSync(catalog, stringify({ secrets: { big: { one: { from: 'env', var: 'HV_UNSET', default: oneMiB } }, bigger: { four: { from: 'env', var: 'HV_UNSET', default: fourMiB } } } }, { lineWidth: 0 }));
      const root = run.json().init.root_token as string;
      const second = await runCli(['init', ...d.args('vault', image), '--storage', 'file', '--yes', '--json', '--secrets', catalog, '--app-token-file', tokenFile], { env: { VAULT_TOKEN: root } });
      if (limited) {
        assert.equal(second.code, 16, second.stderr);
        assert.match(second.json().error.message, /^secret\/bigger was refused: the server takes no JSON string longer than its listener's max_json_string_value_length \(1 MiB by default\), and four is \d+ bytes$/);
        assert.match(second.json().error.hint, /raise max_json_string_value_length in config\/vault\.hcl's listener block; secret\/bigger was not written/);
        assert.equal((await api(d.address, 'GET', 'secret/metadata/bigger', { token: root })).status, 404, 'not written');
      } else {
        assert.equal(second.code, 0, second.stderr);
        const four = await api(d.address, 'GET', 'secret/data/bigger', { token });
        assert.equal(four.body.data.data.four === fourMiB, true, 'the 4 MiB value is byte-exact');
      }
      assert.ok(!second.stdout.includes(fourMiB.slice(-64)) && !second.stderr.includes(fourMiB.slice(-64)));
    });
  });
}
