// `vault-setup status`: container state, address, initialised, sealed, progress, version.
import type { Context } from '../context.ts';
import { EXIT, VaultSetupError, escapeControls } from '../errors.ts';
import { SERVICE } from '../services/templates.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { openTarget } from '../services/target.ts';
import { str } from '../options/flags.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

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
      product: productOf(seal),
      ...(seal.initialized && !seal.sealed ? { ha: await haMode(api) } : {}),
      initialized: seal.initialized,
      sealed: seal.sealed,
      threshold: seal.t,
      shares: seal.n,
      progress: seal.progress,
      // Server-supplied strings reach the terminal: control characters shown escaped.
      version: escapeControls(String(seal.version)),
      storage: seal.storage_type === undefined ? undefined : escapeControls(String(seal.storage_type)),
    };
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    server = { reachable: false, error: error.message };
  } finally {
    close();
  }
  // A missing or stopped container, or a server that does not answer: exit non-zero (the report is still shown).
  const down = server.reachable !== true || (target.name !== undefined && (container === undefined || container.state === 'exited' || container.state === 'created' || container.state === 'dead'));
  const data = { dir: target.dir, address: target.address, container: container ?? null, server };
  const lines = [
    `Container: ${container ? `${container.name} ${container.state}${container.restartCount ? ` (${container.restartCount} restarts)` : ''}` : 'not found'}`,
    `Address:   ${target.address}`,
    server.reachable
      ? `Server:    ${server.product} ${server.version}${server.ha === undefined ? '' : ` (${server.ha})`}, initialised: ${server.initialized ? 'yes' : 'no'}, sealed: ${server.sealed ? `yes (${server.progress}/${server.threshold})` : 'no'}`
      : `Server:    not reachable (${String(server.error ?? '')})`,
  ];
  return { data, human: lines.join('\n'), ...(down ? { exitCode: EXIT.notRunning } : {}) };
}

/** The product as the server reports it (OpenBao's seal status has commit_date, Vault's build_date). */
const productOf = (seal: object): string => ('commit_date' in seal ? 'OpenBao' : 'build_date' in seal ? 'Vault' : 'unknown server');

/** active, standby (with its leader) or "standby, no leader" (writes fail), from sys/leader. */
async function haMode(api: VaultApi): Promise<string> {
  try {
    const leader = (await api.request<{ ha_enabled?: boolean; is_self?: boolean; leader_address?: string }>('GET', 'sys/leader')).body;
    if (leader?.ha_enabled !== true || leader.is_self === true) return 'active';
    return leader.leader_address ? `standby of ${escapeControls(leader.leader_address)}` : 'standby, no leader';
  } catch {
    return 'unknown';
  }
}
