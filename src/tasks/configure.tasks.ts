// Placeholder: configuration (issue 5) replaces this: KV v2, seeded secrets, policy, app token, audit, root retired.
import type { Context } from '../context.ts';
import type { Layout } from '../config/flavor.ts';
import type { DeploymentPaths } from '../deployment.ts';
import type { Flags } from '../commands/types.ts';
import type { ServerIdentity } from '../services/docker.ts';
import type { VaultApi } from '../services/vault-api.ts';
import type { StepRecord } from './listr.ts';

export interface ConfigureInput {
  api: VaultApi;
  server: ServerIdentity;
  layout: Layout;
  paths: DeploymentPaths;
  name: string;
  flags: Flags;
  /** The root token from this run's ceremony (memory only), else the phase asks for a privileged token. */
  rootToken?: string | undefined;
}

export interface ConfigureOutcome {
  steps: StepRecord[];
  data: Record<string, unknown>;
  human: string[];
}

export async function configurePhase(_ctx: Context, _input: ConfigureInput): Promise<ConfigureOutcome> {
  return { steps: [], data: {}, human: [] };
}
