// `vault-setup status`: container state, address, initialised, sealed, progress, version.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { SERVICE } from '../services/templates.ts';
import { openTarget } from '../services/target.ts';
import { str } from '../options/flags.ts';
import type { CommandResult, Invocation } from './types.ts';

export async function status({ flags }: Invocation, ctx: Context): Promise<CommandResult> {
  const { target, api, close } = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') }, { attempts: 1 });
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
    close();
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
