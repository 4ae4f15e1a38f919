// A command's progress file in the deployment directory (upgrade, migrate, adopt): the last stage done, written
// atomically (0600, no secret in it) and then told to the context's checkpoint, so that a re-run resumes after it.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists, writeAtomic } from './files.ts';

export interface ProgressFile<S> {
  read(dir: string): Promise<S | undefined>;
  write(ctx: Context, dir: string, state: S): Promise<void>;
  clear(dir: string): Promise<void>;
}

/** `command`'s progress in `file`; `stage` names the state's last stage; `damaged` is the hint for an unreadable file. */
export function progressFile<S>(command: string, file: string, stage: (state: S) => string, damaged: string): ProgressFile<S> {
  return {
    async read(dir) {
      const text = await readIfExists(path.join(dir, file));
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as S;
      } catch {
        throw new VaultSetupError('E_USAGE', `${path.join(dir, file)} is not valid JSON`, { hint: damaged });
      }
    },
    async write(ctx, dir, state) {
      await writeAtomic(path.join(dir, file), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      await ctx.checkpoint(command, stage(state));
    },
    clear: (dir) => fs.rm(path.join(dir, file), { force: true }),
  };
}
