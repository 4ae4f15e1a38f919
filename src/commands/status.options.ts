// `vault-setup status`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup status [--dir DIR | --addr URL] [--json]',
  options: { ...COMMON, ...ADDR },
};
