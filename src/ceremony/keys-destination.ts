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

/** One warning on stderr (even with --json) before the shares are printed into a regular file. */
export function warnIfKeysGoToFile(streams: { stdout: unknown; stderr: NodeJS.WritableStream }): void {
  const file = regularFileBehind((streams.stdout as { fd?: number }).fd);
  if (file === undefined) return;
  streams.stderr.write(
    `warning: --print-keys output goes to ${file}: every share and the root token land on this server's disk in clear. ` +
      'Pipe it off the server instead (| gpg -e -r HOLDER, | age -r KEY, | ssh other-host \'cat > init.json\'), or use --pgp-keys.\n',
  );
}
