// Which snapshots to keep: the newest N, plus the newest of each of the last W weeks that have one. Only files
// vault-setup made are considered (named <UTC time>.snap, as `backup` names them, with their .sha256); anything
// else in the directory is never removed.
import fs from 'node:fs/promises';
import path from 'node:path';
import { checksumFile } from './snapshot.ts';

/** 2026-01-31T12-00-00.123Z.snap (-2, -3 for the same instant), the name `backup` gives a snapshot by default; older ones have no milliseconds. */
export const STAMPED = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)(?:\.\d{3})?Z(?:-\d+)?\.snap$/;

export interface Stamped {
  file: string;
  name: string;
  time: number;
}

export const stampOf = (name: string): number | undefined => {
  const m = STAMPED.exec(name);
  if (m === null) return undefined;
  const t = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(t) ? undefined : t;
};

/** The snapshots vault-setup made in DIR, newest first. */
export async function stampedSnapshots(dir: string): Promise<Stamped[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: Stamped[] = [];
  for (const name of names) {
    const time = stampOf(name);
    if (time !== undefined) out.push({ file: path.join(dir, name), name, time });
  }
  return out.sort((a, b) => b.time - a.time || (a.name < b.name ? 1 : -1));
}

/** ISO 8601 week of a UTC time, as "2026-W05": weeks start on Monday; the year is the week's Thursday's. */
export function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** Plain logic: the names to keep out of snapshots sorted newest first. */
export function toKeep(snapshots: Stamped[], keep: number, keepWeekly: number): Set<string> {
  const kept = new Set(snapshots.slice(0, keep).map((s) => s.name));
  const weeks = new Set<string>();
  for (const s of snapshots) {
    if (weeks.size >= keepWeekly) break;
    const week = isoWeek(s.time);
    if (weeks.has(week)) continue;
    weeks.add(week);
    kept.add(s.name);
  }
  return kept;
}

/** Removes the snapshots (and their checksums) that the policy does not keep; returns what it removed. */
export async function prune(dir: string, keep: number, keepWeekly: number): Promise<{ kept: string[]; removed: string[] }> {
  const snapshots = await stampedSnapshots(dir);
  const keepSet = toKeep(snapshots, keep, keepWeekly);
  const removed: string[] = [];
  for (const s of snapshots) {
    if (keepSet.has(s.name)) continue;
    // The checksum first: a snapshot without one is refused by restore, never mistaken for a good one.
    await fs.rm(checksumFile(s.file), { force: true });
    await fs.rm(s.file, { force: true });
    removed.push(s.file);
  }
  return { kept: snapshots.filter((s) => keepSet.has(s.name)).map((s) => s.file), removed };
}
