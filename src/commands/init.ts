// `vault-setup init`: the whole playbook, resumable. Phase 1 deploys (files, container, ownership, API);
// later phases (ceremony, configure) continue from whatever state the server reports.
import path from 'node:path';
import type { Context } from '../context.ts';
import { defaultDir } from '../deployment.ts';
import { LAYOUTS } from '../config/flavor.ts';
import { deployTasks, newDeployState, type DeployState } from '../tasks/deploy.tasks.ts';
import { runTasks } from '../tasks/listr.ts';
import { bool, duration, int, oneOf, str } from './common.ts';
import type { CommandResult, Invocation } from './types.ts';

export async function init({ flags }: Invocation, ctx: Context): Promise<CommandResult> {
  const flavor = oneOf(flags, 'flavor', ['vault', 'openbao'] as const, 'vault');
  const layout = LAYOUTS[flavor];
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const port = int(flags, 'port', 8200, { min: 1, max: 65535 });
  const options = {
    dir,
    layout,
    image: str(flags, 'image') ?? layout.defaultImage,
    name: str(flags, 'name') ?? layout.defaultName,
    port,
    storage: oneOf(flags, 'storage', ['raft', 'file'] as const, 'raft'),
    tls: false,
    force: bool(flags, 'force'),
    waitMs: duration(flags, 'wait', '90s'),
  };
  const address = `http://127.0.0.1:${port}`;
  const state: DeployState = newDeployState(dir, address);
  await runTasks(ctx, deployTasks(ctx, options), state);

  const health = state.health;
  const changed = state.steps.filter((s) => s.status === 'done' && !['engine', 'port', 'api'].includes(s.id));
  const data = {
    dir,
    flavor,
    image: options.image,
    container: options.name,
    server: state.server,
    address,
    initialized: health?.initialized ?? false,
    sealed: health?.sealed ?? true,
    changed: changed.length > 0,
    steps: state.steps,
  };
  const human = [
    changed.length === 0 ? 'Nothing to change: the deployment is already up.' : `Deployed ${state.server?.raw ?? ''} in ${dir}.`,
    `Address: ${address}  (initialised: ${data.initialized ? 'yes' : 'no'}, sealed: ${data.sealed ? 'yes' : 'no'})`,
  ].join('\n');
  return { data, human };
}
