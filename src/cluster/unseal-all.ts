// `unseal --cluster`: the holders' shares, taken once, unseal every node the deployment knows, over TLS on the
// private addresses. Each node is tried in turn with a short deadline: a node that is down is reported, not waited
// on. A node that is joining the cluster (retry_join) uses the same shares to answer the leader's challenge, and is
// unsealed once it has caught up.
import type { Context } from '../context.ts';
import type { ClusterNode } from '../deployment/record.ts';
import { VaultSetupError } from '../errors.ts';
import { connect } from '../services/target.ts';
import type { HeldShares } from '../services/quorum.ts';
import type { SealStatus } from '../services/vault-api.ts';
import { serverErrors } from '../services/vault-api.ts';
import { poll } from '../services/wait.ts';

export type NodeOutcome = 'unsealed' | 'already-unsealed' | 'unreachable' | 'still-sealed' | 'refused';

export interface NodeResult {
  id: string;
  api: string;
  outcome: NodeOutcome;
  detail?: string;
}

/** The first node that answers says how many shares are needed (all nodes share one seal configuration). */
export async function clusterThreshold(ctx: Context, nodes: ClusterNode[], caCert: string): Promise<{ t: number; n: number } | undefined> {
  for (const node of nodes) {
    const api = connect(ctx, node.api, caCert, { attempts: 1, timeoutMs: 5000 });
    try {
      const s = await api.sealStatus();
      if (s.initialized && s.t > 0) return { t: s.t, n: s.n };
    } catch {
      // down: the next one may answer
    } finally {
      api.close();
    }
  }
  return undefined;
}

export async function unsealNodes(ctx: Context, nodes: ClusterNode[], caCert: string, shares: HeldShares, options: { waitMs: number; say(line: string): void }): Promise<NodeResult[]> {
  const results: NodeResult[] = [];
  for (const node of nodes) {
    const result = await unsealOne(ctx, node, caCert, shares, options.waitMs);
    options.say(`${node.id} (${node.api}): ${describe(result)}`);
    results.push(result);
  }
  return results;
}

async function unsealOne(ctx: Context, node: ClusterNode, caCert: string, shares: HeldShares, waitMs: number): Promise<NodeResult> {
  const api = connect(ctx, node.api, caCert, { attempts: 1, timeoutMs: 5000 });
  const base = { id: node.id, api: node.api };
  try {
    let status: SealStatus;
    try {
      status = await api.sealStatus();
    } catch (error) {
      return { ...base, outcome: 'unreachable', detail: error instanceof VaultSetupError ? error.message : String(error) };
    }
    if (status.initialized && !status.sealed) return { ...base, outcome: 'already-unsealed' };
    // A fresh round: progress another holder left on this node would otherwise mix with these shares.
    if (status.progress > 0) await api.unsealReset();
    for (const key of shares.keys) {
      const res = await api.unseal(key);
      if (res.status >= 300) {
        const errors = serverErrors(res.body).join('; ');
        return { ...base, outcome: 'refused', detail: errors.length > 0 ? errors : `HTTP ${res.status}` };
      }
      if (!res.body.sealed) break;
    }
    // A joining node answers the leader's challenge, then catches up before it opens: bounded by --wait.
    const open = await poll(async () => {
      const s = await api.probe();
      return s !== undefined && s.initialized && !s.sealed ? true : undefined;
    }, { timeoutMs: waitMs, initialDelayMs: 200, maxDelayMs: 1000, clock: ctx.clock }).catch(() => false);
    return open === true ? { ...base, outcome: 'unsealed' } : { ...base, outcome: 'still-sealed', detail: `still sealed after ${Math.round(waitMs / 1000)} s` };
  } catch (error) {
    return { ...base, outcome: 'unreachable', detail: error instanceof VaultSetupError ? error.message : String(error) };
  } finally {
    api.close();
  }
}

function describe(r: NodeResult): string {
  switch (r.outcome) {
    case 'unsealed':
      return 'unsealed';
    case 'already-unsealed':
      return 'already unsealed (no share sent)';
    case 'unreachable':
      return `unreachable, skipped (${r.detail ?? ''})`;
    case 'still-sealed':
      return `still sealed (${r.detail ?? ''})`;
    case 'refused':
      return `the shares were refused (${r.detail ?? ''})`;
  }
}
