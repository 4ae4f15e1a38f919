// Writes that fail or are killed half-way: a full disk while a snapshot streams in is an error with a fix (the
// process does not crash, no temp copy stays); a killed writer's temp copy of a token is removed by the next write.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { saveSnapshot } from '../../src/backup/snapshot.ts';
import { writeAtomic } from '../../src/services/files.ts';
import { VaultApi } from '../../src/services/vault-api.ts';

describe('snapshot on a full disk', () => {
  it('ENOSPC while streaming: E_DIR_NOT_WRITABLE with a hint, no crash, no temp file left', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    t.after(() => {
      execFileSync('umount', [dir]);
      fs.rmdirSync(dir);
    });
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      chunk[0] = 0x1f;
      chunk[1] = 0x8b;
      let sent = 0;
      const more = () => {
        while (sent < 32) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const api = new VaultApi({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: 1 });
    t.after(() => api.close());
    await assert.rejects(saveSnapshot(api, 's.token-for-test-only', path.join(dir, 'backup.snap')), (e: Error & { code?: string }) => e.code === 'E_DIR_NOT_WRITABLE' && /ENOSPC/.test(e.message));
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('temp copies of a killed write', () => {
  it('the next write of the same file removes a dead writer\'s temp copy (and an old unnamed one), not a live writer\'s', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-tmp-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid as number;
    const stale = [`.app-token.${dead}.0123456789ab.tmp`, '.app-token.0123456789ab.tmp'];
    const live = `.app-token.${process.ppid}.abcdefabcdef.tmp`;
    for (const name of [...stale, live]) fs.writeFileSync(path.join(dir, name), 's.leftover-token-copy', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, '.other.0123456789ab.tmp'), 'not ours');
    await writeAtomic(path.join(dir, 'app-token'), 's.new-token\n', { mode: 0o600, exclusive: true });
    assert.deepEqual(fs.readdirSync(dir).sort(), [live, '.other.0123456789ab.tmp', 'app-token'].sort());
    assert.equal(fs.statSync(path.join(dir, 'app-token')).mode & 0o777, 0o600);
  });
});
