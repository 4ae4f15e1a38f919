// `vault-setup join`: a new node for an existing cluster, on another host. It checks the leader's certificate with
// the CA the operator brought, asks the cluster who is in it and which server version it runs, makes this node's
// key here and has the cluster sign its certificate, writes the node's files (listeners on the private address,
// retry_join to the known nodes) and starts it. The node then joins when it is unsealed with the cluster's shares
// (`vault-setup unseal --cluster`): raft's join challenge is answered with them.
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkSignInFlags, signIn } from '../auth/sign-in.ts';
import { checkAdvertise, nodeApi } from '../cluster/advertise.ts';
import { checkLeaderCertificate } from '../cluster/leader-tls.ts';
import { readCluster } from '../cluster/members.ts';
import { pendingNodes } from '../cluster/node-list.ts';
import { NODE_URN, issuedNodes, signNode } from '../cluster/pki.ts';
import { parseMemory } from '../config/container-limits.ts';
import { LAYOUTS } from '../config/flavor.ts';
import type { Context } from '../context.ts';
import { defaultDir } from '../deployment.ts';
import { assertNameOwned, oneShot } from '../deployment/ownership.ts';
import { lockDeployment } from '../deployment/record.ts';
import { existingDeployment, saveRecord } from '../deployment/resume.ts';
import { VaultSetupError, usageError } from '../errors.ts';
import type { CommandResult, Invocation } from '../invocation.ts';
import { bool, duration, int, oneOf, str } from '../options/flags.ts';
import { ensureWritableDir, readIfExists, refuseSymlink } from '../services/files.ts';
import { assertPortFree } from '../services/readiness.ts';
import { connect } from '../services/target.ts';
import { SERVICE } from '../services/templates.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { deployTasks, newDeployState } from '../tasks/deploy.tasks.ts';
import { runTasks } from '../tasks/listr.ts';
import { makeNodeRequest, nodeSans } from '../tls/cluster-ca.ts';

