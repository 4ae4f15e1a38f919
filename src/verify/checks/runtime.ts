// Runtime: is the container up, does the API answer, and in what state is the server.
import { composeUpCommand } from '../../deployment/container.ts';
import type { Probe } from '../probe.ts';
import { exposure } from './network.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';

/** The start command in the words of the compose installed here, with -p when the project is not the directory's. */
const composeUp = async (p: Probe, lookup: { project: string; projectIsDefault: boolean }) =>
  p.paths ? `${await composeUpCommand(p.ctx, p.paths.dir, lookup)}, then vault-setup unseal --dir ${p.paths.dir}` : 'start the container, then unseal';

export async function container(p: Probe): Promise<CheckResult> {
  const id = 'container';
  const lookup = await p.container();
  switch (lookup.kind) {
    case 'no-deployment':
      return skip(id, 'no deployment directory (only --addr)');
    case 'unnamed':
      return fail(id, 'the container is unknown: docker-compose.yml cannot be read', 'fix docker-compose.yml (see compose-file)');
    case 'no-docker':
      return fail(id, `the Docker Engine does not answer (${lookup.error})`, 'start Docker (systemctl start docker), or run verify as a user allowed to use it');
    case 'absent':
      return fail(id, `no container for compose project ${lookup.project}`, await composeUp(p, lookup));
    case 'found': {
      const c = lookup.container;
      if (c.running) return pass(id, `${c.name} is running (since ${c.startedAt.replace(/\.\d+Z$/, 'Z')})`);
      return fail(id, `${c.name} is ${c.state}${c.state === 'exited' ? ` (exit code ${c.exitCode})` : ''}`, await composeUp(p, lookup));
    }
  }
}

export async function restarts(p: Probe): Promise<CheckResult> {
  const id = 'restarts';
  const lookup = await p.container();
  if (lookup.kind !== 'found') return skip(id, 'no container to look at');
  const { restartCount, name } = lookup.container;
  if (restartCount === 0) return pass(id, `${name} has not restarted since it was created`);
  return warn(id, `${name} restarted ${restartCount} time${restartCount > 1 ? 's' : ''} (each restart seals the server)`, `read why: docker logs --tail 50 ${name}`);
}

export async function api(p: Probe): Promise<CheckResult> {
  const id = 'api';
  const h = await p.health();
  if (h.ok) return pass(id, `${p.address} answers`);
  const reason = /did not answer \(([^)]*)\)/.exec(h.error)?.[1] ?? h.error;
  return fail(id, `${p.address} does not answer (${reason})`, 'is the container running? `vault-setup status`, then `docker logs <container>`');
}

export async function version(p: Probe): Promise<CheckResult> {
  const id = 'version';
  const h = await p.health();
  if (!h.ok) return skip(id, 'the API is not reachable');
  const product = await p.product();
  return pass(id, `${product?.product === 'openbao' ? 'OpenBao' : 'Vault'} ${h.health.version}`);
}

export async function initialized(p: Probe): Promise<CheckResult> {
  const id = 'initialized';
  const h = await p.health();
  if (!h.ok) return skip(id, 'the API is not reachable');
  if (h.health.initialized) return pass(id, 'initialised');
  return fail(id, 'the server is not initialised: it holds no secrets yet', `run vault-setup init${p.paths ? ` --dir ${p.paths.dir}` : ''}`);
}

export async function unsealed(p: Probe): Promise<CheckResult> {
  const id = 'unsealed';
  const h = await p.health();
  if (!h.ok) return skip(id, 'the API is not reachable');
  if (!h.health.initialized) return skip(id, 'not initialised');
  if (!h.health.sealed) return pass(id, 'unsealed');
  const seal = await p.sealStatus();
  const progress = seal ? ` (${seal.progress}/${seal.t} shares entered)` : '';
  return fail(id, `the server is sealed${progress}: no app can read a secret`, `vault-setup unseal${p.paths ? ` --dir ${p.paths.dir}` : ` --addr ${p.address}`}`);
}

export async function haState(p: Probe): Promise<CheckResult> {
  const id = 'ha-state';
  const h = await p.health();
  if (!h.ok || !h.health.initialized || h.health.sealed) return skip(id, h.ok ? 'the server is not serving' : 'the API is not reachable');
  if (h.health.standby) {
    // Unsealed, not active, and no leader to follow: raft refuses to elect this node (e.g. its node_id changed under
    // initialised data: "not part of stable configuration"). Reads may work; every write fails.
    const leader = await p.call<{ leader_address?: string; is_self?: boolean }>('GET', 'sys/leader');
    const clusterNode = p.clusterAdvertise !== undefined;
    if ((leader === undefined || leader.status !== 200 || !leader.body?.leader_address) && clusterNode) {
      return fail(id, 'unsealed, and the cluster has no leader: writes fail (fewer than a quorum of nodes are up and unsealed)', 'bring the other nodes back and unseal them: vault-setup unseal --cluster --operator NAME (vault-setup cluster status shows them)');
    }
    if (leader === undefined || leader.status !== 200 || !leader.body?.leader_address) {
      return fail(id, 'unsealed but neither active nor a standby with a leader: writes fail (raft elects no leader)', `restore the node_id the data was created with in config/vault.hcl (\`vault-setup init${p.paths ? ` --dir ${p.paths.dir}` : ''} --force\` rewrites it from vault-setup.json), then restart and unseal; docker logs shows "not part of stable configuration"`);
    }
    if (clusterNode) return pass(id, `a standby of the cluster's leader ${leader.body.leader_address} (it forwards writes there)`);
    return warn(id, `the node is a standby of ${leader.body.leader_address}: a single-node deployment should be active`, 'wait a few seconds after unsealing and re-run; if it stays, read docker logs');
  }
  return pass(id, 'active node');
}

export async function clock(p: Probe): Promise<CheckResult> {
  const id = 'clock';
  const h = await p.health();
  const serverTime = h.ok ? h.health.server_time_utc : undefined;
  if (serverTime === undefined) return skip(id, h.ok ? 'the server does not report its time' : 'the API is not reachable');
  const drift = Math.abs(serverTime - p.ctx.clock.now() / 1000);
  if (drift > 60) return warn(id, `server clock differs from this host's by ${Math.round(drift)} s: token TTLs and certificates misbehave`, 'enable time sync (timedatectl set-ntp true)');
  return pass(id, 'server clock matches this host');
}

export const RUNTIME_CHECKS = [container, restarts, api, exposure, version, initialized, unsealed, haState, clock];
