// `vault-setup migrate --storage raft`: file storage to raft, offline, by the server binary's own `operator migrate`
// in a one-shot container, with the old data kept beside the new until the migrated server is unsealed with the same
// shares and holds every key, policy and token it held before. Resumable (migrate-state.json holds no secret).
import type { Context } from '../context.ts';
import { loadDeployment } from '../deployment.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { readState } from '../migrate/host.ts';
import { migrateToRaft, preflight } from '../migrate/run.ts';
import { bool, duration, str } from '../options/flags.ts';
import { openTarget } from '../services/target.ts';
import { obtainToken } from '../services/token.ts';
import { collectShares } from '../upgrade/shares.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function migrate({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'vault-setup migrate --storage raft [--dir DIR]');
  const storage = str(flags, 'storage');
  if (storage !== 'raft') throw usageError(storage === undefined ? '--storage raft is required' : `--storage ${storage}: only raft is a destination`, 'vault-setup migrate --storage raft');
  const fromStdin = bool(flags, 'stdin');
  const waitMs = duration(flags, 'wait', '90s');
  if (fromStdin && ctx.stdin.isTTY === true) throw usageError('--stdin reads shares from a pipe, but standard input is a terminal (the share would be echoed)', 'run without --stdin to be asked with hidden input');
  if (!fromStdin && !ctx.prompter.interactive) {
    throw new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for the unseal shares the migrated server needs', { hint: 'pipe them in, one per line, with --stdin' });
  }

  const open = await openTarget(ctx, { dir: str(flags, 'dir') });
  try {
    const { target, api } = open;
    const dir = target.dir as string;
    const deployment = await loadDeployment(dir);
    if (deployment === undefined) throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`);
    const state = await readState(dir);
    if (state === undefined && deployment.storage === 'raft') {
      return { data: { dir, storage: 'raft', migrated: false }, human: `Nothing to do: ${target.name} already uses raft storage.` };
    }
    const wanted = str(flags, 'image');
    if (state !== undefined && wanted !== undefined && wanted !== state.migrateImage) {
      throw usageError(`a migration with ${state.migrateImage} was interrupted here (last stage: ${state.stage})`, `finish it first: vault-setup migrate --storage raft --dir ${dir}${state.migrateImage === deployment.image ? '' : ` --image ${state.migrateImage}`}`);
    }
    await ctx.docker.ping();
    const migrateImage = state?.migrateImage ?? wanted ?? deployment.image;
    const checked = state === undefined ? await preflight(ctx, { target, api, dir, deployment }, migrateImage) : undefined;
    const token = await obtainToken(ctx, { tokenFile: str(flags, 'token-file'), purpose: 'list every key, policy and token accessor before and after the migration, and take the first snapshot' });
    const seal = state?.seal ?? (checked as NonNullable<typeof checked>).seal;
    const shares = await collectShares(ctx, fromStdin, seal);
    const resume = `vault-setup migrate --storage raft --dir ${dir}${migrateImage === deployment.image ? '' : ` --image ${migrateImage}`}`;
    const result = await migrateToRaft(ctx, {
      target, api, dir, deployment, token, shares, seal, waitMs, resume,
      image: state?.image ?? deployment.image,
      migrateImage,
      server: state?.server ?? (checked as NonNullable<typeof checked>).current.raw,
    });
    return {
      data: result,
      human: [
        `Migrated ${target.name} to raft storage: ${result.keys} keys, ${result.policies} policies and ${result.token_accessors} token accessors read back, unsealed with the same shares.`,
        `First snapshot: ${result.snapshot}`,
        `Check it: vault-setup verify --dir ${dir}`,
      ].join('\n'),
    };
  } finally {
    open.close();
  }
}
