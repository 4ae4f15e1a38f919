// Where a privileged token comes from: --token-file, VAULT_TOKEN / BAO_TOKEN, or a masked prompt.
// Never a command-line argument. The token is registered with the redactor the moment it is read.
import fs from 'node:fs/promises';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';

export async function obtainToken(ctx: Context, options: { tokenFile?: string | undefined; purpose: string }): Promise<string> {
  let token: string | undefined;
  let source = options.tokenFile !== undefined ? `the token file ${options.tokenFile}` : ctx.env.BAO_TOKEN !== undefined ? 'BAO_TOKEN' : 'VAULT_TOKEN';
  if (options.tokenFile !== undefined) {
    try {
      token = (await fs.readFile(options.tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new VaultSetupError('E_AUTH', `cannot read the token file ${options.tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
        hint: 'check the path and its permissions',
      });
    }
  } else {
    token = ctx.env.BAO_TOKEN ?? ctx.env.VAULT_TOKEN;
  }
  if (token === undefined || token.trim().length === 0) {
    if (!ctx.prompter.interactive) {
      throw new VaultSetupError('E_AUTH', `a token is needed to ${options.purpose}`, {
        hint: 'set VAULT_TOKEN (or BAO_TOKEN), pass --token-file FILE, or run in a terminal to be asked',
      });
    }
    source = 'the typed token';
    token = await ctx.prompter.secret(`Token to ${options.purpose} (input hidden)`, {
      validate: (v) => (v.trim().length > 0 ? true : 'a token is needed'),
    });
  }
  token = token.trim();
  ctx.redactor.add(token);
  // Tokens are printable ASCII without spaces. Anything else (a file holding two lines, a pasted quote) could not
  // even travel in the X-Vault-Token header, and would surface as a misleading "server did not answer".
  if (/[^\x21-\x7e]/.test(token)) {
    throw new VaultSetupError('E_AUTH', `${source} holds spaces, line breaks or non-ASCII characters; a token never does`, {
      hint: options.tokenFile !== undefined ? 'the file must hold the token alone, on one line' : 'give the token alone, without quotes or spaces',
    });
  }
  return token;
}
