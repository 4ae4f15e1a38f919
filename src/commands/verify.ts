// Placeholder until this command lands; see its issue.
import { VaultSetupError } from '../errors.ts';
import type { CommandResult, Invocation } from './types.ts';
import type { Context } from '../context.ts';

export async function verify(_invocation: Invocation, _ctx: Context): Promise<CommandResult> {
  throw new VaultSetupError('E_USAGE', '`vault-setup verify` is not available in this version yet');
}
