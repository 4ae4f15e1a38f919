// `vault-setup watch`: looks at a deployment without holding a share or a privileged token, and tells someone when
// its state changes (sealed after a reboot, unreachable, a certificate or the backups getting old, verify's
// token-less failures). Never unseals. `--once` for cron or a systemd timer (the last state is kept in the
// deployment directory), `--interval` to keep watching. Exit codes as verify's: 0, 13 on a failure, 14 with --strict.
import path from 'node:path';
import type { Context } from '../context.ts';
import { type DeploymentRecord, loadDeployment } from '../deployment.ts';
import { EXIT, usageError } from '../errors.ts';
import { type Assessment, type NotifyKind, assess, decide, delivered, isDeliberate } from '../watch/assess.ts';
import { type Channel, channels, checkUrl, deliver, heartbeat, message, telegramToken } from '../watch/notify.ts';
import { type Observation, observe } from '../watch/observe.ts';
import { type WatchFile, stateFileIn, updateWatchFile, readWatchFile } from '../watch/state-file.ts';
import { bool, duration, int, str } from '../options/flags.ts';
import { resolveTarget } from '../services/target.ts';
import type { CommandResult, Flags, Invocation } from '../invocation.ts';

export interface WatchPlan {
  once: boolean;
  intervalMs: number;
  strict: boolean;
  stateFile: string | undefined;
  backupsDir: string | undefined;
  certDays: number;
  snapshotMaxAgeMs: number;
  verify: boolean;
  notify: Channel[];
  heartbeat: Channel | undefined;
}

export async function watch({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'see vault-setup watch --help');
  const target = await resolveTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const deployment: DeploymentRecord | undefined = target.dir === undefined ? undefined : await loadDeployment(target.dir).catch(() => undefined);
  const plan = await planOf(flags, ctx, target.dir);
  const addr = str(flags, 'addr');
  const dirArg = addr !== undefined ? ` --addr ${shellQuote(addr)}` : str(flags, 'dir') === undefined ? '' : ` --dir ${shellQuote(target.dir ?? (str(flags, 'dir') as string))}`;
  const watchTarget = { dir: target.dir, deployment, name: target.name, address: target.address, caCert: target.caCert, backupsDir: plan.backupsDir, clusterAdvertise: target.record?.cluster?.advertise, app: target.record?.app ?? undefined };
  const { CHECK_GROUPS } = await import('../verify/groups.ts');
  const groups = plan.verify ? CHECK_GROUPS : [];

  let memory: WatchFile = {};
  const check = async (): Promise<Line> => {
    const doc = plan.stateFile === undefined ? memory : await readWatchFile(plan.stateFile);
    const observation = await observe(ctx, watchTarget, groups);
    const assessment = assess(observation, { dirArg, certDays: plan.certDays, snapshotMaxAgeMs: plan.snapshotMaxAgeMs, seal: doc.seal });
    const now = observation.at;
    const decision = decide(doc.watch, assessment, now);
    // With no channel nothing is sent, and nothing is remembered as sent: a channel added later still gets it.
    const notify = plan.notify.length === 0 ? undefined : decision.notify;
    let record = decision.record;
    let deliveries: { channel: string; ok: boolean; error?: string }[] = [];
    if (notify !== undefined) {
      const m = message(assessment, { host: observation.host, address: observation.address, kind: notify, previous: decision.previous, since: decision.since, now });
      deliveries = (await deliver(plan.notify, m)).map((d) => (d.error === undefined ? d : { ...d, error: ctx.redactor.redact(d.error) }));
      // Delivered when a channel took it; otherwise the next check tries again.
      if (deliveries.some((d) => d.ok)) record = delivered(record, now);
      for (const d of deliveries.filter((x) => !x.ok)) ctx.output.warn(`watch: ${d.error}`);
    }
    let beat: { ok: boolean; error?: string } | undefined;
    if (plan.heartbeat !== undefined && assessment.level !== 'fail') {
      beat = (await deliver([plan.heartbeat], message(assessment, { host: observation.host, address: observation.address, kind: 'change', previous: undefined, since: decision.since, now })))[0];
      if (beat !== undefined && !beat.ok) ctx.output.warn(`watch: ${beat.error}`);
    }
    // A deliberate seal ends when the server serves again, or when a restart sealed it anew.
    const sealOver = doc.seal !== undefined && observation.reachable && (observation.sealed === false || !isDeliberate(doc.seal, observation));
    const next: WatchFile = { ...doc, watch: record, seal: sealOver ? undefined : doc.seal };
    if (plan.stateFile === undefined) memory = next;
    else await updateWatchFile(plan.stateFile, (current) => ({ ...current, watch: record, seal: sealOver ? undefined : current.seal }));
    return lineOf(observation, assessment, decision.since, notify, deliveries, beat);
  };

  if (plan.once) {
    const line = await check();
    const exitCode = line.level === 'fail' ? EXIT.verifyFailed : line.level === 'warn' && plan.strict ? EXIT.verifyWarnings : EXIT.ok;
    return { data: line, human: humanLine(line), exitCode };
  }
  ctx.output.info(`Watching ${target.address} every ${Math.round(plan.intervalMs / 1000)} s (Ctrl-C to stop).`);
  for (;;) {
    const line = await check();
    ctx.output.streams.stdout.write(`${ctx.redactor.redact(ctx.output.json ? JSON.stringify(line) : humanLine(line))}\n`);
    await ctx.clock.sleep(plan.intervalMs);
  }
}

