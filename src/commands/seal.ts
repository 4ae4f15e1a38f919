// `vault-setup seal --reason TEXT`: seals the server on purpose (an incident, a suspected compromise) and records
// why in the deployment directory, so `watch` reports a deliberate seal instead of raising an incident. The
// record is written before the seal and removed again when the server refuses, so it never claims a seal that
// did not happen. It holds the reason and the time, no secret.
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.ts';
import { VaultSetupError, oneLine, usageError } from '../errors.ts';
import { needs } from '../agents/capabilities.ts';
import { readWatchFile, stateFileIn, updateWatchFile } from '../watch/state-file.ts';
import { bool, str } from '../options/flags.ts';
import { signIn } from '../auth/sign-in.ts';
import { openTarget } from '../services/target.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function seal({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'give the reason with --reason TEXT');
  const raw = str(flags, 'reason');
  if (raw === undefined || raw.trim() === '') throw usageError('seal needs --reason TEXT', 'say why, e.g. --reason "incident 42: token leak suspected"; watch shows it instead of an alarm');
  const reason = oneLine(raw);
  if (reason.length > 200) throw usageError('--reason is longer than 200 characters', 'keep it to one short line; details go in the incident notes');
  using open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const { target, api } = open;
  const stateFlag = str(flags, 'state');
  const file = stateFlag !== undefined ? path.resolve(stateFlag) : target.dir !== undefined ? stateFileIn(target.dir) : undefined;
  if (file === undefined) throw usageError('--addr without a deployment directory needs --state FILE', 'the file where watch reads the reason');
  const before = await api.sealStatus();
  if (!before.initialized) throw new VaultSetupError('E_NOT_INITIALIZED', `the server at ${target.address} is not initialised: there is nothing to seal`);
  const at = new Date(ctx.clock.now()).toISOString();
  const record = { reason, at, host: os.hostname() };
  if (before.sealed) {
    await updateWatchFile(file, (doc) => ({ ...doc, seal: record }));
    return { data: { address: target.address, sealed: true, already_sealed: true, reason, at, state_file: file }, human: `${target.address} was already sealed; the reason is recorded (watch reports the seal as deliberate).\nUnseal with: vault-setup unseal` };
  }
  await using session = await signIn(ctx, api, { tokenFile: str(flags, 'token-file'), operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), purpose: 'seal the server (update + sudo on sys/seal)' });
  const token = session.token;
  const earlier = (await readWatchFile(file)).seal;
  await updateWatchFile(file, (doc) => ({ ...doc, seal: record }));
  try {
    await needs(['update', 'sudo'], 'sys/seal', () => api.request('PUT', 'sys/seal', { token }));
  } catch (error) {
    // Not sealed: the record must not say it was.
    await updateWatchFile(file, (doc) => ({ ...doc, seal: earlier }));
    throw error;
  }
  ctx.output.info(`Sealed ${target.address}: every client fails closed until the share holders unseal it.`);
  return {
    data: { address: target.address, sealed: true, already_sealed: false, reason, at, state_file: file },
    human: [`Sealed ${target.address} at ${at}.`, `Reason recorded in ${file}: watch reports this seal as deliberate.`, 'Unseal with: vault-setup unseal'].join('\n'),
  };
}
