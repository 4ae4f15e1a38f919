// The deployment directory rule (sshd's StrictModes): real temp directories with real owners and modes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { dirProblem, makeDir } from '../../src/services/dir-safety.ts';

const NOBODY = 65534;

function tempRoot(): string {
  // Under /tmp (sticky, world-writable): the rule allows it as a parent.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-dirsafe-'));
  fs.chmodSync(dir, 0o700);
  return dir;
}

describe('deployment directory ownership and modes', () => {
  it('a directory owned by the running user under sticky /tmp is accepted, existing or not', async () => {
    const root = tempRoot();
    assert.equal(await dirProblem(root), undefined);
    assert.equal(await dirProblem(path.join(root, 'not', 'yet')), undefined);
    // Directly under the sticky, world-writable /tmp, not created yet: vault-setup makes it, so /tmp is only its parent.
    assert.equal(await dirProblem(path.join(os.tmpdir(), `vs-dirsafe-new-${process.pid}`)), undefined);
    assert.match((await dirProblem(os.tmpdir()))?.reason ?? '', /writable by everyone/, 'control: /tmp itself is no deployment directory');
  });

  it('refuses a directory owned by another non-root user, and any directory under one', async () => {
    const root = tempRoot();
    const theirs = path.join(root, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o755 });
    fs.chownSync(theirs, NOBODY, NOBODY);
    assert.match((await dirProblem(theirs))?.reason ?? '', /owned by uid 65534/);
    const below = path.join(theirs, 'mine');
    fs.mkdirSync(below, { mode: 0o700 });
    assert.equal((await dirProblem(below))?.path, theirs);
    assert.equal((await dirProblem(path.join(below, 'new')))?.path, theirs);
  });

  it('refuses a group- or world-writable directory, and a writable parent without the sticky bit', async () => {
    const root = tempRoot();
    const open = path.join(root, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    assert.match((await dirProblem(open))?.reason ?? '', /writable by everyone/);
    fs.chmodSync(open, 0o1777); // sticky helps a parent, never the deployment directory itself
    assert.match((await dirProblem(open))?.reason ?? '', /writable by everyone/);
    const inside = path.join(open, 'dep');
    fs.mkdirSync(inside, { mode: 0o700 });
    assert.equal(await dirProblem(inside), undefined);
    fs.chmodSync(open, 0o775);
    assert.match((await dirProblem(inside))?.reason ?? '', /writable by its group .* without the sticky bit/);
  });

  it('a link to a safe directory is judged where it leads', async () => {
    const root = tempRoot();
    const theirs = path.join(root, 'theirs');
    fs.mkdirSync(theirs);
    fs.chownSync(theirs, NOBODY, NOBODY);
    fs.symlinkSync(theirs, path.join(root, 'link'));
    assert.equal((await dirProblem(path.join(root, 'link', 'dep')))?.path, theirs);
  });

  it('creates directories 0750 whatever the umask', async () => {
    const root = tempRoot();
    const old = process.umask(0o000);
    try {
      await makeDir(path.join(root, 'a', 'b', 'c'));
    } finally {
      process.umask(old);
    }
    for (const p of ['a', 'a/b', 'a/b/c']) assert.equal(fs.statSync(path.join(root, p)).mode & 0o7777, 0o750, p);
    assert.equal(fs.statSync(root).mode & 0o7777, 0o700, 'an existing parent is left as it was');
  });
});
