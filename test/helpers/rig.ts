// The test rig written by scripts/rig.sh. Missing parts fail loudly: an integration test is never skipped.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Rig {
  node: string;
  bao: string;
  openbaoImage: string;
  vaultLayoutImage: string;
  /** The matrix's HashiCorp Vault (1.21.4; 1.17.6 when the rig was told not to build 1.21). */
  vaultImage: string;
  /** HashiCorp Vault 1.17.6 (the playbook's): the Vault 1.17, upgrade, migrate and adopt tests. */
  vault117Image: string;
  /** HashiCorp Vault 1.21.4 (the default image's release line): the matrix's Vault and the upgrade's target. */
  vaultNextImage: string;
  composeV2: string;
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let cached: Rig | undefined;

export function rig(): Rig {
  if (cached !== undefined) return cached;
  const file = `${ROOT}.rig/rig.json`;
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`bash scripts/rig.sh\` first (it sets up Docker, OpenBao and the test images)`);
  cached = JSON.parse(readFileSync(file, 'utf8')) as Rig;
  return cached;
}

/** The server images every integration suite runs against. The real Vault joins when the rig built it. */
export function serverImages(): { label: string; flavor: 'vault' | 'openbao'; image: string }[] {
  const r = rig();
  const images: { label: string; flavor: 'vault' | 'openbao'; image: string }[] = [
    { label: 'openbao', flavor: 'openbao', image: r.openbaoImage },
    { label: 'openbao-in-vault-layout', flavor: 'vault', image: r.vaultLayoutImage },
  ];
  // The real Vault is part of every suite: a rig without it (RIG_VAULT=0) fails the suites rather than skip Vault.
  if (!r.vaultImage) throw new Error('the rig has no HashiCorp Vault image: run `bash scripts/rig.sh` (without RIG_VAULT=0)');
  images.push({ label: 'vault', flavor: 'vault', image: r.vaultImage });
  return images;
}

/** Vault 1.17.6, for the tests that name 1.17 behaviour. */
export function vault117Image(): string {
  const r = rig();
  if (!r.vault117Image) throw new Error('the rig has no HashiCorp Vault 1.17 image: run `bash scripts/rig.sh` (without RIG_VAULT=0)');
  return r.vault117Image;
}

export function vaultNextImage(): string {
  const r = rig();
  if (!r.vaultNextImage) throw new Error('the rig has no HashiCorp Vault 1.21 image: run `bash scripts/rig.sh` (RIG_VAULT_NEXT unset builds it)');
  return r.vaultNextImage;
}
