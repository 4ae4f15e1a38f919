// `vault-setup unseal --cluster`: the deployment's record names the cluster's nodes (as `join` and `cluster status`
// on this host last saw them); the shares are collected once and go to each node in turn. A node joined from another
// host is not in this host's record: with a sign-in (--operator / --token-file) the cluster itself is asked for its
// members and the nodes given a certificate, and the ones the record lacks are unsealed with the same shares.
import { type SignInOptions, signIn } from '../auth/sign-in.ts';
import type { Context } from '../context.ts';
import { type ClusterNode, noteClusterNodes, recordPath } from '../deployment/record.ts';
import { VaultSetupError, withResult } from '../errors.ts';
import type { CommandResult } from '../invocation.ts';
import { type HeldShares, collectShares } from '../services/quorum.ts';
import { connect, resolveTarget } from '../services/target.ts';
import { readCluster, recordNodes } from './members.ts';
import { mergeClusterNodes, pendingNodes } from './node-list.ts';
import { issuedNodes } from './pki.ts';
import { type NodeResult, clusterThreshold, unsealNodes } from './unseal-all.ts';

export interface ClusterUnsealOptions {
  dir: string | undefined;
  fromStdin: boolean;
  waitMs: number;
  /** --operator NAME [--password-stdin] or --token-file FILE: ask the cluster which nodes it has. */
  signIn?: Pick<SignInOptions, 'operator' | 'passwordStdin' | 'tokenFile'> | undefined;
}

const isOpen = (r: NodeResult): boolean => r.outcome === 'unsealed' || r.outcome === 'already-unsealed';

export async function unsealCluster(ctx: Context, options: ClusterUnsealOptions): Promise<CommandResult> {
  const target = await resolveTarget(ctx, { dir: options.dir });
  const cluster = target.record?.cluster;
  if (cluster === undefined || target.caCert === undefined || target.dir === undefined) {
    throw new VaultSetupError('E_USAGE', `the deployment in ${target.dir ?? '?'} is a single node, not a cluster node`, { hint: 'run `vault-setup unseal` without --cluster' });
  }
  const { dir, caCert } = target;
  const file = recordPath(dir);
  const known = cluster.nodes;
  const counts = await clusterThreshold(ctx, known, caCert);
  if (counts === undefined) {
    throw new VaultSetupError('E_SERVER_UNREACHABLE', `none of the ${known.length} nodes this host knows (${file}) answered as an initialised server`, {
      hint: 'start the containers (docker compose up -d in each node\'s directory), then run `vault-setup unseal --cluster` again',
    });
  }
  const tell = (line: string) => ctx.output.info(line);
  tell(`${plural(known.length, 'node')} this host knows (${file}): ${known.map((n) => n.id).join(', ')}; ${counts.t} of ${counts.n} shares unseal each.`);
  const shares = await collectShares(ctx, { fromStdin: options.fromStdin, threshold: counts.t, shares: counts.n, purpose: 'unseal every node of the cluster' });
  let results: NodeResult[];
  let asked: Asked | undefined;
  try {
    results = await unsealNodes(ctx, known, caCert, shares, { waitMs: options.waitMs, say: tell });
    if (options.signIn !== undefined) {
      asked = await askTheCluster(ctx, { dir, file, caCert, known, results, shares, waitMs: options.waitMs, signIn: options.signIn, say: tell });
      results = asked.results;
    }
  } finally {
    shares.drop();
  }
  const open = results.filter(isOpen);
  const data = {
    nodes: results,
    unsealed: open.length,
    total: results.length,
    // Where the list of nodes came from: this host's record only, or the cluster itself (and the record updated).
    from: asked === undefined ? 'record' : 'cluster',
    record: file,
    ...(asked === undefined ? { note: UNKNOWN_HERE } : { learned: asked.learned.map((n) => n.id), dropped: asked.dropped.map((n) => n.id) }),
  };
  if (asked === undefined) ctx.output.warn(UNKNOWN_HERE);
  const scope = asked === undefined ? `this host knows (${file}, refreshed by join and cluster status here)` : `of the cluster (its members and the nodes given a certificate; ${file} updated)`;
  if (open.length < results.length) {
    const bad = results.filter((r) => !isOpen(r));
    throw withResult(
      new VaultSetupError('E_CLUSTER_PARTIAL', `${open.length} of ${results.length} nodes are unsealed; not: ${bad.map((r) => `${r.id} (${r.outcome})`).join(', ')}`, {
        hint: 'start or repair those nodes, then run `vault-setup unseal --cluster` again (unsealed nodes are skipped)',
      }),
      data,
    );
  }
  return { data, human: `Unsealed: ${open.length} of ${results.length} nodes ${scope} are open.` };
}

