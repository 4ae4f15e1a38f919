// `vault-setup cluster convert --advertise ADDR`: an existing single node (made by `init`, raft storage) becomes the
// first node of a cluster in place, keeping its data, unseal keys, tokens and secrets. The files become what
// `init --advertise` writes (listeners on the private address, TLS from a new cluster CA), shown as a diff and
// confirmed first; the originals are kept beside (*.pre-cluster). The share holders' shares, taken once, make a root
// token for this command (the cluster CA's key goes into the server's PKI engine, as init --advertise does) and unseal
// the node after its restart. raft's own record of the node's address moves to the private address with raft's
// recovery file (peers.json), read once at that unseal. Each stage is noted beside the record: run again to resume.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateRoot } from '../quorum/generate-root.ts';
import { quorumRootSession } from '../auth/sign-in.ts';
import { LAYOUTS } from '../config/flavor.ts';
import type { Context } from '../context.ts';
import { loadDeployment } from '../deployment.ts';
import { oneShot } from '../deployment/ownership.ts';
import { lockDeployment, readRecord } from '../deployment/record.ts';
import { saveRecord } from '../deployment/resume.ts';
import { VaultSetupError } from '../errors.ts';
import type { CommandResult } from '../invocation.ts';
import { readIfExists, writeAtomic } from '../services/files.ts';
import { collectShares } from '../services/quorum.ts';
import { identifyFromApi } from '../services/readiness.ts';
import { type Target, connect } from '../services/target.ts';
import { type DeploymentSpec, SERVICE, clusterPort, hostPort } from '../services/templates.ts';
import type { SealStatus, VaultApi } from '../services/vault-api.ts';
import { poll } from '../services/wait.ts';
import { deployTasks, newDeployState } from '../tasks/deploy.tasks.ts';
import { runTasks } from '../tasks/listr.ts';
import { makeClusterCa, makeNodeRequest, nodeSans } from '../tls/cluster-ca.ts';
import { unsealWith } from '../upgrade/shares.ts';
import { nodeApi } from './advertise.ts';
import { CONVERT_STATE, CONVERT_SUFFIX, type ConvertStage, type ConvertState, REPLACED, type RaftServer, convertVerdict, leaderProblems, peersJson, plannedConfigFiles, raftAddressStep } from './convert-plan.ts';
import { NODE_URN, PKI_MOUNT, setupClusterPki, signNode } from './pki.ts';

export interface ConvertOptions {
  dir: string;
  advertise: string;
  yes: boolean;
  fromStdin: boolean;
  waitMs: number;
}

