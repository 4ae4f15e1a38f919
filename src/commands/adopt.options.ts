// `vault-setup adopt`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup adopt [--dir DIR] [--yes] [--stdin] [--app-token-file FILE] [--password-stdin] [--json]',
  options: {
    ...COMMON,
    ...TOKEN,
    yes: { type: 'boolean', short: 'y', help: 'apply every step without asking (diffs are still shown)' },
    'report-only': { type: 'boolean', help: 'only report what differs from the hardened shape and the unseal scripts found; change nothing' },
    stdin: { type: 'boolean', help: 'read from standard input, one per line: the root token (unless VAULT_TOKEN/BAO_TOKEN or --token-file), then the unseal shares' },
    'password-stdin': { type: 'boolean', help: 'the operator login\'s password is the next line of standard input (after the shares)' },
    'create-operator': { type: 'string', arg: 'NAME', help: 'the operator login to create (default admin)' },
    app: { type: 'string', arg: 'NAME', help: 'the app the scoped token and policy are for (default openclaw)' },
    secrets: { type: 'string', arg: 'FILE', help: 'the secrets catalog whose missing paths are seeded, create-only (default: the playbook\'s)' },
    'app-token-file': { type: 'string', arg: 'FILE', help: 'write the new scoped app token to FILE (0600) instead of showing it' },
    'show-token': { type: 'boolean', help: 'put the new app token in the result (stdout)' },
    'revoke-old-app-token': { type: 'boolean', help: 'revoke the playbook\'s -policy=default app token(s) once the scoped one exists' },
    'keep-old-tokens': { type: 'boolean', help: 'leave the old root token and the old app token valid' },
    'shred-unseal-script': { type: 'boolean', help: 'overwrite and delete an unseal script with keys in it (asked on a terminal)' },
    image: { type: 'string', arg: 'IMAGE', help: 'run `operator migrate` from this image (default: the deployment\'s own)' },
    wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the server to answer after each start (default 90s)' },
  },
};
