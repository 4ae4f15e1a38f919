// `vault-setup install-units`: the files that make watch and backups run by themselves. Shown, and written only
// with --yes; --uninstall removes them. systemd where it runs (services and timers), else a cron.d file.
// Only files vault-setup wrote are replaced or removed (they start with its marker line).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.ts';
import { defaultDir, loadDeployment } from '../deployment.ts';
import { VaultSetupError, quoted, usageError } from '../errors.ts';
import { parseDuration } from '../services/wait.ts';
import { writeAtomic } from '../services/files.ts';
import { IDENTITY_FILE } from '../backup/identity.ts';
import { MARKER, type UnitFile, type UnitsPlan, cronFile, systemdUnits, unitBase, unitNames } from '../units/render.ts';
import { bool, int, str } from '../options/flags.ts';
import type { CommandResult, Flags, Invocation } from '../invocation.ts';

const timers = (base: string): string[] => [`${base}-watch.timer`, `${base}-backup.timer`];
/** Watch flags that are passed through to the unit as given (none of them carries a secret). */
const WATCH_PASS = ['notify', 'ntfy', 'ntfy-server', 'telegram', 'telegram-token-file', 'telegram-api', 'heartbeat'];

export async function installUnits({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
  const format = str(flags, 'format') ?? ((await isDir('/run/systemd/system')) ? 'systemd' : 'cron');
  if (format !== 'systemd' && format !== 'cron') throw usageError(`--format must be systemd or cron, got ${quoted(format)}`);
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const targetDir = path.resolve(str(flags, 'unit-dir') ?? (format === 'systemd' ? '/etc/systemd/system' : '/etc/cron.d'));
  const system = str(flags, 'unit-dir') === undefined;

  const deployment = await loadDeployment(dir);
  if (deployment === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`, { hint: 'pass --dir where `vault-setup init` wrote docker-compose.yml' });
  }
  // Named after the deployment: a second deployment on the host gets its own units, never the first one's.
  const base = unitBase(deployment.name);
  if (bool(flags, 'uninstall')) return uninstall(ctx, format, targetDir, system, bool(flags, 'yes'), base);

  const plan = planOf(flags, ctx, dir, base);
  if (!WATCH_PASS.some((f) => f !== 'heartbeat' && flags[f] !== undefined)) {
    ctx.output.warn('Note: no notification channel (--notify, --ntfy or --telegram): watch will check every minute and only log what it finds.');
  }
  const files: UnitFile[] = format === 'systemd' ? systemdUnits(plan) : [cronFile(plan, Number.parseInt(plan.watchEvery, 10), 15, 3)];
  const shown = files.map((f) => ({ path: path.join(targetDir, f.name), content: f.content }));
  if (!(await fs.lstat(path.join(dir, IDENTITY_FILE)).then(() => true, () => false))) {
    ctx.output.warn(`Note: ${path.join(dir, IDENTITY_FILE)} does not exist yet: the backup unit has no token until you run \`vault-setup backup --create-identity --dir ${dir}\` (with a privileged token).`);
  }
  if (!bool(flags, 'yes')) {
    const human = [...shown.map((f) => `# ${f.path}\n${f.content}`), `Nothing was written: re-run with --yes to install ${format === 'systemd' ? `these units and enable ${timers(base).join(' and ')}` : 'this cron file'}.`];
    return { data: { format, installed: false, files: shown }, human: human.join('\n') };
  }
  await fs.mkdir(targetDir, { recursive: true });
  for (const f of shown) {
    const existing = await fs.readFile(f.path, 'utf8').catch(() => undefined);
    if (existing !== undefined && !existing.startsWith(MARKER)) {
      throw new VaultSetupError('E_FILE_CONFLICT', `${f.path} exists and was not written by vault-setup`, { hint: 'move it away, or pass --unit-dir DIR to write the units elsewhere' });
    }
  }
  for (const f of shown) await writeAtomic(f.path, f.content, { mode: 0o644 });
  const enabled: string[] = [];
  if (format === 'systemd' && system && (await isDir('/run/systemd/system'))) {
    await run('systemctl', ['daemon-reload']);
    await run('systemctl', ['enable', '--now', ...timers(base)]);
    enabled.push(...timers(base));
  }
  const next = format === 'systemd' ? (enabled.length > 0 ? `enabled ${enabled.join(', ')}; see them with: systemctl list-timers '${base}-*'` : `written to ${targetDir}; enable with: systemctl daemon-reload && systemctl enable --now ${timers(base).join(' ')}`) : 'cron reads it within a minute';
  return { data: { format, installed: true, files: shown, enabled }, human: [...shown.map((f) => `Wrote ${f.path}`), `Next: ${next}`].join('\n') };
}

