// `init --dir D` on an existing deployment starts from what D is: its record (or, for a deployment made before
// records, its compose file and vault.hcl). Flags not given are filled in from it; a given flag that disagrees is
// a planned change (the file diff, applied with --force) or, when it would break initialised data, refused.
import fs from 'node:fs/promises';
import path from 'node:path';
import { validateOperatorName } from '../auth/sign-in.ts';
import type { OperatorOptions } from '../auth/init-operator.ts';
import { NO_CATALOG } from '../config/catalog.ts';
import type { Context } from '../context.ts';
import { deploymentPaths, loadDeployment } from '../deployment.ts';
import { imageUser } from '../config/flavor.ts';
import type { DeploymentRecordFile } from '../deployment/record.ts';
import { type Existing, existingDeployment } from '../deployment/resume.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import { bool, str } from '../options/flags.ts';
import type { Flags } from '../invocation.ts';
import { readIfExists } from '../services/files.ts';
import { connect } from '../services/target.ts';

/** init's operator flags, checked before anything runs. */
export function operatorOptions(flags: Flags): OperatorOptions {
  const named = str(flags, 'create-operator');
  const none = bool(flags, 'no-operator');
  if (none && named !== undefined) throw usageError('--create-operator and --no-operator contradict each other', 'keep one of them');
  return { name: none ? '' : validateOperatorName(named ?? 'admin', '--create-operator'), none, passwordStdin: bool(flags, 'password-stdin') };
}

/**
 * The flags init runs with: the operator's, completed from the deployment's record. Refuses (nothing written) a
 * flag that would break initialised data. Only flags actually given are compared.
 */
export async function resumeFlags(ctx: Context, dir: string, flags: Flags): Promise<{ flags: Flags; existing: Existing | undefined }> {
  const existing = await existingDeployment(dir);
  if (existing === undefined) return { flags, existing };
  const r = existing.record;
  const given = (name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);
  const differs: { flag: string; from: string; to: string }[] = [];
  for (const [flag, recorded] of [
    ['flavor', r.flavor],
    ['image', r.image],
    ['name', r.name],
    ['storage', r.storage],
    ['port', String(r.port)],
  ] as const) {
    const value = given(flag);
    // A malformed value is init's usage error (exit 2), not a change; a port is compared as a number.
    if (value === undefined || WELL_FORMED[flag]?.(value) !== true) continue;
    if (flag === 'port' ? Number(value) !== r.port : value !== recorded) differs.push({ flag, from: recorded, to: value });
  }
  const breaking = differs.filter((d) => d.flag === 'flavor' || d.flag === 'image' || d.flag === 'storage' || (d.flag === 'name' && r.storage === 'raft'));
  if (breaking.length > 0 && (await initialised(ctx, dir, r))) {
    const first = breaking[0] as { flag: string; from: string; to: string };
    throw new VaultSetupError('E_BREAKING_CHANGE', `--${first.flag} ${first.to} would ${WHY[first.flag]} of the initialised deployment in ${dir} (recorded: ${first.from}); nothing was changed`, {
      hint: `${HOW[first.flag]?.(r, first.to, dir)}; to keep the deployment, drop --${first.flag} (init --dir ${dir} resumes with its own settings)`,
    });
  }
  const filled: Flags = { ...flags };
  const fill = (name: string, value: string | undefined): void => {
    if (value !== undefined && flags[name] === undefined) filled[name] = value;
  };
  fill('flavor', r.flavor);
  fill('image', r.image);
  fill('name', r.name);
  fill('storage', r.storage);
  fill('port', String(r.port));
  const tlsGiven = ['tls', 'tls-cert', 'tls-key', 'tls-ca', 'tls-san'].some((f) => flags[f] !== undefined);
  if (!tlsGiven && r.tls === 'self-signed') filled.tls = 'self-signed';
  if (r.cluster !== undefined) fill('advertise', r.cluster.advertise);
  if (!tlsGiven && r.tls === 'files') {
    // The operator's certificate as deployed: rewriting it from itself changes nothing.
    const p = deploymentPaths(dir);
    filled['tls-cert'] = path.join(p.tlsDir, 'server.crt');
    filled['tls-key'] = path.join(p.tlsDir, 'server.key');
    if ((await readIfExists(p.caCert)) !== undefined) filled['tls-ca'] = p.caCert;
  }
  // A catalog file that has gone since: the recorded paths still serve verify; init then seeds the built-in one only if asked.
  if (r.catalog?.file === NO_CATALOG) fill('secrets', NO_CATALOG);
  else if (r.catalog?.file !== null && r.catalog?.file !== undefined && (await readIfExists(r.catalog.file)) !== undefined) fill('secrets', r.catalog.file);
  fill('app', r.app ?? undefined);
  // Who the server runs as is in the compose file only (user:), as init wrote it.
  const deployed = await loadDeployment(dir).catch(() => undefined);
  if (deployed !== undefined && !imageUser(deployed.layout)) fill('server-user', `${deployed.layout.uid}:${deployed.layout.gid}`);
  return { flags: filled, existing };
}

const WELL_FORMED: Record<string, (v: string) => boolean> = {
  flavor: (v) => v === 'vault' || v === 'openbao',
  image: (v) => v.trim() !== '',
  name: (v) => /^[a-z0-9][a-z0-9_-]{0,62}$/.test(v),
  storage: (v) => v === 'raft' || v === 'file',
  port: (v) => /^\d{1,5}$/.test(v),
};

const WHY: Record<string, string> = {
  flavor: 'change the image layout (paths, user) under the data',
  image: 'change the server image (an upgrade or a downgrade)',
  storage: 'change the storage backend',
  name: 'rename the raft node (node_id) and the container',
};

const HOW: Record<string, (r: DeploymentRecordFile, to: string, dir: string) => string> = {
  flavor: (_r, _to, dir) => `moving data between layouts is \`vault-setup migrate --dir ${dir}\` (a later release); back up first: vault-setup backup --dir ${dir}`,
  image: (_r, to, dir) => `that is an upgrade: \`vault-setup upgrade --dir ${dir} --image ${to}\` takes a snapshot first and unseals after`,
  storage: (_r, to, dir) => (to === 'raft' ? `moving data to raft storage is \`vault-setup migrate --dir ${dir} --storage raft\`` : `\`vault-setup migrate\` moves file storage to raft, never back to ${to}: raft is the storage with snapshots (back up: vault-setup backup --dir ${dir})`),
  name: (r, _to, dir) => `a raft node keeps its node_id (${r.nodeId}) for life; a second deployment needs its own --dir; renaming is \`vault-setup migrate --dir ${dir}\` (a later release)`,
};

/** Initialised as the server says; with no server answering, data on disk counts as initialised. */
async function initialised(ctx: Context, dir: string, r: DeploymentRecordFile): Promise<boolean> {
  const paths = deploymentPaths(dir);
  const caCert = r.tls === 'off' ? undefined : await readIfExists(paths.caCert);
  const api = connect(ctx, `${r.tls === 'off' ? 'http' : 'https'}://127.0.0.1:${r.port}`, caCert, { attempts: 1, timeoutMs: 3000 });
  try {
    const seal = await api.sealStatus();
    return seal.initialized;
  } catch {
    const entries = await fs.readdir(paths.dataDir).catch(() => [] as string[]);
    return entries.length > 0;
  } finally {
    api.close();
  }
}
