// init, second phase, at a terminal: the shares are shown once, the operator confirms the backup and proves it by
// typing a threshold of them back (masked); those unseal the server; then screen and scrollback are cleared.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { isPromptExit } from '../services/prompter.ts';
import type { InitResponse, VaultApi } from '../services/vault-api.ts';
import { type StepRecord, record } from '../tasks/listr.ts';
import { initServer } from './init-server.ts';
import type { CeremonyInput, CeremonyOutcome, CeremonyPlan } from './plan.ts';
import { interactiveShareHooks, say } from './share-prompt.ts';
import { unsealRounds, waitUntilActive } from './unseal-round.ts';

/** Erases the visible screen AND the terminal's scrollback, then homes the cursor. */
export const CLEAR_SCREEN_AND_SCROLLBACK = '\x1b[2J\x1b[3J\x1b[H';

export async function interactiveCeremony(ctx: Context, input: CeremonyInput, plan: CeremonyPlan, request: Parameters<VaultApi['init']>[0]): Promise<CeremonyOutcome> {
  const steps: StepRecord[] = [];
  const tell = say(ctx);
  const s = ctx.output.style;
  let confirmed = false;
  let termAsked = false;
  // From the moment the server returns the shares until the operator confirmed the backup, stopping loses them.
  ctx.interrupts.set(async () => {
    if (confirmed) return true;
    if (termAsked) return true;
    termAsked = true;
    tell(`\n${s.yellow('!')} ${lossText(plan)}\n  Signal again to stop anyway.`);
    return false;
  });
  let response: InitResponse | undefined;
  try {
    response = await initServer(ctx, input.api, request, plan);
    record(steps, 'init', 'done', `${plan.shares} shares, threshold ${plan.threshold}`);
    const shares = response.keys_base64;
    const rootToken = response.root_token;
    await showAndConfirm(ctx, plan, shares, rootToken);
    confirmed = true;
    ctx.interrupts.set(undefined);
    ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    tell(
      `${s.bold('Prove the backup.')} Type ${plan.threshold} of the ${plan.shares} shares back from where you saved them ` +
        `(input hidden, hex or base64). They unseal the server.`,
    );
    let shownAgain = false;
    const hooks = interactiveShareHooks(ctx, tell, {
      allowStop: false,
      onRoundFailed: async () => {
        if (await ctx.prompter.confirm('Show the shares again? (possible only until this ceremony ends)', { default: false })) {
          shownAgain = true;
          await showAndConfirm(ctx, plan, shares, rootToken);
          ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
        }
        tell(`New round: type ${plan.threshold} shares.`);
        return 'retry';
      },
    });
    const status = await unsealRounds(ctx, input.api, hooks);
    ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
    response.keys.fill('');
    shares.fill('');
    if (status.sealed) throw new VaultSetupError('E_UNSEAL_FAILED', 'the ceremony ended with the server still sealed', { hint: 'run `vault-setup unseal`' });
    await waitUntilActive(input.api, ctx);
    record(steps, 'unseal', 'done', `${plan.threshold} of ${plan.shares} shares typed back${shownAgain ? ' (shares shown twice)' : ''}`);
    tell(`${s.green('✔')} Backup proven: the server is unsealed. The shares are no longer on screen; they exist only where you saved them.`);
    return { steps, unsealed: true, rootToken };
  } finally {
    ctx.interrupts.set(undefined);
    if (response !== undefined && !confirmed) ctx.output.revealToTerminal(CLEAR_SCREEN_AND_SCROLLBACK);
  }
}

const lossText = (plan: CeremonyPlan): string =>
  `The ${plan.shares} unseal shares and the root token shown above exist nowhere else. If you stop before saving them, ` +
  `this server can never be unsealed again: everything stored in it is lost, and the only way out is to delete its data ` +
  `directory and initialise a new one.`;

async function showAndConfirm(ctx: Context, plan: CeremonyPlan, shares: string[], rootToken: string): Promise<void> {
  const s = ctx.output.style;
  const width = String(plan.shares).length;
  const lines = [
    '',
    s.bold(`Unseal key shares: ${plan.shares} shares, any ${plan.threshold} of them unseal the server`),
    '',
    ...shares.map((k, i) => `  Share ${String(i + 1).padStart(width)}:  ${k}`),
    '',
    `  Root token: ${rootToken}`,
    '',
    `  ${s.yellow('Save them now, before you go on:')}`,
    // The example only where it holds: 2 + 2 + 1 leaves nobody with 3 of 5.
    `  - Give each share to a different holder${plan.shares === 5 && plan.threshold === 3 ? ' (e.g. 2 for you, 2 for a co-admin, 1 in a safe)' : ''}. No one should hold`,
    `    ${plan.threshold} on their own unless they may open the server alone.`,
    '  - Keep them OUTSIDE this server: a password manager, a printed copy in a safe. Never in a file, a script or',
    '    the shell history here: whoever takes this server and its shares reads every secret.',
    `  - After every restart, any ${plan.threshold} of the ${plan.shares} shares unseal the server. With fewer than ${plan.threshold}, its data is lost for good.`,
    '  - The root token can do anything. init uses it to finish the setup; keep it as carefully as the shares.',
    '',
    `  These are shown only during this ceremony. Next you type ${plan.threshold} of them back from your copy.`,
    '',
  ];
  ctx.output.revealToTerminal(`${lines.join('\n')}\n`);
  for (;;) {
    let saved: boolean;
    try {
      saved = await ctx.prompter.confirm(`Have you saved all ${plan.shares} shares and the root token outside this server?`, { default: false });
    } catch (error) {
      if (!isPromptExit(error)) throw error;
      // Ctrl-C at the question: the keys are still only on this screen.
      await confirmStop(ctx, plan);
      continue;
    }
    if (saved) return;
    say(ctx)('Nothing is lost yet: the shares stay on screen. Save them, then answer yes.');
  }
}

async function confirmStop(ctx: Context, plan: CeremonyPlan): Promise<void> {
  say(ctx)(`\n${ctx.output.style.yellow('!')} ${lossText(plan)}`);
  let stop = true;
  try {
    stop = await ctx.prompter.confirm('Stop anyway and lose them?', { default: false });
  } catch (error) {
    if (!isPromptExit(error)) throw error; // a second Ctrl-C: the operator insists
  }
  if (stop) {
    throw new VaultSetupError('E_INTERRUPTED', 'stopped before the backup of the unseal shares was confirmed', {
      hint: 'the server is initialised; if the shares were not saved, remove the deployment\'s data directory and run init again',
    });
  }
}
