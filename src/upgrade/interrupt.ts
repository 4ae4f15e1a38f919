// Ctrl-C (SIGINT/SIGTERM) during an upgrade, once the shares are in: the process ends (exit 130) after saying where
// things are: the stage upgrade-state.json records, whether the server runs and on which image, what the copy of
// data/ holds, and the command that resumes. A one-shot still copying is removed by that re-run before it copies.
import type { Context } from '../context.ts';
import { SERVICE } from '../services/templates.ts';
import { DATA_COPY, STATE_FILE, readState } from './host.ts';

export interface UpgradeWhere {
  dir: string;
  name: string;
  resume: string;
}

/** Says where the upgrade stopped on a signal, until the returned function is called. */
export function sayWhereOnInterrupt(ctx: Context, where: UpgradeWhere): () => void {
  const previous = ctx.interrupts.handler;
  let interrupted = false;
  ctx.interrupts.set(async (signal) => {
    if (interrupted) return false; // a second Ctrl-C: the first is already saying where things are
    interrupted = true;
    const lines = await whereItIs(ctx, where, signal).catch((error: Error) => [
      `✖ vault-setup upgrade: interrupted (${signal ?? 'signal'}); where the upgrade stopped could not be read (${error.message})`,
      `  → to resume: ${where.resume}`,
    ]);
    const style = ctx.output.style;
    for (const line of lines) ctx.output.streams.stderr.write(`${line.startsWith('✖') ? `${style.red('✖')}${line.slice(1)}` : line}\n`);
    return true;
  });
  return () => ctx.interrupts.set(previous);
}

async function whereItIs(ctx: Context, where: UpgradeWhere, signal: string | undefined): Promise<string[]> {
  const state = await readState(where.dir);
  const container = await ctx.docker.findService(where.name, SERVICE).catch(() => undefined);
  const lines = [`✖ vault-setup upgrade: interrupted (${signal ?? 'signal'}); last stage recorded: ${state?.stage ?? 'none, nothing was changed'}${state === undefined ? '' : ` (${STATE_FILE})`}.`];
  if (container?.state === 'running') {
    lines.push(`  The server (${where.name}) is running ${container.image}${state === undefined || state.stage === 'snapshot' ? '' : ', sealed until the shares are entered'}.`);
  } else lines.push(`  The server (${where.name}) is ${container === undefined ? 'not there' : 'stopped'}: apps get nothing until it runs again.`);
  if (state !== undefined && ['copied', 'switched', 'unsealed'].includes(state.stage)) lines.push(`  ${DATA_COPY}/ holds data/ as ${state.from.image} left it; the snapshot from before: ${state.snapshot ?? 'in backups/'}.`);
  lines.push(`  → to resume: ${where.resume}`);
  return lines;
}
