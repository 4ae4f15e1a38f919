// adopt's unseal-script finder on real files in a temp tree: what counts as an unseal script with keys, what is
// skipped (data/, links, binaries), which files hold a given token, and shredding.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scanHost, shred } from '../../src/adopt/scripts.ts';

const b64 = () => randomBytes(33).toString('base64'); // 44 characters, as `operator init` prints them
const hex = () => randomBytes(33).toString('hex'); // 66

describe('adopt: the unseal-script finder', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-scripts-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'docker', 'vault');
  const home = path.join(root, 'home');
  const write = (file: string, text: string | Buffer) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const token = `hvs.${randomBytes(18).toString('base64url')}`;
  const keys = [b64(), b64(), b64()];
  const playbookScript = write(path.join(dir, 'unseal.sh'), `#!/bin/sh\n${keys.map((k) => `docker exec -e VAULT_ADDR=http://127.0.0.1:8200 vault vault operator unseal ${k}`).join('\n')}\n`);
  const curlScript = write(path.join(home, 'bin', 'open-vault'), `for k in ${hex()} ${hex()}; do\n  curl -X PUT -d "{\\"key\\": \\"$k\\"}" http://127.0.0.1:8200/v1/sys/unseal\ndone\n`);
  write(path.join(home, 'notes', 'keys.txt'), `Unseal Key 1: ${b64()}\n`); // keys, but not a script: verify's key-material reports it
  write(path.join(home, 'bin', 'unseal-ask.sh'), '#!/bin/sh\nvault operator unseal\nvault operator unseal\nvault operator unseal\n'); // a script, no keys
  write(path.join(dir, 'data', 'core', 'unseal.sh'), `vault operator unseal ${b64()}\n`); // data/ is not searched
  write(path.join(home, 'bin', 'binary'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(`operator unseal ${b64()}`)]));
  const envFile = write(path.join(home, 'openclaw', '.env'), `VAULT_TOKEN=${token}\n`);
  fs.symlinkSync(playbookScript, path.join(home, 'link-to-unseal.sh'));

  it('finds scripts that unseal with keys written in them, counts the keys, names the lines; skips the rest', async () => {
    const scan = await scanHost([{ dir, skip: [path.join(dir, 'data')] }, { dir: home, skip: [dir] }], [token]);
    assert.deepEqual(scan.unsealScripts.map((s) => [s.file, s.shares, s.lines]).sort(), [
      [curlScript, 2, [1]],
      [playbookScript, 3, [2, 3, 4]],
    ].sort());
    assert.deepEqual(scan.holdingToken, [envFile]);
    assert.equal(scan.truncated, false);
  });

  it('shred overwrites, then removes', async () => {
    const file = write(path.join(root, 'victim.sh'), 'vault operator unseal x\n');
    await shred(file);
    assert.equal(fs.existsSync(file), false);
  });
});
