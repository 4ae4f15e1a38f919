// `vault-setup migrate`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, RESTARTS, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup migrate --storage raft [--dir DIR] [--image IMAGE] [--stdin] [--json]',
  options: {
    ...COMMON,
    ...TOKEN,
    storage: { type: 'string', arg: 'raft', help: 'the storage to move the data to (raft is the only one)' },
    image: { type: 'string', arg: 'IMAGE', help: 'run `operator migrate` from this image (default: the deployment\'s own); it must still read file storage' },
    ...RESTARTS,
  },
};
