// The privileged token a day-2 command works with: an operator login (--operator NAME, password masked or from
// --password-stdin) that lives in memory for this one command and is revoked when it ends, or a token the operator
// already holds (--token-file, VAULT_TOKEN / BAO_TOKEN, a masked prompt), which is left alone.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { obtainToken } from '../services/token.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { readStdinText } from '../secrets/values.ts';
import type { Target } from '../services/target.ts';
import { generateRoot } from '../quorum/generate-root.ts';
import { collectShares } from '../services/quorum.ts';

export const USERPASS_MOUNT = 'userpass';
export const OPERATOR_POLICY = 'vault-setup-operator';

export interface SignInOptions {
  tokenFile?: string | undefined;
  operator?: string | undefined;
  passwordStdin?: boolean;
  /** --quorum: a generate-root round with the share holders; the root token serves this command only. */
  quorum?: { target: Target; fromStdin: boolean } | undefined;
  /** The password, already read (operator passwd takes the current and the new one from one pipe). */
  password?: string;
  purpose: string;
}

export interface Session extends AsyncDisposable {
  readonly token: string;
  /** How the token was obtained, for the result: "operator NAME" or "token". */
  readonly via: string;
  /** Revokes an operator login now (also done on dispose); a held token is never revoked. */
  end(): Promise<{ revoked: boolean }>;
  /** The token no longer exists (revoked by the command itself, or replaced with the server's data): nothing to revoke. */
  gone(): void;
}

export function validateOperatorName(raw: string | undefined, flag = '--operator'): string {
  if (raw === undefined || !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(raw)) {
    throw new VaultSetupError('E_USAGE', `${flag} needs a login name of lower-case letters, digits, ".", "-" or "_"${raw === undefined ? '' : `, got "${raw.slice(0, 40)}"`}`, {
      hint: `e.g. ${flag} admin`,
    });
  }
  return raw;
}

/** Checked before anything is read or asked: --password-stdin belongs to a login, and stdin has one reader. */
export function checkSignInFlags(options: { operator?: string | undefined; passwordStdin?: boolean; tokenFile?: string | undefined; stdinTaken?: string }): void {
  if (options.passwordStdin === true && options.operator === undefined) {
    throw new VaultSetupError('E_USAGE', '--password-stdin is the password of an operator login, and no --operator NAME was given', { hint: 'add --operator NAME, or drop --password-stdin' });
  }
  if (options.operator !== undefined && options.tokenFile !== undefined) {
    throw new VaultSetupError('E_USAGE', '--operator and --token-file are two ways to authenticate: give one', { hint: 'keep --operator NAME to log in, or --token-file FILE to use a token you hold' });
  }
  if (options.passwordStdin === true && options.stdinTaken !== undefined) {
    throw new VaultSetupError('E_USAGE', `--password-stdin and ${options.stdinTaken} both read standard input`, {
      hint: 'type the password at the masked prompt, or give the value with --from-env FIELD=VAR',
    });
  }
}

export async function signIn(ctx: Context, api: VaultApi, options: SignInOptions): Promise<Session> {
  if (options.quorum !== undefined) {
    if (options.operator !== undefined || options.tokenFile !== undefined) {
      throw new VaultSetupError('E_USAGE', '--quorum is a way to authenticate of its own: drop --operator and --token-file', { hint: 'the share holders make a root token for this one command' });
    }
    const seal = await api.sealStatus();
    const shares = await collectShares(ctx, { fromStdin: options.quorum.fromStdin, threshold: seal.t, shares: seal.n, purpose: options.purpose });
    let root;
    try {
      root = await generateRoot(ctx, options.quorum.target, shares);
    } finally {
      shares.drop();
    }
    const session = tokenSession(ctx, api, await expiring(ctx, api, root.token), 'quorum (a root token for this command only)', 'root');
    await ctx.checkpoint('quorum', 'token');
    return session;
  }
  if (options.operator === undefined) {
    const token = await obtainToken(ctx, { tokenFile: options.tokenFile, purpose: options.purpose });
    return heldSession(token, 'token');
  }
  const name = validateOperatorName(options.operator);
  const password = options.password ?? (await operatorPassword(ctx, name, options.passwordStdin === true));
  const res = await api.request<any>('POST', `auth/${USERPASS_MOUNT}/login/${name}`, { body: { password }, accept: [400, 403, 404] });
  if (res.status !== 200) {
    const missing = res.status === 404 || /no handler|unsupported path/i.test(JSON.stringify(res.body?.errors ?? []));
    throw new VaultSetupError('E_AUTH', missing ? `this server has no operator logins (auth/${USERPASS_MOUNT} is not enabled)` : `the operator login ${name} was refused (wrong name or password)`, {
      hint: missing ? 'create one with a privileged token: vault-setup operator add NAME' : 'check the name and the password; `vault-setup operator passwd --operator NAME` changes it',
    });
  }
  const token = String(res.body?.auth?.client_token ?? '');
  ctx.redactor.add(token);
  return tokenSession(ctx, api, token, `operator ${name}`, 'operator');
}

