// init, second phase, at a terminal: the shares are shown once, the operator confirms the backup and proves it by
// typing a threshold of them back (masked); those unseal the server; then screen and scrollback are cleared.
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { isPromptExit } from '../services/prompter.ts';
import type { InitResponse, VaultApi } from '../services/vault-api.ts';
import { type StepRecord, record } from '../tasks/listr.ts';
import { initServer } from './init-server.ts';
import type { CeremonyInput, CeremonyOutcome, CeremonyPlan } from './plan.ts';
import { CLEAR_SCREEN_AND_SCROLLBACK, keepingAdvice, showAndConfirm } from './share-display.ts';
import { interactiveShareHooks, say } from './share-prompt.ts';
import { unsealRounds, waitUntilActive } from './unseal-round.ts';

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
    await showInitShares(ctx, plan, shares, rootToken);
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
          await showInitShares(ctx, plan, shares, rootToken);
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

function showInitShares(ctx: Context, plan: CeremonyPlan, shares: string[], rootToken: string): Promise<void> {
  const s = ctx.output.style;
  return showAndConfirm(ctx, {
    title: `Unseal key shares: ${plan.shares} shares, any ${plan.threshold} of them unseal the server`,
    shares,
    body: [
      `  Root token: ${rootToken}`,
      '',
      `  ${s.yellow('Save them now, before you go on:')}`,
      ...keepingAdvice(plan.shares, plan.threshold),
      `  - After every restart, any ${plan.threshold} of the ${plan.shares} shares unseal the server. With fewer than ${plan.threshold}, its data is lost for good.`,
      '  - The root token can do anything. init uses it to finish the setup; keep it as carefully as the shares.',
      '',
      `  These are shown only during this ceremony. Next you type ${plan.threshold} of them back from your copy.`,
      '',
    ],
    question: `Have you saved all ${plan.shares} shares and the root token outside this server?`,
    // Ctrl-C at the question: the keys are still only on this screen.
    onStop: () => confirmStop(ctx, plan),
  });
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
