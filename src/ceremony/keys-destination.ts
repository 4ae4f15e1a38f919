// --print-keys writes every share and the root token in clear on stdout. A pipe (gpg -e, age, ssh other-host) or a
// terminal takes them elsewhere; a regular file keeps them on this server's disk, where verify does not look.
import fs from 'node:fs';

/** The path stdout's regular file has, or undefined when stdout is a pipe, a terminal, a socket or unknown. */
export function regularFileBehind(fd: number | undefined): string | undefined {
  if (fd === undefined) return undefined;
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
  } catch {
    return undefined;
  }
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return 'a regular file';
  }
}

/** What each command prints in clear on stdout, and the way that keeps it off the disk. */
const PRINTED = {
  init: { output: '--print-keys output goes', holds: 'every share and the root token land', file: 'init.json', instead: 'or use --pgp-keys' },
  rekey: { output: "rekey's new shares go", holds: 'every new share lands', file: 'shares.json', instead: 'or rekey with --pgp-keys' },
  'generate-root': { output: 'the new root token goes', holds: 'it lands', file: 'root.txt', instead: 'or run it at a terminal' },
} as const;

/** One warning on stderr (even with --json) before secrets are printed into a regular file. */
export function warnIfKeysGoToFile(streams: { stdout: unknown; stderr: NodeJS.WritableStream }, command: keyof typeof PRINTED = 'init'): void {
  const file = regularFileBehind((streams.stdout as { fd?: number }).fd);
  if (file === undefined) return;
  const p = PRINTED[command];
  streams.stderr.write(
    `warning: ${p.output} to ${file}: ${p.holds} on this server's disk in clear. ` +
      `Pipe it off the server instead (| gpg -e -r HOLDER, | age -r KEY, | ssh other-host 'cat > ${p.file}'), ${p.instead}.\n`,
  );
}