const UNKNOWN_HERE = 'Nodes joined from other hosts are unknown here unless the cluster is asked: vault-setup unseal --cluster --operator NAME (or --token-file FILE).';

interface Asked {
  results: NodeResult[];
  learned: ClusterNode[];
  dropped: ClusterNode[];
}

/**
 * Signs in on a node that is open now, reads the members and the nodes given a certificate, unseals the ones this
 * host did not know with the shares already held, drops the ones the cluster no longer has, and updates the record.
 */
async function askTheCluster(
  ctx: Context,
  o: { dir: string; file: string; caCert: string; known: ClusterNode[]; results: NodeResult[]; shares: HeldShares; waitMs: number; signIn: NonNullable<ClusterUnsealOptions['signIn']>; say(line: string): void },
): Promise<Asked> {
  const entry = o.results.find(isOpen);
  const stopped = (message: string, hint: string, cause?: VaultSetupError): Error =>
    withResult(new VaultSetupError(cause?.code ?? 'E_CLUSTER_PARTIAL', message, { hint, cause, ...(cause === undefined ? {} : { exitCode: cause.exitCode }) }), { nodes: o.results, unsealed: o.results.filter(isOpen).length, total: o.results.length, from: 'record', record: o.file });
  if (entry === undefined) {
    throw stopped(`none of the ${o.known.length} nodes this host knows is open, so the cluster could not be asked for its other nodes`, 'start or repair those nodes, then run the same `vault-setup unseal --cluster` again');
  }
  const api = connect(ctx, entry.api, o.caCert);
  let merged;
  try {
    await using session = await signIn(ctx, api, { ...o.signIn, purpose: "read the cluster's members and the nodes given a certificate (unseal the ones this host does not know)" });
    const view = await readCluster(api, session.token);
    const pending = pendingNodes(await issuedNodes(api, session.token), view.nodes);
    await session.end();
    merged = mergeClusterNodes(o.known, recordNodes(view), pending);
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    // The known nodes have had their shares; only the cluster's other nodes are left undone.
    throw stopped(`the nodes this host knows had their shares (${o.results.filter(isOpen).length} of ${o.results.length} open), but asking the cluster for its other nodes failed: ${error.message}`, `${error.hint ?? 'fix the cause'}; then run the same \`vault-setup unseal --cluster\` again (open nodes are skipped)`, error);
  } finally {
    api.close();
  }
  if (merged.dropped.length > 0) {
    o.say(`No longer in the cluster (neither a member nor pending), dropped from ${o.file}: ${merged.dropped.map((n) => n.id).join(', ')}.`);
  }
  const kept = o.results.filter((r) => !merged.dropped.some((n) => n.id === r.id));
  if (merged.learned.length > 0) o.say(`The cluster also has ${merged.learned.map((n) => n.id).join(', ')}, which this host did not know:`);
  const more = await unsealNodes(ctx, merged.learned, o.caCert, o.shares, { waitMs: o.waitMs, say: o.say });
  await noteClusterNodes(o.dir, merged.nodes);
  return { results: [...kept, ...more], learned: merged.learned, dropped: merged.dropped };
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