interface Line {
  at: string;
  host: string;
  address: string;
  state: string;
  level: string;
  role: string | null;
  since: string;
  summary: string;
  fix: string;
  problems: Assessment['problems'];
  notified: NotifyKind | null;
  deliveries: { channel: string; ok: boolean; error?: string }[];
  heartbeat: { ok: boolean; error?: string } | null;
}

function lineOf(o: Observation, a: Assessment, since: string, notified: NotifyKind | undefined, deliveries: Line['deliveries'], beat: Line['heartbeat'] | undefined): Line {
  return { at: new Date(o.at).toISOString(), host: o.host, address: o.address, state: a.state, level: a.level, role: a.role ?? null, since, summary: a.summary, fix: a.fix, problems: a.problems, notified: notified ?? null, deliveries, heartbeat: beat ?? null };
}

const humanLine = (l: Line): string =>
  `${l.at} ${l.host} ${l.state}: ${l.summary}${l.fix ? ` | fix: ${l.fix}` : ''}${l.notified ? ` | notified (${l.notified}): ${l.deliveries.map((d) => `${d.channel} ${d.ok ? 'ok' : 'FAILED'}`).join(', ') || 'no channel'}` : ''}`;

async function planOf(flags: Flags, ctx: Context, dir: string | undefined): Promise<WatchPlan> {
  const once = bool(flags, 'once');
  if (once && str(flags, 'interval') !== undefined) throw usageError('--once and --interval exclude each other', 'use --once from cron or a timer, --interval to keep running');
  const stateFlag = str(flags, 'state');
  const stateFile = stateFlag !== undefined ? path.resolve(stateFlag) : dir !== undefined ? stateFileIn(dir) : undefined;
  if (once && stateFile === undefined) throw usageError('--once needs somewhere to keep the last state', 'pass --dir DIR (the deployment) or --state FILE');
  const backups = str(flags, 'backups');
  const notify = (Array.isArray(flags.notify) ? flags.notify : typeof flags.notify === 'string' ? [flags.notify] : []).map((u) => checkUrl('notify', u));
  const ntfyTopic = str(flags, 'ntfy');
  if (ntfyTopic !== undefined && !/^[\w-]{1,64}$/.test(ntfyTopic)) throw usageError('--ntfy takes a topic name (letters, digits, - and _)', 'e.g. --ntfy my-vault-alerts; a self-hosted server goes in --ntfy-server URL');
  const chatId = str(flags, 'telegram');
  if (chatId === undefined && (str(flags, 'telegram-token-file') !== undefined || str(flags, 'telegram-api') !== undefined)) throw usageError('--telegram-token-file and --telegram-api need --telegram CHAT_ID');
  if (chatId !== undefined && !/^(-?\d+|@\w{5,})$/.test(chatId)) throw usageError('--telegram takes the chat id (a number, or @channelname)');
  const botToken = chatId === undefined ? undefined : await telegramToken(str(flags, 'telegram-token-file'), ctx.env, ctx.redactor);
  const ntfyToken = ctx.env.NTFY_TOKEN?.trim() || undefined;
  if (ntfyToken) ctx.redactor.add(ntfyToken);
  const beat = str(flags, 'heartbeat');
  return {
    once,
    intervalMs: duration(flags, 'interval', '60s'),
    strict: bool(flags, 'strict'),
    stateFile,
    backupsDir: backups !== undefined ? path.resolve(backups) : dir !== undefined ? path.join(dir, 'backups') : undefined,
    certDays: int(flags, 'cert-days', 14, { min: 1, max: 365 }),
    snapshotMaxAgeMs: duration(flags, 'snapshot-max-age', '26h'),
    verify: !bool(flags, 'no-verify'),
    notify: channels({
      notify,
      ntfy: ntfyTopic === undefined ? undefined : { server: checkUrl('ntfy-server', str(flags, 'ntfy-server') ?? 'https://ntfy.sh'), topic: ntfyTopic, token: ntfyToken },
      telegram: chatId === undefined || botToken === undefined ? undefined : { api: checkUrl('telegram-api', str(flags, 'telegram-api') ?? 'https://api.telegram.org'), chatId, botToken },
    }),
    heartbeat: beat === undefined ? undefined : heartbeat(checkUrl('heartbeat', beat)),
  };
}

export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
