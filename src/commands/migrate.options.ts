// `vault-setup migrate`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup migrate --storage raft [--dir DIR] [--image IMAGE] [--stdin] [--json]',
  options: {
    ...COMMON,
    ...TOKEN,
    storage: { type: 'string', arg: 'raft', help: 'the storage to move the data to (raft is the only one)' },
    image: { type: 'string', arg: 'IMAGE', help: 'run `operator migrate` from this image (default: the deployment\'s own); it must still read file storage' },
    stdin: { type: 'boolean', help: 'read the unseal shares from standard input, one per line (read once, kept in memory)' },
    wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the server to answer after each start (default 90s)' },
  },
};
