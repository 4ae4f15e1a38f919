// `vault-setup unseal`: bring the server back after a restart. Starts the container if it is stopped, waits for
// the API, shows the round's progress k/T (shares from other holders count too) and takes shares one at a time:
// masked at a terminal, or one per line from a pipe with --stdin. Never from argv or the environment.
import readline from 'node:readline';
import type { Context } from '../context.ts';
import { checkSignInFlags } from '../auth/sign-in.ts';
import { VaultSetupError } from '../errors.ts';
import { interactiveShareHooks } from '../ceremony/share-prompt.ts';
import { shareOrThrow } from '../ceremony/shares.ts';
import { notInitialised, progressText, unsealRounds, waitUntilActive } from '../ceremony/unseal-round.ts';
import { ensureRunning } from '../services/readiness.ts';
import { type Target, connect, openTarget } from '../services/target.ts';
import type { SealStatus } from '../services/vault-api.ts';
import { bool, duration, str } from '../options/flags.ts';
import type { CommandResult, Invocation } from '../invocation.ts';

export async function unseal({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) {
    // Not echoed: it may well be a share, already exposed in `ps` and the shell history.
    throw new VaultSetupError('E_USAGE', '`vault-setup unseal` takes no arguments: shares are never accepted on the command line', {
      hint: 'a share in argv is visible to every user in `ps` and stays in the shell history; run `vault-setup unseal` to be asked (hidden), or pipe it with --stdin',
    });
  }
  const fromStdin = bool(flags, 'stdin');
  const reset = bool(flags, 'reset');
  const waitMs = duration(flags, 'wait', '90s');
  const signInFlags = { operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), tokenFile: str(flags, 'token-file') };
  const signsIn = signInFlags.operator !== undefined || signInFlags.tokenFile !== undefined || signInFlags.passwordStdin;
  if (bool(flags, 'cluster')) {
    if (reset || str(flags, 'addr') !== undefined) throw new VaultSetupError('E_USAGE', '--cluster unseals the nodes the deployment knows: drop --reset and --addr', { hint: 'vault-setup unseal --cluster --dir DIR' });
    if (fromStdin && signInFlags.passwordStdin) {
      throw new VaultSetupError('E_USAGE', '--password-stdin and --stdin both read standard input: the shares and the password cannot share one pipe', {
        hint: 'drop --password-stdin to type the password at a hidden prompt, or sign in with --token-file FILE',
      });
    }
    if (fromStdin && signInFlags.operator !== undefined && !signInFlags.passwordStdin && !ctx.prompter.interactive) {
      throw new VaultSetupError('E_NEEDS_ANSWER', `--stdin carries the shares, and there is no terminal to ask the password of the operator login ${signInFlags.operator}`, {
        hint: 'run it at a terminal (the shares and the password are asked hidden), or sign in with --token-file FILE (a token that may read the raft configuration and the cluster PKI)',
      });
    }
    checkSignInFlags(signInFlags);
    const { unsealCluster } = await import('../cluster/unseal-command.ts');
    return unsealCluster(ctx, { dir: str(flags, 'dir'), fromStdin, waitMs: str(flags, 'wait') === undefined ? 60_000 : waitMs, signIn: signsIn ? signInFlags : undefined });
  }
  if (signsIn) {
    throw new VaultSetupError('E_USAGE', '--operator, --password-stdin and --token-file go with --cluster (to ask the cluster for its nodes); unsealing one server needs no sign-in', {
      hint: 'vault-setup unseal --cluster --operator NAME, or drop the sign-in flags',
    });
  }
  if (fromStdin && ctx.stdin.isTTY === true) {
    throw new VaultSetupError('E_USAGE', '--stdin reads shares from a pipe, but standard input is a terminal (the share would be echoed)', {
      hint: 'run without --stdin to be asked with hidden input, or pipe the share: gpg -d share-1.asc | vault-setup unseal --stdin',
    });
  }
  using open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const { target, api } = open;
  // Nothing to ask on: an unsealed server is still exit 17 (the README's table), anything else needs a pipe.
  if (!fromStdin && !reset && !ctx.prompter.interactive) throw await withoutTerminal(ctx, target);
  const started = str(flags, 'addr') === undefined && target.name !== undefined ? await ensureRunning(ctx, target, waitMs) : false;
  let before = await api.sealStatus();
  if (!before.initialized) throw notInitialised();
  if (!before.sealed) {
    throw new VaultSetupError('E_ALREADY_UNSEALED', `the server at ${target.address} is already unsealed; no share was used`, {
      hint: 'nothing to do (exit code 17 means exactly this)',
    });
  }
  const tell = (line: string) => ctx.output.info(line);
  if (started) tell(`Started the container ${target.name}: a server starts sealed, and any unseal progress from before it stopped is gone.`);
  if (reset) {
    const was = progressText(before);
    before = await api.unsealReset();
    tell(`Discarded the unseal round (was ${was}).`);
    if (!fromStdin && !ctx.prompter.interactive) return done(target, before, 0, reset, started);
  }
  tell(`Server ${target.address} is sealed: ${progressText(before)} (${before.t} of ${before.n} shares unseal it).`);
  const hooks = fromStdin ? stdinHooks(ctx, tell) : interactiveShareHooks(ctx, tell, { allowStop: true });
  let entered = 0;
  const after = await unsealRounds(ctx, api, {
    ...hooks,
    read: async (status) => {
      const key = await hooks.read(status);
      if (key !== undefined) entered++;
      return key;
    },
  }).catch((error: unknown) => {
    throw midRound(error, target, entered, before.t, str(flags, 'addr') !== undefined);
  });
  if (!after.sealed) await waitUntilActive(api, ctx);
  return done(target, after, entered, reset, started);
}

