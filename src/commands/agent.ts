// Placeholder until this command lands; see its issue.
import { VaultSetupError } from '../errors.ts';
import type { CommandResult, Invocation } from './types.ts';
import type { Context } from '../context.ts';

export async function agent(_invocation: Invocation, _ctx: Context): Promise<CommandResult> {
  throw new VaultSetupError('E_USAGE', '`vault-setup agent` is not available in this version yet');
}
