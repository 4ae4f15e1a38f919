// `cluster reissue`: this node's certificate made anew by the cluster's CA, with the key made here. Needed after a
// snapshot of another cluster was restored into a new first node (the restored PKI engine holds that cluster's CA,
// so the node must present a certificate from it for nodes to join and clients to keep pinning the old CA), and
// before a certificate expires (a year). The node restarts sealed: `unseal --cluster` after.
import type { Context } from '../context.ts';
import { loadDeployment } from '../deployment.ts';
import type { DeploymentRecordFile } from '../deployment/record.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists } from '../services/files.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { deployTasks, newDeployState } from '../tasks/deploy.tasks.ts';
import { runTasks } from '../tasks/listr.ts';
import { LAYOUTS } from '../config/flavor.ts';
import { makeNodeRequest, nodeSans } from '../tls/cluster-ca.ts';
import { nodeApi } from './advertise.ts';
import { NODE_URN, signNode } from './pki.ts';

export async function reissueNodeCertificate(ctx: Context, api: VaultApi, token: string, dir: string, record: DeploymentRecordFile): Promise<{ ca: string; next: string }> {
  const cluster = record.cluster;
  const deployment = await loadDeployment(dir);
  if (cluster === undefined || deployment === undefined) throw new VaultSetupError('E_USAGE', `${dir} is not a cluster node`, { hint: 'cluster reissue runs in a cluster node\'s directory' });
  const hcl = (await readIfExists(deployment.paths.config)) ?? '';
  const compose = (await readIfExists(deployment.paths.compose)) ?? '';
  const self = { id: record.nodeId, api: nodeApi(cluster.advertise, record.port) };
  const request = await makeNodeRequest(nodeSans(cluster.advertise), [self.api, `${NODE_URN}${self.id}`]);
  ctx.redactor.add(request.key);
  const signed = await signNode(api, token, request.csr, { id: self.id, api: self.api, ipSans: ['127.0.0.1', cluster.advertise] });
  const memory = /mem_limit:\s*"?([0-9]+[bkmg]?)"?/i.exec(compose)?.[1];
  const state = newDeployState(dir, deployment.address);
  await runTasks(
    ctx,
    deployTasks(ctx, {
      dir,
      layout: LAYOUTS[record.flavor],
      image: record.image,
      name: record.name,
      port: record.port,
      storage: 'raft',
      raftMultiplier: Number(/performance_multiplier\s*=\s*(\d+)/.exec(hcl)?.[1] ?? 1),
      tls: { kind: 'issued', cert: signed.cert, key: request.key, ca: signed.ca },
      // Only the certificate, its key and the CA change: the rest is rewritten as it is.
      force: true,
      waitMs: 90_000,
      memory,
      cluster: { advertise: cluster.advertise, nodeId: record.nodeId, join: [...hcl.matchAll(/leader_api_addr\s*=\s*"([^"]+)"/g)].map((m) => m[1] as string) },
    }),
    state,
  );
  return { ca: signed.ca, next: `vault-setup unseal --cluster --dir ${dir}` };
}