/** A malformed line after good ones: the earlier shares did reach the server, and it keeps their progress. */
function afterSent(error: unknown, sent: number, status: SealStatus): unknown {
  if (!(error instanceof VaultSetupError)) return error;
  return new VaultSetupError(error.code, error.message, {
    hint: `that line was not sent, but the ${sent === 1 ? 'share' : `${sent} shares`} before it ${sent === 1 ? 'was' : 'were'}: the server holds ${progressText(status)}. Pipe the remaining shares to \`vault-setup unseal --stdin\`, or start over with --reset`,
  });
}

async function withoutTerminal(ctx: Context, target: Target): Promise<VaultSetupError> {
  const api = connect(ctx, target.address, target.caCert, { attempts: 1 });
  const seal = await api.sealStatus().catch(() => undefined);
  api.close();
  if (seal?.initialized === true && !seal.sealed) {
    return new VaultSetupError('E_ALREADY_UNSEALED', `the server at ${target.address} is already unsealed; no share was used`, { hint: 'nothing to do (exit code 17 means exactly this)' });
  }
  return new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for shares', {
    hint: 'pipe them in, one per line: gpg -d share-1.asc | vault-setup unseal --stdin (never pass a share as an argument)',
  });
}

function done(target: Target, status: SealStatus, entered: number, reset: boolean, started: boolean): CommandResult {
  const data = {
    address: target.address,
    container: target.name ?? null,
    started,
    reset,
    sharesEntered: entered,
    sealed: status.sealed,
    progress: status.progress,
    threshold: status.t,
    shares: status.n,
  };
  const human = status.sealed
    ? `Still sealed: ${progressText(status)}. The other holders add theirs with \`vault-setup unseal\` (the server keeps the progress).`
    : `Unsealed: ${target.address} is open.`;
  return { data, human };
}

/** The server failed or went away during the round: say what became of the progress and how to go on. */
function midRound(error: unknown, target: Target, entered: number, threshold: number, byAddr: boolean): unknown {
  if (!(error instanceof VaultSetupError) || (error.code !== 'E_SERVER_UNREACHABLE' && error.code !== 'E_SERVER')) return error;
  const again = `vault-setup unseal${byAddr || target.dir === undefined ? ` --addr ${target.address}` : ` --dir ${target.dir}`}`;
  const gone = error.code === 'E_SERVER_UNREACHABLE';
  return new VaultSetupError(error.code, `the unseal round stopped ${entered === 0 ? 'before the first share' : `at share ${entered} of ${threshold}`}: ${error.message}`, {
    hint: gone
      ? `a server that restarts comes back sealed with its progress at 0/${threshold}: run \`${again}\` again${byAddr ? '' : ' (it starts the container if it is stopped)'} and enter ${threshold} shares`
      : `the last share may not have counted: \`vault-setup status\` shows the progress; check \`docker logs ${target.name ?? '<container>'}\`, then run \`${again}\` again`,
  });
}

/** --stdin: one share per line, blank lines skipped; a malformed line stops with its line number, never its text. */
function stdinHooks(ctx: Context, tell: (line: string) => void): Parameters<typeof unsealRounds>[2] {
  const lines = readline.createInterface({ input: ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false })[Symbol.asyncIterator]();
  let lineNo = 0;
  let sent = 0;
  return {
    say: tell,
    onRoundFailed: async () => 'stop',
    read: async (status) => {
      for (;;) {
        const next = await lines.next();
        if (next.done === true) return undefined;
        lineNo++;
        if (next.value.trim() === '') continue;
        let key: string;
        try {
          key = shareOrThrow(next.value, `line ${lineNo} of standard input`, status.n);
        } catch (error) {
          throw sent === 0 ? error : afterSent(error, sent, status);
        }
        ctx.redactor.addShare(key);
        sent++;
        return key;
      }
    },
  };
}
