// `backup --drill`: checks the newest snapshot offline, without the server: its checksum, that the archive opens,
// that the server's own SHA256SUMS inside match, its raft metadata (index, term, size), and that it is not older
// than the snapshot before it. A snapshot that fails any of these is not a backup.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { VaultSetupError } from '../errors.ts';
import { verifyChecksum } from './snapshot.ts';
import { stampedSnapshots } from './retention.ts';

export interface SnapshotMeta {
  index: number;
  term: number;
  size: number;
  id: string;
  version: number;
}

export interface DrillCheck {
  id: string;
  status: 'pass' | 'fail';
  finding: string;
}

export interface DrillReport {
  file: string;
  previous: string | null;
  meta: SnapshotMeta | null;
  checks: DrillCheck[];
  ok: boolean;
}

/** The entries of a tar.gz archive, each with its size and SHA-256 (streamed: the archive is never held whole). */
export async function readArchive(file: string): Promise<Map<string, { size: number; sha256: string; text?: string }>> {
  const entries = new Map<string, { size: number; sha256: string; text?: string }>();
  let buffer: Buffer = Buffer.alloc(0);
  let current: { name: string; size: number; left: number; hash: ReturnType<typeof createHash>; keep: Buffer[] | undefined; pad: number } | undefined;
  let ended = false;
  const gunzip = createReadStream(file).pipe(createGunzip());
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (ended) break;
      if (current !== undefined) {
        if (current.left > 0) {
          const take = Math.min(current.left, buffer.length);
          if (take === 0) break;
          const part = buffer.subarray(0, take);
          current.hash.update(part);
          current.keep?.push(Buffer.from(part));
          current.left -= take;
          buffer = buffer.subarray(take);
          if (current.left > 0) break;
        }
        if (buffer.length < current.pad) break;
        buffer = buffer.subarray(current.pad);
        entries.set(current.name, { size: current.size, sha256: current.hash.digest('hex'), ...(current.keep ? { text: Buffer.concat(current.keep).toString('utf8') } : {}) });
        current = undefined;
        continue;
      }
      if (buffer.length < 512) break;
      const header = buffer.subarray(0, 512);
      buffer = buffer.subarray(512);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
      const type = String.fromCharCode(header[156] ?? 0);
      if (!Number.isFinite(size) || size < 0) throw new Error(`bad tar header for ${name}`);
      const regular = type === '0' || type === '\0';
      current = { name: regular ? name : `${name} (type ${type})`, size, left: size, hash: createHash('sha256'), keep: regular && size < 1024 * 1024 && name !== 'state.bin' ? [] : undefined, pad: (512 - (size % 512)) % 512 };
    }
  }
  if (current !== undefined) throw new Error(`the archive ends inside ${current.name}`);
  return entries;
}

export function parseMeta(text: string): SnapshotMeta {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const num = (k: string) => {
    const v = doc[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`meta.json has no numeric ${k}`);
    return v;
  };
  return { index: num('Index'), term: num('Term'), size: num('Size'), id: String(doc.ID ?? ''), version: Number(doc.Version ?? 0) };
}

/** Opens a snapshot and checks what is inside; the failures are findings, not exceptions. */
async function inspect(file: string, checks: DrillCheck[]): Promise<SnapshotMeta | undefined> {
  let entries;
  try {
    entries = await readArchive(file);
  } catch (error) {
    checks.push({ id: 'archive', status: 'fail', finding: `the archive does not open (${(error as Error).message})` });
    return undefined;
  }
  const names = [...entries.keys()];
  checks.push({ id: 'archive', status: 'pass', finding: `a gzip tar archive with ${names.join(', ')}` });
  const sums = entries.get('SHA256SUMS')?.text;
  if (sums === undefined) {
    checks.push({ id: 'inner-checksums', status: 'fail', finding: 'no SHA256SUMS inside: this is not a raft snapshot' });
  } else {
    const bad = sums
      .trim()
      .split('\n')
      .map((l) => /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .filter((m) => entries.get(m[2] as string)?.sha256 !== m[1])
      .map((m) => m[2]);
    checks.push(bad.length === 0 ? { id: 'inner-checksums', status: 'pass', finding: 'meta.json and state.bin match the server\'s SHA256SUMS' } : { id: 'inner-checksums', status: 'fail', finding: `does not match the server's SHA256SUMS: ${bad.join(', ')}` });
  }
  const metaText = entries.get('meta.json')?.text;
  let meta: SnapshotMeta | undefined;
  try {
    if (metaText === undefined) throw new Error('no meta.json inside');
    meta = parseMeta(metaText);
  } catch (error) {
    checks.push({ id: 'metadata', status: 'fail', finding: (error as Error).message });
    return undefined;
  }
  const state = entries.get('state.bin');
  if (state === undefined || state.size !== meta.size) {
    checks.push({ id: 'metadata', status: 'fail', finding: `meta.json says ${meta.size} bytes of state, the archive holds ${state?.size ?? 'none'}` });
  } else {
    checks.push({ id: 'metadata', status: 'pass', finding: `raft index ${meta.index}, term ${meta.term}, ${meta.size} bytes of state` });
  }
  return meta;
}

/** The drill on FILE (default: the newest snapshot vault-setup made in DIR), against the one before it. */
export async function drill(dir: string, given: string | undefined): Promise<DrillReport> {
  const snapshots = await stampedSnapshots(dir);
  const file = given ?? snapshots[0]?.file;
  if (file === undefined) throw new VaultSetupError('E_USAGE', `no snapshot made by vault-setup in ${dir}`, { hint: 'run `vault-setup backup` first, or name one: backup --drill --out FILE' });
  const checks: DrillCheck[] = [];
  try {
    const { sha256 } = await verifyChecksum(file);
    checks.push({ id: 'checksum', status: 'pass', finding: `SHA-256 ${sha256.slice(0, 16)}… matches ${path.basename(file)}.sha256` });
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    checks.push({ id: 'checksum', status: 'fail', finding: error.message });
  }
  const meta = await inspect(file, checks);
  const older = snapshots.filter((s) => s.file !== file && s.time < (snapshots.find((x) => x.file === file)?.time ?? Number.POSITIVE_INFINITY));
  const previous = older[0]?.file;
  if (meta !== undefined && previous !== undefined) {
    const before = await inspect(previous, []).catch(() => undefined);
    if (before === undefined) {
      checks.push({ id: 'newer', status: 'pass', finding: `the snapshot before it (${path.basename(previous)}) does not open, so there is nothing to compare with` });
    } else if (meta.index < before.index) {
      checks.push({ id: 'newer', status: 'fail', finding: `older than the snapshot before it: raft index ${meta.index} < ${before.index} (${path.basename(previous)}); was the server restored or replaced?` });
    } else {
      checks.push({ id: 'newer', status: 'pass', finding: `not older than ${path.basename(previous)} (index ${before.index} → ${meta.index})` });
    }
  }
  return { file, previous: previous ?? null, meta: meta ?? null, checks, ok: checks.every((c) => c.status === 'pass') };
}
