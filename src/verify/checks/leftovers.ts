// One-shot containers (ownership fix, `<image> version`) that an interrupted init left behind. The next init removes
// them; verify says when some remain.
import { leftoverOneShots } from '../../deployment/ownership.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, pass, skip, warn } from '../types.ts';

export async function oneShotLeftovers(p: Probe): Promise<CheckResult> {
  const id = 'one-shot-leftovers';
  const name = p.deployment?.name;
  if (name === undefined) return skip(id, 'no deployment directory (only --addr)');
  const lookup = await p.container();
  if (lookup.kind === 'no-docker') return skip(id, 'the Docker Engine does not answer');
  const leftovers = await leftoverOneShots(p.ctx, name).catch(() => undefined);
  if (leftovers === undefined) return skip(id, 'the Docker Engine does not answer');
  if (leftovers.length === 0) return pass(id, 'no one-shot containers left behind');
  const shown = leftovers.slice(0, 3).map((c) => `${c.name || c.id.slice(0, 12)} (${c.state})`).join(', ');
  return warn(id, `${leftovers.length} one-shot container${leftovers.length > 1 ? 's' : ''} left by an interrupted run: ${shown}`, `vault-setup init${p.paths ? ` --dir ${p.paths.dir}` : ''} removes them, or: docker rm ${leftovers.map((c) => c.id.slice(0, 12)).join(' ')}`);
}