export async function join({ flags }: Invocation, ctx: Context): Promise<CommandResult> {
  const leader = leaderUrl(str(flags, 'leader'));
  const caFile = str(flags, 'leader-ca');
  if (caFile === undefined) throw usageError('join needs --leader-ca FILE: the cluster CA that the leader\'s certificate must verify with', "copy the first node's <dir>/ca.crt to this host and pass it");
  const advertiseFlag = str(flags, 'advertise');
  if (advertiseFlag === undefined) throw usageError("join needs --advertise ADDR: this host's address on the private network", 'e.g. --advertise 10.0.0.2');
  const advertise = checkAdvertise(advertiseFlag);
  const flavor = oneOf(flags, 'flavor', ['vault', 'openbao'] as const, 'vault');
  const layout = LAYOUTS[flavor];
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const name = str(flags, 'name') ?? layout.defaultName;
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) throw usageError(`--name must be lower-case letters, digits, "-" or "_", got "${name.slice(0, 40)}"`);
  const port = int(flags, 'port', 8200, { min: 1, max: 65534 });
  const nodeId = str(flags, 'node-id') ?? `${name}-${advertise.replace(/[.:]+/g, '-')}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(nodeId)) throw usageError(`--node-id must be letters, digits, ".", "-" or "_", got "${nodeId.slice(0, 40)}"`);
  const image = str(flags, 'image') ?? layout.defaultImage;
  const raftMultiplier = int(flags, 'raft-multiplier', 1, { min: 1, max: 10 });
  const waitMs = duration(flags, 'wait', '90s');
  const memory = str(flags, 'memory') === undefined ? undefined : parseMemory(str(flags, 'memory') as string);
  const signInFlags = { operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), tokenFile: str(flags, 'token-file') };
  checkSignInFlags(signInFlags);
  const leaderCa = await readIfExists(path.resolve(caFile));
  if (leaderCa === undefined) throw usageError(`--leader-ca ${caFile} does not exist`, "copy the first node's <dir>/ca.crt to this host");
  const existing = await existingDeployment(dir);
  if (existing !== undefined && existing.record.cluster === undefined) {
    throw new VaultSetupError('E_FILE_CONFLICT', `${dir} already holds a single-node deployment (${existing.record.name})`, { hint: 'give join a new --dir; a node joins with no data of its own' });
  }
  const dirExisted = await exists(dir);
  try {
    return await joinNode(ctx, flags, { leader, leaderCa, caFile, advertise, flavor, dir, name, port, nodeId, image, raftMultiplier, waitMs, memory, signInFlags, existing });
  } catch (error) {
    // A refusal or failure leaves no empty directory of join's making behind.
    if (!dirExisted) await fs.rmdir(dir).catch(() => undefined);
    throw error;
  }
}

interface JoinPlan {
  leader: string;
  leaderCa: string;
  caFile: string;
  advertise: string;
  flavor: 'vault' | 'openbao';
  dir: string;
  name: string;
  port: number;
  nodeId: string;
  image: string;
  raftMultiplier: number;
  waitMs: number;
  memory: string | undefined;
  signInFlags: { operator: string | undefined; passwordStdin: boolean; tokenFile: string | undefined };
  existing: Awaited<ReturnType<typeof existingDeployment>>;
}

async function joinNode(ctx: Context, flags: Invocation['flags'], plan: JoinPlan): Promise<CommandResult> {
  const { leader, leaderCa, caFile, advertise, flavor, dir, name, port, nodeId, image, raftMultiplier, waitMs, memory, signInFlags, existing } = plan;
  const layout = LAYOUTS[flavor];
  // 0. What is checked on this host comes first: nothing is signed for a node that could not be deployed here.
  await refuseSymlink(dir);
  await ensureWritableDir(dir);
  await ctx.docker.ping();
  await assertNameOwned(ctx, name, dir);
  if ((await ctx.docker.findService(name, SERVICE)) === undefined) await assertPortFree(port);

  // 1. The leader proves it is the cluster before anything (a password, a request) is sent to it.
  await checkLeaderCertificate(leader, leaderCa, caFile);
  const api = connect(ctx, leader, leaderCa);
  try {
    const health = await api.probe();
    if (health === undefined || !health.initialized || health.sealed) {
      throw new VaultSetupError('E_SEALED', `the leader at ${leader} is ${health === undefined ? 'not answering its health check' : health.initialized ? 'sealed' : 'not initialised'}`, {
        hint: 'unseal the cluster first (vault-setup unseal --cluster on a node), then run join again',
      });
    }
    // 2. The same server version as the cluster: the server this image runs says which it is.
    const local = await ctx.docker.identifyImage(image, oneShot(name, dir, 'version'));
    if (local === undefined) throw new VaultSetupError('E_IMAGE_MISSING', `image ${image} did not report a Vault or OpenBao version`, { hint: 'use the image the other nodes run' });
    if (normaliseVersion(local.version) !== normaliseVersion(health.version)) {
      throw new VaultSetupError('E_CLUSTER', `image ${image} runs ${local.raw}, the cluster runs ${health.version}; nothing was written`, {
        hint: 'join with the image the other nodes run (every node of a cluster runs the same server version); upgrade the cluster node by node later',
      });
    }
    // 3. Who is in the cluster, and a certificate for this node signed by the cluster (the key never leaves here).
    await using session = await signIn(ctx, api, { ...signInFlags, purpose: `join ${nodeId} to the cluster (read its members, sign this node's certificate)` });
    const view = await readCluster(api, session.token);
    if (view.nodes.some((n) => n.id === nodeId)) {
      throw new VaultSetupError('E_CLUSTER', `the cluster already has a node ${nodeId}; nothing was written`, {
        hint: `a replaced node leaves first: vault-setup cluster remove ${nodeId} (on a node of the cluster), or give this one another --node-id`,
      });
    }
    const taken = view.nodes.find((n) => n.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') === advertise);
    if (taken !== undefined) {
      throw new VaultSetupError('E_CLUSTER', `the cluster's node ${taken.id} already has the address ${advertise}; nothing was written`, {
        hint: `if it is gone for good, remove it first: vault-setup cluster remove ${taken.id}`,
      });
    }
    // Nodes given a certificate that have not joined yet (not unsealed): raft does not list them, the cluster CA does.
    const pending = pendingNodes(await issuedNodes(api, session.token), view.nodes).filter((n) => n.id !== nodeId);
    const self = { id: nodeId, api: nodeApi(advertise, port) };
    const request = await makeNodeRequest(nodeSans(advertise), [self.api, `${NODE_URN}${nodeId}`]);
    ctx.redactor.add(request.key);
    const signed = await signNode(api, session.token, request.csr, { id: nodeId, api: self.api, ipSans: ['127.0.0.1', advertise] });
    if (pemBody(signed.ca) !== pemBody(leaderCa)) {
      throw new VaultSetupError('E_CLUSTER', `the cluster signs with another CA than ${caFile}; nothing was written`, { hint: "pass the cluster's CA (the first node's <dir>/ca.crt) to --leader-ca" });
    }
    await session.end();

    // 4. This node's files, and start it. It stays sealed until `unseal --cluster`, which also completes the join.
    const joinAddrs = [...new Set([leader, ...view.nodes.map((n) => n.api)])];
    await using _lock = await lockDeployment(dir);
    const state = newDeployState(dir, `https://127.0.0.1:${port}`);
    const deploying = runTasks(
      ctx,
      deployTasks(ctx, {
        dir,
        layout,
        image,
        name,
        port,
        storage: 'raft',
        raftMultiplier,
        tls: { kind: 'issued', cert: signed.cert, key: request.key, ca: signed.ca },
        force: bool(flags, 'force'),
        waitMs,
        memory,
        cluster: { advertise, nodeId, join: joinAddrs },
      }),
      state,
    );
    // The cluster has signed this node's certificate and knows nothing else of it yet: say so, and how to go on.
    await deploying.catch((error: unknown) => {
      if (!(error instanceof VaultSetupError)) throw error;
      throw new VaultSetupError(error.code, `${error.message} (node ${nodeId} is not part of the cluster yet)`, {
        exitCode: error.exitCode,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
        hint: `${error.hint ?? 'fix the cause'}; then run the same \`vault-setup join\` again with --force (a new certificate is signed; nothing on the other nodes needs undoing)`,
      });
    });
    const nodes = [...view.nodes.map((n) => ({ id: n.id, api: n.api })), ...pending, self];
    await saveRecord(dir, existing, {
      settings: { flavor, image, name, port, storage: 'raft', tls: 'cluster' },
      catalogFile: str(flags, 'secrets'),
      server: state.server as ServerIdentity,
      cluster: { advertise, nodes },
    });
    const next = `vault-setup unseal --cluster --dir ${dir}`;
    return {
      data: { dir, nodeId, advertise, address: self.api, leader, server: (state.server as ServerIdentity).raw, nodes, sealed: true, steps: state.steps, next },
      human: [
        `Node ${nodeId} is running at ${self.api} (and https://127.0.0.1:${port} on this host), sealed.`,
        `It joins the cluster (${nodes.length} nodes with it) when it is unsealed with the cluster's shares.`,
        `Next: ${next}`,
      ].join('\n'),
    };
  } finally {
    api.close();
  }
}

function leaderUrl(value: string | undefined): string {
  if (value === undefined) throw usageError("join needs --leader URL: a cluster node's API on the private network", 'e.g. --leader https://10.0.0.1:8200');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`--leader must be an https:// URL, got "${value.slice(0, 60)}"`, 'e.g. --leader https://10.0.0.1:8200');
  }
  if (url.protocol !== 'https:') throw usageError(`--leader must be https: a cluster's API is always TLS, got "${value.slice(0, 60)}"`, 'e.g. --leader https://10.0.0.1:8200');
  return url.origin;
}

const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);
const normaliseVersion = (v: string): string => v.replace(/^v/i, '').replace(/\+.*$/, '').trim();
const pemBody = (pem: string): string => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