function planOf(flags: Flags, ctx: Context, dir: string, base: string): UnitsPlan {
  const execFlag = str(flags, 'exec');
  // The command that runs now is the one the units run, unless told otherwise.
  const exec = execFlag !== undefined ? [path.resolve(execFlag)] : [process.execPath, path.resolve(process.argv[1] ?? 'vault-setup')];
  let everyMs: number;
  try {
    everyMs = parseDuration((str(flags, 'watch-every') ?? '1m').replace(/min$/, 'm'));
    if (everyMs < 60_000) throw new RangeError('must be at least 1m');
  } catch (error) {
    throw usageError(`--watch-every: ${(error as Error).message}`, 'e.g. 1m, 5m');
  }
  const backupAt = str(flags, 'backup-at') ?? '*-*-* 03:15:00';
  if (!/^[\w*:, .\/-]+$/.test(backupAt)) throw usageError(`--backup-at must be a systemd calendar expression, got ${quoted(backupAt)}`, 'e.g. "*-*-* 03:15:00" or daily');
  const watchArgs: string[] = [];
  for (const name of WATCH_PASS) {
    const v = flags[name];
    // --name=value: a value that starts with "-" (a Telegram chat id) must not read as an option.
    for (const value of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) watchArgs.push(`--${name}=${name === 'telegram-token-file' ? path.resolve(value) : value}`);
  }
  const backupArgs = ['--keep', String(int(flags, 'keep', 7, { min: 1, max: 100_000 })), '--keep-weekly', String(int(flags, 'keep-weekly', 8, { min: 0, max: 10_000 }))];
  const copy = str(flags, 'copy-to');
  if (copy !== undefined) backupArgs.push(`--copy-to=${copy}`);
  const user = str(flags, 'run-as') ?? os.userInfo().username;
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(user)) throw usageError(`--run-as must be a user name, got ${quoted(user)}`);
  return { base, exec, dir, user, watchEvery: `${Math.round(everyMs / 60_000)}min`, backupAt, watchArgs, backupArgs, envFile: str(flags, 'env-file') ?? '/etc/vault-setup/units.env' };
}

async function uninstall(ctx: Context, format: 'systemd' | 'cron', targetDir: string, system: boolean, yes: boolean, base: string): Promise<CommandResult> {
  const names = unitNames(base, format);
  const ours: string[] = [];
  for (const name of names) {
    const file = path.join(targetDir, name);
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    if (!text.startsWith(MARKER)) ctx.output.warn(`${file} was not written by vault-setup: left alone`);
    else ours.push(file);
  }
  if (!yes) return { data: { format, removed: [], would_remove: ours }, human: ours.length ? `Would remove:\n${ours.join('\n')}\nRe-run with --yes to remove them.` : 'Nothing of vault-setup\'s is installed there.' };
  if (format === 'systemd' && system && ours.length > 0 && (await isDir('/run/systemd/system'))) await run('systemctl', ['disable', '--now', ...timers(base)]).catch(() => undefined);
  for (const file of ours) await fs.rm(file, { force: true });
  if (format === 'systemd' && system && ours.length > 0 && (await isDir('/run/systemd/system'))) await run('systemctl', ['daemon-reload']);
  return { data: { format, removed: ours }, human: ours.length ? `Removed:\n${ours.join('\n')}` : 'Nothing of vault-setup\'s was installed there.' };
}

const isDir = (p: string): Promise<boolean> => fs.stat(p).then((s) => s.isDirectory(), () => false);

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (error, _stdout, stderr) =>
      error === null ? resolve() : reject(new VaultSetupError('E_USAGE', `${cmd} ${args.join(' ')} failed: ${stderr.trim().split('\n').pop() ?? ''}`, { hint: 'install-units needs root to write system units; or pass --unit-dir DIR' })),
    ),
  );
}
