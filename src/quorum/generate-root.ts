// A generate-root round with shares held in memory: the one-time password and the decoding happen here. Servers
// that refuse the unauthenticated sys/generate-root (OpenBao >= 2.5.3 answers it with an error) get the listener
// option turned on for the round: config edited, restart, unseal with the same shares, generate, the config put
// back byte for byte, restart, unseal. Whatever happens, the config ends as it was and the server unsealed, or the
// error says exactly what state was left.
import fs from 'node:fs/promises';
import type { Context } from '../context.ts';
import { VaultSetupError, isVaultSetupError } from '../errors.ts';
import { waitUntilActive } from '../ceremony/unseal-round.ts';
import { type Target, connect } from '../services/target.ts';
import type { HeldShares } from '../services/quorum.ts';
import { SERVICE } from '../services/templates.ts';
import { type VaultApi, serverErrors } from '../services/vault-api.ts';
import { waitForApi } from '../services/readiness.ts';

export const OPTION = 'disable_unauthed_generate_root_endpoints';
/** The line vault-setup adds for one round; its marker lets the next command find it after a SIGKILL. */
export const OPTION_LINE = `  ${OPTION} = false # vault-setup generate-root: on for one round only, removed when it ends`;

export interface NewRoot {
  token: string;
  accessor: string | undefined;
  /** The listener option was turned on for the round (and off again). */
  toggled: boolean;
}

/** True when the server answers the unauthenticated endpoint (Vault 1.x, or OpenBao with the option on). */
export async function unauthedGenerateRootOpen(api: VaultApi): Promise<boolean> {
  const res = await api.request('GET', 'sys/generate-root/attempt', { accept: [400, 403, 404, 405, 500] });
  return res.status === 200;
}

/** The config without a line vault-setup left behind (a SIGKILL in the middle of a round), or undefined. */
export function withoutLeftover(config: string): string | undefined {
  const lines = config.split('\n');
  const kept = lines.filter((l) => l !== OPTION_LINE);
  return kept.length === lines.length ? undefined : kept.join('\n');
}

