// `vault-setup upgrade`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, RESTARTS, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup upgrade --image IMAGE [--dir DIR] [--stdin] [--json]',
  options: {
    ...COMMON,
    ...TOKEN,
    identity: { type: 'string', arg: 'FILE', help: 'log in with this backup identity for the snapshot (default <dir>/backup-identity.json when present)' },
    image: { type: 'string', arg: 'IMAGE', help: 'the server image to move to (e.g. openbao/openbao:2.7.2); pulled when missing' },
    ...RESTARTS,
  },
};
