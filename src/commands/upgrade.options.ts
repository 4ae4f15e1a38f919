// `vault-setup upgrade`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup upgrade --image IMAGE [--dir DIR] [--stdin] [--json]',
  options: {
    ...COMMON,
    ...TOKEN,
    identity: { type: 'string', arg: 'FILE', help: 'log in with this backup identity for the snapshot (default <dir>/backup-identity.json when present)' },
    image: { type: 'string', arg: 'IMAGE', help: 'the server image to move to (e.g. openbao/openbao:2.7.2); pulled when missing' },
    stdin: { type: 'boolean', help: 'read the unseal shares from standard input, one per line (read once, kept in memory)' },
    wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the server to answer after each start (default 90s)' },
  },
};
