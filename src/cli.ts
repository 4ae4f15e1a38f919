// The thin entry: parses argv, runs one command, writes its result, picks the exit code. Nothing else.
// Commands are loaded lazily so `vault-setup --help` starts fast.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT, VaultSetupError, isVaultSetupError, oneLine, quoted, resultOf, usageError } from './errors.ts';
import type { CommandHandler, CommandResult, Flags } from './commands/types.ts';

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string; help: string; arg?: string };

const COMMON: Record<string, OptionSpec> = {
  dir: { type: 'string', arg: 'DIR', help: 'deployment directory (default ~/docker/vault)' },
  json: { type: 'boolean', help: 'print one JSON object on stdout; progress is silenced' },
  help: { type: 'boolean', short: 'h', help: 'show help for this command' },
};
const ADDR: Record<string, OptionSpec> = {
  addr: { type: 'string', arg: 'URL', help: 'talk to this server instead of the one in --dir' },
};
const TOKEN: Record<string, OptionSpec> = {
  'token-file': { type: 'string', arg: 'FILE', help: 'read the token from FILE (else VAULT_TOKEN/BAO_TOKEN, else a masked prompt)' },
};

interface CommandSpec {
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  load: () => Promise<CommandHandler>;
}

const COMMANDS: Record<string, CommandSpec> = {
  init: {
    summary: 'deploy, initialise, unseal and configure a server (resumes where it stopped)',
    usage: 'vault-setup init [options]',
    options: {
      ...COMMON,
      flavor: { type: 'string', arg: 'vault|openbao', help: 'image layout (default vault)' },
      image: { type: 'string', arg: 'IMAGE', help: 'server image (default hashicorp/vault:1.17 or openbao/openbao:2.7.2)' },
      name: { type: 'string', arg: 'NAME', help: 'container and compose project name (default: vault or openbao)' },
      storage: { type: 'string', arg: 'raft|file', help: 'storage backend (default raft; file where the server supports it)' },
      port: { type: 'string', arg: 'N', help: 'host port on 127.0.0.1 (default 8200)' },
      'raft-multiplier': { type: 'string', arg: '1-10', help: "raft's performance_multiplier (default 1: fastest; raise it on a slow disk)" },
      wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the API to answer (default 90s)' },
      yes: { type: 'boolean', short: 'y', help: 'ask nothing; fail where an answer is needed' },
      force: { type: 'boolean', help: 'replace files that differ from what vault-setup writes' },
      'deploy-only': { type: 'boolean', help: 'write files, start the server and stop before initialising it' },
      shares: { type: 'string', arg: 'N', help: 'key shares (default 5)' },
      threshold: { type: 'string', arg: 'T', help: 'shares needed to unseal (default 3)' },
      'pgp-keys': { type: 'string', arg: 'F1,...,FN', help: 'public key files, one per share holder: shares are encrypted to them' },
      'root-token-pgp-key': { type: 'string', arg: 'FILE', help: 'public key file the root token is encrypted to' },
      'keys-out': { type: 'string', arg: 'DIR', help: 'write the PGP-encrypted shares there (safe at rest)' },
      'print-keys': { type: 'boolean', help: 'print the init result (shares, root token) as JSON on stdout' },
      'wait-unseal': { type: 'string', arg: 'DURATION', help: 'PGP mode: wait this long for holders to unseal (default: stop at once and say how to resume)' },
      secrets: { type: 'string', arg: 'FILE', help: 'secrets catalog (YAML): what to seed, never the values' },
      overwrite: { type: 'boolean', help: 'replace existing secrets (default: create only)' },
      app: { type: 'string', arg: 'NAME', help: 'the app the policy and token are for (default openclaw)' },
      'token-ttl': { type: 'string', arg: 'DURATION', help: 'app token TTL (default 720h)' },
      'token-file': { type: 'string', arg: 'PATH', help: 'write the app token there (0600) instead of showing it' },
      'wrap-ttl': { type: 'string', arg: 'DURATION', help: 'deliver the app token response-wrapped with this TTL' },
      'show-token': { type: 'boolean', help: 'include the app token in --json output' },
      'keep-root-token': { type: 'boolean', help: 'do not revoke the root token at the end; show it once instead' },
      tls: { type: 'string', arg: 'self-signed', help: 'serve TLS with a generated CA and server certificate' },
      'tls-cert': { type: 'string', arg: 'FILE', help: 'serve TLS with this certificate (PEM, with chain)' },
      'tls-key': { type: 'string', arg: 'FILE', help: 'and this private key (PEM)' },
      'tls-ca': { type: 'string', arg: 'FILE', help: 'with --tls-cert: the CA certificate clients pin (kept as <dir>/ca.crt)' },
      'tls-san': { type: 'string', multiple: true, arg: 'NAME', help: 'extra subject alternative names for --tls self-signed' },
    },
    load: async () => (await import('./commands/init.ts')).init,
  },
  unseal: {
    summary: 'start the container if needed and take key shares until the server is unsealed',
    usage: 'vault-setup unseal [--dir DIR | --addr URL] [--stdin] [--reset] [--json]',
    options: {
      ...COMMON,
      ...ADDR,
      stdin: { type: 'boolean', help: 'read shares from standard input, one per line (e.g. gpg -d share.asc | ...)' },
      reset: { type: 'boolean', help: 'discard the progress of the current unseal round' },
      wait: { type: 'string', arg: 'DURATION', help: 'how long to wait for the API to answer (default 90s)' },
    },
    load: async () => (await import('./commands/unseal.ts')).unseal,
  },
  status: {
    summary: 'container state, address, initialised, sealed, progress, version',
    usage: 'vault-setup status [--dir DIR | --addr URL] [--json]',
    options: { ...COMMON, ...ADDR },
    load: async () => (await import('./commands/status.ts')).status,
  },
  verify: {
    summary: 'check that the deployment is healthy and safe; one finding and one fix per check',
    usage: 'vault-setup verify [--dir DIR | --addr URL] [options]',
    options: {
      ...COMMON,
      ...ADDR,
      ...TOKEN,
      secrets: { type: 'string', arg: 'FILE', help: 'secrets catalog (YAML) whose paths must exist' },
      app: { type: 'string', arg: 'NAME', help: 'the app whose token is checked (default openclaw)' },
      strict: { type: 'boolean', help: 'warnings fail too (exit 14)' },
      quiet: { type: 'boolean', short: 'q', help: 'print only problems' },
    },
    load: async () => (await import('./commands/verify.ts')).verify,
  },
  agent: {
    summary: 'AppRole credentials for apps and agents: agent add|list|rotate|remove NAME',
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
    load: async () => (await import('./commands/agent.ts')).agent,
  },
  backup: {
    summary: 'save a raft snapshot (0600, atomically, with a SHA-256 checksum beside it)',
    usage: 'vault-setup backup [--out FILE] [--dir DIR | --addr URL] [--json]',
    options: { ...COMMON, ...ADDR, ...TOKEN, out: { type: 'string', arg: 'FILE', help: 'snapshot file (default <dir>/backups/<time>.snap)' } },
    load: async () => (await import('./commands/backup.ts')).backup,
  },
  restore: {
    summary: 'restore a raft snapshot after checking its checksum',
    usage: 'vault-setup restore FILE [--yes] [--dir DIR | --addr URL] [--json]',
    options: { ...COMMON, ...ADDR, ...TOKEN, yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' }, force: { type: 'boolean', help: 'restore a snapshot from another cluster (snapshot-force)' } },
    load: async () => (await import('./commands/restore.ts')).restore,
  },
};

export const HELP = `vault-setup: a production-shaped HashiCorp Vault or OpenBao server in Docker, without the manual playbook.

Usage: vault-setup <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, spec]) => `  ${name.padEnd(10)}${spec.summary}`)
  .join('\n')}

Run \`vault-setup <command> --help\` for its options. Exit codes are listed in the README.
`;

function commandHelp(name: string, spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([flag, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${flag}${o.arg ? ` ${o.arg}` : ''}`;
    return `  ${left.padEnd(34)}${o.help}`;
  });
  return `${spec.usage}\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export async function main(io: Io): Promise<number> {
  const [name, ...rest] = io.argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    io.stdout.write(`${createRequire(import.meta.url)('../package.json').version}\n`);
    return EXIT.ok;
  }
  // hasOwn: "constructor" or "__proto__" typed as a command must not find Object.prototype's members.
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (spec === undefined) {
    io.stderr.write(`vault-setup: unknown command ${quoted(name)}. Run \`vault-setup --help\` for the list.\n`);
    if (rest.includes('--json')) io.stdout.write(`${JSON.stringify({ error: { code: 'E_USAGE', message: `unknown command ${quoted(name)}`, exitCode: EXIT.usage } })}\n`);
    return EXIT.usage;
  }
  let flags: Flags;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }])),
      allowPositionals: true,
      strict: true,
    });
    flags = parsed.values as Flags;
    positionals = parsed.positionals;
  } catch (error) {
    // node's own wording explains `--` at length; the operator needs the option's name and the help.
    const { parseProblem } = await import('./argv.ts');
    return usageProblem(io, name, parseProblem(name, error as Error, spec.options), rest.includes('--json'));
  }
  const stray = (await import('./argv.ts')).strayArgument(name, positionals);
  if (stray !== undefined && flags.help !== true) return usageProblem(io, name, stray, flags.json === true);
  if (flags.help === true) {
    io.stdout.write(commandHelp(name, spec));
    return EXIT.ok;
  }
  const { createContext } = await import('./context.ts');
  const ctx = createContext({
    json: flags.json === true,
    quiet: flags.quiet === true,
    yes: flags.yes === true,
    env: io.env,
    streams: { stdout: io.stdout, stderr: io.stderr },
    stdin: io.stdin,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    const handler = ctx.interrupts.handler;
    if (handler === undefined) {
      // The step's spinner hid the cursor: show it again, then say how to go on. While a task list renders,
      // listr2 holds back writes to process.stderr until it ends, which exit would never let happen: write directly.
      const text = `${io.stderr.isTTY === true ? '\u001b[?25h' : ''}\n${ctx.output.style.red('✖')} vault-setup ${name}: interrupted (${signal}); run the same command to resume\n`;
      if (io.stderr === process.stderr) writeSync(2, text);
      else io.stderr.write(text);
      process.exit(EXIT.interrupted);
    }
    void handler().then((ok) => {
      if (ok) process.exit(EXIT.interrupted);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const handler = await spec.load();
    const result: CommandResult = await handler({ flags, positionals }, ctx);
    ctx.output.result(result.data, result.human);
    return result.exitCode ?? EXIT.ok;
  } catch (error) {
    return reportError(error, name, ctx, io);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reportError(error: unknown, command: string, ctx: { redactor: { redact(t: string): string }; output: { json: boolean; style: { red(t: string): string; dim(t: string): string } } }, io: Io): number {
  const redact = (t: string) => ctx.redactor.redact(t);
  const known = isVaultSetupError(error) ? error : isPromptExit(error) ? new VaultSetupError('E_INTERRUPTED', 'stopped at a prompt (Ctrl-C)', { hint: 're-run the command to resume' }) : undefined;
  if (known === undefined) {
    // A bug: show the stack (redacted) so it can be reported.
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`vault-setup ${command}: internal error: ${redact(text)}\nPlease report this at the project's issue tracker.\n`);
    if (ctx.output.json) io.stdout.write(`${JSON.stringify({ ...resultOf(error), error: { code: 'E_INTERNAL', message: redact(String((error as Error)?.message ?? error)) } })}\n`);
    return EXIT.internal;
  }
  const s = ctx.output.style;
  io.stderr.write(`${s.red('✖')} vault-setup ${command}: ${redact(known.message)}\n`);
  if (known.detail !== undefined) io.stderr.write(`${redact(known.detail)}\n`);
  if (known.hint !== undefined) io.stderr.write(`  ${s.dim('→')} ${redact(known.hint)}\n`);
  if (ctx.output.json) {
    // What the command must still hand over (resultOf) is printed as is: the operator asked for it.
    const body = { ...resultOf(error), error: { code: known.code, message: redact(known.message), ...(known.hint ? { hint: redact(known.hint) } : {}), exitCode: known.exitCode } };
    io.stdout.write(`${JSON.stringify(body)}\n`);
  }
  return known.exitCode;
}

async function usageProblem(io: Io, command: string, problem: { message: string; hint: string }, json: boolean): Promise<number> {
  const { formatProblem } = await import('./argv.ts');
  const shown = { message: oneLine(problem.message), hint: oneLine(problem.hint) };
  io.stderr.write(formatProblem(command, shown, io.stderr, io.env));
  if (json) io.stdout.write(`${JSON.stringify({ error: { code: 'E_USAGE', ...shown, exitCode: EXIT.usage } })}\n`);
  return EXIT.usage;
}

const isPromptExit = (error: unknown): boolean => (error as Error)?.name === 'ExitPromptError' || (error as Error)?.name === 'AbortPromptError';

export { usageError };

// Run when executed directly (bin/vault-setup.js imports dist/cli.js and calls run()).
export async function run(): Promise<void> {
  const code = await main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  process.exitCode = code;
  // Handles (keep-alive agents, docker sockets) must not keep a finished command alive.
  setImmediate(() => process.exit(code)).unref();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
