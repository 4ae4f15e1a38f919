// Who is in the cluster, as the servers say: raft's configuration (members, voters, leader) and autopilot's state
// (health, last contact, failure tolerance). Both need a token that may read them (the operator login may).
import type { Context } from '../context.ts';
import type { ClusterNode } from '../deployment/record.ts';
import { connect } from '../services/target.ts';
import type { VaultApi } from '../services/vault-api.ts';

export interface Member {
  id: string;
  /** raft's address: the node's cluster port on its private address. */
  address: string;
  /** The node's API, https on the same private address, one port below the cluster port (how vault-setup lays a node out). */
  api: string;
  voter: boolean;
  leader: boolean;
  healthy: boolean | null;
  /** Seconds since the leader last heard from it (0 for the leader); null when autopilot does not say. */
  lastContact: number | null;
  status: string | null;
  version: string | null;
}

export interface ClusterView {
  nodes: Member[];
  leader: string | null;
  voters: number;
  failureTolerance: number | null;
  autopilot: { healthy: boolean | null; optimisticFailureTolerance: number | null };
}

export async function readCluster(api: VaultApi, token: string): Promise<ClusterView> {
  const config = await api.request<any>('GET', 'sys/storage/raft/configuration', { token });
  const servers = (config.body?.data?.config?.servers ?? []) as { node_id: string; address: string; leader: boolean; voter: boolean }[];
  const state = await api.request<any>('GET', 'sys/storage/raft/autopilot/state', { token, accept: [404, 405, 500] });
  const ap = state.status === 200 ? (state.body?.data ?? {}) : {};
  const byId = (ap.servers ?? {}) as Record<string, { healthy?: boolean; last_contact?: string; status?: string; version?: string }>;
  const nodes = servers.map((s): Member => {
    const a = byId[s.node_id];
    return {
      id: s.node_id,
      address: s.address,
      api: apiFromClusterAddress(s.address),
      voter: s.voter,
      leader: s.leader,
      healthy: a?.healthy ?? null,
      lastContact: a?.last_contact === undefined ? null : seconds(a.last_contact),
      status: a?.status ?? null,
      version: a?.version ?? null,
    };
  });
  return {
    nodes,
    leader: nodes.find((n) => n.leader)?.id ?? null,
    voters: nodes.filter((n) => n.voter).length,
    failureTolerance: typeof ap.failure_tolerance === 'number' ? ap.failure_tolerance : null,
    autopilot: {
      healthy: typeof ap.healthy === 'boolean' ? ap.healthy : null,
      optimisticFailureTolerance: typeof ap.optimistic_failure_tolerance === 'number' ? ap.optimistic_failure_tolerance : null,
    },
  };
}

/** "10.0.0.2:8201" -> "https://10.0.0.2:8200"; "[fd00::2]:8201" -> "https://[fd00::2]:8200". */
export function apiFromClusterAddress(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (m === null) return `https://${address}`;
  return `https://${m[1]}:${Number(m[2]) - 1}`;
}

/** Go durations as autopilot prints them ("1.5s", "350ms", "0s", "2m3s") in seconds. */
export function seconds(text: string): number | null {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)/g)];
  if (parts.length === 0) return null;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9 };
  return Math.round(parts.reduce((sum, [, n, u]) => sum + Number(n) * (unit[u as string] ?? 0), 0) * 1000) / 1000;
}

export const recordNodes = (view: ClusterView): ClusterNode[] => view.nodes.map((n) => ({ id: n.id, api: n.api }));

/**
 * Autopilot notices a node that went down only after its last-contact threshold (seconds): each voter is also asked
 * directly, over TLS with the cluster CA on its private address, and one that does not answer or is sealed counts as
 * unhealthy whatever autopilot still says.
 */
export async function probeVoters(ctx: Context, view: ClusterView, caCert: string | undefined): Promise<ClusterView> {
  // Without the cluster's CA (--addr alone) no node's TLS can be checked: autopilot's word stands.
  if (caCert === undefined) return view;
  const nodes = await Promise.all(
    view.nodes.map(async (n): Promise<Member> => {
      if (!n.voter) return n;
      const api = connect(ctx, n.api, caCert, { attempts: 1, timeoutMs: 3000 });
      try {
        const s = await api.sealStatus();
        return s.sealed ? { ...n, healthy: false, status: 'sealed' } : n;
      } catch {
        return { ...n, healthy: false, status: 'unreachable' };
      } finally {
        api.close();
      }
    }),
  );
  return { ...view, nodes };
}

/** Quorum after removing a node: refused when fewer healthy voters than a majority of the new voters would remain. */
export function removalVerdict(view: ClusterView, id: string): { ok: true } | { ok: false; lastVoter: boolean; reason: string } {
  const target = view.nodes.find((n) => n.id === id);
  if (target === undefined || !target.voter) return { ok: true };
  const remaining = view.nodes.filter((n) => n.voter && n.id !== id);
  if (remaining.length === 0) return { ok: false, lastVoter: true, reason: `${id} is the cluster's last voter: removing it leaves no cluster` };
  const healthy = remaining.filter((n) => n.healthy !== false).length;
  const quorum = Math.floor(remaining.length / 2) + 1;
  if (healthy < quorum) {
    const down = remaining.filter((n) => n.healthy === false).map((n) => `${n.id}${n.status === 'unreachable' || n.status === 'sealed' ? ` (${n.status})` : ''}`);
    return { ok: false, lastVoter: false, reason: `after removing ${id}, ${healthy} healthy voter${healthy === 1 ? '' : 's'} of ${remaining.length} would remain (not healthy: ${down.join(', ')}); raft needs ${quorum} to elect a leader and accept writes` };
  }
  return { ok: true };
}
