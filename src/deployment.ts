// A deployment on disk: where it lives, and what its compose file says (image, name, port, flavor).
// The compose file is the record; there is no other state file to drift.
import os from 'node:os';
import path from 'node:path';
import { VaultSetupError } from './errors.ts';
import { type Flavor, type Layout, LAYOUTS, isFlavor } from './config/flavor.ts';
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
    doc = parse(text);
  } catch (error) {
    throw new VaultSetupError('E_USAGE', `${paths.compose} is not valid YAML (${(error as Error).message.split('\n')[0]})`, {
      hint: 'fix the file, or move it away and re-run `vault-setup init`',
    });
  }
  const service = doc?.services?.[SERVICE] ?? Object.values(doc?.services ?? {})[0];
  if (service === undefined || typeof service !== 'object') {
    throw new VaultSetupError('E_NOT_DEPLOYED', `${paths.compose} has no service vault-setup can use`, {
      hint: 'run `vault-setup init` in this directory, or pass the right --dir',
    });
  }
  const labels = (service.labels ?? {}) as Record<string, string>;
  const flavorLabel = String(labels[LABELS.flavor] ?? '');
  const flavor: Flavor = isFlavor(flavorLabel) ? flavorLabel : String(service.image ?? '').includes('openbao') ? 'openbao' : 'vault';
  const port = parsePort(service.ports);
  const config = (await readIfExists(paths.config)) ?? '';
  const tls = /tls_cert_file\s*=/.test(config) && !/tls_disable\s*=\s*(true|1|"true")/.test(config);
  return {
    paths,
    layout: LAYOUTS[flavor],
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

export function parsePort(ports: unknown): { port: number; hostIp: string } {
  const first = Array.isArray(ports) ? ports[0] : undefined;
  if (typeof first === 'string' || typeof first === 'number') {
    const parts = String(first).split(':');
    if (parts.length === 3) return { hostIp: parts[0] as string, port: Number(parts[1]) };
    if (parts.length === 2) return { hostIp: '0.0.0.0', port: Number(parts[0]) };
    return { hostIp: '0.0.0.0', port: Number(parts[0]) };
  }
  if (first !== null && typeof first === 'object') {
    const p = first as { published?: number | string; host_ip?: string };
    return { hostIp: p.host_ip ?? '0.0.0.0', port: Number(p.published ?? 8200) };
  }
  return { hostIp: '127.0.0.1', port: 8200 };
}
