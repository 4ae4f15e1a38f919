// adopt's progress file: the last step done, so a re-run after a crash says where it resumes, resumes a storage
// migration it started, and finishes (rather than refusing as "already adopted") once the record is written.
// No secret in it: step names only.
import { progressFile } from '../services/progress-file.ts';

export const STATE_FILE = 'adopt-state.json';

/** In order: the hardened files, raft, configure, the old app token, the record (and scripts), the root token. */
export type Step = 'shape' | 'raft' | 'configured' | 'old-app-token' | 'recorded' | 'root-token';

export interface AdoptState {
  /** The last step that completed (done, or found done). */
  step: Step;
}

const progress = progressFile<AdoptState>('adopt', STATE_FILE, (s) => s.step, 'it records an interrupted adopt; remove it and re-run adopt, which finds the steps already done');
export const { read: readState, write: writeState, clear: clearState } = progress;
