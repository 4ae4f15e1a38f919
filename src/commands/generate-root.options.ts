// `vault-setup generate-root`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { ADDR, COMMON, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup generate-root [--stdin] [--dir DIR | --addr URL] [--json]',
  options: { ...COMMON, ...ADDR, stdin: { type: 'boolean', help: 'read the shares from standard input, one per line' } },
};
