// `vault-setup cluster`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup cluster status [--json] | cluster remove NODE [--allow-quorum-loss] | cluster reissue',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    ...OPERATOR,
    'allow-quorum-loss': { type: 'boolean', help: 'remove: go ahead even when fewer healthy voters than a quorum would remain' },
  },
};
