// Default snapshot names never collide: the same millisecond gets a counter, a download in progress holds its name.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freshSnapshotPath } from '../../src/backup/names.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-names-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('backup names', () => {
  it('the time to the millisecond, then -2, -3 for the same instant; a temp file or a checksum holds a name too', async () => {
    const now = Date.UTC(2026, 0, 31, 12, 0, 0, 123);
    const first = await freshSnapshotPath(dir, now);
    assert.equal(first, path.join(dir, '2026-01-31T12-00-00.123Z.snap'));
    fs.writeFileSync(first, '');
    const second = await freshSnapshotPath(dir, now);
    assert.equal(second, path.join(dir, '2026-01-31T12-00-00.123Z-2.snap'));
    fs.writeFileSync(`${second}.sha256`, '');
    const third = await freshSnapshotPath(dir, now);
    assert.equal(third, path.join(dir, '2026-01-31T12-00-00.123Z-3.snap'));
    fs.writeFileSync(path.join(dir, `.${path.basename(third)}.abcdef.tmp`), '');
    assert.equal(await freshSnapshotPath(dir, now), path.join(dir, '2026-01-31T12-00-00.123Z-4.snap'));
    assert.equal(await freshSnapshotPath(dir, now + 1), path.join(dir, '2026-01-31T12-00-00.124Z.snap'));
  });

  it('names sort by time', async () => {
    const a = await freshSnapshotPath(path.join(dir, 'none'), Date.UTC(2026, 0, 31, 12, 0, 0, 999));
    const b = await freshSnapshotPath(path.join(dir, 'none'), Date.UTC(2026, 0, 31, 12, 0, 1, 0));
    assert.ok(path.basename(a) < path.basename(b));
  });
});
