// The cluster's node list, as vault-setup keeps it: raft's members, plus the nodes the cluster CA gave a certificate
// that raft does not know yet (joined, not unsealed). Plain logic: what a command read from the servers goes in.
import type { ClusterNode } from '../deployment/record.ts';
import type { IssuedNode } from './pki.ts';

/**
 * Nodes with a certificate that are not raft members, one per node id: a join tried again signs a new certificate
 * each time, and the newest one says where the node is now.
 */
export function pendingNodes(issued: readonly IssuedNode[], members: readonly { id: string }[]): ClusterNode[] {
  const newest = new Map<string, IssuedNode>();
  for (const node of issued) {
    if (members.some((m) => m.id === node.id)) continue;
    const seen = newest.get(node.id);
    if (seen === undefined || node.issuedAt > seen.issuedAt) newest.set(node.id, node);
  }
  return [...newest.values()].map((n) => ({ id: n.id, api: n.api })).sort((a, b) => a.id.localeCompare(b.id));
}

export interface MergedNodes {
  /** The cluster's nodes now: members, then pending ones (the record's new list). */
  nodes: ClusterNode[];
  /** In the cluster, not in the list this host had. */
  learned: ClusterNode[];
  /** In the list this host had, and no longer in the cluster (neither a member nor pending): removed. */
  dropped: ClusterNode[];
}

/** The list a host had against what the cluster says: the cluster's word wins, by node id. */
export function mergeClusterNodes(known: readonly ClusterNode[], members: readonly ClusterNode[], pending: readonly ClusterNode[]): MergedNodes {
  const nodes: ClusterNode[] = [];
  for (const n of [...members, ...pending]) if (!nodes.some((m) => m.id === n.id)) nodes.push({ id: n.id, api: n.api });
  return {
    nodes,
    learned: nodes.filter((n) => !known.some((k) => k.id === n.id)),
    dropped: known.filter((k) => !nodes.some((n) => n.id === k.id)).map((k) => ({ id: k.id, api: k.api })),
  };
}
