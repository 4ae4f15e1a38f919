// `vault-setup rekey`: its options, for parsing and help (the summary is in src/cli.ts's table). Plain data.
import { COMMON, ADDR, TOKEN, type CommandSpec } from '../options/spec.ts';

export const spec: CommandSpec = {
  usage: 'vault-setup rekey --shares N --threshold T [--pgp-keys F1,...,FN [--keys-out DIR]] [--dir DIR | --addr URL] [--stdin] [--cancel] [--json]',
  options: {
    ...COMMON,
    ...ADDR,
    ...TOKEN,
    shares: { type: 'string', arg: 'N', help: 'how many new shares (default: as many as now, or the number of --pgp-keys)' },
    threshold: { type: 'string', arg: 'T', help: 'how many new shares unseal (default: as many as now)' },
    'pgp-keys': { type: 'string', arg: 'F1,...,FN', help: 'public key files, one per new holder (as init): the new shares are encrypted to them' },
    'keys-out': { type: 'string', arg: 'DIR', help: 'with --pgp-keys: write the encrypted new shares there (safe at rest) instead of stdout' },
    stdin: { type: 'boolean', help: 'old shares, then the typed-back (decrypted) new ones, one per line from the same standard input; the new shares go to standard output (or --keys-out) first and the type-back is written after them (a coprocess, or a writer that waits for the --keys-out files; not a plain one-way pipe)' },
    cancel: { type: 'boolean', help: 'discard a rekey in progress (the current shares stay valid)' },
  },
};