export async function convertToCluster(ctx: Context, options: ConvertOptions): Promise<CommandResult> {
  const { dir, advertise } = options;
  const record = await readRecord(dir);
  if (record === undefined) {
    const deployment = await loadDeployment(dir).catch(() => undefined);
    throw new VaultSetupError(deployment === undefined ? 'E_NOT_DEPLOYED' : 'E_USAGE', deployment === undefined ? `no vault-setup deployment in ${dir}` : `${dir} has no vault-setup.json (the deployment record): cluster convert starts from it`, {
      hint: deployment === undefined ? 'pass --dir where `vault-setup init` wrote docker-compose.yml' : `run \`vault-setup init --dir ${dir}\` once (it resumes with the deployment's settings and writes the record), or \`vault-setup adopt\` for a hand-made one`,
    });
  }
  const state = await readState(dir);
  const verdict = convertVerdict(record, advertise, dir, state);
  if (verdict.kind === 'nothing') {
    if (state !== undefined) await clearState(dir);
    return { data: { dir, advertise, nodeId: record.nodeId, changed: false }, human: `Nothing to do: ${verdict.reason}.` };
  }
  if (verdict.kind === 'refuse') throw new VaultSetupError(verdict.code === 'usage' ? 'E_USAGE' : 'E_CLUSTER', verdict.message, { hint: verdict.hint });
  if (!hostHasAddress(advertise)) {
    throw new VaultSetupError('E_USAGE', `--advertise ${advertise} is not an address of this host; nothing was changed`, {
      hint: "give this host's address on the private network (`ip -brief addr` lists them); bring the WireGuard or Tailscale interface up first",
    });
  }
  const deployment = await loadDeployment(dir);
  if (deployment === undefined) throw new VaultSetupError('E_NOT_DEPLOYED', `no docker-compose.yml in ${dir}`, { hint: 'pass --dir where `vault-setup init` wrote the deployment' });
  await using _lock = await lockDeployment(dir);

  const say = (line: string): void => ctx.output.info(line);
  const { port, nodeId } = { port: record.port, nodeId: record.nodeId };
  const tlsBefore = state?.tlsBefore ?? record.tls;
  // Stopped once the files were being replaced: the originals go back and the run starts over from them (the
  // container may hold new files half written, e.g. a key not yet given to the server's user).
  const rollBack = state !== undefined && (state.stage === 'files' || state.stage === 'unsealed');
  if (rollBack) {
    ctx.output.info(`A conversion stopped while replacing the files (stage "${state.stage}"): putting the originals (*${CONVERT_SUFFIX}) back and restarting the server to start over ...`);
    await putOriginalsBack(ctx, dir, record.image, record.name);
  }
  // A resumed run may find the container stopped or half recreated, and the files old, new or in between.
  const reached = await reachServer(ctx, dir, record.name, port, state !== undefined, rollBack, options.waitMs);
  const caBefore = reached.caCert;
  let api = reached.api;
  // The session's revoke goes to whichever client reaches the server now (the address and CA change on the way).
  const current = { request: ((...args: Parameters<VaultApi['request']>) => api.request(...args)) as VaultApi['request'] };
  try {
    const seal = reached.seal;
    if (!seal.initialized) {
      throw new VaultSetupError('E_NOT_INITIALIZED', `the server in ${dir} is not initialised: there is nothing to keep; nothing was changed`, {
        hint: `initialise it as the first node of a cluster: vault-setup init --advertise ${advertise} --dir ${dir}`,
      });
    }
    const server = await identifyFromApi(reached.address, caBefore);
    if (server === undefined) throw new VaultSetupError('E_SERVER_UNREACHABLE', `the server at ${reached.address} does not say what it is`, { hint: 'check that it runs, then run cluster convert again' });

    // 1. The plan, as init --advertise would write it for this deployment (its image, name, port, limits, timing).
    const [compose, config] = await Promise.all([readIfExists(deployment.paths.compose), readIfExists(deployment.paths.config)]);
    const memory = /mem_limit:\s*"?([0-9]+[bkmg]?)"?/i.exec(compose ?? '')?.[1];
    const spec: DeploymentSpec = {
      layout: LAYOUTS[record.flavor],
      server,
      image: record.image,
      name: record.name,
      port,
      storage: 'raft',
      tls: true,
      memory,
      raftMultiplier: Number(/performance_multiplier\s*=\s*(\d+)/.exec(config ?? '')?.[1] ?? 1),
      cluster: { advertise, nodeId, join: [] },
    };
    const files = await plannedConfigFiles(spec, { compose: compose ?? '', config: config ?? '' });
    const api2 = nodeApi(advertise, port);
    if (state !== undefined) say(`Resuming the conversion to a cluster on ${advertise} (it stopped after stage "${state.stage}").`);
    say(`Plan: ${dir} becomes the first node of a cluster on ${advertise} (node ${nodeId}, API ${api2}, cluster port ${hostPort(advertise, clusterPort(port))}). Its data, unseal keys, tokens and secrets stay as they are.`);
    for (const f of files) say(`--- ${f.name}\n${f.diff}`);
    say(`--- config/tls/server.crt, config/tls/server.key: a new key and certificate for 127.0.0.1, localhost and ${advertise}, from the cluster CA`);
    say(`--- ca.crt: the cluster CA (made now; its key goes into the server's PKI engine ${PKI_MOUNT}/, never to disk) replaces ${tlsBefore === 'self-signed' ? 'the self-signed CA' : 'nothing: the API was plain http on 127.0.0.1 and becomes https'}`);
    say(`--- raft: the node's address moves to ${hostPort(advertise, clusterPort(port))} (data/raft/peers.json, read once at the next unseal)`);
    say(`The originals are kept beside as *${CONVERT_SUFFIX}. The server restarts with the new files; ${seal.t} share holders give their shares once (a root token for this command only, then the unseal).`);
    if (!options.yes) {
      if (!ctx.prompter.interactive) {
        throw new VaultSetupError('E_NEEDS_ANSWER', `cluster convert restarts the server with the files above and needs a yes, and there is no terminal to ask; nothing was changed`, {
          hint: `read the plan, then run again with --yes --stdin (the shares on standard input): vault-setup cluster convert --advertise ${advertise} --dir ${dir} --yes --stdin`,
        });
      }
      if (!(await ctx.prompter.confirm(`Convert ${dir} into the first node of a cluster on ${advertise} as shown?`, { default: false }))) {
        throw new VaultSetupError('E_USAGE', 'stopped before anything was changed', { hint: `run cluster convert again when ready` });
      }
    }

    let stage: ConvertStage = 'confirmed';
    const note = async (next: ConvertStage): Promise<void> => {
      stage = next;
      await writeState(dir, { advertise, stage, tlsBefore, at: new Date(ctx.clock.now()).toISOString() });
    };
    const shares = await collectShares(ctx, { fromStdin: options.fromStdin, threshold: seal.t, shares: seal.n, purpose: 'make a root token for this conversion and unseal the node after its restart' });
    await note('confirmed').catch((error: unknown) => {
      shares.drop();
      throw error;
    });
    try {
      return await (async () => {
        if (seal.sealed) await unsealWith(ctx, api, shares.keys);
        // 2. A root token for this command only; the cluster CA into the server's PKI engine.
        const target: Target = { dir, name: record.name, address: reached.address, caCert: caBefore, image: record.image, record };
        const root = await generateRoot(ctx, target, shares);
        await using session = await quorumRootSession(ctx, current, root.token);
        const raft = await api.request<any>('GET', 'sys/storage/raft/configuration', { token: session.token });
        const servers = (raft.body?.data?.config?.servers ?? []) as RaftServer[];
        const move = raftAddressStep(servers, nodeId, advertise, port);
        if (move.kind === 'refuse') throw new VaultSetupError('E_CLUSTER', `${move.message}; nothing was changed`, { hint: 'cluster convert turns a single node into a cluster\'s first node; see vault-setup cluster status' });
        const ca = await makeClusterCa();
        const node = await ca.issue(nodeSans(advertise));
        ctx.redactor.add(node.key);
        const handed = await setupClusterPki(api, session.token, ca);
        let tls = { kind: 'issued' as const, cert: node.cert, key: node.key, ca: ca.caCert };
        if (handed === 'kept') {
          // The engine holds a CA already (an earlier run of this command got that far): it signs this node's key.
          const request = await makeNodeRequest(nodeSans(advertise), [api2, `${NODE_URN}${nodeId}`]);
          ctx.redactor.add(request.key);
          const signed = await signNode(api, session.token, request.csr, { id: nodeId, api: api2, ipSans: ['127.0.0.1', advertise] });
          tls = { kind: 'issued', cert: signed.cert, key: request.key, ca: signed.ca };
        }
        say(handed === 'done' ? `Cluster CA handed to the PKI engine ${PKI_MOUNT}/; autopilot configured.` : `Cluster CA: the PKI engine ${PKI_MOUNT}/ holds it; it signed this node's certificate.`);
        await note('cluster-ca');

        // 3. The originals beside, raft's new address for the next unseal, the new files, the container recreated.
        await keepOriginals(ctx, dir, record.image, record.name);
        if (move.kind === 'move') await writePeersFile(ctx, dir, record, peersJson(nodeId, advertise, port));
        await note('files');
        const address = `https://127.0.0.1:${port}`;
        const deployState = newDeployState(dir, address);
        await runTasks(ctx, deployTasks(ctx, { dir, layout: spec.layout, image: record.image, name: record.name, port, storage: 'raft', raftMultiplier: spec.raftMultiplier, tls, force: true, waitMs: options.waitMs, memory, cluster: spec.cluster }), deployState);
        api.close();
        api = connect(ctx, address, tls.ca);

        // 4. Unsealed with the same shares; the node leads, with its API and cluster port on the private address.
        await unsealWith(ctx, api, shares.keys);
        await note('unsealed');
        let problems: string[] = [];
        const led = await poll(async () => {
          const config = await api.request<any>('GET', 'sys/storage/raft/configuration', { token: session.token, accept: [500, 503] });
          const leader = await api.request<any>('GET', 'sys/leader', { accept: [500, 503] });
          problems = leaderProblems({ servers: (config.body?.data?.config?.servers ?? []) as RaftServer[], leader: leader.body ?? {} }, nodeId, advertise, port);
          return problems.length === 0 ? true : undefined;
        }, { timeoutMs: 30_000, initialDelayMs: 250, maxDelayMs: 2000, clock: ctx.clock });
        if (led !== true) {
          throw new VaultSetupError('E_CLUSTER', `the converted node does not lead on ${advertise}: ${problems.join('; ')}`, { hint: `check \`docker logs ${record.name}\`; the originals are beside the new files as *${CONVERT_SUFFIX}` });
        }
        await session.end();

        // 5. The record says what the deployment now is; the stage file goes.
        await saveRecord(dir, { record, legacy: false }, {
          settings: { flavor: record.flavor, image: record.image, name: record.name, port, storage: 'raft', tls: 'cluster' },
          server: deployState.server ?? server,
          cluster: { advertise, nodes: [{ id: nodeId, api: api2 }] },
        });
        await clearState(dir);
        return done(ctx, { port, dir, advertise, nodeId, api: api2, tlsBefore, hadCa: tlsBefore === 'self-signed', handed, moved: move.kind === 'move' });
      })();
    } catch (error) {
      if (!(error instanceof VaultSetupError)) throw error;
      throw new VaultSetupError(error.code, error.message, {
        exitCode: error.exitCode,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
        hint: `${error.hint ?? 'fix the cause'}; the conversion stopped after stage "${stage}" (${CONVERT_STATE}): run the same cluster convert again, it resumes`,
      });
    } finally {
      shares.drop();
    }
  } finally {
    api.close();
  }
}

