// `vault-setup secret`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { ADDR, COMMON, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup secret put PATH FIELD [FIELD...] [--stdin | --from-env FIELD=VAR] [--overwrite] [--grant APP|agent:NAME --quorum] | secret list [PATH] | secret get PATH [--field F | --show-values]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    ...OPERATOR,
    quorum: { type: 'boolean', help: 'share holders make a root token for this command only (revoked at its end)' },
    stdin: { type: 'boolean', help: 'put: read the value of the one field from standard input (with --quorum: the shares, one per line)' },
    grant: { type: 'string', multiple: true, arg: 'APP|agent:NAME', help: "put: add the path to the app's or the agent's policy (a privilege change: --quorum)" },
    'from-env': { type: 'string', multiple: true, arg: 'FIELD=VAR', help: 'put: take the value of FIELD from the environment variable VAR' },
    overwrite: { type: 'boolean', help: 'put: replace the given fields of an existing secret, keeping its other fields (default: create only)' },
    field: { type: 'string', arg: 'F', help: 'get: print the value of this field alone' },
    'show-values': { type: 'boolean', help: 'get: print all values (default: field names only)' },
  },
};