/** A token this command did not make (one the operator holds, a backup identity's login): left alone at the end. */
export function heldSession(token: string, via: string): Session {
  return { token, via, end: async () => ({ revoked: false }), gone: () => {}, [Symbol.asyncDispose]: async () => {} };
}

/** A root token the share holders made for this command (generate-root with shares it holds): revoked when it ends. */
export async function quorumRootSession(ctx: Context, api: Pick<VaultApi, 'request'>, token: string): Promise<Session> {
  return tokenSession(ctx, api, await expiring(ctx, api, token), 'quorum (a root token for this command only)', 'root');
}

/** How long a quorum's root token lives if its command never gets to revoke it (killed, the host lost). */
export const QUORUM_TOKEN_TTL = '30m';

/**
 * generate-root makes a root token that never expires. The command works with an orphan root token that expires
 * (QUORUM_TOKEN_TTL) instead, and the generated one is revoked at once: a command killed before its end, or a
 * snapshot taken while it ran, leaves no immortal root token behind.
 */
async function expiring(ctx: Context, api: Pick<VaultApi, 'request'>, generated: string): Promise<string> {
  let token: string;
  try {
    const res = await api.request<any>('POST', 'auth/token/create-orphan', {
      token: generated,
      body: { policies: ['root'], ttl: QUORUM_TOKEN_TTL, explicit_max_ttl: QUORUM_TOKEN_TTL, renewable: false, display_name: 'vault-setup-quorum' },
    });
    token = String(res.body?.auth?.client_token ?? '');
    if (token === '') throw new VaultSetupError('E_SERVER', 'the server made no token for the quorum (auth/token/create-orphan answered without one)');
    ctx.redactor.add(token);
  } catch (error) {
    await api.request('POST', 'auth/token/revoke-self', { token: generated }).catch(() => undefined);
    throw error;
  }
  await api.request('POST', 'auth/token/revoke-self', { token: generated });
  return token;
}

/** A token this command made (an operator login, a quorum's root token): revoked when the command ends. */
function tokenSession(ctx: Context, api: Pick<VaultApi, 'request'>, token: string, via: string, kind: 'operator' | 'root'): Session {
  let ended = false;
  const end = async (): Promise<{ revoked: boolean }> => {
    if (ended) return { revoked: true };
    ended = true;
    try {
      await api.request('POST', 'auth/token/revoke-self', { token });
      return { revoked: true };
    } catch {
      ctx.output.warn(
        kind === 'root'
          ? 'Could not revoke the root token made for this command: revoke it now (vault-setup verify lists live root tokens).'
          : "Could not revoke the operator login's token; it expires by itself within its TTL (1 h at most).",
      );
      return { revoked: false };
    }
  };
  // A root token must not outlive an interrupted command either.
  if (kind === 'root') {
    ctx.interrupts.set(async () => {
      if ((await end()).revoked) ctx.output.warn('\nInterrupted: the root token made for this command is revoked; nothing after this point was done.');
      return true;
    });
  }
  const finish = async (): Promise<{ revoked: boolean }> => {
    if (kind === 'root') ctx.interrupts.set(undefined);
    return end();
  };
  const gone = (): void => {
    ended = true;
    if (kind === 'root') ctx.interrupts.set(undefined);
  };
  return { token, via, end: finish, gone, [Symbol.asyncDispose]: async () => void (await finish()) };
}

async function operatorPassword(ctx: Context, name: string, fromStdin: boolean): Promise<string> {
  let password: string;
  if (fromStdin) {
    if (ctx.stdin.isTTY === true) {
      throw new VaultSetupError('E_USAGE', '--password-stdin reads a pipe, but standard input is a terminal (the password would be echoed)', { hint: 'drop --password-stdin to be asked with hidden input' });
    }
    password = await readStdinText(ctx.stdin, 'the password on standard input');
  } else {
    if (!ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', `the password of the operator ${name} is needed and there is no terminal to ask`, {
        hint: 'pipe it in with --password-stdin (e.g. from a password manager), never as an argument',
      });
    }
    password = await ctx.prompter.secret(`Password of the operator ${name} (input hidden)`, { validate: (v) => (v.length > 0 ? true : 'a password is needed') });
  }
  ctx.redactor.add(password);
  if (password.length === 0) throw new VaultSetupError('E_AUTH', `the password of the operator ${name} is empty`, { hint: 'give the password on standard input, one line' });
  return password;
}
