// `vault-setup restore`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { QUORUM } from '../auth/options.ts';
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup restore FILE [--yes] [--quorum [--stdin]] [--dir DIR | --addr URL] [--json]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    ...QUORUM,
    operator: { type: 'string', arg: 'NAME', help: 'refused: the operator login may not restore (use --quorum)' },
    'password-stdin': { type: 'boolean', help: 'refused with --operator' },
    yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' },
    'force-foreign-snapshot': { type: 'boolean', help: 'restore a snapshot from another cluster (snapshot-force)' },
    force: { type: 'boolean', help: 'old name of --force-foreign-snapshot', deprecated: 'force-foreign-snapshot' },
  },
};
