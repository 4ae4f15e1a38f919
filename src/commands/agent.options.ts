// `vault-setup agent`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup agent add NAME --secret PATH[,PATH...] [options] | agent list | agent rotate NAME | agent remove NAME',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    secret: { type: 'string', multiple: true, arg: 'PATH[,PATH]', help: 'KV paths under secret/ the agent may read' },
    'token-ttl': { type: 'string', arg: 'DURATION', help: 'TTL of the tokens the agent logs in to (default 1h)' },
    'token-max-ttl': { type: 'string', arg: 'DURATION', help: 'maximum TTL after renewals (default 24h)' },
    'secret-id-ttl': { type: 'string', arg: 'DURATION', help: 'lifetime of a secret_id (default 24h)' },
    'secret-id-uses': { type: 'string', arg: 'N', help: 'uses per secret_id (default 0 = unlimited within its TTL)' },
    cidr: { type: 'string', multiple: true, arg: 'CIDR', help: 'bind secret_id and tokens to these source networks' },
    'wrap-ttl': { type: 'string', arg: 'DURATION', help: 'TTL of the wrapped secret_id (default 10m)' },
    'out-dir': { type: 'string', arg: 'DIR', help: 'write role_id and the unwrapped secret_id there (0600)' },
    'revoke-old': { type: 'boolean', help: 'rotate: destroy the earlier secret_ids' },
    force: { type: 'boolean', help: 'overwrite files in --out-dir' },
    yes: { type: 'boolean', short: 'y', help: 'ask nothing' },
  },
};
