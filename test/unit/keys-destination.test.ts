// --print-keys into a regular file is warned about; the README's unattended examples never write shares to a file
// on the server, and never deploy under /tmp.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { regularFileBehind, warnIfKeysGoToFile } from '../../src/ceremony/keys-destination.ts';
import { ROOT } from '../helpers/rig.ts';

describe('--print-keys destination', () => {
  it('a regular file behind stdout is named in a warning; a pipe is not warned about', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vs-keys-')), 'init-result.json');
    const fd = fs.openSync(file, 'w', 0o644);
    try {
      assert.equal(regularFileBehind(fd), file);
      const err = new PassThrough();
      let said = '';
      err.on('data', (d) => (said += d));
      warnIfKeysGoToFile({ stdout: { fd }, stderr: err });
      assert.match(said, new RegExp(`^warning: --print-keys output goes to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*in clear.*gpg -e`));
      // rekey's plain new shares and generate-root's token are warned about the same way.
      said = '';
      warnIfKeysGoToFile({ stdout: { fd }, stderr: err }, 'rekey');
      assert.match(said, /^warning: rekey's new shares go to .*: every new share lands on this server's disk in clear\. .*or rekey with --pgp-keys\.\n$/);
      said = '';
      warnIfKeysGoToFile({ stdout: { fd }, stderr: err }, 'generate-root');
      assert.match(said, /^warning: the new root token goes to .*: it lands on this server's disk in clear\. .*or run it at a terminal\.\n$/);
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(regularFileBehind(undefined), undefined);
    const device = fs.openSync('/dev/null', 'w');
    assert.equal(regularFileBehind(device), undefined, '/dev/null is a device, not a regular file');
    fs.closeSync(device);
  });

  it('the README and the command pages never send --print-keys to a file on the server and never deploy under /tmp', () => {
    const pages = ['README.md', ...fs.readdirSync(`${ROOT}docs/commands`).map((f) => `docs/commands/${f}`)];
    const text = pages.map((p) => fs.readFileSync(`${ROOT}${p}`, 'utf8')).join('\n');
    assert.match(text, /--print-keys --app-token-file \S+ \| gpg -e/, 'the unattended examples are among the pages read');
    const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/\\\n\s*/g, ' '));
    for (const block of blocks) {
      for (const line of block.split('\n')) {
        if (line.trimStart().startsWith('#')) continue;
        const command = line.split(/\s+#/)[0] as string;
        if (/--print-keys/.test(command)) assert.match(command, /--print-keys[^|]*\|/, `--print-keys without a pipe: ${command}`);
        assert.doesNotMatch(command, /--dir \/tmp\b/, `deploys under /tmp: ${command}`);
      }
    }
  });
});
