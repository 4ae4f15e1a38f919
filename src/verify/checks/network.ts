// Is the API reachable from the network? The compose file's promise ("127.0.0.1 only") is not the answer: on
// Docker Engine < 28 a published port is also reachable at the container's bridge address by any neighbour that
// routes the bridge subnet through this host (moby#45610). So look from outside, as a neighbour would.
import { blocks, type HclBody } from '../hcl.ts';
import type { Probe } from '../probe.ts';
import { hostAddresses, reachFromNamespace, type Target } from '../../services/netns.ts';
import { type CheckResult, fail, pass, skip } from '../types.ts';

const isLoopback = (host: string): boolean => /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '[::1]' || host === 'localhost';

/** The host part of each tcp listener's address and cluster_address in vault.hcl. */
export function tcpListenAddresses(body: HclBody): string[] {
  return blocks(body, 'listener')
    .filter((b) => b.labels[0] === 'tcp')
    .flatMap((b) => [b.body.attrs.address ?? '127.0.0.1:8200', b.body.attrs.cluster_address])
    .filter((a): a is string => typeof a === 'string')
    .map((a) => a.replace(/:\d+$/, ''));
}

/**
 * What a host-network deployment exposes: with network_mode: host the listeners bind the host's own
 * interfaces, so every tcp listener must be on loopback.
 */
export function hostNetworkExposure(body: HclBody | undefined, privateAddress?: string): string[] {
  if (body === undefined) return ['docker-compose.yml uses network_mode: host and config/vault.hcl cannot be read'];
  // A cluster node's private address (--advertise) is meant to be reached from the private network (docs/cluster.md).
  return tcpListenAddresses(body)
    .filter((host) => !isLoopback(host) && host.replace(/^\[|\]$/g, '') !== privateAddress)
    .map((host) => `network_mode: host with a listener on ${host === '' || host === '0.0.0.0' || host === '[::]' ? 'every interface' : host}`);
}

/** The ports to knock on: the API's and the cluster's, on the host's addresses and on the container's own. */
async function targets(p: Probe): Promise<Target[] | string> {
  const lookup = await p.container();
  if (lookup.kind !== 'found') return 'no running container to probe';
  if (!lookup.container.running) return `${lookup.container.name} is not running`;
  const apiPort = p.deployment?.port ?? 8200;
  const ports = [...new Set([apiPort, 8200, 8201])];
  const client = await p.ctx.docker.client();
  const info = await client.getContainer(lookup.container.id).inspect();
  const containerIps = Object.values(info.NetworkSettings?.Networks ?? {})
    .map((n) => n.IPAddress)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  // A cluster node's private address is the cluster's way in, by design; its own checks look at it (cluster-port).
  const hosts = [...new Set([...hostAddresses(), ...containerIps])].filter((h) => h !== p.clusterAdvertise);
  return hosts.flatMap((host) => ports.map((port) => ({ host, port })));
}

export async function exposure(p: Probe): Promise<CheckResult> {
  const id = 'exposure';
  const list = await targets(p);
  if (typeof list === 'string') return skip(id, list);
  const reach = await reachFromNamespace(list);
  if (!reach.ok) return skip(id, reach.reason, 'run `vault-setup verify` as root on the server to probe the API from outside');
  if (reach.reachable.length > 0) {
    const seen = reach.reachable.map((t) => `${t.host}:${t.port}`).join(', ');
    return fail(
      id,
      `a neighbour that routes through this host reaches the server at ${seen}`,
      p.paths ? `re-run \`vault-setup init --dir ${p.paths.dir} --force\` to move the server to loopback listeners on the host network (docs/network.md), then unseal` : 'keep every listener on loopback (docs/network.md)',
    );
  }
  return pass(id, `not reachable from a neighbour's network namespace (${reach.tried} address:port pairs tried)`);
}
