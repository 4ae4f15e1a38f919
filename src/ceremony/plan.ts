// init, second phase, step one: what the key ceremony will do, decided from the options before the server is touched
// (init calls it before deploying, so bad input fails before anything is written).
import path from 'node:path';
import type { Context } from '../context.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { refuseSymlink } from '../services/files.ts';
import type { PhaseInput, StepRecord } from '../tasks/listr.ts';
import { type PublicKeyFile, readPublicKeyFile } from './pgp.ts';
import { resolveCounts } from './shares.ts';

/** The ceremony's options, as init parsed them (counts as typed: resolveCounts checks them against the keys). */
export interface CeremonyOptions {
  shares?: string | undefined;
  threshold?: string | undefined;
  /** One public key file per share holder. */
  pgpKeys: string[];
  rootTokenPgpKey?: string | undefined;
  keysOut?: string | undefined;
  printKeys: boolean;
  waitUnsealMs?: number | undefined;
  /** The ceremony options the operator gave, by flag name: they have no effect on a server initialised before. */
  given: string[];
}

export interface CeremonyInput extends PhaseInput {
  options: CeremonyOptions;
  /** The plan init made before deploying; planned here when init could not know the server was fresh. */
  plan?: CeremonyPlan | undefined;
  /** The deployment options as the operator gave them (flag name, value), for the command that resumes. */
  rerun: [string, string][];
}


export interface CeremonyOutcome {
  steps: StepRecord[];
  /** The server is unsealed now and configuration can go on. */
  unsealed: boolean;
  /** The root token from a fresh init, held in memory only; undefined when resuming or when it was PGP-encrypted. */
  rootToken?: string | undefined;
  /** The --json `init` member (field names of `vault operator init -format=json`), only when allowed. */
  init?: Record<string, unknown> | undefined;
  /** When init stops before unsealed: exactly how to resume. */
  resume?: string | undefined;
  /** The init result was printed on stdout (--print-keys, or PGP shares with no --keys-out): stdout holds that JSON only. */
  printed?: boolean;
}

export type CeremonyMode = 'interactive' | 'print' | 'pgp';

export interface CeremonyPlan {
  mode: CeremonyMode;
  shares: number;
  threshold: number;
  pgpKeys: PublicKeyFile[];
  rootTokenKey: PublicKeyFile | undefined;
  keysOut: string | undefined;
  printKeys: boolean;
  waitUnsealMs: number | undefined;
}

export const SHARE_FILE = (i: number): string => `share-${i}.asc`;
export const ROOT_TOKEN_FILE = 'root-token.asc';

/**
 * Checks every ceremony option (counts, key files, --yes rules, --keys-out) without touching the server.
 * Cheap and side-effect free apart from reading key files: init may call it before deploying, so bad input fails
 * before anything is written.
 */
export async function planCeremony(ctx: Pick<Context, 'prompter'>, options: CeremonyOptions): Promise<CeremonyPlan> {
  const { pgpKeys: keyFiles, rootTokenPgpKey: rootKeyFile, keysOut, printKeys, waitUnsealMs } = options;
  const counts = resolveCounts({ shares: options.shares, threshold: options.threshold }, keyFiles.length > 0 ? keyFiles.length : undefined);
  const pgp = keyFiles.length > 0;
  if (!pgp) {
    if (rootKeyFile !== undefined) throw usageError('--root-token-pgp-key goes with --pgp-keys', 'encrypt the shares too: --pgp-keys F1,...,FN (one public key per holder)');
    if (keysOut !== undefined) throw usageError('--keys-out writes PGP-encrypted shares only; vault-setup never writes an unencrypted share to a file', 'add --pgp-keys F1,...,FN (one public key per holder)');
    if (waitUnsealMs !== undefined) throw usageError('--wait-unseal is for --pgp-keys, where the holders unseal', 'without PGP keys the ceremony unseals the server itself');
  }
  const mode: CeremonyMode = pgp ? 'pgp' : printKeys ? 'print' : ctx.prompter.interactive ? 'interactive' : 'print';
  if (mode === 'print' && !printKeys) throw sharesNobodySees();
  if (pgp && rootKeyFile === undefined && !printKeys) {
    throw usageError(
      'with --pgp-keys the root token must be encrypted too: init cannot show it on a terminal and would otherwise print it in clear',
      'add --root-token-pgp-key FILE (the public key of whoever keeps the root token), or --print-keys to receive it in clear as JSON',
    );
  }
  if (waitUnsealMs !== undefined && keysOut === undefined) {
    throw usageError('--wait-unseal needs --keys-out: the holders need their encrypted share while init waits', 'add --keys-out DIR (the encrypted shares are safe at rest)');
  }
  const pgpKeys = await Promise.all(keyFiles.map((f) => readPublicKeyFile(f)));
  const rootTokenKey = rootKeyFile === undefined ? undefined : await readPublicKeyFile(rootKeyFile);
  if (keysOut !== undefined) await checkKeysOut(keysOut, counts.shares, rootTokenKey !== undefined);
  return { mode, ...counts, pgpKeys, rootTokenKey, keysOut: keysOut === undefined ? undefined : path.resolve(keysOut), printKeys, waitUnsealMs };
}

/** --keys-out must not hold share files already (they may be another server's), nor be a symlink. */
export async function checkKeysOut(dir: string, shares: number, rootToken: boolean, untouched = 'nothing was initialised'): Promise<void> {
  await refuseSymlink(path.resolve(dir));
  const fs = await import('node:fs/promises');
  const names = [...Array.from({ length: shares }, (_, i) => SHARE_FILE(i + 1)), ...(rootToken ? [ROOT_TOKEN_FILE] : [])];
  const existing: string[] = [];
  for (const name of names) {
    try {
      await fs.lstat(path.join(dir, name));
      existing.push(name);
    } catch {
      // absent: fine
    }
  }
  if (existing.length > 0) {
    throw new VaultSetupError('E_FILE_CONFLICT', `--keys-out ${dir} already holds ${existing.join(', ')}`, {
      hint: `those may be shares of another server: move them away or choose another directory (${untouched})`,
    });
  }
}

/** With nobody to show the shares to and nowhere else for them to go, a ceremony must not start (exit 15). */
export function sharesNobodySees(): VaultSetupError {
  return new VaultSetupError('E_NEEDS_ANSWER', 'without a terminal (or with --yes) the unseal shares cannot be shown to anyone, and shares nobody saved make the server unusable', {
    hint: 'pass --pgp-keys F1,...,FN to have each share encrypted to its holder, or --print-keys to receive them as JSON on stdout (store it safely), or run init in a terminal for the guided ceremony',
  });
}
