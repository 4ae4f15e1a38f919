// Is the server up? Waiting for its API, reading the container's logs for a hint, noticing a crash loop, a free
// port: what init's deploy and the commands that start or restart a container (unseal, restore) share.
import net from 'node:net';
import type { Context } from '../context.ts';
import { VaultSetupError, escapeControls } from '../errors.ts';
import type { ServerIdentity } from './docker.ts';
import type { Target } from './target.ts';
import { connect } from './target.ts';
import { SERVICE } from './templates.ts';
import { deploymentPaths } from '../deployment.ts';
import { recheckBeforeRoot } from './dir-safety.ts';
import type { HealthStatus, SealStatus } from './vault-api.ts';
import { poll } from './wait.ts';

export async function assertPortFree(port: number): Promise<void> {
  const inUse = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(false)));
  });
  if (inUse) {
    throw new VaultSetupError('E_PORT_TAKEN', `port 127.0.0.1:${port} is already in use`, {
      hint: `stop what listens there (ss -ltnp 'sport = :${port}'), or choose another --port`,
    });
  }
}

/** Polls sys/health until the server answers; on failure says why, with the container's last log lines. */
export async function waitForApi(ctx: Context, address: string, name: string, timeoutMs: number, caCert?: string): Promise<HealthStatus> {
  const api = connect(ctx, address, caCert);
  let crashed: string | undefined;
  try {
    const health = await poll(
      async () => {
        const h = await api.probe();
        if (h !== undefined) return h;
        const container = await ctx.docker.findService(name, SERVICE);
        if (container !== undefined) {
          const details = await ctx.docker.inspect(container.id);
          if (!details.running && details.restartCount > 0) crashed = `restarting after exit code ${details.exitCode}`;
          if (!details.running && !details.restarting && details.state === 'exited') crashed = `exited with code ${details.exitCode}`;
          if (details.restartCount >= 3) crashed = `crash-looping (${details.restartCount} restarts)`;
          if (crashed !== undefined) return undefined;
        }
        return undefined;
      },
      { timeoutMs, initialDelayMs: 150, maxDelayMs: 1000, clock: ctx.clock },
    );
    if (health !== undefined) return health;
  } finally {
    api.close();
  }
  const container = await ctx.docker.findService(name, SERVICE);
  const logs = container === undefined ? '' : await ctx.docker.logsTail(container.id, 15);
  throw new VaultSetupError(
    'E_SERVER_START',
    `the server did not answer at ${address} within ${Math.round(timeoutMs / 1000)} s${crashed ? ` (container ${crashed})` : ''}`,
    { hint: hintFromLogs(logs), detail: logs.length > 0 ? `last log lines of ${name}:\n${logs}` : undefined },
  );
}

export function hintFromLogs(logs: string): string {
  if (/permission denied/i.test(logs)) {
    return 'the server cannot write its data directory: re-run `vault-setup init` to fix ownership (or chown -R 100:1000 <dir>/data)';
  }
  if (/address already in use/i.test(logs)) return 'another process holds the port: choose another --port';
  if (/error loading configuration|unknown or unsupported field|parse/i.test(logs)) return 'the server rejected config/vault.hcl: fix it or re-run init with --force';
  return 'read the log lines above; `docker logs <container>` has the rest';
}

/** Product and version from a running server's seal status (Vault reports build_date, OpenBao commit_date). */
export async function identifyFromApi(address: string, caCert: string | undefined): Promise<ServerIdentity | undefined> {
  const api = connect(undefined, address, caCert, { attempts: 1, timeoutMs: 3000 });
  try {
    const seal = (await api.request<SealStatus>('GET', 'sys/seal-status')).body as SealStatus & Record<string, unknown>;
    const product = 'commit_date' in seal ? 'openbao' : 'build_date' in seal ? 'vault' : undefined;
    if (product === undefined || typeof seal.version !== 'string') return undefined;
    const version = escapeControls(seal.version);
    return { product, version, raw: `${product === 'openbao' ? 'OpenBao' : 'Vault'} v${version}` };
  } catch {
    return undefined;
  } finally {
    api.close();
  }
}

/** The container must run before anything can be unsealed: start it if stopped; a crash loop is its own error. */
export async function ensureRunning(ctx: Context, target: Target, waitMs: number): Promise<boolean> {
  const name = target.name as string;
  await ctx.docker.ping();
  const found = await ctx.docker.findService(name, SERVICE);
  if (found === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no container for the deployment ${name} in ${target.dir}`, {
      hint: `create it again with \`vault-setup init --dir ${target.dir ?? 'DIR'}\` (same flags as before), or pass --addr URL`,
    });
  }
  const early = await ctx.docker.inspect(found.id);
  if (early.restarting && early.restartCount >= 2) throw await crashLoop(ctx, found.id, name, early, undefined);
  let started = false;
  if (found.state !== 'running' && found.state !== 'restarting') {
    // The container starts as root on the directory's files: nobody else may have swapped them meanwhile.
    if (target.dir !== undefined) await recheckBeforeRoot(deploymentPaths(target.dir));
    await ctx.docker.start(found.id);
    started = true;
  }
  // Waits for the API, but gives up as soon as the container has restarted twice: a crash loop does not heal
  // by waiting, and the holder should not sit through the whole --wait for it.
  let watching = true;
  const crashWatch = (async (): Promise<never> => {
    for (;;) {
      await ctx.clock.sleep(500);
      if (!watching) return new Promise<never>(() => undefined);
      const now = await ctx.docker.inspect(found.id).catch(() => undefined);
      if (now !== undefined && now.restartCount - early.restartCount >= 2) throw await crashLoop(ctx, found.id, name, now, undefined);
    }
  })();
  crashWatch.catch(() => undefined); // settled after the race was decided: nothing to report
  try {
    await Promise.race([waitForApi(ctx, target.address, name, waitMs, target.caCert), crashWatch]);
  } catch (error) {
    if (error instanceof VaultSetupError && error.code === 'E_CRASH_LOOP') throw error;
    const details = await ctx.docker.inspect(found.id).catch(() => undefined);
    if (error instanceof VaultSetupError && details !== undefined && (details.restarting || details.restartCount > 0 || !details.running)) {
      throw await crashLoop(ctx, found.id, name, details, error.hint);
    }
    throw error;
  } finally {
    watching = false;
  }
  return started;
}

export async function crashLoop(ctx: Context, id: string, name: string, details: { restarting: boolean; state: string; restartCount: number }, hint: string | undefined): Promise<VaultSetupError> {
  const logs = await ctx.docker.logsTail(id, 15);
  return new VaultSetupError('E_CRASH_LOOP', `the container ${name} does not stay up (${details.restarting ? 'restarting' : details.state}, ${details.restartCount} restarts)`, {
    hint: hint ?? hintFromLogs(logs),
    ...(logs.length > 0 ? { detail: `last log lines of ${name}:\n${logs}` } : {}),
  });
}
