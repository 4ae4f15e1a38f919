// Files: what docker-compose.yml and vault.hcl say, and what the running container actually got.
import fs from 'node:fs/promises';
import path from 'node:path';
import { blocks, truthy, type HclBody } from '../hcl.ts';
import { compareVersions } from '../../config/versions.ts';
import type { Probe } from '../probe.ts';
import { tlsCertificate } from './tls.ts';
import { hostNetworkExposure } from './network.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';

const NO_DIR = 'no deployment directory (only --addr)';

export async function composeFile(p: Probe): Promise<CheckResult> {
  const id = 'compose-file';
  if (p.paths === undefined) return skip(id, NO_DIR);
  const compose = await p.compose();
  if (!compose.ok) {
    return fail(id, compose.error, compose.missing ? `run \`vault-setup init --dir ${p.paths.dir}\`` : 'fix the YAML, or move the file away and re-run `vault-setup init`');
  }
  const service = (await p.service()) ?? {};
  return pass(id, `docker-compose.yml parses: image ${service.image ?? '(none)'}, container ${service.container_name ?? '(unnamed)'}`);
}

export async function configFile(p: Probe): Promise<CheckResult> {
  const id = 'config-file';
  if (p.paths === undefined) return skip(id, NO_DIR);
  const config = await p.config();
  if (!config.ok) {
    return fail(id, config.error, config.missing ? `run \`vault-setup init --dir ${p.paths.dir}\` to write it` : 'fix config/vault.hcl, or re-run `vault-setup init --force`');
  }
  const storage = blocks(config.value, 'storage')[0];
  const listeners = blocks(config.value, 'listener');
  if (storage === undefined || listeners.length === 0) {
    return fail(id, `config/vault.hcl has ${storage === undefined ? 'no storage block' : 'no listener block'}`, 'add it, or re-run `vault-setup init --force`');
  }
  return pass(id, `config/vault.hcl parses: storage "${storage.labels[0] ?? '?'}", ${listeners.length} listener${listeners.length > 1 ? 's' : ''}`);
}

export interface PortEntry {
  hostIp: string;
  published: string;
  target: string;
}

/** A compose `ports` entry, short ("127.0.0.1:8200:8200", "8200:8200", "[::1]:8200:8200") or long form. */
export function parsePortEntry(entry: unknown): PortEntry | undefined {
  if (entry !== null && typeof entry === 'object') {
    const e = entry as { host_ip?: string; published?: string | number; target?: string | number };
    return { hostIp: e.host_ip ?? '0.0.0.0', published: String(e.published ?? ''), target: String(e.target ?? '') };
  }
  if (typeof entry !== 'string' && typeof entry !== 'number') return undefined;
  let text = String(entry).replace(/\/(tcp|udp|sctp)$/, '');
  let hostIp: string | undefined;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (v6 !== null) {
    hostIp = v6[1] as string;
    text = v6[2] as string;
  }
  const parts = text.split(':');
  if (parts.length === 3) return { hostIp: parts[0] as string, published: parts[1] as string, target: parts[2] as string };
  if (parts.length === 2) return { hostIp: hostIp ?? '0.0.0.0', published: parts[0] as string, target: parts[1] as string };
  return { hostIp: hostIp ?? '0.0.0.0', published: '', target: parts[0] as string };
}

export const isLoopback = (ip: string): boolean => /^127\.\d+\.\d+\.\d+$/.test(ip) || ip === '::1' || ip === 'localhost';

