// adopt's progress file: the last step done, so a re-run after a crash says where it resumes, resumes a storage
// migration it started, and finishes (rather than refusing as "already adopted") once the record is written.
// No secret in it: step names only.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists, writeAtomic } from '../services/files.ts';

export const STATE_FILE = 'adopt-state.json';

/** In order: the hardened files, raft, configure, the old app token, the record (and scripts), the root token. */
export type Step = 'shape' | 'raft' | 'configured' | 'old-app-token' | 'recorded' | 'root-token';

export interface AdoptState {
  /** The last step that completed (done, or found done). */
  step: Step;
}

export async function readState(dir: string): Promise<AdoptState | undefined> {
  const text = await readIfExists(path.join(dir, STATE_FILE));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AdoptState;
  } catch {
    throw new VaultSetupError('E_USAGE', `${path.join(dir, STATE_FILE)} is not valid JSON`, { hint: 'it records an interrupted adopt; remove it and re-run adopt, which finds the steps already done' });
  }
}

/** Records the step done (atomically), then tells the context's checkpoint: a re-run resumes after it. */
export async function writeState(ctx: Context, dir: string, state: AdoptState): Promise<void> {
  await writeAtomic(path.join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await ctx.checkpoint('adopt', state.step);
}

export const clearState = (dir: string): Promise<void> => fs.rm(path.join(dir, STATE_FILE), { force: true });
