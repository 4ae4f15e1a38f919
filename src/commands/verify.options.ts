// `vault-setup verify`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup verify [--dir DIR | --addr URL] [options]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    secrets: { type: 'string', arg: 'FILE', help: 'secrets catalog (YAML) whose paths must exist (default: the one init recorded)' },
    app: { type: 'string', arg: 'NAME', help: 'the app whose token is checked (default: the recorded app, else openclaw)' },
    operator: { type: 'string', arg: 'NAME', help: "an operator login inspects the server too (live root tokens, the operator policy, raft state); its token is revoked at the end" },
    'password-stdin': { type: 'boolean', help: "read the operator login's password from standard input" },
    strict: { type: 'boolean', help: 'warnings fail too (exit 14)' },
    quiet: { type: 'boolean', short: 'q', help: 'print only problems' },
  },
};