export async function port(p: Probe): Promise<CheckResult> {
  const id = 'port';
  const service = await p.service();
  const lookup = await p.container();
  const exposed: string[] = [];
  const config = await p.config();
  const hostNetwork = service?.network_mode === 'host' || (lookup.kind === 'found' && lookup.container.networkMode === 'host');
  if (hostNetwork) exposed.push(...hostNetworkExposure(config.ok ? config.value : undefined, p.clusterAdvertise));
  for (const raw of (service?.ports as unknown[] | undefined) ?? []) {
    const e = parsePortEntry(raw);
    if (e !== undefined && !isLoopback(e.hostIp)) exposed.push(`docker-compose.yml publishes ${e.target} on ${e.hostIp === '0.0.0.0' || e.hostIp === '' ? '0.0.0.0 (all interfaces)' : e.hostIp}`);
  }
  let published8201 = false;
  if (lookup.kind === 'found') {
    const c = lookup.container;
    for (const [containerPort, bindings] of Object.entries(c.portBindings)) {
      if (containerPort.startsWith('8201')) published8201 = true;
      for (const b of bindings ?? []) {
        const ip = b.HostIp === '' ? '0.0.0.0' : b.HostIp;
        if (!isLoopback(ip)) exposed.push(`the running container publishes ${containerPort} on ${ip}:${b.HostPort}`);
      }
    }
  }
  if (service === undefined && lookup.kind !== 'found') return skip(id, 'neither docker-compose.yml nor the container can be read');
  if (exposed.length > 0) {
    return fail(id, `${[...new Set(exposed)].join('; ')}: the API is reachable from the network`, p.paths ? `re-run \`vault-setup init --dir ${p.paths.dir} --force\` to move the server to a loopback listener on the host network (docs/network.md), then unseal` : 'keep every listener on loopback (docs/network.md)');
  }
  if (published8201) return warn(id, 'the cluster port 8201 is published', 'remove the 8201 mapping: a single node needs no cluster traffic from outside');
  if (hostNetwork && p.clusterAdvertise !== undefined) return pass(id, `API on 127.0.0.1:${p.deployment?.port ?? 8200} and the cluster's private address ${p.clusterAdvertise} only (host network)`);
  if (hostNetwork) return pass(id, `API on 127.0.0.1:${p.deployment?.port ?? 8200} only (host network, every tcp listener on loopback)`);
  const entries = ((service?.ports as unknown[] | undefined) ?? []).map(parsePortEntry);
  const e = entries.find((x) => x?.target.replace(/\/.*$/, '') === '8200') ?? entries[0];
  // The engine that runs the deployment's container (none found: nothing to say about it).
  const engine = e === undefined || lookup.kind !== 'found' ? undefined : await p.memo('engine version', () => engineVersion(p));
  if (e !== undefined && engine !== undefined && Number(engine.split('.')[0]) < 28) {
    // moby#45610: before Docker Engine 28 a port published on 127.0.0.1 also answers at the container's bridge address.
    return warn(
      id,
      `API published on ${e.hostIp}:${e.published} through Docker's bridge: on Docker Engine ${engine} (before 28, moby#45610) a neighbour that routes the bridge subnet through this host reaches it at the container's address`,
      `${p.paths ? `re-run \`vault-setup init --dir ${p.paths.dir} --force\`` : 'use'} a loopback listener on the host network (docs/network.md); run verify as root and its exposure check probes it from a neighbour's view`,
    );
  }
  return pass(id, `API published on ${e ? `${e.hostIp}:${e.published}` : 'loopback'} only`);
}

/** Compose volume entries as {source, target, readOnly}. */
export function volumes(service: Record<string, any> | undefined): { source: string; target: string; readOnly: boolean }[] {
  return ((service?.volumes as unknown[] | undefined) ?? []).flatMap((v) => {
    if (typeof v === 'string') {
      const [source = '', target = '', mode = ''] = v.split(':');
      return [{ source, target, readOnly: mode.split(',').includes('ro') }];
    }
    if (v !== null && typeof v === 'object') {
      const o = v as { source?: string; target?: string; read_only?: boolean };
      return [{ source: o.source ?? '', target: o.target ?? '', readOnly: o.read_only === true }];
    }
    return [];
  });
}

