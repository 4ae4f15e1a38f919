// A cluster node's checks (only for a deployment whose record says it is one; docs/cluster.md): quorum and failure
// tolerance as autopilot sees them, every known node unsealed and on one server version over TLS with the cluster
// CA, TLS on every TCP listener, and the cluster port on a private address only.
import { isIP } from 'node:net';
import { readCluster } from '../../cluster/members.ts';
import type { ClusterRecord } from '../../deployment/record.ts';
import { connect } from '../../services/target.ts';
import type { SealStatus } from '../../services/vault-api.ts';
import { blocks, truthy } from '../hcl.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip } from '../types.ts';

export interface ClusterFacts {
  record: ClusterRecord;
  caCert: string | undefined;
}

type ClusterCheck = (p: Probe, c: ClusterFacts) => Promise<CheckResult>;

/** Each known node's seal status over its private address, asked once for all checks. */
function nodeStatuses(p: Probe, c: ClusterFacts): Promise<{ id: string; api: string; seal: SealStatus | undefined; error: string | undefined }[]> {
  return p.memo('cluster nodes', () =>
    Promise.all(
      c.record.nodes.map(async (n) => {
        const api = connect(undefined, n.api, c.caCert, { attempts: 1, timeoutMs: 5000 });
        try {
          return { id: n.id, api: n.api, seal: await api.sealStatus(), error: undefined };
        } catch (error) {
          return { id: n.id, api: n.api, seal: undefined, error: (error as Error).message };
        } finally {
          api.close();
        }
      }),
    ),
  );
}

const quorum: ClusterCheck = async (p) => {
  const id = 'cluster-quorum';
  if (p.inspector === undefined) return skip(id, 'no token to read the raft configuration with', 'vault-setup verify --operator NAME (an operator login may read sys/storage/raft/autopilot/state)');
  try {
    const view = await p.memo('cluster view', () => readCluster(p.api, p.inspector as string));
    if (view.leader === null) return fail(id, `no leader among ${view.nodes.length} nodes: the cluster has no quorum`, 'bring nodes back and unseal them: vault-setup unseal --cluster');
    if (view.failureTolerance === null || view.failureTolerance < 1) {
      const unhealthy = view.nodes.filter((n) => n.voter && n.healthy === false).length;
      return fail(id, `leader ${view.leader}, ${view.voters} voters, failure tolerance ${view.failureTolerance ?? 'unknown'}: losing one more node stops the cluster`, unhealthy > 0 || view.voters >= 3 ? 'repair or replace the unhealthy nodes (vault-setup cluster status shows them); three healthy voters tolerate one loss' : `join ${3 - view.voters} more node${3 - view.voters === 1 ? '' : 's'} (vault-setup join on another host): three voters tolerate one loss`);
    }
    return pass(id, `leader ${view.leader}, ${view.voters} voters, failure tolerance ${view.failureTolerance}`);
  } catch (error) {
    return skip(id, `the raft state could not be read (${(error as Error).message})`, 'use a token that may read sys/storage/raft/autopilot/state');
  }
};

const unsealed: ClusterCheck = async (p, c) => {
  const id = 'cluster-unsealed';
  const nodes = await nodeStatuses(p, c);
  const bad = nodes.filter((n) => n.seal === undefined || n.seal.sealed);
  if (bad.length > 0) {
    return fail(id, `${bad.length} of ${nodes.length} known nodes not open: ${bad.map((n) => `${n.id} (${n.seal === undefined ? 'unreachable over TLS with the cluster CA' : 'sealed'})`).join(', ')}`, 'start them and run: vault-setup unseal --cluster');
  }
  return pass(id, `all ${nodes.length} known nodes unsealed (TLS with the cluster CA on their private addresses)`);
};

const versions: ClusterCheck = async (p, c) => {
  const id = 'cluster-versions';
  const nodes = (await nodeStatuses(p, c)).filter((n) => n.seal !== undefined);
  if (nodes.length === 0) return skip(id, 'no node answered');
  const seen = [...new Set(nodes.map((n) => n.seal?.version))];
  if (seen.length > 1) return fail(id, `the nodes run different server versions: ${nodes.map((n) => `${n.id} ${n.seal?.version}`).join(', ')}`, 'run one version on every node (upgrade node by node, followers first)');
  return pass(id, `every answering node runs ${seen[0]}`);
};

const listeners: ClusterCheck = async (p) => {
  const tlsId = 'cluster-tls';
  const config = await p.config();
  if (!config.ok) return skip(tlsId, config.error);
  const tcp = blocks(config.value, 'listener').filter((b) => b.labels[0] === 'tcp');
  const plain = tcp.filter((b) => truthy(b.body.attrs.tls_disable) || b.body.attrs.tls_cert_file === undefined);
  if (plain.length > 0) return fail(tlsId, `${plain.length} TCP listener(s) without TLS (${plain.map((b) => String(b.body.attrs.address)).join(', ')}): a cluster's API leaves the host`, 'run vault-setup init --dir DIR --force to rewrite config/vault.hcl');
  return pass(tlsId, `TLS on all ${tcp.length} TCP listeners`);
};

const clusterPort: ClusterCheck = async (p) => {
  const id = 'cluster-port';
  const config = await p.config();
  if (!config.ok) return skip(id, config.error);
  const addresses = blocks(config.value, 'listener')
    .filter((b) => b.labels[0] === 'tcp' && typeof b.body.attrs.cluster_address === 'string')
    .map((b) => b.body.attrs.cluster_address as string);
  const exposed = addresses.filter((a) => !privateOrLoopback(a.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
  if (exposed.length > 0) return fail(id, `the cluster port listens on ${exposed.join(', ')}: a wildcard or public address`, 'put cluster_address on the private address (--advertise) only');
  return pass(id, `the cluster port listens on ${addresses.join(', ')} only (private and loopback)`);
};

/** Loopback, RFC 1918, CGNAT (Tailscale's 100.64/10), link-local, IPv6 unique-local and link-local. */
export function privateOrLoopback(host: string): boolean {
  if (isIP(host) === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    if (a === 0) return false;
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  if (isIP(host) === 6) return host === '::1' || /^f[cd]/i.test(host) || /^fe[89ab]/i.test(host);
  return false;
}

export const CLUSTER_CHECKS: ClusterCheck[] = [quorum, unsealed, versions, listeners, clusterPort];
