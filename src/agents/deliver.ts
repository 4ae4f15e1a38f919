// Credentials as files for a deploy step that wants them: role_id and secret_id, 0600, written atomically,
// never replacing an existing file without --force. Conflicts are found before a secret_id is even issued.
import fs from 'node:fs/promises';
import path from 'node:path';
import { VaultSetupError } from '../errors.ts';
import { readIfExists, refuseSymlink, writeAtomic } from '../services/files.ts';

export interface OutDir {
  dir: string;
  roleIdFile: string;
  secretIdFile: string;
}

export async function prepareOutDir(dir: string, roleId: string, force: boolean): Promise<OutDir> {
  const abs = path.resolve(dir);
  await refuseSymlink(abs);
  await fs.mkdir(abs, { recursive: true, mode: 0o700 });
  const out = { dir: abs, roleIdFile: path.join(abs, 'role_id'), secretIdFile: path.join(abs, 'secret_id') };
  await refuseSymlink(out.roleIdFile);
  await refuseSymlink(out.secretIdFile);
  if (!force) {
    const existingRole = await readIfExists(out.roleIdFile);
    // The same role_id again is no conflict; a secret_id file always is (it would be replaced).
    const conflicts = [
      ...(existingRole !== undefined && existingRole.trim() !== roleId ? [out.roleIdFile] : []),
      ...((await readIfExists(out.secretIdFile)) !== undefined ? [out.secretIdFile] : []),
    ];
    if (conflicts.length > 0) {
      throw new VaultSetupError('E_FILE_CONFLICT', `${conflicts.join(' and ')} already ${conflicts.length > 1 ? 'exist' : 'exists'}`, {
        hint: 'nothing was issued: re-run with --force to replace the files, or choose another --out-dir',
      });
    }
  }
  return out;
}

export async function writeCredentials(out: OutDir, roleId: string, secretId: string, force: boolean): Promise<void> {
  const write = async (file: string, content: string, keepSame: boolean) => {
    if (keepSame && (await readIfExists(file))?.trim() === content) return;
    try {
      await writeAtomic(file, `${content}\n`, { mode: 0o600, exclusive: !force });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new VaultSetupError('E_FILE_CONFLICT', `${file} appeared while vault-setup was writing it`, { hint: 're-run with --force to replace it' });
      }
      throw error;
    }
  };
  await write(out.roleIdFile, roleId, true);
  await write(out.secretIdFile, secretId, false);
}
