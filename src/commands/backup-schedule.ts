// What `backup` does beyond one snapshot, for backups that run themselves: retention (--keep, --keep-weekly),
// the off-host copy (--copy-to), the drill (--drill), and the narrow backup identity (--create-identity,
// --identity). backup.ts calls in here at three points; everything else lives in this module.
import path from 'node:path';
import type { Context } from '../context.ts';
import { defaultDir } from '../deployment.ts';
import { EXIT, usageError } from '../errors.ts';
import { type Flags, bool, int, str } from '../options/flags.ts';
import { obtainToken } from '../services/token.ts';
import { type Session, checkSignInFlags, heldSession, signIn } from '../auth/sign-in.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { connect } from '../services/target.ts';
import type { CommandResult } from '../invocation.ts';
import { type CopyTarget, copySnapshot, describeTarget, parseCopyTarget } from '../backup/copy.ts';
import { drill } from '../backup/drill.ts';
import { IDENTITY, IDENTITY_FILE, createIdentity, loginIdentity } from '../backup/identity.ts';
import { prune } from '../backup/retention.ts';

export interface SchedulePlan {
  keep: number | undefined;
  keepWeekly: number;
  copyTo: CopyTarget | undefined;
}

export function schedulePlan(flags: Flags): SchedulePlan {
  const keep = str(flags, 'keep') === undefined ? undefined : int(flags, 'keep', 0, { min: 1, max: 100_000 });
  const keepWeekly = int(flags, 'keep-weekly', 0, { min: 0, max: 10_000 });
  if (keepWeekly > 0 && keep === undefined) throw usageError('--keep-weekly needs --keep N', 'e.g. --keep 7 --keep-weekly 8: the newest 7, and the newest of each of the last 8 weeks');
  const copy = str(flags, 'copy-to');
  return { keep, keepWeekly, copyTo: copy === undefined ? undefined : parseCopyTarget(copy) };
}

/** --drill and --create-identity are their own modes of `backup`; undefined when neither was asked for. */
export async function backupMode(flags: Flags, positionals: string[], ctx: Context, target: () => Promise<{ dir: string | undefined; address: string; caCert: string | undefined }>): Promise<CommandResult | undefined> {
  if (bool(flags, 'drill')) {
    if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`);
    const file = positionals[0] === undefined ? undefined : path.resolve(positionals[0]);
    const dir = file !== undefined ? path.dirname(file) : path.join(path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env)), 'backups');
    const report = await drill(dir, file);
    const human = [
      `Drill: ${report.file}${report.previous ? ` (compared with ${path.basename(report.previous)})` : ''}`,
      ...report.checks.map((c) => `${c.status} ${c.id}: ${c.finding}`),
      report.ok ? 'drill: the snapshot is sound (restoring it still needs the unseal keys of its cluster)' : 'drill: FAILED: do not rely on this snapshot; take a new backup and check the disk',
    ];
    return { data: report, human: human.join('\n'), exitCode: report.ok ? EXIT.ok : EXIT.verifyFailed };
  }
  if (bool(flags, 'create-identity')) {
    if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`);
    const t = await target();
    const file = identityPath(flags, t.dir);
    if (file === undefined) throw usageError('--addr without a deployment directory needs --identity FILE', 'where the credential file goes (0600)');
    const api = connect(ctx, t.address, t.caCert);
    try {
      const token = await obtainToken(ctx, { tokenFile: str(flags, 'token-file'), purpose: `create the backup identity (policy ${IDENTITY}, AppRole role ${IDENTITY})` });
      const made = await createIdentity(api, token, file, ctx.redactor);
      return {
        data: { identity: IDENTITY, policy: IDENTITY, role: `auth/approle/role/${IDENTITY}`, approle: made.approle, file },
        human: [`Backup identity ${IDENTITY}: policy with read on sys/storage/raft/snapshot only, AppRole role with that policy only.`, `Credential: ${file} (0600; chown it to the user the backup timer runs as).`, 'backup uses it when no token is given: vault-setup backup --identity FILE'].join('\n'),
      };
    } finally {
      api.close();
    }
  }
  return undefined;
}

const identityPath = (flags: Flags, dir: string | undefined): string | undefined => {
  const given = str(flags, 'identity');
  return given !== undefined ? path.resolve(given) : dir === undefined ? undefined : path.join(dir, IDENTITY_FILE);
};

/**
 * The token a backup uses: --identity FILE (or the deployment's backup-identity.json when no token was given
 * any other way) logs in as the backup identity; else --token-file, VAULT_TOKEN/BAO_TOKEN or a prompt.
 */
/**
 * The snapshot's token: an operator login (--operator, revoked when disposed), the backup identity (--identity, or
 * <dir>/backup-identity.json when no token was given), else a token the operator holds.
 */
export async function backupToken(ctx: Context, api: VaultApi, flags: Flags, dir: string | undefined, purpose: string): Promise<Session> {
  const operator = str(flags, 'operator');
  checkSignInFlags({ operator, passwordStdin: bool(flags, 'password-stdin'), tokenFile: str(flags, 'token-file') });
  if (operator !== undefined) return signIn(ctx, api, { operator, passwordStdin: bool(flags, 'password-stdin'), purpose });
  const explicit = str(flags, 'identity');
  const tokenGiven = str(flags, 'token-file') !== undefined || (ctx.env.VAULT_TOKEN ?? '').trim() !== '' || (ctx.env.BAO_TOKEN ?? '').trim() !== '';
  const file = explicit !== undefined ? path.resolve(explicit) : !tokenGiven && dir !== undefined ? path.join(dir, IDENTITY_FILE) : undefined;
  if (file !== undefined && (explicit !== undefined || (await exists(file)))) return heldSession(await loginIdentity(api, file, ctx.redactor), `identity ${file}`);
  return signIn(ctx, api, { tokenFile: str(flags, 'token-file'), purpose });
}


/** Retention and the off-host copy after a snapshot was saved. */
export async function afterSave(plan: SchedulePlan, file: string, sha256: string, ctx: Context): Promise<{ data: Record<string, unknown>; lines: string[] }> {
  const data: Record<string, unknown> = {};
  const lines: string[] = [];
  if (plan.copyTo !== undefined) {
    ctx.output.info(`Copying to ${describeTarget(plan.copyTo)} ...`);
    const copied = await copySnapshot(file, sha256, plan.copyTo);
    data.copy = copied;
    lines.push(`Copied to ${copied.to} (SHA-256 verified after the copy)`);
  }
  if (plan.keep !== undefined) {
    const result = await prune(path.dirname(file), plan.keep, plan.keepWeekly);
    data.retention = { keep: plan.keep, keep_weekly: plan.keepWeekly, kept: result.kept, removed: result.removed };
    lines.push(`Retention: kept ${result.kept.length}, removed ${result.removed.length}${result.removed.length ? ` (${result.removed.map((f) => path.basename(f)).join(', ')})` : ''}`);
  }
  return { data, lines };
}

async function exists(file: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  return fs.lstat(file).then(() => true, () => false);
}
