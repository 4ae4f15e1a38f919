import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseCopyTarget } from '../../src/backup/copy.ts';
import { drill } from '../../src/backup/drill.ts';
import { isoWeek, prune, stampedSnapshots, toKeep } from '../../src/backup/retention.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-04T02:30:00Z'); // a Wednesday

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vs-sched-'));
}

/** A raft-snapshot-shaped archive: meta.json, state.bin, SHA256SUMS (the server's own layout). */
function fakeSnapshot(dir: string, name: string, index: number, options: { badInner?: boolean } = {}): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-snapsrc-'));
  const state = Buffer.from(`state at ${index} `.repeat(50));
  const meta = JSON.stringify({ Version: 1, ID: `2-${index}-1700000000`, Index: index, Term: 2, Peers: 'xx', Size: state.length });
  fs.writeFileSync(path.join(work, 'meta.json'), meta);
  fs.writeFileSync(path.join(work, 'state.bin'), state);
  fs.writeFileSync(path.join(work, 'SHA256SUMS'), `${sha(meta)}  meta.json\n${options.badInner ? '0'.repeat(64) : sha(state)}  state.bin\n`);
  const file = path.join(dir, name);
  execFileSync('tar', ['czf', file, '-C', work, 'meta.json', 'state.bin', 'SHA256SUMS']);
  fs.writeFileSync(`${file}.sha256`, `${sha(fs.readFileSync(file))}  ${name}\n`);
  fs.rmSync(work, { recursive: true });
  return file;
}

describe('backup retention', () => {
  it('ISO weeks start on Monday; the year is that of the week\'s Thursday', () => {
    assert.equal(isoWeek(Date.parse('2026-01-01T00:00:00Z')), '2026-W01');
    assert.equal(isoWeek(Date.parse('2027-01-01T12:00:00Z')), '2026-W53');
    assert.equal(isoWeek(Date.parse('2026-03-02T00:00:00Z')), isoWeek(Date.parse('2026-03-08T23:59:59Z')));
    assert.notEqual(isoWeek(Date.parse('2026-03-08T23:59:59Z')), isoWeek(Date.parse('2026-03-09T00:00:00Z')));
  });

  it('--keep 3 --keep-weekly 3 on backdated snapshots: the newest 3, and the newest of each of the 3 newest weeks', () => {
    const snaps = Array.from({ length: 30 }, (_, i) => ({ file: '', name: `${stamp(T0 - i * DAY)}.snap`, time: T0 - i * DAY }));
    const kept = [...toKeep(snaps, 3, 3)].sort();
    // Wednesday 4 March, 3 March, 2 March (newest 3); Sunday 1 March (newest of the week before); Sunday 22 Feb.
    assert.deepEqual(kept, ['2026-02-22T02-30-00Z.snap', '2026-03-01T02-30-00Z.snap', '2026-03-02T02-30-00Z.snap', '2026-03-03T02-30-00Z.snap', '2026-03-04T02-30-00Z.snap']);
  });

  it('prune removes older stamped snapshots with their checksums, never other files', async () => {
    const dir = tempDir();
    try {
      for (let i = 0; i < 5; i++) {
        const name = `${stamp(T0 - i * 7 * DAY)}.snap`;
        fs.writeFileSync(path.join(dir, name), 'x');
        fs.writeFileSync(path.join(dir, `${name}.sha256`), 'y');
      }
      for (const other of ['manual.snap', 'notes.txt', '2026-01-01.snap']) fs.writeFileSync(path.join(dir, other), 'keep me');
      fs.utimesSync(path.join(dir, 'manual.snap'), new Date(0), new Date(0));
      const result = await prune(dir, 2, 3);
      assert.equal(result.removed.length, 2);
      assert.deepEqual(fs.readdirSync(dir).sort(), [
        '2026-01-01.snap',
        `${stamp(T0 - 14 * DAY)}.snap`, `${stamp(T0 - 14 * DAY)}.snap.sha256`,
        `${stamp(T0 - 7 * DAY)}.snap`, `${stamp(T0 - 7 * DAY)}.snap.sha256`,
        `${stamp(T0)}.snap`, `${stamp(T0)}.snap.sha256`,
        'manual.snap', 'notes.txt',
      ].sort());
      assert.equal((await stampedSnapshots(dir)).length, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('backup --copy-to targets', () => {
  it('a directory, [user@]host:path (ssh), rclone:remote:path', () => {
    assert.deepEqual(parseCopyTarget('/mnt/usb/vault'), { kind: 'dir', dir: '/mnt/usb/vault' });
    assert.deepEqual(parseCopyTarget('backup@nas.lan:/srv/vault'), { kind: 'ssh', host: 'backup@nas.lan', dir: '/srv/vault' });
    assert.deepEqual(parseCopyTarget('nas:'), { kind: 'ssh', host: 'nas', dir: '.' });
    assert.deepEqual(parseCopyTarget('rclone:b2:bucket/vault/'), { kind: 'rclone', remote: 'b2:bucket/vault' });
    assert.throws(() => parseCopyTarget('rclone:nocolon'), /rclone:REMOTE:PATH/);
    assert.throws(() => parseCopyTarget('-oVerbose:x'), /cannot start with "-"/);
  });
});

describe('backup --drill', () => {
  it('passes a sound snapshot newer than the one before; fails damage, inner checksums and an older index', async () => {
    const dir = tempDir();
    try {
      fakeSnapshot(dir, `${stamp(T0 - DAY)}.snap`, 100);
      const newest = fakeSnapshot(dir, `${stamp(T0)}.snap`, 120);
      const ok = await drill(dir, undefined);
      assert.equal(ok.file, newest);
      assert.deepEqual(ok.checks.map((c) => `${c.id} ${c.status}`), ['checksum pass', 'archive pass', 'inner-checksums pass', 'metadata pass', 'newer pass']);
      assert.equal(ok.meta?.index, 120);
      assert.equal(ok.ok, true);

      fakeSnapshot(dir, `${stamp(T0 + DAY)}.snap`, 90);
      const older = await drill(dir, undefined);
      assert.equal(older.ok, false);
      assert.match(older.checks.find((c) => c.id === 'newer')?.finding ?? '', /older than the snapshot before it: raft index 90 < 120/);

      const inner = fakeSnapshot(dir, `${stamp(T0 + 2 * DAY)}.snap`, 130, { badInner: true });
      assert.match((await drill(dir, undefined)).checks.find((c) => c.id === 'inner-checksums')?.finding ?? '', /does not match the server's SHA256SUMS: state\.bin/);

      const bytes = fs.readFileSync(inner);
      bytes[bytes.length - 30] = (bytes[bytes.length - 30] as number) ^ 0xff;
      fs.writeFileSync(inner, bytes);
      const damaged = await drill(dir, undefined);
      assert.deepEqual(damaged.checks.filter((c) => c.status === 'fail').map((c) => c.id).slice(0, 2), ['checksum', 'archive']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
