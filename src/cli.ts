// The thin entry: parses argv, runs one command, writes its result, picks the exit code. Nothing else.
// Commands are loaded lazily so `vault-setup --help` starts fast.
import { writeSync } from 'node:fs';
import { EXIT, VaultSetupError, errorReport, isVaultSetupError, oneLine, quoted, resultOf, usageError, withResult } from './errors.ts';
import { isPromptExit } from './services/prompter.ts';
import type { CommandHandler, CommandResult } from './invocation.ts';
import type { ContextOverrides } from './context.ts';
import { type CommandSpec, type Parsed, commandHelp, parseInvocation } from './options/spec.ts';

interface CommandEntry {
  summary: string;
  /** The option spec beside the command, loaded only when the command runs. */
  spec: () => Promise<CommandSpec>;
  load: () => Promise<CommandHandler>;
}

// The summaries live here, so `vault-setup --help` loads no command module; each command's options are beside it.
const COMMANDS: Record<string, CommandEntry> = {
  init: { summary: 'deploy, initialise, unseal and configure a server (resumes where it stopped)', spec: async () => (await import('./commands/init.options.ts')).spec, load: async () => (await import('./commands/init.ts')).init },
  unseal: { summary: 'start the container if needed and take key shares until the server is unsealed', spec: async () => (await import('./commands/unseal.options.ts')).spec, load: async () => (await import('./commands/unseal.ts')).unseal },
  status: { summary: 'container state, address, initialised, sealed, progress, version', spec: async () => (await import('./commands/status.options.ts')).spec, load: async () => (await import('./commands/status.ts')).status },
  verify: { summary: 'check that the deployment is healthy and safe; one finding and one fix per check', spec: async () => (await import('./commands/verify.options.ts')).spec, load: async () => (await import('./commands/verify.ts')).verify },
  agent: { summary: 'AppRole credentials for apps and agents: agent add|list|rotate|remove NAME', spec: async () => (await import('./commands/agent.options.ts')).spec, load: async () => (await import('./commands/agent.ts')).agent },
  backup: { summary: 'save a raft snapshot (0600, atomically, with a SHA-256 checksum beside it)', spec: async () => (await import('./commands/backup.options.ts')).spec, load: async () => (await import('./commands/backup.ts')).backup },
  restore: { summary: 'restore a raft snapshot after checking its checksum', spec: async () => (await import('./commands/restore.options.ts')).spec, load: async () => (await import('./commands/restore.ts')).restore },
  secret: { summary: 'KV secrets under secret/: secret put PATH FIELD... | secret list [PATH] | secret get PATH [--field F]', spec: async () => (await import('./commands/secret.options.ts')).spec, load: async () => (await import('./commands/secret.ts')).secret },
  operator: { summary: 'operator logins (daily work, no root): operator add NAME | operator remove NAME | operator passwd', spec: async () => (await import('./commands/operator.options.ts')).spec, load: async () => (await import('./commands/operator.ts')).operator },
  'generate-root': { summary: 'break-glass: a threshold of share holders make a new root token, shown once', spec: async () => (await import('./commands/generate-root.options.ts')).spec, load: async () => (await import('./commands/generate-root.ts')).generateRootCommand },
  watch: { summary: 'check the server on an interval or once, and notify on a change of state (holds no key)', spec: async () => (await import('./commands/operations.spec.ts')).watchSpec, load: async () => (await import('./commands/watch.ts')).watch },
  seal: { summary: 'seal the server on purpose and record why (watch reports it as deliberate)', spec: async () => (await import('./commands/operations.spec.ts')).sealSpec, load: async () => (await import('./commands/seal.ts')).seal },
  upgrade: { summary: 'move the deployment to a newer server image: snapshot, data copy, unseal; rolls back on failure', spec: async () => (await import('./commands/upgrade.options.ts')).spec, load: async () => (await import('./commands/upgrade.ts')).upgrade },
  migrate: { summary: 'move file storage to raft offline (operator migrate), every key read back, then the first snapshot', spec: async () => (await import('./commands/migrate.options.ts')).spec, load: async () => (await import('./commands/migrate.ts')).migrate },
  adopt: { summary: 'take over a hand-made playbook deployment: report, hardened files, raft, scoped token, root revoked', spec: async () => (await import('./commands/adopt.options.ts')).spec, load: async () => (await import('./commands/adopt.ts')).adopt },
  rekey: { summary: 'new unseal shares under the current holders\' quorum; the old ones stay valid until the new are typed back', spec: async () => (await import('./commands/rekey.options.ts')).spec, load: async () => (await import('./commands/rekey.ts')).rekey },
  join: { summary: 'deploy a node on this host and join it to an existing cluster (its certificate signed by the cluster)', spec: async () => (await import('./commands/join.options.ts')).spec, load: async () => (await import('./commands/join.ts')).join },
  cluster: { summary: 'the raft cluster: cluster status (nodes, leader, failure tolerance) | cluster remove NODE | cluster reissue | cluster convert (a single node becomes the first node of a cluster)', spec: async () => (await import('./commands/cluster.options.ts')).spec, load: async () => (await import('./commands/cluster.ts')).cluster },
  'install-units': { summary: 'systemd units and timers (or a cron file) that run watch and a daily backup; shown, written with --yes', spec: async () => (await import('./commands/operations.spec.ts')).installUnitsSpec, load: async () => (await import('./commands/install-units.ts')).installUnits },
};

