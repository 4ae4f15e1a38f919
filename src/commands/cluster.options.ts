// `vault-setup cluster`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup cluster status [--json] | cluster remove NODE [--allow-quorum-loss] | cluster reissue | cluster convert --advertise ADDR [--yes --stdin]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    ...OPERATOR,
    advertise: { type: 'string', arg: 'ADDR', help: "convert: this host's private address; the single node becomes the first node of a cluster there" },
    yes: { type: 'boolean', short: 'y', help: 'convert: apply the plan without asking (it is still shown); needs --stdin' },
    stdin: { type: 'boolean', help: 'convert: read the unseal shares from standard input, one per line' },
    wait: { type: 'string', arg: 'DURATION', help: 'convert: how long to wait for the restarted server to answer (default 90s)' },
    'allow-quorum-loss': { type: 'boolean', help: 'remove: go ahead even when fewer healthy voters than a quorum would remain' },
  },
};