export function withOption(config: string): string {
  const lines = config.split('\n');
  const at = lines.findIndex((l) => /^\s*listener\s+"tcp"\s*\{\s*$/.test(l));
  if (at < 0) throw new VaultSetupError('E_USAGE', 'config/vault.hcl has no listener "tcp" { block vault-setup can extend', { hint: 'restore the file vault-setup wrote (vault-setup init --force), then run the command again' });
  return [...lines.slice(0, at + 1), OPTION_LINE, ...lines.slice(at + 1)].join('\n');
}

/** Removes a leftover option line (after a SIGKILL) and restarts the server if it was running with it. */
export async function repairLeftover(ctx: Context, target: Target, shares: HeldShares | undefined): Promise<boolean> {
  const file = configFile(target);
  if (file === undefined) return false;
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  const repaired = text === undefined ? undefined : withoutLeftover(text);
  if (repaired === undefined) return false;
  await fs.writeFile(file, repaired);
  ctx.output.warn(`Found ${OPTION} = false left in ${file} by an interrupted generate-root: removed it.`);
  if (shares !== undefined) await restartAndUnseal(ctx, target, shares);
  else ctx.output.warn('The server still runs with it until its next restart: restart it (docker restart) and unseal it.');
  return true;
}

export async function generateRoot(ctx: Context, target: Target, shares: HeldShares): Promise<NewRoot> {
  await repairLeftover(ctx, target, shares);
  const api = apiFor(target, ctx);
  try {
    if (await unauthedGenerateRootOpen(api)) return { ...(await round(ctx, api, shares)), toggled: false };
  } finally {
    api.close();
  }
  // Refused: only a deployment on this host can have the option turned on for the round.
  const file = configFile(target);
  if (file === undefined || target.name === undefined) {
    throw new VaultSetupError('E_USAGE', `the server at ${target.address} refuses unauthenticated generate-root, and its config is not on this host`, {
      hint: `run the command where the deployment is (--dir DIR), or turn on ${OPTION} = false in its listener block by hand`,
    });
  }
  const original = await fs.readFile(file);
  let state: 'original' | 'edited' | 'restarted-with-option' = 'original';
  // A server that was restarted with the option runs with it until it restarts without it, sealed or not: restore
  // restarts it whatever happens next, and says so when the shares then do not unseal it.
  const restore = async (): Promise<void> => {
    if (state === 'original') return;
    await fs.writeFile(file, original);
    const wasRestarted = state === 'restarted-with-option';
    state = 'original';
    if (!wasRestarted) return;
    await restart(ctx, target);
    try {
      await unsealWith(ctx, target, shares);
    } catch (error) {
      if (isVaultSetupError(error) && error.code === 'E_UNSEAL_FAILED') throw new SealedWithoutOption();
      throw error;
    }
  };
  // SIGINT/SIGTERM: put the config back, then bring the server to "unsealed, option off" whatever step the round
  // was at (a restart may be under way: wait for it, unseal if sealed, restart once more if the option is loaded).
  // The step under way (a restart, the round) finishes first: a container stopped by it must be started again.
  let interrupted = false;
  let inflight: Promise<unknown> = Promise.resolve();
  const step = <T>(fn: () => Promise<T>): Promise<T> => {
    // Once interrupted, the handler owns the server and ends the process: nothing more starts here.
    if (interrupted) return new Promise<T>(() => {});
    const p = fn();
    inflight = p.catch(() => undefined);
    return p;
  };
  ctx.interrupts.set(async () => {
    interrupted = true;
    ctx.output.warn(`\nInterrupted: putting ${file} back and unsealing the server ...`);
    try {
      await inflight;
      state = 'original';
      await fs.writeFile(file, original);
      await settle(ctx, target, shares);
      ctx.output.warn('The config is as it was and the server is unsealed.');
    } catch (error) {
      ctx.output.warn(leftStateText(file, error));
    }
    return true;
  });
  try {
    ctx.output.info(`This server refuses unauthenticated generate-root: turning on ${OPTION} = false in ${file} for this round (restart, unseal with the shares given) ...`);
    await step(async () => {
      await fs.writeFile(file, withOption(original.toString('utf8')));
      state = 'edited';
    });
    await step(async () => {
      state = 'restarted-with-option';
      await restartAndUnseal(ctx, target, shares);
    });
    const result = await step(async () => {
      const api2 = apiFor(target, ctx);
      try {
        return await round(ctx, api2, shares);
      } finally {
        api2.close();
      }
    });
    ctx.output.info('Turning the option off again (restart, unseal) ...');
    await step(restore);
    return { ...result, toggled: true };
  } catch (error) {
    if (interrupted) await new Promise<never>(() => {});
    try {
      await restore();
    } catch (second) {
      if (second instanceof SealedWithoutOption) {
        const why = isVaultSetupError(error) ? error.message : String((error as Error)?.message ?? error);
        throw new VaultSetupError('E_UNSEAL_FAILED', `${why}; ${file} is as it was and the server was restarted without ${OPTION}: it is sealed`, {
          hint: `each holder checks their share, then: vault-setup unseal --dir ${target.dir}`,
        });
      }
      throw new VaultSetupError('E_SERVER', `${isVaultSetupError(error) ? error.message : String((error as Error)?.message ?? error)}; and putting things back failed too`, { hint: leftStateText(file, second) });
    }
    throw error;
  } finally {
    ctx.interrupts.set(undefined);
  }
}

async function round(ctx: Context, api: VaultApi, shares: HeldShares): Promise<Omit<NewRoot, 'toggled'>> {
  const current = await api.request<any>('GET', 'sys/generate-root/attempt');
  if (current.body?.started === true) {
    ctx.output.warn('A generate-root round was in progress (started elsewhere): cancelled it to start one whose one-time password this command holds.');
    await api.request('DELETE', 'sys/generate-root/attempt');
  }
  const started = await api.request<any>('PUT', 'sys/generate-root/attempt', { body: {} });
  const otp = String(started.body?.otp ?? '');
  const nonce = String(started.body?.nonce ?? '');
  ctx.redactor.add(otp);
  if (otp === '' || nonce === '') throw new VaultSetupError('E_SERVER', 'the server started a generate-root round without a one-time password', { hint: 'check the server version and `docker logs`' });
  try {
    let encoded: string | undefined;
    for (const key of shares.keys) {
      const res = await api.request<any>('PUT', 'sys/generate-root/update', { body: { key, nonce }, accept: [400] });
      if (res.status === 400) {
        throw new VaultSetupError('E_BAD_SHARE', `the server refused a share in the generate-root round (${serverErrors(res.body).join('; ') || 'HTTP 400'})`, { hint: 'each holder checks their share; nothing was generated, run the command again' });
      }
      if (res.body?.complete === true) {
        encoded = String(res.body.encoded_token ?? res.body.encoded_root_token ?? '');
        break;
      }
    }
    if (encoded === undefined || encoded === '') {
      throw new VaultSetupError('E_UNSEAL_FAILED', 'the shares given did not complete the generate-root round (at least one is wrong)', { hint: 'each holder checks their share, then run the command again' });
    }
    const token = decodeRootToken(encoded, otp);
    ctx.redactor.add(token);
    const self = await api.request<any>('GET', 'auth/token/lookup-self', { token });
    return { token, accessor: self.body?.data?.accessor };
  } catch (error) {
    await api.request('DELETE', 'sys/generate-root/attempt', { accept: [400, 403, 404, 405] }).catch(() => undefined);
    throw error;
  }
}

/** The encoded token is base64 of the token XORed with the one-time password (the server's OTP scheme). */
export function decodeRootToken(encoded: string, otp: string): string {
  const bytes = Buffer.from(encoded.replace(/=+$/, ''), 'base64');
  const pad = Buffer.from(otp, 'utf8');
  if (bytes.length !== pad.length) throw new VaultSetupError('E_SERVER', `the encoded root token has ${bytes.length} bytes, the one-time password ${pad.length}`, { hint: 'nothing usable was generated; run the command again' });
  for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] as number) ^ (pad[i] as number);
  return bytes.toString('utf8');
}

