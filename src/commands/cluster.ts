// `vault-setup cluster status|remove`: the cluster as its servers see it (raft's members, autopilot's health and
// failure tolerance), and removing a node that is gone for good, refused when it would cost the cluster its quorum.
import { checkSignInFlags, signIn } from '../auth/sign-in.ts';
import { type ClusterView, probeVoters, readCluster, recordNodes, removalVerdict } from '../cluster/members.ts';
import { pendingNodes } from '../cluster/node-list.ts';
import { AUTOPILOT, issuedNodes, revokeNode } from '../cluster/pki.ts';
import type { Context } from '../context.ts';
import { noteClusterNodes } from '../deployment/record.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import type { CommandResult, Invocation } from '../invocation.ts';
import { bool, duration, str } from '../options/flags.ts';
import { checkAdvertise } from '../cluster/advertise.ts';
import { defaultDir } from '../deployment.ts';
import path from 'node:path';
import { openTarget, requireUnsealed } from '../services/target.ts';

export async function cluster({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  const [action, node, ...rest] = positionals;
  if (action !== 'status' && action !== 'remove' && action !== 'reissue' && action !== 'convert') throw usageError(`cluster needs an action: status, remove NODE, reissue or convert${action === undefined ? '' : `, got "${action.slice(0, 30)}"`}`, 'vault-setup cluster status --json');
  if (action === 'convert') return convert(flags, node, ctx);
  for (const flag of ['advertise', 'yes', 'stdin', 'wait']) if (flags[flag] !== undefined) throw usageError(`--${flag} is for cluster convert`, `vault-setup cluster ${action} --help`);
  if (action === 'remove' && node === undefined) throw usageError('cluster remove needs the node id', 'the ids are in `vault-setup cluster status`');
  if (rest.length > 0 || (action !== 'remove' && node !== undefined)) throw usageError(`cluster ${action} takes ${action === 'remove' ? 'one node id' : 'no argument'}`);
  const signInFlags = { operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), tokenFile: str(flags, 'token-file') };
  checkSignInFlags(signInFlags);
  using open = await openTarget(ctx, { dir: str(flags, 'dir'), addr: str(flags, 'addr') });
  const { api, target } = open;
  requireUnsealed(await api.sealStatus(), target.address, {
    suffix: '',
    sealedHint: 'unseal the cluster first: vault-setup unseal --cluster',
    uninitialisedHint: 'a node that has not joined yet: unseal it with the cluster\'s shares (vault-setup unseal --cluster)',
  });
  await using session = await signIn(ctx, api, { ...signInFlags, purpose: action === 'status' ? "read the cluster's members and autopilot state" : `remove ${node} from the cluster` });
  const view = await readCluster(api, session.token);
  if (action === 'reissue') {
    if (target.dir === undefined || target.record === undefined) throw usageError('cluster reissue runs on the node itself: give its --dir, not --addr');
    const { reissueNodeCertificate } = await import('../cluster/reissue.ts');
    const done = await reissueNodeCertificate(ctx, api, session.token, target.dir, target.record);
    await session.end().catch(() => undefined);
    return {
      data: { dir: target.dir, nodeId: target.record.nodeId, ca: `${target.dir}/ca.crt`, sealed: true, next: done.next },
      human: [`Node ${target.record.nodeId} has a new certificate from the cluster's CA (now ${target.dir}/ca.crt: clients pin this one) and restarted sealed.`, `Next: ${done.next}`].join('\n'),
    };
  }
  if (action === 'status') {
    // Given a certificate but not in raft yet: joined, waiting for the shares (unseal --cluster).
    const pending = pendingNodes(await issuedNodes(api, session.token).catch(() => []), view.nodes);
    await noteClusterNodes(target.dir, [...recordNodes(view), ...pending]);
    return { data: { ...statusData(view), pending }, human: [statusText(view), ...pending.map((n) => `    ${n.id.padEnd(28)} ${n.api.padEnd(28)} pending: unseal it with the cluster's shares (vault-setup unseal --cluster)`)].join('\n') };
  }
  const id = node as string;
  const member = view.nodes.find((n) => n.id === id);
  if (member === undefined) {
    // A node given a certificate that never joined (or one of a cluster whose snapshot was restored here): only its
    // certificate is left to revoke.
    const revoked = await revokeNode(api, session.token, id);
    if (revoked > 0) {
      const pending = pendingNodes(await issuedNodes(api, session.token), view.nodes);
      await noteClusterNodes(target.dir, [...recordNodes(view), ...pending]);
      return { data: { removed: id, pendingOnly: true, ...statusData(view), pending }, human: [`Removed ${id}: it had a certificate but was not in raft; the certificate is revoked.`, statusText(view)].join('\n') };
    }
    throw new VaultSetupError('E_USAGE', `the cluster has no node "${id.slice(0, 60)}"`, { hint: `its nodes: ${view.nodes.map((n) => n.id).join(', ')}` });
  }
  const verdict = removalVerdict(await probeVoters(ctx, view, target.caCert), id);
  if (!verdict.ok && (verdict.lastVoter || !bool(flags, 'allow-quorum-loss'))) {
    throw new VaultSetupError('E_QUORUM', `refused: ${verdict.reason}; nothing was changed`, {
      hint: verdict.lastVoter ? 'a cluster keeps at least one voter; to retire it, back it up and stop it instead' : 'bring the other nodes back first (vault-setup unseal --cluster), or add --allow-quorum-loss if they are gone for good',
    });
  }
  await api.request('POST', 'sys/storage/raft/remove-peer', { token: session.token, body: { server_id: id } }).catch((error: unknown) => {
    // The leader may have lost its quorum meanwhile (another node went down): whether the peer went is unknown.
    throw new VaultSetupError('E_SERVER', `removing ${id} failed: ${error instanceof Error ? error.message : String(error)}`, {
      hint: `vault-setup cluster status shows whether ${id} is still a member and whether the cluster has a leader; its certificate was not revoked`,
      cause: error,
    });
  });
  // Its certificate goes too: the node no longer counts as one of the cluster's (unseal --cluster, join).
  await revokeNode(api, session.token, id);
  const after = await readCluster(api, session.token);
  await noteClusterNodes(target.dir, recordNodes(after));
  return {
    data: { removed: id, ...statusData(after) },
    human: [`Removed ${id} from the cluster. Its data no longer counts; to bring a host back, join it afresh (an empty --dir).`, statusText(after)].join('\n'),
  };
}