function done(ctx: Context, r: { port: number; dir: string; advertise: string; nodeId: string; api: string; tlsBefore: string; hadCa: boolean; handed: 'done' | 'kept'; moved: boolean }): CommandResult {
  const ca = path.join(r.dir, 'ca.crt');
  const old = r.hadCa ? `${ca}${CONVERT_SUFFIX}` : undefined;
  // Loud, whatever the flags: every client that pinned the old CA breaks until it takes the new one.
  ctx.output.alert(
    r.hadCa
      ? `THE CA CHANGED. Clients that pin this server's old CA (kept as ${old}) must take the cluster CA, ${ca}, or their TLS checks fail. Agents: \`vault-setup agent add NAME --secret ... --dir ${r.dir}\` (or \`agent rotate NAME\`) re-delivers it with the nodes' addresses.`
      : `THE API IS NOW HTTPS. Clients that used http://127.0.0.1 must use https with the cluster CA, ${ca}. Agents: \`vault-setup agent add NAME --secret ... --dir ${r.dir}\` (or \`agent rotate NAME\`) re-delivers it with the nodes' addresses; containers on the unix socket (run/) are unaffected.`,
  );
  const next = `vault-setup join --leader ${r.api} --leader-ca ca.crt --advertise ADDR --operator admin`;
  return {
    data: { dir: r.dir, advertise: r.advertise, nodeId: r.nodeId, api: r.api, changed: true, ca, caBefore: old ?? null, clusterCa: r.handed, raftAddressMoved: r.moved, next: [next, 'vault-setup unseal --cluster'] },
    human: [
      `${r.dir} is the first node of a cluster: ${r.nodeId} leads at ${r.api} (and https://127.0.0.1:${r.port} on this host). Data, keys and tokens are as they were.`,
      `Cluster CA: ${ca}${old === undefined ? '' : ` (the old CA: ${old})`}. Copy it to each new host, then there:`,
      `  ${next}`,
      '  vault-setup unseal --cluster',
    ].join('\n'),
  };
}

