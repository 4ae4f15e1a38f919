// The refusals `upgrade` makes before anything changes: each says what is wrong and the fix. The server's own answers
// decide (its version API, the target binary's `version` output), never the image's name, except that a tag naming
// a version must agree with what the binary says it is.
import fs from 'node:fs/promises';
import path from 'node:path';
import { compareVersions } from '../config/versions.ts';
import { VaultSetupError } from '../errors.ts';
import type { ServerIdentity } from '../services/docker.ts';

/** The version a tag names (`openbao/openbao:2.7.2`, `hashicorp/vault:1.21.4-ent`), if it names one. */
export function tagVersion(image: string): string | undefined {
  const tag = /:([^/:@]+)(@sha256:[0-9a-f]+)?$/.exec(image)?.[1];
  return tag === undefined ? undefined : /^v?(\d+\.\d+\.\d+)(?:$|[-+])/.exec(tag)?.[1];
}

/** OpenBao removed file storage from the server in 2.7 (`operator migrate` keeps reading it until 2.8). */
export const hasFileStorage = (server: ServerIdentity): boolean => server.product !== 'openbao' || compareVersions(server.version, '2.7.0') < 0;

export interface VersionCheck {
  image: string;
  current: ServerIdentity;
  target: ServerIdentity | undefined;
  storage: string;
}

/** Product, direction, tag and storage: the checks that need no server call beyond what the caller read. */
export function checkVersions({ image, current, target, storage }: VersionCheck): void {
  if (target === undefined) {
    throw new VaultSetupError('E_IMAGE_MISSING', `${image} does not say what it is: \`${image} version\` printed no Vault or OpenBao version`, {
      hint: 'pass the image of a Vault or OpenBao server (e.g. openbao/openbao:2.7.2 or hashicorp/vault:1.21.4); nothing was changed',
    });
  }
  const named = tagVersion(image);
  if (named !== undefined && compareVersions(named, target.version) !== 0) {
    throw new VaultSetupError('E_IMAGE_MISSING', `${image} names version ${named} in its tag, but its server says it is ${target.raw}`, {
      hint: 'the tag does not match its content: pull the image again (docker pull), or use one whose tag and binary agree; nothing was changed',
    });
  }
  if (target.product !== current.product) {
    throw new VaultSetupError('E_USAGE', `the deployment runs ${current.raw} and ${image} is ${target.raw}: moving between Vault and OpenBao is a migration, not an upgrade`, {
      hint: 'pass an image of the same server; nothing was changed',
    });
  }
  const order = compareVersions(target.version, current.version);
  if (order < 0) {
    throw new VaultSetupError('E_USAGE', `${image} is ${target.raw}, older than the running ${current.raw}: downgrades are refused`, {
      hint: `the servers do not support going back once the data was opened by a newer version; to return to an older release, restore a snapshot taken before the upgrade on a fresh deployment. Nothing was changed`,
    });
  }
  if (storage === 'file' && !hasFileStorage(target)) {
    throw new VaultSetupError('E_USAGE', `this deployment uses file storage, which ${target.raw} no longer has (OpenBao removed it in 2.7)`, {
      hint: 'move the data to raft storage first (`vault-setup migrate --storage raft`), or upgrade to the newest 2.6 release; nothing was changed',
    });
  }
}

/** CVE-2025-6000: an audit file with an executable mode makes patched servers refuse to unseal. */
export function executableModes(devices: Record<string, { type?: string; options?: Record<string, unknown> }>): string[] {
  const found: string[] = [];
  for (const [name, device] of Object.entries(devices)) {
    const mode = device.options?.mode;
    if (device.type === 'file' && typeof mode === 'string' && /^[0-7]{3,4}$/.test(mode) && (Number.parseInt(mode, 8) & 0o111) !== 0) found.push(`${name} (mode ${mode})`);
  }
  return found;
}

/** The same check on the audit log files themselves (what the server will find when it opens them). */
export async function executableLogFiles(logsDir: string): Promise<string[]> {
  const entries = await fs.readdir(logsDir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(logsDir, entry.name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat !== undefined && (stat.mode & 0o111) !== 0) found.push(`${file} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')})`);
  }
  return found;
}

export function refuseExecutableAudit(found: string[]): void {
  if (found.length === 0) return;
  throw new VaultSetupError('E_USAGE', `audit output with an executable mode: ${found.join(', ')}; the upgraded server would refuse to unseal (CVE-2025-6000)`, {
    hint: 'chmod 0600 the audit log file, and re-enable a file audit device with mode "0600" (vault audit disable/enable), then re-run; nothing was changed',
  });
}
