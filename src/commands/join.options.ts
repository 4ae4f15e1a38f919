// `vault-setup join`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { COMMON, CONTAINER, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup join --leader URL --leader-ca FILE --advertise ADDR [--dir DIR] [options]',
  options: {
    ...COMMON,
    ...CONTAINER,
    ...TOKEN,
    ...OPERATOR,
    leader: { type: 'string', arg: 'URL', help: "a cluster node's API on the private network, e.g. https://10.0.0.1:8200" },
    'leader-ca': { type: 'string', arg: 'FILE', help: "the cluster's CA certificate (the first node's <dir>/ca.crt)" },
    advertise: { type: 'string', arg: 'ADDR', help: "this host's address on the private network (the API and the cluster port listen there)" },
    'node-id': { type: 'string', arg: 'ID', help: "this node's raft node_id (default NAME-ADDR, e.g. openbao-10-0-0-2)" },
    image: { type: 'string', arg: 'IMAGE', help: "server image; it must report the cluster's server version" },
    port: { type: 'string', arg: 'N', help: 'API port on 127.0.0.1 and the private address; the cluster port is N+1 (default 8200)' },
    'raft-multiplier': { type: 'string', arg: '1-10', help: "raft's performance_multiplier: the same as on every other node (default 1)" },
    memory: { type: 'string', arg: 'SIZE', help: 'container memory limit (default 1g)' },
    force: { type: 'boolean', help: 'replace files that differ from what vault-setup writes' },
    yes: { type: 'boolean', short: 'y', help: 'ask nothing; fail where an answer is needed' },
  },
};
