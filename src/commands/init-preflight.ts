// Checked before init writes a file or starts a container: with nobody to show the unseal shares to (no terminal,
// or --yes) and nowhere else for them to go (--print-keys, --pgp-keys), a key ceremony must not start, and a run
// that cannot finish should not deploy first. Exit 15 (an answer is needed), as the README's table says.
import type { Context } from '../context.ts';
import { loadDeployment } from '../deployment.ts';
import { sharesNobodySees } from '../ceremony/plan.ts';
import { readIfExists } from '../services/files.ts';
import { connect } from '../services/target.ts';
import { bool, list } from '../options/flags.ts';
import type { Flags } from '../invocation.ts';

/** Refuses up front when a ceremony would be needed and nobody could receive the shares; else returns. */
export async function refuseCeremonyNobodySees(ctx: Context, flags: Flags, dir: string): Promise<void> {
  const someoneSees = ctx.prompter.interactive || bool(flags, 'print-keys') || list(flags, 'pgp-keys').length > 0;
  if (someoneSees || bool(flags, 'deploy-only')) return;
  // A deployment whose server is already initialised needs no ceremony (init resumes with configure).
  const deployment = await loadDeployment(dir).catch(() => undefined);
  if (deployment !== undefined) {
    const caCert = deployment.tls ? await readIfExists(deployment.paths.caCert) : undefined;
    const api = connect(ctx, deployment.address, caCert, { attempts: 1, timeoutMs: 3000 });
    const seal = await api.sealStatus().catch(() => undefined);
    api.close();
    // Unreachable (stopped, or not started yet): the ceremony's own check decides once the server answers.
    if (seal === undefined || seal.initialized) return;
  }
  throw sharesNobodySees();
}
