// Option specs of the commands that keep a deployment running unattended: watch, seal, install-units.
// The summaries are in src/cli.ts's table.
import { ADDR, COMMON, TOKEN, type CommandSpec, type OptionSpec } from '../options/spec.ts';
import { OPERATOR } from '../auth/options.ts';

// The shared options, with a --json that also fits watch --interval (one JSON line per check).
const TARGET: Record<string, OptionSpec> = {
  dir: COMMON.dir as OptionSpec,
  ...ADDR,
  json: { type: 'boolean', help: 'print JSON on stdout; progress is silenced' },
  help: COMMON.help as OptionSpec,
};

export const NOTIFY_OPTIONS: Record<string, OptionSpec> = {
  notify: { type: 'string', multiple: true, arg: 'URL', help: 'POST a JSON message to this webhook on a change of state' },
  ntfy: { type: 'string', arg: 'TOPIC', help: 'send the message to this ntfy topic (token: NTFY_TOKEN in the environment)' },
  'ntfy-server': { type: 'string', arg: 'URL', help: 'ntfy server (default https://ntfy.sh)' },
  telegram: { type: 'string', arg: 'CHAT_ID', help: 'send the message to this Telegram chat' },
  'telegram-token-file': { type: 'string', arg: 'FILE', help: 'the bot token, in a 0600 file (else TELEGRAM_BOT_TOKEN)' },
  'telegram-api': { type: 'string', arg: 'URL', help: 'Telegram Bot API base URL (default https://api.telegram.org)' },
  heartbeat: { type: 'string', arg: 'URL', help: 'GET this dead-man\'s-switch URL on every check without a failure' },
};

export const BACKUP_SCHEDULE_OPTIONS: Record<string, OptionSpec> = {
  keep: { type: 'string', arg: 'N', help: 'keep the newest N snapshots vault-setup made there; remove older ones (with their checksums)' },
  'keep-weekly': { type: 'string', arg: 'W', help: 'with --keep: also keep the newest of each of the last W weeks' },
  'copy-to': { type: 'string', arg: 'TARGET', help: 'copy off-host, checksum verified: a directory, [user@]host:path (ssh) or rclone:remote:path' },
  identity: { type: 'string', arg: 'FILE', help: 'log in as the backup identity (default <dir>/backup-identity.json when no token is given)' },
  'create-identity': { type: 'boolean', help: 'create the backup identity (read on the snapshot only) and its 0600 credential file' },
  drill: { type: 'boolean', help: 'check the newest snapshot (or FILE) offline: checksum, archive, raft metadata, newer than the last' },
};

export const watchSpec: CommandSpec = {
  usage: 'vault-setup watch [--once | --interval DURATION] [--notify URL] [--ntfy TOPIC] [--telegram CHAT_ID] [--heartbeat URL] [options]',
  options: {
    ...TARGET,
    once: { type: 'boolean', help: 'check once (for cron or a systemd timer); the last state is kept in the deployment' },
    interval: { type: 'string', arg: 'DURATION', help: 'check every DURATION until stopped (default 60s)' },
    ...NOTIFY_OPTIONS,
    state: { type: 'string', arg: 'FILE', help: 'keep the last state there (default <dir>/.vault-setup-watch.json)' },
    backups: { type: 'string', arg: 'DIR', help: 'where snapshots are (default <dir>/backups)' },
    'snapshot-max-age': { type: 'string', arg: 'DURATION', help: 'warn when the newest snapshot is older (default 26h)' },
    'cert-days': { type: 'string', arg: 'N', help: 'warn when the certificate expires within N days (default 14)' },
    'no-verify': { type: 'boolean', help: 'leave out verify\'s token-less checks' },
    strict: { type: 'boolean', help: 'warnings fail too (exit 14)' },
  },
};

export const sealSpec: CommandSpec = {
  usage: 'vault-setup seal --reason TEXT [--dir DIR | --addr URL] [--token-file FILE | --operator NAME] [--json]',
  options: {
    ...TARGET,
    reason: { type: 'string', arg: 'TEXT', help: 'why the server is sealed (one line; shown by watch)' },
    ...TOKEN,
    ...OPERATOR,
    state: { type: 'string', arg: 'FILE', help: 'record the reason there (default <dir>/.vault-setup-watch.json)' },
  },
};

export const installUnitsSpec: CommandSpec = {
  usage: 'vault-setup install-units [--dir DIR] [--yes] [--uninstall] [watch and backup flags]',
  options: {
    dir: TARGET.dir as OptionSpec,
    json: TARGET.json as OptionSpec,
    help: TARGET.help as OptionSpec,
    yes: { type: 'boolean', short: 'y', help: 'write (or with --uninstall, remove) the files; without it they are only shown' },
    uninstall: { type: 'boolean', help: 'disable and remove the units (only files vault-setup wrote)' },
    format: { type: 'string', arg: 'systemd|cron', help: 'default: systemd when it is running, else a cron.d file' },
    'unit-dir': { type: 'string', arg: 'DIR', help: 'write there (default /etc/systemd/system or /etc/cron.d)' },
    'run-as': { type: 'string', arg: 'USER', help: 'the user the units run as (default: the current user)' },
    exec: { type: 'string', arg: 'PATH', help: 'the vault-setup the units run (default: this one)' },
    'env-file': { type: 'string', arg: 'FILE', help: 'environment for the units, e.g. TELEGRAM_BOT_TOKEN (default /etc/vault-setup/units.env)' },
    'watch-every': { type: 'string', arg: 'DURATION', help: 'how often watch runs, whole minutes (default 1m)' },
    'backup-at': { type: 'string', arg: 'CALENDAR', help: 'when the backup runs (systemd OnCalendar, default "*-*-* 03:15:00")' },
    keep: BACKUP_SCHEDULE_OPTIONS.keep as OptionSpec,
    'keep-weekly': BACKUP_SCHEDULE_OPTIONS['keep-weekly'] as OptionSpec,
    'copy-to': BACKUP_SCHEDULE_OPTIONS['copy-to'] as OptionSpec,
    ...NOTIFY_OPTIONS,
  },
};