/** `cluster convert --advertise ADDR`: a single node becomes the first node of a cluster (src/cluster/convert.ts). */
async function convert(flags: Invocation['flags'], extra: string | undefined, ctx: Context): Promise<CommandResult> {
  if (extra !== undefined) throw usageError('cluster convert takes no argument: give the address with --advertise ADDR');
  for (const flag of ['operator', 'password-stdin', 'token-file', 'addr', 'allow-quorum-loss']) {
    if (flags[flag] !== undefined) throw usageError(`--${flag} does not apply to cluster convert: the share holders make a root token for it (the CA goes into the server's PKI engine)`, 'vault-setup cluster convert --advertise ADDR [--dir DIR] [--yes --stdin]');
  }
  const raw = str(flags, 'advertise');
  if (raw === undefined) throw usageError("cluster convert needs --advertise ADDR: this host's address on the private network", 'e.g. vault-setup cluster convert --advertise 10.0.0.1');
  const advertise = checkAdvertise(raw);
  const yes = bool(flags, 'yes');
  const fromStdin = bool(flags, 'stdin');
  if (yes && !fromStdin) throw usageError('--yes asks nothing, and the unseal shares are still needed: add --stdin (one share per line)', 'or drop --yes to confirm and type the shares at hidden prompts');
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const { convertToCluster } = await import('../cluster/convert.ts');
  return convertToCluster(ctx, { dir, advertise, yes, fromStdin, waitMs: duration(flags, 'wait', '90s') });
}

function statusData(view: ClusterView): Record<string, unknown> {
  return {
    nodes: view.nodes.map((n) => ({ id: n.id, address: n.address, api: n.api, voter: n.voter, leader: n.leader, healthy: n.healthy, lastContact: n.lastContact, status: n.status, version: n.version })),
    leader: view.leader,
    voters: view.voters,
    failureTolerance: view.failureTolerance,
    autopilot: view.autopilot,
  };
}

const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Raft lists a joined node as a voter at once; autopilot counts it only after it has been healthy for a while. */
const promoting = (n: ClusterView['nodes'][number]): boolean => n.voter && n.status === 'non-voter';

export function statusText(view: ClusterView): string {
  const rows = view.nodes.map((n) => `  ${n.leader ? '*' : ' '} ${n.id.padEnd(28)} ${n.api.padEnd(28)} ${promoting(n) ? 'joining  ' : n.voter ? 'voter    ' : 'non-voter'} ${n.healthy === null ? '?' : n.healthy ? 'healthy' : 'UNHEALTHY'}${n.lastContact === null ? '' : `  last contact ${n.lastContact}s`}`);
  const joining = view.nodes.filter(promoting).length;
  return [
    `${count(view.nodes.length, 'node')}, ${count(view.voters, 'voter')}, leader ${view.leader ?? 'none'}, failure tolerance ${view.failureTolerance ?? '?'}${joining > 0 ? ` (${joining} joining: autopilot makes ${joining === 1 ? 'it a voter' : 'them voters'} once healthy for ${AUTOPILOT.server_stabilization_time}; the tolerance counts ${joining === 1 ? 'it' : 'them'} then)` : ''}`,
    ...rows,
  ].join('\n');
}
