// Whose keys the shares go to, shown before init: a swapped or stale public key file is caught by its fingerprint.
import path from 'node:path';
import type { Context } from '../context.ts';
import { type PublicKeyFile, groupedFingerprint } from './pgp.ts';

export function holderLines(plan: { pgpKeys: PublicKeyFile[]; rootTokenKey?: PublicKeyFile | undefined }): string[] {
  const lines = plan.pgpKeys.map((k, i) => `  share ${i + 1} -> ${path.basename(k.file)}: ${groupedFingerprint(k.fingerprint)}`);
  if (plan.rootTokenKey !== undefined) lines.push(`  root token -> ${path.basename(plan.rootTokenKey.file)}: ${groupedFingerprint(plan.rootTokenKey.fingerprint)}`);
  return ['Shares are encrypted to these keys (check each fingerprint with its holder):', ...lines];
}

/** On stderr, also with --json (the operator must see it before the shares exist). */
export function showHolders(ctx: Context, plan: { pgpKeys: PublicKeyFile[]; rootTokenKey?: PublicKeyFile | undefined }): void {
  if (ctx.output.quiet) return;
  ctx.output.streams.stderr.write(`${holderLines(plan).join('\n')}\n`);
}
