// Renders the files vault-setup writes. vault.hcl comes from templates/; the compose file is data, serialised
// with a YAML library (never string-glued).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { confinement } from '../config/container-limits.ts';
import { type Layout, imageUser } from '../config/flavor.ts';
import type { ServerIdentity } from './docker.ts';

export type Storage = 'raft' | 'file';

export interface DeploymentSpec {
  layout: Layout;
  server: ServerIdentity;
  image: string;
  name: string; // compose project and container name
  port: number;
  storage: Storage;
  tls: boolean;
  /** Memory limit (Docker spelling), default DEFAULT_MEMORY; swap is limited to the same. */
  memory?: string | undefined;
  /** raft's performance_multiplier: 1 is the fastest timing, 10 the most tolerant of a slow disk. */
  raftMultiplier?: number;
  /** A node of a multi-node raft cluster (docs/cluster.md); undefined for a single node on loopback. */
  cluster?: ClusterShape | undefined;
}

export interface ClusterShape {
  /** The host's private address (WireGuard, Tailscale, VPC): API on PORT and the cluster port PORT+1 listen there. */
  advertise: string;
  /** raft node_id; a single node's is NAME-1. */
  nodeId: string;
  /** API addresses of the nodes to join (retry_join); empty for the first node. */
  join: string[];
}

/** The cluster port on a node's private address: the API's port plus one (8201 beside 8200), as the servers default. */
export const clusterPort = (port: number): number => port + 1;

/** host:port, with brackets around an IPv6 address. */
export const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

/**
 * A mustache subset: {{name}}, {{#flag}}...{{/flag}}. Values are inserted as HCL string contents; {{{name}}} inserts
 * HCL that this module built itself (every value in it already quoted).
 */
