// Ctrl-C (SIGINT/SIGTERM) during an upgrade, once the shares are in: the process ends (exit 130) after saying where
// things are: the stage upgrade-state.json records, whether the server runs and on which image, what the copy of
// data/ holds, and the command that resumes. Said from what the run knows in memory, at once: nothing after the
// signal gets to run first. A one-shot still copying is removed by the re-run before it copies.
import type { Context } from '../context.ts';
import { DATA_COPY, STATE_FILE, type UpgradeState } from './host.ts';

export interface UpgradeWhere {
  name: string;
  resume: string;
  /** The state as last recorded (undefined: nothing recorded yet). */
  state: () => UpgradeState | undefined;
}

/** Says where the upgrade stopped on a signal, until the returned function is called. */
export function sayWhereOnInterrupt(ctx: Context, where: UpgradeWhere): () => void {
  const previous = ctx.interrupts.handler;
  let interrupted = false;
  ctx.interrupts.set(async (signal) => {
    if (interrupted) return false; // a second Ctrl-C: the first is already saying where things are
    interrupted = true;
    const style = ctx.output.style;
    for (const line of whereItIs(where, signal)) ctx.output.streams.stderr.write(`${line.startsWith('✖') ? `${style.red('✖')}${line.slice(1)}` : line}\n`);
    return true;
  });
  return () => ctx.interrupts.set(previous);
}

export function whereItIs(where: UpgradeWhere, signal: string | undefined): string[] {
  const state = where.state();
  const stage = state?.stage;
  const lines = [`✖ vault-setup upgrade: interrupted (${signal ?? 'signal'}); last stage recorded: ${stage ?? 'none, nothing was changed'}${state === undefined ? '' : ` (${STATE_FILE})`}.`];
  if (state === undefined || stage === 'snapshot') lines.push(`  The server (${where.name}) is running${state === undefined ? '' : ` ${state.from.image}`}, as before.`);
  else if (stage === 'stopped' || stage === 'copied') lines.push(`  The server (${where.name}) is stopped: apps get nothing until it runs again.`);
  else lines.push(`  The server (${where.name}) runs ${state.to.image}${stage === 'switched' ? ', sealed until the shares are entered' : ''}.`);
  if (state !== undefined && stage !== 'snapshot' && stage !== 'stopped') lines.push(`  ${DATA_COPY}/ holds data/ as ${state.from.image} left it; the snapshot from before: ${state.snapshot ?? 'in backups/'}.`);
  lines.push(`  → to resume: ${where.resume}`);
  return lines;
}