export async function configReadOnly(p: Probe): Promise<CheckResult> {
  const id = 'config-read-only';
  const home = (await p.serverLayout()).home;
  const target = `${home}/config`;
  const service = await p.service();
  const lookup = await p.container();
  const declared = volumes(service).find((v) => v.target.replace(/\/+$/, '') === target);
  const mounted = lookup.kind === 'found' ? lookup.container.mounts.find((m) => m.destination.replace(/\/+$/, '') === target) : undefined;
  if (declared === undefined && mounted === undefined) {
    return service === undefined && lookup.kind !== 'found' ? skip(id, 'neither docker-compose.yml nor the container can be read') : warn(id, `nothing is mounted at ${target}`, 'mount ./config there read-only (":ro")');
  }
  const writable = [declared && !declared.readOnly ? 'docker-compose.yml mounts it writable' : '', mounted?.rw ? 'the running container has it writable' : ''].filter(Boolean);
  if (writable.length > 0) {
    return warn(id, `${target}: ${writable.join('; ')}, so the server could rewrite its own config`, `append ":ro" to the config volume in docker-compose.yml and recreate the container`);
  }
  return pass(id, `${target} is mounted read-only`);
}

export async function restartPolicy(p: Probe): Promise<CheckResult> {
  const id = 'restart-policy';
  const service = await p.service();
  const lookup = await p.container();
  const policy = String(service?.restart ?? (lookup.kind === 'found' ? lookup.container.restartPolicy : '') ?? '');
  if (service === undefined && lookup.kind !== 'found') return skip(id, 'neither docker-compose.yml nor the container can be read');
  if (/^(always|unless-stopped|on-failure)/.test(policy)) return pass(id, `restart: ${policy} (it comes back after a reboot, sealed)`);
  return warn(id, `no restart policy (${policy || 'none'}): after a reboot or crash the server stays down`, 'set `restart: unless-stopped` in docker-compose.yml');
}

export async function tls(p: Probe): Promise<CheckResult> {
  const id = 'tls';
  const config = await p.config();
  if (!config.ok) return p.address.startsWith('https:') ? { ...(await tlsCertificate(p)), id } : skip(id, 'config/vault.hcl cannot be read');
  // The unix-socket listener is always plain (a local file, not a network path): only tcp listeners count.
  const tcp = blocks(config.value, 'listener').filter((l) => l.labels[0] !== 'unix');
  const off = tcp.filter((l) => truthy(l.body.attrs.tls_disable));
  if (off.length === 0 && tcp.some((l) => l.body.attrs.tls_cert_file === undefined)) {
    return warn(id, 'a listener has neither tls_disable nor a certificate: Vault refuses to start, OpenBao fetches an ACME certificate', 'set tls_cert_file/tls_key_file, or tls_disable = true behind a loopback binding and a tunnel');
  }
  if (off.length > 0) {
    const portCheck = await port(p);
    if (portCheck.status === 'fail') {
      return fail(id, 'TLS is off and the port is reachable from the network: tokens and secrets cross it in plain text', 'bind the port to 127.0.0.1 or enable TLS (vault-setup init --tls self-signed)');
    }
    return warn(
      id,
      'TLS is off: acceptable only because the port is bound to 127.0.0.1 and remote clients come through an encrypted tunnel (WireGuard/Tailscale/SSH)',
      'keep it on loopback behind the tunnel, or enable TLS (vault-setup init --tls self-signed, or --tls-cert/--tls-key)',
    );
  }
  const weak = tcp.filter((l) => /^tls1[01]$/.test(String(l.body.attrs.tls_min_version ?? '')));
  if (weak.length > 0) return fail(id, `tls_min_version = "${String(weak[0]?.body.attrs.tls_min_version)}" allows obsolete TLS`, 'set tls_min_version = "tls12" in the listener');
  // The config says TLS: the live listener must agree (chain, names, expiry).
  const live = await tlsCertificate(p);
  if (live.status === 'fail' || live.status === 'warn') return { ...live, id };
  const minimum = String(tcp[0]?.body.attrs.tls_min_version ?? 'tls12');
  return pass(id, live.status === 'pass' ? `TLS on (minimum ${minimum}): ${live.finding}` : `TLS on (minimum ${minimum})`);
}

