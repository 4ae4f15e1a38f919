// Default snapshot names: the time to the millisecond (sorts by time, safe in every file system), and a counter
// when that name is taken, so two backups started in the same second (or millisecond) never collide.
import fs from 'node:fs/promises';
import path from 'node:path';

/** 2026-01-31T12-00-00.123Z */
export const stamp = (ms: number): string => new Date(ms).toISOString().replace(/:/g, '-');

export async function freshSnapshotPath(dir: string, now: number): Promise<string> {
  const base = stamp(now);
  for (let n = 1; n < 1000; n++) {
    const file = path.join(dir, `${base}${n === 1 ? '' : `-${n}`}.snap`);
    if (!(await taken(file)) && !(await taken(`${file}.sha256`)) && !(await hasTemp(dir, path.basename(file)))) return file;
  }
  return path.join(dir, `${base}-${process.pid}.snap`);
}

const taken = (file: string): Promise<boolean> =>
  fs.lstat(file).then(
    () => true,
    () => false,
  );

/** A run still downloading under that name holds `.NAME.<random>.tmp`. */
async function hasTemp(dir: string, name: string): Promise<boolean> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  return entries.some((e) => e.startsWith(`.${name}.`) && e.endsWith('.tmp'));
}
