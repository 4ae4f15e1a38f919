// A command line with a typo, a missing value or a stray word: refused before anything runs, in the ✖/→ form.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { closestOption } from '../../src/argv.ts';
import { runInProcess } from '../helpers/in-process.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-argv-'));
after(() => fs.rmSync(home, { recursive: true, force: true }));

/** vault-setup ARGV in this process, with this file's HOME (the in-process layer's runner). */
const cli = (argv: string[]) => runInProcess(argv, { env: { HOME: home } });

describe('init with nobody to show the shares to', () => {
  it('no terminal, no --yes/--print-keys/--pgp-keys, a fresh directory: exit 15 before any file is written', async () => {
    const dir = path.join(home, 'unattended');
    for (const extra of [[], ['--yes']]) {
      const ran = await cli(['init', '--dir', dir, '--port', '18299', ...extra]);
      assert.equal(ran.code, 15, ran.stderr);
      assert.match(ran.stderr, /^✖ vault-setup init: without a terminal \(or with --yes\) the unseal shares cannot be shown to anyone/);
      assert.match(ran.stderr, /→ pass --pgp-keys .* or --print-keys/);
      assert.equal(fs.existsSync(dir), false, 'nothing written, nothing started');
    }
    const json = await cli(['init', '--dir', dir, '--json']);
    assert.equal(JSON.parse(json.stdout).error.exitCode, 15);
    assert.equal(JSON.parse(json.stdout).error.code, 'E_NEEDS_ANSWER');
  });
});

describe('command-line problems', () => {
  it('an unknown option names the closest known one', async () => {
    const dir = path.join(home, 'prot');
    const ran = await cli(['init', '--dir', dir, '--prot', '8201']);
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr, '✖ vault-setup init: unknown option --prot\n  → did you mean --port? (see `vault-setup init --help` for its options)\n');
    assert.equal(ran.stdout, '');
    assert.equal(fs.existsSync(dir), false, 'nothing written');
    assert.match((await cli(['verify', '--stirct'])).stderr, /did you mean --strict\?/);
    assert.match((await cli(['agent', 'add', 'x', '--secrets', 'secret/a'])).stderr, /unknown option --secrets\n.*did you mean --secret\?/);
    assert.equal((await cli(['status', '--frobnicate'])).stderr, '✖ vault-setup status: unknown option --frobnicate\n  → see `vault-setup status --help` for its options\n');
  });

  it('closestOption: a prefix, a swap or a small typo; nothing for an unrelated word', () => {
    const known = ['port', 'print-keys', 'wait', 'wait-unseal', 'secrets', 'storage', 'token-ttl', 'json'];
    assert.equal(closestOption('prot', known), 'port');
    assert.equal(closestOption('jsno', known), 'json');
    assert.equal(closestOption('print-key', known), 'print-keys');
    assert.equal(closestOption('storag', known), 'storage');
    assert.equal(closestOption('secret', known), 'secrets');
    assert.equal(closestOption('frobnicate', known), undefined);
    assert.equal(closestOption('x', known), undefined);
  });

  it('an option without its value: the same ✖/→ lines as every other error, and --json gets one error object', async () => {
    const ran = await cli(['backup', '--out']);
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr, '✖ vault-setup backup: --out needs a value\n  → e.g. --out FILE; see `vault-setup backup --help` for its options\n');
    const json = await cli(['backup', '--json', '--out']);
    assert.equal(json.code, 2);
    assert.deepEqual(JSON.parse(json.stdout), { error: { code: 'E_USAGE', message: '--out needs a value', hint: 'e.g. --out FILE; see `vault-setup backup --help` for its options', exitCode: 2 } });
    assert.match((await cli(['status', '--json=yes'])).stderr, /^✖ vault-setup status: --json takes no value\n/);
  });

  it('an option whose value is missing before another option; a mistyped or misplaced command: what was meant', async () => {
    const ambiguous = await cli(['status', '--dir', '--json']);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /^✖ vault-setup status: --dir needs a value, and the word after it is another option\n  → e\.g\. --dir DIR /);
    const typo = await cli(['stauts']);
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, '✖ vault-setup: unknown command "stauts"\n  → did you mean `vault-setup status`? (`vault-setup --help` lists the commands)\n');
    const first = await cli(['--json', 'status']);
    assert.equal(first.code, 2);
    assert.match(first.stderr, /→ the command comes first: vault-setup status --json\n$/);
    assert.equal(JSON.parse(first.stdout).error.exitCode, 2);
  });

  it('a stray argument is refused on every command that takes none, before anything is written', async () => {
    const dir = path.join(home, 'stray');
    const ran = await cli(['init', '--dir', dir, '--wait', '5', 'minutes']);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /^✖ vault-setup init: `vault-setup init` takes no arguments; unexpected argument "minutes"\n  → /);
    assert.equal(fs.existsSync(dir), false, 'nothing written');
    for (const command of ['status', 'verify']) {
      const r = await cli([command, '--dir', dir, 'extra']);
      assert.equal(r.code, 2, command);
      assert.match(r.stderr, new RegExp(`unexpected argument "extra"`));
    }
    // The commands that take arguments refuse the extra ones themselves.
    assert.match((await cli(['backup', 'now'])).stderr, /unexpected argument "now"/);
    assert.match((await cli(['restore', 'a.snap', 'b.snap'])).stderr, /unexpected argument "b.snap"/);
    assert.match((await cli(['agent', 'add', 'x', 'y'])).stderr, /unexpected argument "y"/);
  });

  it('a stray argument that is not a plain word is not echoed (it may be a value)', async () => {
    const value = 's.Zx8pQ2mN7vB4kL9wR3tY6uI1oP5aS0dF';
    const ran = await cli(['verify', '--json', `${value}/+=`]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /unexpected argument \(not shown\)/);
    assert.ok(!ran.stderr.includes(value) && !ran.stdout.includes(value));
    assert.equal(JSON.parse(ran.stdout).error.code, 'E_USAGE');
  });
});
