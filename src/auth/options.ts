// The options of the day-2 ways in, shared by the commands that take them. Plain data.
import type { OptionSpec } from '../options/spec.ts';

export const OPERATOR: Record<string, OptionSpec> = {
  operator: { type: 'string', arg: 'NAME', help: 'log in as this operator (password hidden, or --password-stdin); the login is revoked at the end' },
  'password-stdin': { type: 'boolean', help: "read the operator's password from standard input" },
};

export const QUORUM: Record<string, OptionSpec> = {
  quorum: { type: 'boolean', help: 'share holders make a root token for this command only (revoked at its end)' },
  stdin: { type: 'boolean', help: 'with --quorum: read the shares from standard input, one per line' },
};