function configFile(target: Target): string | undefined {
  return target.dir === undefined ? undefined : `${target.dir}/config/vault.hcl`;
}

function apiFor(target: Target, ctx: Context): VaultApi {
  return connect(ctx, target.address, target.caCert);
}

/** After an interruption: the server answering, unsealed, and running without the option. */
async function settle(ctx: Context, target: Target, shares: HeldShares): Promise<void> {
  await waitForApi(ctx, target.address, target.name as string, 90_000, target.caCert);
  await unsealWith(ctx, target, shares);
  const api = apiFor(target, ctx);
  let open: boolean;
  try {
    open = await unauthedGenerateRootOpen(api);
  } finally {
    api.close();
  }
  if (open) await restartAndUnseal(ctx, target, shares);
}

/** Putting things back restarted the server without the option, and the shares held did not unseal it. */
class SealedWithoutOption extends Error {}

async function restart(ctx: Context, target: Target): Promise<void> {
  const name = target.name as string;
  const found = await ctx.docker.findService(name, SERVICE);
  if (found === undefined) throw new VaultSetupError('E_NOT_DEPLOYED', `no container for ${name}`, { hint: `vault-setup status --dir ${target.dir}` });
  await ctx.docker.stop(found.id);
  await ctx.docker.start(found.id);
  await waitForApi(ctx, target.address, name, 90_000, target.caCert);
}

async function restartAndUnseal(ctx: Context, target: Target, shares: HeldShares): Promise<void> {
  await restart(ctx, target);
  await unsealWith(ctx, target, shares);
}

async function unsealWith(ctx: Context, target: Target, shares: HeldShares): Promise<void> {
  const api = apiFor(target, ctx);
  try {
    if (!(await api.sealStatus()).sealed) return;
    let sealed = true;
    for (const key of shares.keys) {
      const res = await api.unseal(key);
      if (res.status < 300 && res.body.sealed === false) {
        sealed = false;
        break;
      }
    }
    if (sealed) throw new VaultSetupError('E_UNSEAL_FAILED', `the server restarted and the shares given did not unseal it`, { hint: `unseal it: vault-setup unseal --dir ${target.dir}` });
    await waitUntilActive(api, ctx);
  } finally {
    api.close();
  }
}

function leftStateText(file: string, error: unknown): string {
  const why = isVaultSetupError(error) ? error.message : String((error as Error)?.message ?? error);
  return `could not finish putting things back (${why}). Check ${file}: it must not contain "${OPTION}"; remove the line if it does, then restart the container and run \`vault-setup unseal\`.`;
}
