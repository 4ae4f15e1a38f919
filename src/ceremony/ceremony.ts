// Placeholder: the key ceremony (issue 4) replaces this. It must never write a share or the root token anywhere.
import type { Context } from '../context.ts';
import type { Layout } from '../config/flavor.ts';
import type { DeploymentPaths } from '../deployment.ts';
import type { Flags } from '../commands/types.ts';
import type { ServerIdentity } from '../services/docker.ts';
import type { VaultApi } from '../services/vault-api.ts';
import type { StepRecord } from '../tasks/listr.ts';

export interface CeremonyInput {
  api: VaultApi;
  server: ServerIdentity;
  layout: Layout;
  paths: DeploymentPaths;
  name: string;
  flags: Flags;
}

export interface CeremonyOutcome {
  steps: StepRecord[];
  /** The server is unsealed now and configuration can go on. */
  unsealed: boolean;
  /** The root token from a fresh init, held in memory only; undefined when resuming. */
  rootToken?: string | undefined;
  /** The --json `init` member (field names of `vault operator init -format=json`), only when allowed. */
  init?: Record<string, unknown> | undefined;
  /** When init stops before unsealed: exactly how to resume. */
  resume?: string | undefined;
}

export async function ceremonyPhase(_ctx: Context, input: CeremonyInput): Promise<CeremonyOutcome> {
  const seal = await input.api.sealStatus();
  return { steps: [], unsealed: seal.initialized && !seal.sealed, resume: seal.initialized ? undefined : 'initialisation is not available in this version yet' };
}