/**
 * The server as it runs now. A first run talks to it as deployed (refused when it does not answer). A resumed run
 * tries every way the files may have left it (https with the new CA or the old, plain http) and, when none answers,
 * starts the container from the compose file on disk and tries again until --wait runs out.
 */
async function reachServer(ctx: Context, dir: string, name: string, port: number, resuming: boolean, restarted: boolean, waitMs: number): Promise<{ api: VaultApi; address: string; caCert: string | undefined; seal: SealStatus }> {
  const deployment = (await loadDeployment(dir)) as NonNullable<Awaited<ReturnType<typeof loadDeployment>>>;
  const now = deployment.tls ? await readIfExists(deployment.paths.caCert) : undefined;
  const old = await readIfExists(`${deployment.paths.caCert}${CONVERT_SUFFIX}`);
  const ways = resuming
    ? [
        ...[now, old].filter((ca): ca is string => ca !== undefined).map((caCert) => ({ address: `https://127.0.0.1:${port}`, caCert })),
        { address: `http://127.0.0.1:${port}`, caCert: undefined },
      ]
    : [{ address: deployment.address, caCert: now }];
  const attempt = async () => {
    for (const way of ways) {
      const api = connect(ctx, way.address, way.caCert, { attempts: 1, timeoutMs: 3000 });
      const seal = await api.sealStatus().catch(() => undefined);
      api.close();
      if (seal !== undefined) return { ...way, seal, api: connect(ctx, way.address, way.caCert) };
    }
    return undefined;
  };
  let found = restarted ? await poll(attempt, { timeoutMs: waitMs, initialDelayMs: 500, maxDelayMs: 2000, clock: ctx.clock }) : await attempt();
  if (found === undefined && resuming && !restarted) {
    ctx.output.info(`The server does not answer: starting it from ${dir}/docker-compose.yml ...`);
    await ctx.compose.up(dir, name);
    found = await poll(attempt, { timeoutMs: waitMs, initialDelayMs: 500, maxDelayMs: 2000, clock: ctx.clock });
  }
  if (found === undefined) {
    throw new VaultSetupError('E_NOT_RUNNING', `the server in ${dir} does not answer at ${deployment.address}; nothing was changed`, {
      hint: `start it (docker compose up -d in ${dir}) and unseal it (vault-setup unseal --dir ${dir}), then run cluster convert again`,
    });
  }
  return found;
}

