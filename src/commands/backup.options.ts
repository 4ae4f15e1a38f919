// `vault-setup backup`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { OPERATOR } from '../auth/options.ts';
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';
import { BACKUP_SCHEDULE_OPTIONS } from './operations.spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup backup [--out FILE] [--dir DIR | --addr URL] [--json]',
  options: { ...COMMON, ...ADDR, ...TOKEN, ...OPERATOR, out: { type: 'string', arg: 'FILE', help: 'snapshot file (default <dir>/backups/<time>.snap)' }, ...BACKUP_SCHEDULE_OPTIONS },
};