export const HELP = `vault-setup: a production-shaped HashiCorp Vault or OpenBao server in Docker, without the manual playbook.

Usage: vault-setup <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, spec]) => `  ${name.padEnd(15)}${spec.summary}`)
  .join('\n')}

Run \`vault-setup <command> --help\` for its options; docs/commands/ has each command's page. Exit codes: README: "Exit codes".
`;

export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Services to use instead of the real ones (an in-process caller's scripted prompter, say). */
  overrides?: ContextOverrides;
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
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    const { closestOption } = await import('./argv.ts');
    const known = Object.keys(COMMANDS);
    const command = name.startsWith('-') ? rest.find((word) => Object.hasOwn(COMMANDS, word)) : undefined;
    const closest = name.startsWith('-') ? undefined : closestOption(name, known);
    const hint = command !== undefined
      ? `the command comes first: vault-setup ${command} ${name}`
      : closest !== undefined
        ? `did you mean \`vault-setup ${closest}\`? (\`vault-setup --help\` lists the commands)`
        : 'run `vault-setup --help` for the list of commands';
    const error = usageError(`unknown command ${quoted(name)}`, hint);
    io.stderr.write(`✖ vault-setup: ${error.message}\n  → ${hint}\n`);
    if (rest.includes('--json') || name === '--json') io.stdout.write(`${JSON.stringify(errorReport(error))}\n`);
    return EXIT.usage;
  }
  const spec = await entry.spec();
  let parsed: Parsed;
  try {
    parsed = parseInvocation(spec, rest);
  } catch (error) {
    // node's own wording explains `--` at length; the operator needs the option's name and the help.
    const { parseProblem } = await import('./argv.ts');
    return usageProblem(io, name, parseProblem(name, error as Error, spec.options), rest.includes('--json'));
  }
  const { flags, positionals } = parsed;
  const stray = (await import('./argv.ts')).strayArgument(name, positionals);
  if (stray !== undefined && flags.help !== true) return usageProblem(io, name, stray, flags.json === true);
  if (flags.help === true) {
    io.stdout.write(commandHelp(entry.summary, spec));
    return EXIT.ok;
  }
  for (const warning of parsed.warnings) io.stderr.write(`vault-setup ${name}: ${warning}.\n`);
  const { createContext } = await import('./context.ts');
  const ctx = createContext({
    json: flags.json === true,
    quiet: flags.quiet === true,
    yes: flags.yes === true,
    env: io.env,
    streams: { stdout: io.stdout, stderr: io.stderr },
    stdin: io.stdin,
  }, io.overrides);
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
    void handler(signal).then((ok) => {
      if (ok) process.exit(EXIT.interrupted);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Every command that takes --addr: plain http only to loopback unless the operator vouches for the link.
    if (typeof flags.addr === 'string') (await import('./services/addr-policy.ts')).checkAddr(flags.addr, flags['insecure-http'] === true);
    const handler = await entry.load();
    const result: CommandResult = await handler({ flags, positionals }, ctx);
    ctx.output.result(result.data, result.human, { toStderr: result.humanToStderr === true });
    return result.exitCode ?? EXIT.ok;
  } catch (error) {
    return reportError(error, name, ctx, io);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reportError(error: unknown, command: string, ctx: { redactor: { redact(t: string): string }; output: { json: boolean; style: { red(t: string): string; cyan(t: string): string; dim(t: string): string } } }, io: Io): number {
  const redact = (t: string) => ctx.redactor.redact(t);
  const known = isVaultSetupError(error) ? error : isPromptExit(error) ? new VaultSetupError('E_INTERRUPTED', 'stopped at a prompt (Ctrl-C)', { hint: 're-run the command to resume' }) : undefined;
  if (known === undefined) {
    // A bug: show the stack (redacted) so it can be reported.
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`vault-setup ${command}: internal error: ${redact(text)}\nPlease report this at the project's issue tracker.\n`);
    if (ctx.output.json) io.stdout.write(`${JSON.stringify(errorReport(error, redact))}\n`);
    return EXIT.internal;
  }
  const s = ctx.output.style;
  io.stderr.write(`${known.notice ? s.cyan('ℹ') : s.red('✖')} vault-setup ${command}: ${redact(known.message)}\n`);
  if (known.detail !== undefined) io.stderr.write(`${redact(known.detail)}\n`);
  if (known.hint !== undefined) io.stderr.write(`  ${s.dim('→')} ${redact(known.hint)}\n`);
  if (ctx.output.json) io.stdout.write(`${JSON.stringify(errorReport(known === error ? known : withResult(known, resultOf(error) ?? {}), redact))}\n`);
  return known.exitCode;
}

async function usageProblem(io: Io, command: string, problem: { message: string; hint: string }, json: boolean): Promise<number> {
  const { formatProblem } = await import('./argv.ts');
  const shown = { message: oneLine(problem.message), hint: oneLine(problem.hint) };
  io.stderr.write(formatProblem(command, shown, io.stderr, io.env));
  if (json) io.stdout.write(`${JSON.stringify(errorReport(usageError(shown.message, shown.hint)))}\n`);
  return EXIT.usage;
}

export { usageError };

// Run when executed directly (bin/vault-setup.js imports dist/cli.js and calls run()).
export async function run(): Promise<void> {
  const code = await main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  process.exitCode = code;
  // Handles (keep-alive agents, docker sockets) must not keep a finished command alive.
  setImmediate(() => process.exit(code)).unref();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
