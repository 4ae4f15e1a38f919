// `cluster convert`, the plain part: whether a deployment can become the first node of a cluster, what its files
// become (rendered exactly as `init --advertise` renders them), and the raft recovery file that moves the node's raft
// address onto the private network. No I/O here.
import type { DeploymentRecordFile } from '../deployment/record.ts';
import { lineDiff } from '../services/files.ts';
import { type DeploymentSpec, clusterPort, hostPort, renderCompose, renderServerConfig } from '../services/templates.ts';
import { nodeApi } from './advertise.ts';

/** Kept beside each file the conversion replaces (as adopt keeps *.pre-adopt). */
export const CONVERT_SUFFIX = '.pre-cluster';
/** The stage a conversion reached, beside the record; gone when it has finished. */
export const CONVERT_STATE = 'cluster-convert-state.json';

export type ConvertStage = 'confirmed' | 'cluster-ca' | 'files' | 'unsealed';

export interface ConvertState {
  advertise: string;
  stage: ConvertStage;
  /** The TLS mode before the conversion: what the old CA was (for the message to its clients). */
  tlsBefore: DeploymentRecordFile['tls'];
  at: string;
}

export type Verdict =
  | { kind: 'go' }
  | { kind: 'nothing'; reason: string }
  | { kind: 'refuse'; code: 'usage' | 'cluster'; message: string; hint: string };

/** What the record says about converting it to a cluster's first node on `advertise`. */
export function convertVerdict(record: DeploymentRecordFile, advertise: string, dir: string, state: ConvertState | undefined): Verdict {
  if (state !== undefined && state.advertise !== advertise) {
    return { kind: 'refuse', code: 'usage', message: `a conversion to a cluster on ${state.advertise} was interrupted in ${dir} (stage: ${state.stage}); --advertise ${advertise} differs`, hint: `finish it first: vault-setup cluster convert --advertise ${state.advertise} --dir ${dir} (it resumes)` };
  }
  if (record.cluster !== undefined) {
    if (record.cluster.advertise === advertise) return { kind: 'nothing', reason: `${dir} is already a cluster node on ${advertise} (${record.nodeId})` };
    return { kind: 'refuse', code: 'cluster', message: `${dir} is already a cluster node on ${record.cluster.advertise}; nothing was changed`, hint: "a node keeps its address: to move it, join a new node on the new address and `vault-setup cluster remove` this one" };
  }
  if (record.storage !== 'raft') {
    return { kind: 'refuse', code: 'usage', message: `${dir} keeps its data in file storage: a cluster is raft's; nothing was changed`, hint: `move it to raft first: vault-setup migrate --storage raft --dir ${dir}; then run cluster convert again` };
  }
  if (record.tls === 'files') {
    return { kind: 'refuse', code: 'usage', message: `${dir} serves your own certificate (--tls-cert): a cluster's nodes take theirs from the cluster CA; nothing was changed`, hint: 'make the first node in a new --dir with init --advertise, and restore a snapshot into it (docs/cluster.md)' };
  }
  return { kind: 'go' };
}

export interface PlannedFile {
  /** Relative to the deployment directory. */
  name: string;
  before: string;
  after: string;
  diff: string;
}

/** docker-compose.yml and config/vault.hcl as `init --advertise` writes them; unchanged ones are left out. */
export async function plannedConfigFiles(spec: DeploymentSpec, current: { compose: string; config: string }): Promise<PlannedFile[]> {
  const wanted = [
    { name: 'docker-compose.yml', before: current.compose, after: await renderCompose(spec) },
    { name: 'config/vault.hcl', before: current.config, after: renderServerConfig(spec) },
  ];
  return wanted.filter((w) => w.before !== w.after).map((w) => ({ ...w, diff: lineDiff(w.before, w.after, { before: 'single node', after: 'first node of a cluster' }) }));
}

/** The files replaced, kept beside as *.pre-cluster: the two above, the certificate, its key and the CA (public). */
export const REPLACED = ['docker-compose.yml', 'config/vault.hcl', 'config/tls/server.crt', 'config/tls/server.key', 'config/tls/ca.crt', 'ca.crt'];

/**
 * raft's recovery file: the node's one-server configuration with its address on the private network. Read once
 * when the node is next unsealed (then deleted by the server); raft keeps the address from then on.
 */
export function peersJson(nodeId: string, advertise: string, port: number): string {
  return `${JSON.stringify([{ id: nodeId, address: hostPort(advertise, clusterPort(port)), non_voter: false }])}\n`;
}

export interface RaftServer {
  node_id: string;
  address: string;
  leader: boolean;
  voter: boolean;
}

/** What raft's configuration says before the change: move the address (peers.json), keep it, or refuse. */
export function raftAddressStep(servers: RaftServer[], nodeId: string, advertise: string, port: number): { kind: 'move' | 'kept' } | { kind: 'refuse'; message: string } {
  const wanted = hostPort(advertise, clusterPort(port));
  if (servers.length !== 1) return { kind: 'refuse', message: `raft lists ${servers.length} servers (${servers.map((s) => s.node_id).join(', ')}): this is not a single node` };
  const [self] = servers as [RaftServer];
  if (self.node_id !== nodeId) return { kind: 'refuse', message: `raft's only server is ${self.node_id}, the record says ${nodeId}` };
  return self.address === wanted ? { kind: 'kept' } : { kind: 'move' };
}

/** After the change: the node leads, raft and the server name the private address. Problems, one line each. */
export function leaderProblems(view: { servers: RaftServer[]; leader: { is_self?: boolean; leader_address?: string; leader_cluster_address?: string } }, nodeId: string, advertise: string, port: number): string[] {
  const problems: string[] = [];
  const clusterAddress = hostPort(advertise, clusterPort(port));
  const self = view.servers.find((s) => s.node_id === nodeId);
  if (self === undefined) problems.push(`raft does not list ${nodeId}`);
  else {
    if (!self.leader) problems.push(`${nodeId} is not raft's leader`);
    if (self.address !== clusterAddress) problems.push(`raft names ${nodeId} at ${self.address}, not ${clusterAddress}`);
  }
  if (view.leader.is_self !== true) problems.push('sys/leader: this node is not the active node');
  if (view.leader.leader_address !== nodeApi(advertise, port)) problems.push(`sys/leader: the API address is ${String(view.leader.leader_address)}, not ${nodeApi(advertise, port)}`);
  if (view.leader.leader_cluster_address !== `https://${clusterAddress}`) problems.push(`sys/leader: the cluster address is ${String(view.leader.leader_cluster_address)}, not https://${clusterAddress}`);
  return problems;
}
