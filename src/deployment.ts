// A deployment on disk: where it lives, and what its compose file says (image, name, port, flavor).
// The compose file is the record; there is no other state file to drift.
import os from 'node:os';
import path from 'node:path';
import { VaultSetupError, quoted } from './errors.ts';
import { type Flavor, type Layout, LAYOUTS, isFlavor, parseServerUser } from './config/flavor.ts';
import { readIfExists } from './services/files.ts';
import { LABELS, SERVICE, type Storage } from './services/templates.ts';

export const defaultDir = (env: NodeJS.ProcessEnv): string => path.join(env.HOME ?? os.homedir(), 'docker', 'vault');

export interface DeploymentPaths {
  dir: string;
  compose: string;
  configDir: string;
  config: string;
  dataDir: string;
  logsDir: string;
  /** The unix-socket listener's directory, mounted by app containers (docs/network.md). */
  runDir: string;
  tlsDir: string;
  caCert: string;
}

export function deploymentPaths(dir: string): DeploymentPaths {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    compose: path.join(abs, 'docker-compose.yml'),
    configDir: path.join(abs, 'config'),
    config: path.join(abs, 'config', 'vault.hcl'),
    dataDir: path.join(abs, 'data'),
    logsDir: path.join(abs, 'logs'),
    runDir: path.join(abs, 'run'),
    tlsDir: path.join(abs, 'config', 'tls'),
    caCert: path.join(abs, 'ca.crt'),
  };
}

export interface DeploymentRecord {
  paths: DeploymentPaths;
  layout: Layout;
  image: string;
  name: string;
  port: number;
  hostIp: string;
  storage: Storage;
  tls: boolean;
  /** "openbao 2.7.2" as recorded when the files were written. */
  server: string;
  address: string;
}

/** Reads a deployment written by vault-setup; undefined when the directory holds none. */
export async function loadDeployment(dir: string): Promise<DeploymentRecord | undefined> {
  const paths = deploymentPaths(dir);
  const text = await readIfExists(paths.compose);
  if (text === undefined) return undefined;
  const { parse } = await import('yaml');
  let doc: any;
  try {
    // merge: compose files written by hand share settings with `<<: *anchor`, which compose itself honours.
    doc = parse(text, { merge: true, logLevel: 'error' });
  } catch (error) {
    throw new VaultSetupError('E_USAGE', `${paths.compose} is not valid YAML (${(error as Error).message.split('\n')[0]})`, {
      hint: 'fix the file, or move it away and re-run `vault-setup init`',
    });
  }
  const service = doc?.services?.[SERVICE] ?? Object.values(doc?.services ?? {})[0];
  if (service === undefined || service === null || typeof service !== 'object') {
    throw new VaultSetupError('E_NOT_DEPLOYED', `${paths.compose} has no service vault-setup can use`, {
      hint: 'run `vault-setup init` in this directory, or pass the right --dir',
    });
  }
  const labels = (service.labels ?? {}) as Record<string, string>;
  const flavorLabel = String(labels[LABELS.flavor] ?? '');
  const flavor: Flavor = isFlavor(flavorLabel) ? flavorLabel : String(service.image ?? '').includes('openbao') ? 'openbao' : 'vault';
  const port = service.network_mode === 'host' && /^\d+$/.test(String(labels[LABELS.port] ?? '')) ? { hostIp: '127.0.0.1', port: Number(labels[LABELS.port]) } : parsePort(service.ports, paths.compose);
  const config = (await readIfExists(paths.config)) ?? '';
  // The tcp listener decides: the unix-socket listener is always plain.
  const tcp = /listener\s+"tcp"\s*\{[\s\S]*?\n\}/.exec(config)?.[0] ?? config;
  const tls = /tls_cert_file\s*=/.test(tcp) && !/tls_disable\s*=\s*(true|1|"true")/.test(tcp);
  // `user: "UID:GID"` (init --server-user) is who the server runs as; anything else there is the image's user.
  const user = parseServerUser(String(service.user ?? ''));
  return {
    paths,
    layout: { ...LAYOUTS[flavor], ...user },
    image: String(service.image ?? ''),
    name: String(service.container_name ?? path.basename(paths.dir)),
    port: port.port,
    hostIp: port.hostIp,
    storage: /storage\s+"file"/.test(config) ? 'file' : 'raft',
    tls,
    server: String(labels[LABELS.server] ?? ''),
    address: `${tls ? 'https' : 'http'}://127.0.0.1:${port.port}`,
  };
}

/**
 * The host port the API is published on: the `ports` entry for container port 8200 (else the first one), in the
 * short syntax ("127.0.0.1:8200:8200", "8200:8200", "[::1]:8200:8200/tcp", a bare number) or the long one
 * ({ published, target, host_ip }). No ports at all (host network, a hand-made setup): 127.0.0.1:8200.
 */
export function parsePort(ports: unknown, file = 'docker-compose.yml'): { port: number; hostIp: string } {
  if (ports === undefined || ports === null || (Array.isArray(ports) && ports.length === 0)) return { hostIp: '127.0.0.1', port: 8200 };
  const entries = (Array.isArray(ports) ? ports : []).map(portEntry);
  const api = entries.find((e) => e?.target === '8200') ?? entries.find((e) => e !== undefined);
  const port = Number(api?.published);
  if (api === undefined || !/^\d+$/.test(api.published) || port < 1 || port > 65535) {
    // A range, a ${VARIABLE} or no host port at all (Docker picks one): guessing would talk to the wrong server.
    throw new VaultSetupError('E_USAGE', `${file}: cannot tell which host port publishes the API (ports: ${quoted(describe(ports), 60)})`, {
      hint: 'give it a fixed host port on 127.0.0.1 (or re-run `vault-setup init --force` for the host-network shape), or pass --addr URL',
    });
  }
  return { hostIp: api.hostIp, port };
}

/** The value as the operator wrote it, near enough; YAML aliases can make it circular. */
function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function portEntry(entry: unknown): { hostIp: string; published: string; target: string } | undefined {
  if (entry !== null && typeof entry === 'object') {
    const e = entry as { host_ip?: unknown; published?: unknown; target?: unknown };
    return { hostIp: typeof e.host_ip === 'string' && e.host_ip !== '' ? e.host_ip : '0.0.0.0', published: String(e.published ?? ''), target: String(e.target ?? '') };
  }
  if (typeof entry !== 'string' && typeof entry !== 'number') return undefined;
  let text = String(entry).trim().replace(/\/(tcp|udp|sctp)$/, '');
  let hostIp = '0.0.0.0';
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6 !== null) [hostIp, text] = [v6[1] as string, v6[2] as string];
  const parts = text.split(':');
  if (parts.length === 3) return { hostIp: parts[0] || '0.0.0.0', published: parts[1] as string, target: parts[2] as string };
  if (parts.length === 2) return { hostIp, published: parts[0] as string, target: parts[1] as string };
  if (parts.length === 1) return { hostIp, published: '', target: parts[0] as string };
  return undefined;
}
