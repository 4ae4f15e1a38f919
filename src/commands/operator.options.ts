// `vault-setup operator`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR, QUORUM } from '../auth/options.ts';
import { ADDR, COMMON, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup operator add NAME [--password-stdin] | operator remove NAME | operator passwd --operator NAME [--password-stdin]',
  options: { ...COMMON, ...ADDR, ...TOKEN, ...OPERATOR, ...QUORUM },
};
