// `vault-setup operator add|remove|passwd`: the operator logins (userpass at auth/userpass, policy
// vault-setup-operator). Adding or removing a login is a privilege change: it needs a privileged token, which an
// operator login is not. passwd changes one's own password.
import type { Context } from '../context.ts';
import { OPERATOR_TTL, addOperator, changeOwnPassword, newPassword, removeOperator } from '../auth/operator.ts';
import { OPERATOR_POLICY, USERPASS_MOUNT, checkSignInFlags, signIn, validateOperatorName } from '../auth/sign-in.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { readStdinText } from '../secrets/values.ts';
import { bool, str } from '../options/flags.ts';
import { openTarget, requireUnsealed } from '../services/target.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

const SUBCOMMANDS = ['add', 'remove', 'passwd'] as const;

export async function operator({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const [sub, rawName, ...extra] = positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw usageError(sub === undefined ? 'say what to do: operator add|remove|passwd' : `unknown operator command "${sub.slice(0, 40)}"`, 'vault-setup operator add NAME | operator remove NAME | operator passwd --operator NAME');
  }
  if (extra.length > 0) throw usageError(`unexpected argument "${String(extra[0]).slice(0, 40)}"`, 'give one login NAME; passwords are never arguments');
  const login = str(flags, 'operator');
  const passwordStdin = bool(flags, 'password-stdin');
  const tokenFile = str(flags, 'token-file');
  let name: string;
  if (sub === 'passwd') {
    if (rawName !== undefined) throw usageError('operator passwd changes your own password: name yourself with --operator NAME', `vault-setup operator passwd --operator ${rawName.slice(0, 40)}`);
    name = validateOperatorName(login);
  } else {
    name = validateOperatorName(rawName, `operator ${sub} NAME`);
    // For add, standard input carries the new login's password, so the command's own login cannot read it too.
    checkSignInFlags({ operator: login, passwordStdin: sub === 'add' ? false : passwordStdin, tokenFile });
    if (sub === 'add' && passwordStdin && login !== undefined) {
      throw new VaultSetupError('E_USAGE', `--password-stdin gives the new login's password; the login to act as (--operator ${login}) would need it too`, { hint: 'use a privileged token (VAULT_TOKEN/BAO_TOKEN or --token-file) to add a login' });
    }
  }
  if (bool(flags, 'stdin') && passwordStdin) throw usageError('--stdin (the shares) and --password-stdin both read standard input', 'type the password at the hidden prompt, or the shares (drop --stdin)');
  using open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const { target, api } = open;
  const seal = await api.sealStatus();
  requireUnsealed(seal, target.address);
  if (sub === 'passwd') return await passwd(ctx, api, name, passwordStdin);
  // The new password is asked before the login, so a mistyped one costs no token.
  const password = sub === 'add' ? await newPassword(ctx, name, passwordStdin) : undefined;
  await using session = await signIn(ctx, api, { tokenFile, operator: login, passwordStdin: sub === 'add' ? false : passwordStdin, quorum: bool(flags, 'quorum') ? { target, fromStdin: bool(flags, 'stdin') } : undefined, purpose: `${sub} an operator login` });
  try {
    if (sub === 'add') {
      const { created, userpassEnabled } = await addOperator(api, session.token, name, password as string);
      return {
        data: { operator: name, created, policy: OPERATOR_POLICY, mount: `auth/${USERPASS_MOUNT}`, token_max_ttl: OPERATOR_TTL },
        human: `${created ? 'Created' : 'Updated'} the operator login ${name} (policy ${OPERATOR_POLICY}, tokens of ${OPERATOR_TTL} at most${userpassEnabled ? `; enabled auth/${USERPASS_MOUNT}` : ''}). Use it with --operator ${name}.`,
      };
    }
    const removed = await removeOperator(api, session.token, name);
    return { data: { operator: name, removed }, human: removed ? `Removed the operator login ${name}.` : `There is no operator login ${name}: nothing to remove.` };
  } catch (error) {
    throw deniedAsPrivilege(error, session.via);
  }
}

async function passwd(ctx: Context, api: VaultApi, name: string, fromStdin: boolean): Promise<CommandResult> {
  let current: string | undefined;
  let next: string;
  if (fromStdin) {
    // Two lines on one pipe: the current password, then the new one.
    const text = await readStdinText(ctx.stdin, 'standard input');
    const lines = text.split(/\r?\n/);
    ctx.redactor.add(...lines);
    if (lines.length !== 2 || lines.some((l) => l.length === 0)) {
      throw new VaultSetupError('E_USAGE', 'operator passwd --password-stdin reads two lines: the current password, then the new one', { hint: 'or run it in a terminal to be asked (hidden)' });
    }
    [current, next] = lines as [string, string];
    if (next.length < 12) throw new VaultSetupError('E_USAGE', `the new password for ${name} is shorter than 12 characters; nothing was changed`, { hint: 'use a longer one' });
  } else {
    next = '';
  }
  await using session = await signIn(ctx, api, { operator: name, purpose: 'change your password', ...(current !== undefined ? { password: current } : {}) });
  if (!fromStdin) next = await newPassword(ctx, name, false);
  await changeOwnPassword(api, session.token, name, next);
  return { data: { operator: name, changed: true }, human: `Changed the password of ${name}.` };
}

/** An operator login may not change logins: say which token would. */
function deniedAsPrivilege(error: unknown, via: string): unknown {
  if (error instanceof VaultSetupError && error.code === 'E_DENIED' && via.startsWith('operator')) {
    return new VaultSetupError('E_DENIED', `${via} may not add or remove logins: that is a privilege change`, {
      hint: 'use a privileged token (VAULT_TOKEN/BAO_TOKEN or --token-file), e.g. one made by `vault-setup generate-root`',
    });
  }
  return error;
}
