// rekey --pgp-keys is checked before the server is touched or a holder types a share: one key per new share, each
// file a public key only (every packet checked), --keys-out only with PGP keys and never over existing share files.
// --json is refused where the new shares would reach stdout before its one object. Each refusal is one line with a
// documented exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { planNewHolders } from '../../src/commands/rekey.ts';
import { gpgHome } from '../helpers/gpg.ts';
import { runInProcess } from '../helpers/in-process.ts';

// Nothing answers on port 9: a check that reached the server would fail differently.
const rekey = (args: string[]) => runInProcess(['rekey', '--addr', 'http://127.0.0.1:9', '--stdin', ...args]);

/** The error line and its hint, nothing else: the one-line error of errors.ts. */
function refusal(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.ok(lines.length <= 2, `one error line and a hint:\n${stderr}`);
  return lines[0] as string;
}

describe('rekey --pgp-keys, before the server is touched', () => {
  const g = gpgHome();
  after(() => g[Symbol.dispose]());
  const holders = [g.holder('ana'), g.holder('ben', 'future-default'), g.holder('cy', 'future-default')];
  const files = [holders[0]?.binaryFile, holders[1]?.armoredFile, holders[2]?.armoredFile] as string[];

  it('one public key per new share: the keys in order with their fingerprints, --shares defaults to their number', async () => {
    const plan = await planNewHolders({ 'pgp-keys': files.join(',') });
    assert.deepEqual(plan?.keys.map((k) => k.fingerprint), holders.map((h) => h.fingerprint));
    assert.equal(plan?.keysOut, undefined);
    assert.equal(await planNewHolders({}), undefined, 'no PGP keys: the plain rekey');
    assert.ok(await planNewHolders({ 'pgp-keys': files.join(','), shares: '3', threshold: '2' }));
  });

  it('a key count that is not --shares: exit 2', async () => {
    const run = await rekey(['--pgp-keys', files.join(','), '--shares', '4', '--threshold', '2']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(refusal(run.stderr), /^✖ vault-setup rekey: --pgp-keys names 3 keys but --shares is 4$/);
    assert.equal(run.stdout, '');
  });

  it('a secret key file (gpg --export-secret-keys, armored or binary): exit 2, named', async () => {
    for (const armor of [[], ['--armor']]) {
      const secret = path.join(g.home, `ben-secret${armor.length > 0 ? '.asc' : '.gpg'}`);
      const out = spawnSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...armor, '--export-secret-keys', holders[1]?.fingerprint as string], { env: g.env });
      assert.equal(out.status, 0, out.stderr.toString());
      fs.writeFileSync(secret, out.stdout);
      const run = await rekey(['--pgp-keys', [files[0], secret, files[2]].join(',')]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(refusal(run.stderr), new RegExp(`^✖ vault-setup rekey: ${secret.replace(/[.]/g, '\\.')} is a SECRET key \\(or holds secret key material\\)`));
      assert.ok(!run.stderr.includes('-----BEGIN PGP PRIVATE'), 'the file is never quoted');
    }
  });

  it('--json where the new shares would go to stdout before the result: exit 2, stdout the one error object', async () => {
    for (const [args, hint] of [[[], /drop --json: standard output then holds only the new shares/], [['--pgp-keys', files.join(',')], /add --keys-out DIR/]] as const) {
      const run = await rekey([...args, '--json']);
      assert.equal(run.code, 2, run.stderr);
      const { error } = JSON.parse(run.stdout);
      assert.equal(error.code, 'E_USAGE');
      assert.match(error.message, /^--json prints one JSON object when the rekey ends, but .* go to standard output before that/);
      assert.match(error.hint, hint);
    }
  });

  it('--keys-out without --pgp-keys: exit 2; --keys-out over existing share files: exit 6', async () => {
    const out = fs.mkdtempSync(path.join(g.home, 'out-'));
    const plain = await rekey(['--keys-out', out]);
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(refusal(plain.stderr), /--keys-out writes PGP-encrypted shares only/);
    fs.writeFileSync(path.join(out, 'share-2.asc'), 'an older share\n');
    const taken = await rekey(['--pgp-keys', files.join(','), '--keys-out', out]);
    assert.equal(taken.code, 6, taken.stderr);
    assert.match(refusal(taken.stderr), /--keys-out .* already holds share-2\.asc$/);
    assert.match(taken.stderr, /no rekey was started/);
  });
});
