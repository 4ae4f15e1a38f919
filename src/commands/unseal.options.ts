// `vault-setup unseal`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup unseal [--dir DIR | --addr URL] [--cluster] [--stdin] [--reset] [--json]',
  options: {
    ...COMMON,
    ...ADDR,
    stdin: { type: 'boolean', help: 'read shares from standard input, one per line (e.g. gpg -d share.asc | ...)' },
    cluster: { type: 'boolean', help: "take the shares once and unseal every node of this deployment's cluster (over TLS on the private addresses)" },
    reset: { type: 'boolean', help: 'discard the progress of the current unseal round' },
    wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the API to answer (default 90s)' },
  },
};