function hostHasAddress(addr: string): boolean {
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === addr));
}

/** Each file the conversion replaces, copied beside once (owner and mode kept: the key stays the server's, 0600). */
async function keepOriginals(ctx: Context, dir: string, image: string, name: string): Promise<void> {
  const script = `set -e; cd /deployment; for f in ${REPLACED.join(' ')}; do if [ -e "$f" ] && [ ! -e "$f${CONVERT_SUFFIX}" ]; then cp -p "$f" "$f${CONVERT_SUFFIX}"; fi; done; sync`;
  const run = await ctx.docker.runOnce({ image, entrypoint: ['/bin/sh', '-c'], cmd: [script], user: '0', binds: [`${dir}:/deployment`], ...oneShot(name, dir, 'keep') });
  if (run.exitCode !== 0) throw new VaultSetupError('E_SERVER', `could not keep the original files beside as *${CONVERT_SUFFIX} (${run.output.trim().split('\n').pop() ?? ''})`, { hint: `check ${dir}; nothing in it was changed yet` });
}

/**
 * The way back to the single node's files: each original copied back (a file that had none, e.g. the CA of a
 * plain-http node, removed), raft's recovery file removed if the server has not read it yet, the container restarted.
 */
async function putOriginalsBack(ctx: Context, dir: string, image: string, name: string): Promise<void> {
  const script = `set -e; cd /deployment; for f in ${REPLACED.join(' ')}; do if [ -e "$f${CONVERT_SUFFIX}" ]; then cp -p "$f${CONVERT_SUFFIX}" "$f"; else rm -f "$f"; fi; done; rm -f data/raft/peers.json; sync`;
  const run = await ctx.docker.runOnce({ image, entrypoint: ['/bin/sh', '-c'], cmd: [script], user: '0', binds: [`${dir}:/deployment`], ...oneShot(name, dir, 'back') });
  if (run.exitCode !== 0) throw new VaultSetupError('E_SERVER', `could not put the original files back from *${CONVERT_SUFFIX} (${run.output.trim().split('\n').pop() ?? ''})`, { hint: `copy each *${CONVERT_SUFFIX} file in ${dir} over its namesake by hand (cp -p), then run cluster convert again` });
  const before = await ctx.docker.findService(name, SERVICE);
  await ctx.compose.up(dir, name);
  const after = await ctx.docker.findService(name, SERVICE);
  // compose recreates on a compose-file change only: vault.hcl and the TLS files are read at start.
  if (after !== undefined && after.id === before?.id) {
    await ctx.docker.stop(after.id);
    await ctx.docker.start(after.id);
  }
}

/** raft's recovery file, owned by the server's user: the node's one-server configuration at its new address. */
async function writePeersFile(ctx: Context, dir: string, record: { flavor: keyof typeof LAYOUTS; image: string; name: string }, json: string): Promise<void> {
  const { uid, gid } = LAYOUTS[record.flavor];
  const script = `set -e; mkdir -p /deployment/data/raft; printf '%s' "$1" > /deployment/data/raft/peers.json; chown ${uid}:${gid} /deployment/data/raft/peers.json; chmod 600 /deployment/data/raft/peers.json; sync`;
  const run = await ctx.docker.runOnce({ image: record.image, entrypoint: ['/bin/sh', '-c'], cmd: [script, 'sh', json], user: '0', binds: [`${dir}:/deployment`], ...oneShot(record.name, dir, 'peers') });
  if (run.exitCode !== 0) throw new VaultSetupError('E_SERVER', `could not write data/raft/peers.json (${run.output.trim().split('\n').pop() ?? ''})`, { hint: `check ${dir}/data` });
}

const statePath = (dir: string): string => path.join(dir, CONVERT_STATE);

async function readState(dir: string): Promise<ConvertState | undefined> {
  const text = await readIfExists(statePath(dir));
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as ConvertState;
    if (typeof s.advertise === 'string' && typeof s.stage === 'string') return s;
  } catch {
    // damaged: treated as absent, the run starts from what the server says
  }
  return undefined;
}

const writeState = (dir: string, state: ConvertState): Promise<void> => writeAtomic(statePath(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
const clearState = (dir: string): Promise<void> => fs.rm(statePath(dir), { force: true });