export async function storage(p: Probe): Promise<CheckResult> {
  const id = 'storage';
  const config = await p.config();
  const seal = await p.sealStatus();
  const product = await p.product();
  const block = config.ok ? blocks(config.value, 'storage')[0] : undefined;
  const type = block?.labels[0] ?? seal?.storage_type;
  if (type === undefined) return skip(id, 'neither config/vault.hcl nor the server say which storage is used');
  if (type === 'inmem') return fail(id, 'storage is in memory: every secret is lost when the container stops', 'use storage "raft" (vault-setup init)');
  if (type === 'raft') {
    const clusterAddr = String((config.ok ? clusterAddress(config.value) : undefined) ?? '');
    if (/\/\/0\.0\.0\.0[:/]?/.test(clusterAddr)) return fail(id, `raft with cluster_addr ${clusterAddr}: raft refuses an unspecified address`, 'set cluster_addr = "http://127.0.0.1:8201"');
    return pass(id, `raft integrated storage${clusterAddr ? `, cluster_addr ${clusterAddr}` : ''} (snapshots available for backups)`);
  }
  if (type === 'file') {
    if (product?.product === 'openbao' && compareVersions(product.version, '2.7.0') >= 0) {
      return fail(id, `file storage on OpenBao ${product.version}: removed in 2.7.0`, 'migrate to raft (bao operator migrate) before upgrading, or pin OpenBao 2.6');
    }
    if (product?.product === 'openbao') return warn(id, `file storage: deprecated in OpenBao 2.6 and gone in 2.7`, 'migrate to raft storage (bao operator migrate) before upgrading');
    return warn(id, 'file storage: works on one node, but has no snapshots (`vault-setup backup` needs raft)', 'prefer raft for new deployments; back up data/ with the container stopped meanwhile');
  }
  return pass(id, `storage "${type}"`);
}

const clusterAddress = (body: HclBody) => body.attrs.cluster_addr;

export async function dataOwner(p: Probe): Promise<CheckResult> {
  const id = 'data-owner';
  if (p.paths === undefined) return skip(id, NO_DIR);
  const home = (await p.serverLayout()).home;
  const lookup = await p.container();
  const mount = lookup.kind === 'found' ? lookup.container.mounts.find((m) => m.destination.replace(/\/+$/, '') === `${home}/data`) : undefined;
  const dir = mount?.source ?? p.paths.dataDir;
  const proc = await p.process();
  const uid = proc?.uid !== undefined && proc.uid !== 0 ? proc.uid : (await p.serverLayout()).uid;
  let owner: number;
  try {
    owner = (await fs.stat(dir)).uid;
  } catch (error) {
    return fail(id, `${dir} is missing (${(error as NodeJS.ErrnoException).code ?? 'error'})`, `re-run \`vault-setup init --dir ${p.paths.dir}\``);
  }
  if (owner !== uid) {
    return fail(id, `${dir} is owned by uid ${owner}${owner === 0 ? ' (root)' : ''}, but the server runs as uid ${uid}: it cannot write its data`, `sudo chown -R ${uid}:${(await p.serverLayout()).gid} ${dir} (or re-run vault-setup init)`);
  }
  return pass(id, `${path.basename(dir)}/ is owned by uid ${uid}, the server's user`);
}

export const FILE_CHECKS = [composeFile, configFile, port, configReadOnly, restartPolicy, tls, storage, dataOwner];

async function engineVersion(p: Probe): Promise<string | undefined> {
  try {
    return (await (await p.ctx.docker.client()).version()).Version;
  } catch {
    return undefined;
  }
}
