// `vault-setup unseal --cluster`: the deployment's record names the cluster's nodes (as `join` and `cluster status`
// last saw them); the shares are collected once and go to each node in turn.
import type { Context } from '../context.ts';
import { VaultSetupError, withResult } from '../errors.ts';
import type { CommandResult } from '../invocation.ts';
import { collectShares } from '../services/quorum.ts';
import { resolveTarget } from '../services/target.ts';
import { clusterThreshold, unsealNodes } from './unseal-all.ts';

export async function unsealCluster(ctx: Context, options: { dir: string | undefined; fromStdin: boolean; waitMs: number }): Promise<CommandResult> {
  const target = await resolveTarget(ctx, { dir: options.dir });
  const cluster = target.record?.cluster;
  if (cluster === undefined || target.caCert === undefined) {
    throw new VaultSetupError('E_USAGE', `the deployment in ${target.dir ?? '?'} is a single node, not a cluster node`, { hint: 'run `vault-setup unseal` without --cluster' });
  }
  const nodes = cluster.nodes;
  const counts = await clusterThreshold(ctx, nodes, target.caCert);
  if (counts === undefined) {
    throw new VaultSetupError('E_SERVER_UNREACHABLE', `none of the cluster's ${nodes.length} known nodes answered as an initialised server`, {
      hint: 'start the containers (docker compose up -d in each node\'s directory), then run `vault-setup unseal --cluster` again',
    });
  }
  const tell = (line: string) => ctx.output.info(line);
  tell(`Cluster of ${nodes.length} known node${nodes.length === 1 ? '' : 's'}: ${nodes.map((n) => n.id).join(', ')}; ${counts.t} of ${counts.n} shares unseal each.`);
  const shares = await collectShares(ctx, { fromStdin: options.fromStdin, threshold: counts.t, shares: counts.n, purpose: 'unseal every node of the cluster' });
  let results;
  try {
    results = await unsealNodes(ctx, nodes, target.caCert, shares, { waitMs: options.waitMs, say: tell });
  } finally {
    shares.drop();
  }
  const open = results.filter((r) => r.outcome === 'unsealed' || r.outcome === 'already-unsealed');
  const data = { nodes: results, unsealed: open.length, total: results.length };
  if (open.length < results.length) {
    const bad = results.filter((r) => !open.includes(r));
    throw withResult(
      new VaultSetupError('E_CLUSTER_PARTIAL', `${open.length} of ${results.length} nodes are unsealed; not: ${bad.map((r) => `${r.id} (${r.outcome})`).join(', ')}`, {
        hint: 'start or repair those nodes, then run `vault-setup unseal --cluster` again (unsealed nodes are skipped)',
      }),
      data,
    );
  }
  return { data, human: `Unsealed: ${open.length} of ${results.length} nodes are open.` };
}
