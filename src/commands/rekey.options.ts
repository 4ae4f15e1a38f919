// `vault-setup rekey`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup rekey --shares N --threshold T [--dir DIR | --addr URL] [--stdin] [--cancel] [--json]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    shares: { type: 'string', arg: 'N', help: 'how many new shares (default: as many as now)' },
    threshold: { type: 'string', arg: 'T', help: 'how many new shares unseal (default: as many as now)' },
    stdin: { type: 'boolean', help: 'old shares, then the typed-back new ones, from standard input, one per line; the new shares go to standard output' },
    cancel: { type: 'boolean', help: 'discard a rekey in progress (the current shares stay valid)' },
  },
};
