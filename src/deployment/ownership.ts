// Names are owned: a container or compose project whose working directory is another deployment is never touched.
// One-shot containers (ownership fix, `<image> version`) carry the deployment's name and labels, so a run that was
// interrupted leaves nothing anonymous behind: the next run removes them, verify reports any that remain.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';

export const WORKING_DIR = 'com.docker.compose.project.working_dir';
export const ONE_SHOT = { marker: 'org.vault-setup.one-shot', project: 'org.vault-setup.project', dir: 'org.vault-setup.dir' } as const;

interface Listed {
  Id: string;
  Names: string[];
  State: string;
  Created: number;
  Labels: Record<string, string>;
}

/** Refuses a name whose container or compose project works from another directory. */
export async function assertNameOwned(ctx: Context, name: string, dir: string): Promise<void> {
  const docker = await ctx.docker.client();
  const byName = (await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } })) as unknown as Listed[];
  const byProject = (await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${name}`] } })) as unknown as Listed[];
  const here = path.resolve(dir);
  for (const c of [...byName, ...byProject]) {
    if (c.Labels[ONE_SHOT.marker] !== undefined) continue;
    const other = c.Labels[WORKING_DIR];
    if (other !== undefined && path.resolve(other) === here) continue;
    const shown = (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
    throw new VaultSetupError(
      'E_NAME_TAKEN',
      other === undefined
        ? `the name "${name}" is taken by container ${shown}, which no compose project in ${here} made`
        : `the name "${name}" belongs to the deployment in ${other} (container ${shown}); it is not touched`,
      { hint: `choose another name with --name NAME${other === undefined ? '' : `, or work on that deployment with --dir ${other}`}` },
    );
  }
}

/** Name and labels for a one-shot container of this deployment. */
export function oneShot(name: string, dir: string, purpose: string): { name: string; labels: Record<string, string> } {
  return {
    name: `${name}-${purpose}-${randomBytes(3).toString('hex')}`,
    labels: { [ONE_SHOT.marker]: '1', [ONE_SHOT.project]: name, [ONE_SHOT.dir]: path.resolve(dir) },
  };
}

/** One-shot containers an interrupted run left: this deployment's (any state but running), and unnamed ones from older releases. */
export async function leftoverOneShots(ctx: Context, name: string | undefined): Promise<{ id: string; name: string; state: string }[]> {
  const docker = await ctx.docker.client();
  const listed = (await docker.listContainers({ all: true, filters: { label: [ONE_SHOT.marker] } })) as unknown as Listed[];
  const oldEnough = Math.floor(Date.now() / 1000) - 600; // an unlabelled one may belong to a run in progress elsewhere
  return listed
    .filter((c) => c.State !== 'running')
    .filter((c) => (c.Labels[ONE_SHOT.project] === undefined ? c.Created < oldEnough : name !== undefined && c.Labels[ONE_SHOT.project] === name))
    .map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State }));
}

export async function removeLeftoverOneShots(ctx: Context, name: string): Promise<number> {
  const docker = await ctx.docker.client();
  const leftovers = await leftoverOneShots(ctx, name);
  for (const c of leftovers) await docker.getContainer(c.id).remove({ force: true }).catch(() => undefined);
  return leftovers.length;
}

/**
 * This deployment's one-shot containers for PURPOSE (`upgrade`, `migrate`), running or not: a run killed while one
 * worked (a data copy, `operator migrate`) leaves it behind, still writing. Removed (stopped first) before a re-run
 * does the same work again.
 */
export async function removeInterruptedOneShots(ctx: Context, name: string, purpose: string): Promise<number> {
  const docker = await ctx.docker.client();
  const listed = (await docker.listContainers({ all: true, filters: { label: [`${ONE_SHOT.project}=${name}`] } })) as unknown as Listed[];
  const ours = listed.filter((c) => (c.Names[0] ?? '').startsWith(`/${name}-${purpose}-`));
  for (const c of ours) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  return ours.length;
}

/** Before deploy: the name is ours, and what an interrupted run of ours left behind is cleared. */
export async function claimName(ctx: Context, name: string, dir: string): Promise<void> {
  await assertNameOwned(ctx, name, dir);
  await removeLeftoverOneShots(ctx, name);
}
