// A token without the rights for a call gets an error that names the capability and path it lacks, so the
// operator can fix the policy instead of guessing (the server only says "permission denied").
import { VaultSetupError } from '../errors.ts';

export async function needs<T>(capability: string | string[], path: string, call: () => Promise<T>): Promise<T> {
  const caps = Array.isArray(capability) ? capability : [capability];
  try {
    return await call();
  } catch (error) {
    if (error instanceof VaultSetupError && error.code === 'E_DENIED') {
      throw new VaultSetupError('E_DENIED', `the token lacks ${caps.map((c) => `"${c}"`).join(' + ')} on ${path} (the server answered: permission denied)`, {
        hint: `use a token whose policy has: path "${path}" { capabilities = [${caps.map((c) => `"${c}"`).join(', ')}] } (an expired or unknown token is refused the same way)`,
        cause: error,
      });
    }
    throw error;
  }
}
