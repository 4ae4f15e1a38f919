// The files `install-units` writes, as plain logic: systemd services and timers (watch every minute, a daily
// backup with retention, the off-host copy and a drill), or a cron.d file where systemd is not running. They hold
// paths and flags only: a Telegram bot token stays in its 0600 file (or the unit's EnvironmentFile), never here.
export const MARKER = '# Written by vault-setup install-units. Edit the flags with `vault-setup install-units --yes`.';

export interface UnitsPlan {
  /** The files' common prefix, one per deployment: `vault-setup-<name>` (several deployments on one host). */
  base: string;
  /** The vault-setup command: [node, cli script] or [/usr/local/bin/vault-setup]. */
  exec: string[];
  dir: string;
  user: string;
  watchEvery: string;
  backupAt: string;
  watchArgs: string[];
  backupArgs: string[];
  envFile: string;
}

export interface UnitFile {
  name: string;
  content: string;
}

/** One word of an ExecStart line: systemd's quoting, with % and $ doubled so specifiers never expand. */
export function systemdWord(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const execLine = (plan: UnitsPlan, args: string[]): string => [...plan.exec, ...args].map(systemdWord).join(' ');

export function systemdUnits(plan: UnitsPlan): UnitFile[] {
  const hardening = [
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    `ReadWritePaths=${systemdWord(plan.dir)}`,
    'UMask=0077',
  ];
  const service = (description: string, lines: string[]) =>
    [MARKER, '[Unit]', `Description=${description}`, 'Wants=network-online.target', 'After=network-online.target docker.service', '', '[Service]', 'Type=oneshot', `User=${plan.user}`, `EnvironmentFile=-${plan.envFile}`, ...lines, ...hardening, ''].join('\n');
  const timer = (description: string, lines: string[]) => [MARKER, '[Unit]', `Description=${description}`, '', '[Timer]', ...lines, '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
  return [
    {
      name: `${plan.base}-watch.service`,
      content: service(`vault-setup watch: notify when the server in ${plan.dir} changes state`, [
        `ExecStart=${execLine(plan, ['watch', '--once', '--dir', plan.dir, ...plan.watchArgs])}`,
        // 13 and 14 are watch's report of a bad state (already notified), not a failure of the unit.
        'SuccessExitStatus=13 14',
        'TimeoutStartSec=2min',
      ]),
    },
    { name: `${plan.base}-watch.timer`, content: timer('vault-setup watch, on a schedule', ['OnBootSec=2min', `OnUnitActiveSec=${plan.watchEvery}`, 'AccuracySec=10s']) },
    {
      name: `${plan.base}-backup.service`,
      content: service(`vault-setup backup: a raft snapshot of the server in ${plan.dir}`, [
        `ExecStart=${execLine(plan, ['backup', '--dir', plan.dir, ...plan.backupArgs])}`,
        `ExecStartPost=${execLine(plan, ['backup', '--drill', '--dir', plan.dir])}`,
        'TimeoutStartSec=1h',
      ]),
    },
    { name: `${plan.base}-backup.timer`, content: timer('vault-setup backup, daily', [`OnCalendar=${plan.backupAt}`, 'Persistent=true', 'RandomizedDelaySec=10min']) },
  ];
}

/** A cron.d file (with the user column) for hosts without systemd; % is special to cron and escaped. */
export function cronFile(plan: UnitsPlan, watchMinutes: number, backupMinute: number, backupHour: number): UnitFile {
  const sh = (args: string[]) => [...plan.exec, ...args].map(shellWord).join(' ').replace(/%/g, '\\%');
  const env = `if [ -r ${shellWord(plan.envFile)} ]; then set -a; . ${shellWord(plan.envFile)}; set +a; fi;`;
  const lines = [
    MARKER,
    'SHELL=/bin/sh',
    `${watchMinutes < 60 ? `*/${watchMinutes} *` : '0 *'} * * * ${plan.user} ${env} ${sh(['watch', '--once', '--dir', plan.dir, ...plan.watchArgs])} >/dev/null 2>&1`,
    `${backupMinute} ${backupHour} * * * ${plan.user} ${env} ${sh(['backup', '--dir', plan.dir, ...plan.backupArgs])} && ${sh(['backup', '--drill', '--dir', plan.dir])}`,
    '',
  ];
  return { name: plan.base, content: lines.join('\n') };
}

/** The files' prefix for a deployment: its name, in the characters unit and cron.d file names allow. */
export const unitBase = (name: string): string => `vault-setup-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** The files a deployment's installation consists of, by format. */
export const unitNames = (base: string, format: 'systemd' | 'cron'): string[] =>
  format === 'systemd' ? [`${base}-watch.service`, `${base}-watch.timer`, `${base}-backup.service`, `${base}-backup.timer`] : [base];

export const shellWord = (s: string): string => (/^[\w@+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
