// `vault-setup status`: container state, address, initialised, sealed, progress, version.
import path from 'node:path';
import type { Context } from '../context.ts';
import { defaultDir, loadDeployment } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import { SERVICE } from '../services/templates.ts';
import { VaultApi } from '../services/vault-api.ts';
import { str } from './common.ts';
import type { CommandResult, Invocation } from './types.ts';

export async function status({ flags }: Invocation, ctx: Context): Promise<CommandResult> {
  const target = await resolveTarget(ctx, str(flags, 'dir'), str(flags, 'addr'));
  let container: { name: string; state: string; restartCount: number } | undefined;
  if (target.name !== undefined) {
    try {
      await ctx.docker.ping();
      const found = await ctx.docker.findService(target.name, SERVICE);
      if (found !== undefined) {
        const details = await ctx.docker.inspect(found.id);
        container = { name: details.name, state: details.state, restartCount: details.restartCount };
      }
    } catch (error) {
      if (!(error instanceof VaultSetupError)) throw error;
      container = { name: target.name, state: 'unknown (Docker Engine unreachable)', restartCount: 0 };
    }
  }
  const api = new VaultApi({ address: target.address, ...(target.caCert ? { caCert: target.caCert } : {}), attempts: 1 });
  let server: Record<string, unknown> = { reachable: false };
  try {
    const seal = await api.sealStatus();
    server = {
      reachable: true,
      initialized: seal.initialized,
      sealed: seal.sealed,
      threshold: seal.t,
      shares: seal.n,
      progress: seal.progress,
      version: seal.version,
      storage: seal.storage_type,
    };
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    server = { reachable: false, error: error.message };
  } finally {
    api.close();
  }
  const data = { dir: target.dir, address: target.address, container: container ?? null, server };
  const lines = [
    `Container: ${container ? `${container.name} ${container.state}${container.restartCount ? ` (${container.restartCount} restarts)` : ''}` : 'not found'}`,
    `Address:   ${target.address}`,
    server.reachable
      ? `Server:    ${server.version}, initialised: ${server.initialized ? 'yes' : 'no'}, sealed: ${server.sealed ? `yes (${server.progress}/${server.threshold})` : 'no'}`
      : `Server:    not reachable (${String(server.error ?? '')})`,
  ];
  return { data, human: lines.join('\n') };
}

export interface Target {
  dir: string | undefined;
  name: string | undefined;
  address: string;
  caCert: string | undefined;
  image: string | undefined;
}

/** Where a command talks to: --addr wins, else the deployment in --dir (default ~/docker/vault). */
export async function resolveTarget(ctx: Context, dirFlag: string | undefined, addrFlag: string | undefined): Promise<Target> {
  const dir = path.resolve(dirFlag ?? defaultDir(ctx.env));
  // With --addr the server is named outright: a compose file vault-setup cannot read does not stand in the way.
  const deployment = addrFlag === undefined ? await loadDeployment(dir) : await loadDeployment(dir).catch((error: unknown) => {
    if (error instanceof VaultSetupError) return undefined;
    throw error;
  });
  if (addrFlag !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(addrFlag)) {
      throw new VaultSetupError('E_USAGE', `--addr must be an http:// or https:// URL, got "${addrFlag}"`);
    }
    return { dir: deployment ? dir : undefined, name: deployment?.name, address: addrFlag, caCert: await readCa(deployment?.paths.caCert), image: deployment?.image };
  }
  if (deployment === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`, {
      hint: 'pass --dir where `vault-setup init` wrote docker-compose.yml, or --addr URL',
    });
  }
  return { dir, name: deployment.name, address: deployment.address, caCert: await readCa(deployment.tls ? deployment.paths.caCert : undefined), image: deployment.image };
}

async function readCa(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const { readIfExists } = await import('../services/files.ts');
  return readIfExists(file);
}
