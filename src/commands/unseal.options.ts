// `vault-setup unseal`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { COMMON, ADDR, TOKEN, type CommandSpec, type OptionSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup unseal [--dir DIR | --addr URL] [--cluster [--operator NAME | --token-file FILE]] [--stdin] [--reset] [--json]',
  options: {
    ...COMMON,
    ...ADDR,
    stdin: { type: 'boolean', help: 'read shares from standard input, one per line (e.g. gpg -d share.asc | ...)' },
    cluster: { type: 'boolean', help: "take the shares once and unseal every node of this deployment's cluster (over TLS on the private addresses)" },
    operator: { ...OPERATOR.operator, help: "with --cluster: log in as this operator to ask the cluster for its nodes, also those joined from other hosts (password hidden, or --password-stdin); revoked at the end" } as OptionSpec,
    'password-stdin': OPERATOR['password-stdin'] as OptionSpec,
    'token-file': { ...TOKEN['token-file'], help: 'with --cluster: ask the cluster for its nodes with the token in FILE (one that may read raft and list the cluster\'s certificates)' } as OptionSpec,
    reset: { type: 'boolean', help: 'discard the progress of the current unseal round' },
    wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the API to answer (default 90s)' },
  },
};
