// How a command declares its options (beside it, in src/commands/<name>.options.ts), the help text made from
// them, and the one parse of argv into flags. Plain data and node:util: --help loads nothing else.
import { parseArgs } from 'node:util';
import type { Flags } from './flags.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  help: string;
  arg?: string;
  /** An old name of the option `deprecated` names: still accepted, with a one-line warning; not in the help. */
  deprecated?: string;
}

export interface CommandSpec {
  usage: string;
  options: Record<string, OptionSpec>;
}

export const COMMON: Record<string, OptionSpec> = {
  dir: { type: 'string', arg: 'DIR', help: 'deployment directory (default ~/docker/vault)' },
  json: { type: 'boolean', help: 'print one JSON object on stdout; progress is silenced' },
  help: { type: 'boolean', short: 'h', help: 'show help for this command' },
};
/** How a deployment's container is made and named: the same for `init` and `join`. */
export const CONTAINER: Record<string, OptionSpec> = {
  flavor: { type: 'string', arg: 'vault|openbao', help: 'image layout (default vault)' },
  name: { type: 'string', arg: 'NAME', help: 'container and compose project name (default: vault or openbao)' },
  wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the API to answer (default 90s)' },
};
export const ADDR: Record<string, OptionSpec> = {
  addr: { type: 'string', arg: 'URL', help: 'talk to this server instead of the one in --dir' },
  'insecure-http': { type: 'boolean', help: 'allow --addr http:// to a host other than loopback (shares and tokens in clear)' },
};
/** The shares for a command that restarts the server (upgrade, migrate), and how long each start may take. */
export const RESTARTS: Record<string, OptionSpec> = {
  stdin: { type: 'boolean', help: 'read the unseal shares from standard input, one per line (read once, kept in memory)' },
  wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the server to answer after each start (default 90s)' },
};
export const TOKEN: Record<string, OptionSpec> = {
  'token-file': { type: 'string', arg: 'FILE', help: 'read the token from FILE (else VAULT_TOKEN/BAO_TOKEN, else a masked prompt)' },
};

export function commandHelp(summary: string, spec: CommandSpec): string {
  const rows = Object.entries(spec.options)
    .filter(([, o]) => o.deprecated === undefined)
    .map(([flag, o]) => {
      const left = `${o.short ? `-${o.short}, ` : '    '}--${flag}${o.arg ? ` ${o.arg}` : ''}`;
      return `  ${left.padEnd(34)}${o.help}`;
    });
  return `${spec.usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

export interface Parsed {
  flags: Flags;
  positionals: string[];
  /** One line per deprecated name used; its value now stands under the new name. */
  warnings: string[];
}

/** argv -> flags by the spec (strict: an unknown option throws node's error); old names move to the new ones. */
export function parseInvocation(spec: CommandSpec, args: string[]): Parsed {
  const parsed = parseArgs({
    args,
    options: Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }])),
    allowPositionals: true,
    strict: true,
  });
  const flags = { ...parsed.values } as Flags;
  const warnings: string[] = [];
  for (const [flag, o] of Object.entries(spec.options)) {
    if (o.deprecated === undefined || flags[flag] === undefined) continue;
    warnings.push(`--${flag} is deprecated: use --${o.deprecated} (same meaning)`);
    if (flags[o.deprecated] === undefined) flags[o.deprecated] = flags[flag];
    delete flags[flag];
  }
  return { flags, positionals: parsed.positionals, warnings };
}