export function renderTemplate(template: string, view: Record<string, string | boolean>): string {
  // Sections may nest (join inside raft): resolved from the outside in until none is left.
  let sections = template;
  for (let previous = ''; previous !== sections; ) {
    previous = sections;
    sections = sections.replace(/^\{\{#(\w+)\}\}\n([\s\S]*?)^\{\{\/\1\}\}\n/gm, (_, key: string, body: string) => (view[key] === true ? body : ''));
  }
  const raw = sections.replace(/\{\{\{(\w+)\}\}\}/g, (_, key: string) => {
    const value = view[key];
    if (typeof value !== 'string') throw new Error(`template value ${key} is missing`);
    return value;
  });
  return raw.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = view[key];
    if (typeof value !== 'string') throw new Error(`template value ${key} is missing`);
    return JSON.stringify(value).slice(1, -1);
  });
}

export function renderServerConfig(spec: DeploymentSpec): string {
  const template = readFileSync(`${TEMPLATE_DIR}vault.hcl.tmpl`, 'utf8');
  const scheme = spec.tls ? 'https' : 'http';
  const cluster = spec.cluster;
  if (cluster !== undefined && (!spec.tls || spec.storage !== 'raft')) throw new Error('a cluster node needs raft storage and TLS');
  const advertiseCluster = cluster === undefined ? '' : hostPort(cluster.advertise, clusterPort(spec.port));
  return renderTemplate(template, {
    serverName: `${spec.server.product === 'openbao' ? 'OpenBao' : 'Vault'} ${spec.server.version}`,
    home: spec.layout.home,
    raft: spec.storage === 'raft',
    file: spec.storage === 'file',
    nodeId: cluster?.nodeId ?? `${spec.name}-1`,
    raftMultiplier: String(spec.raftMultiplier ?? 1),
    join: cluster !== undefined && cluster.join.length > 0,
    retryJoin: (cluster?.join ?? []).map((leader) => retryJoinBlock(leader, `${spec.layout.home}/config/tls/ca.crt`)).join('\n'),
    cluster: cluster !== undefined,
    advertiseListen: cluster === undefined ? '' : hostPort(cluster.advertise, spec.port),
    advertiseCluster,
    clusterAddr: cluster === undefined ? `${scheme}://${clusterListen(spec.port)}` : `https://${advertiseCluster}`,
    apiListen: `127.0.0.1:${spec.port}`,
    uid: String(spec.layout.uid),
    gid: String(spec.layout.gid),
    clusterListen: clusterListen(spec.port),
    tlsOff: !spec.tls,
    tlsOn: spec.tls,
    apiAddr: cluster === undefined ? `${scheme}://127.0.0.1:${spec.port}` : `https://${hostPort(cluster.advertise, spec.port)}`,
    vault: spec.server.product === 'vault',
    openbao: spec.server.product === 'openbao',
  }).replace(/\n{3,}/g, '\n\n');
}

/** One retry_join stanza: the leader's API address and the cluster CA it must present a certificate from. */
function retryJoinBlock(leader: string, caFile: string): string {
  return `  retry_join {\n    leader_api_addr     = ${JSON.stringify(leader)}\n    leader_ca_cert_file = ${JSON.stringify(caFile)}\n  }`;
}

/**
 * The cluster listener shares the API's port number on another loopback address: with host networking every
 * deployment on the host needs its own pair, and the API port is already the one init checked is free.
 */
export const clusterListen = (port: number): string => `127.0.0.2:${port}`;

export const SERVICE = 'server';

export const LABELS = {
  flavor: 'org.vault-setup.flavor',
  server: 'org.vault-setup.server',
  storage: 'org.vault-setup.storage',
  /** The API's port on 127.0.0.1 (host networking publishes nothing, so `ports` cannot say it). */
  port: 'org.vault-setup.port',
} as const;

export function composeData(spec: DeploymentSpec): Record<string, unknown> {
  const { layout } = spec;
  const scheme = spec.tls ? 'https' : 'http';
  return {
    services: {
      [SERVICE]: {
        image: spec.image,
        container_name: spec.name,
        // A dedicated uid:gid (init --server-user): the entrypoint then starts the server as it directly.
        ...(imageUser(layout) ? {} : { user: `${layout.uid}:${layout.gid}` }),
        restart: 'unless-stopped',
        // The host's network, with listeners on loopback and a unix socket only (vault.hcl): a published port
        // would be reachable at the container's bridge address from the LAN on Docker < 28 (docs/network.md).
        network_mode: 'host',
        environment: {
          [`${layout.envPrefix}_ADDR`]: `${scheme}://127.0.0.1:${spec.port}`,
          ...(spec.tls ? { [`${layout.envPrefix}_CACERT`]: `${layout.home}/config/tls/ca.crt` } : {}),
          // The entrypoint's setcap would write to the read-only image; mlock is off (disable_mlock) anyway.
          SKIP_SETCAP: 'true',
        },
        volumes: [`./config:${layout.home}/config:ro`, `./data:${layout.home}/data`, `./logs:${layout.home}/logs`, `./run:${layout.home}/run`],
        command: ['server', `-config=${layout.home}/config/vault.hcl`],
        security_opt: ['no-new-privileges:true'],
        ulimits: { core: 0 },
        ...confinement(spec.memory),
        labels: {
          [LABELS.flavor]: layout.flavor,
          [LABELS.server]: `${spec.server.product} ${spec.server.version}`,
          [LABELS.storage]: spec.storage,
          [LABELS.port]: String(spec.port),
        },
      },
    },
  };
}

export async function renderCompose(spec: DeploymentSpec): Promise<string> {
  const { stringify } = await import('yaml');
  // Quoted: compose v1 reads YAML 1.1, where an unquoted 2001:2002 is a base-60 number.
  const text = stringify(composeData(spec)).replace(/^( +user: )(\d+:\d+)$/m, '$1"$2"');
  return `# Written by vault-setup. \`vault-setup init\` will not overwrite changes without --force.\n${text}`;
}
