// The cluster's own PKI engine signs its nodes' certificates (docs/cluster.md): `init --advertise` hands it the
// cluster CA's key, which then lives only inside the server's encrypted storage; `join` sends a certificate request
// and gets the signed certificate back. The engine is also where autopilot's settings are written once.
import { VaultSetupError } from '../errors.ts';
import type { VaultApi } from '../services/vault-api.ts';
import type { ClusterCa } from '../tls/cluster-ca.ts';

export const PKI_MOUNT = 'vault-setup-pki';
export const NODE_ROLE = 'node';
export const SIGN_PATH = `${PKI_MOUNT}/sign/${NODE_ROLE}`;

/** Autopilot: dead servers are removed after a day without contact, never below three voters. */
export const AUTOPILOT = { cleanup_dead_servers: true, dead_server_last_contact_threshold: '24h', min_quorum: 3, server_stabilization_time: '10s' };

/** Mounts the engine (once), gives it the CA (once) and the node role; the CA key is dropped from memory after. */
export async function setupClusterPki(api: VaultApi, token: string, ca: ClusterCa | undefined): Promise<'done' | 'kept'> {
  const mounts = await api.request<any>('GET', 'sys/mounts', { token });
  const table = (mounts.body?.data ?? mounts.body ?? {}) as Record<string, { type?: string }>;
  const mounted = table[`${PKI_MOUNT}/`];
  if (mounted !== undefined && mounted.type !== 'pki') {
    throw new VaultSetupError('E_MOUNT_CONFLICT', `${PKI_MOUNT}/ is a ${String(mounted.type)} mount, not pki`, { hint: 'move it elsewhere, then run `vault-setup init` again' });
  }
  // cert/ca answers JSON (ca/pem answers the bare PEM, which the API client rightly refuses to read as JSON).
  const current = mounted === undefined ? undefined : await api.request<any>('GET', `${PKI_MOUNT}/cert/ca`, { accept: [204, 400, 404, 500] });
  const hasCa = current !== undefined && current.status === 200 && String(current.body?.data?.certificate ?? '').includes('BEGIN CERTIFICATE');
  if (hasCa) {
    ca?.drop();
    return 'kept';
  }
  if (ca === undefined) {
    throw new VaultSetupError('E_SERVER', `the cluster's PKI engine (${PKI_MOUNT}/) has no CA, and the CA key made at deployment is gone (the run that made it stopped early)`, {
      hint: 'the first node keeps serving with its certificate, but no node can join: see "Re-issuing the cluster CA" in docs/cluster.md',
    });
  }
  try {
    if (mounted === undefined) {
      await api.request('POST', `sys/mounts/${PKI_MOUNT}`, { token, body: { type: 'pki', description: 'vault-setup: the cluster CA (node certificates)', config: { max_lease_ttl: '87600h' } } });
    }
    await api.request('POST', `${PKI_MOUNT}/config/ca`, { token, body: { pem_bundle: ca.bundle() } });
  } finally {
    ca.drop();
  }
  await api.request('POST', `${PKI_MOUNT}/roles/${NODE_ROLE}`, {
    token,
    body: {
      allow_localhost: true,
      allowed_domains: ['localhost'],
      allow_bare_domains: true,
      allow_subdomains: false,
      allow_ip_sans: true,
      // Each node's certificate names its API and its node id: the cluster's CA doubles as the list of nodes that
      // were given a place (a node that has not joined yet is found there; see issuedNodes).
      allowed_uri_sans: ['https://*', `${NODE_URN}*`],
      server_flag: true,
      client_flag: true,
      key_type: 'any',
      ttl: '8760h',
      max_ttl: '8760h',
      no_store: false,
    },
  });
  await api.request('POST', 'sys/storage/raft/autopilot/configuration', { token, body: AUTOPILOT });
  return 'done';
}

export const NODE_URN = 'urn:vault-setup:node:';

/** The cluster signs a joining node's request: its certificate and the CA that issued it. */
export async function signNode(api: VaultApi, token: string, csr: string, node: { id: string; api: string; ipSans: string[] }): Promise<{ cert: string; ca: string }> {
  const res = await api.request<any>('POST', SIGN_PATH, {
    token,
    body: { csr, common_name: 'localhost', ip_sans: node.ipSans.join(','), uri_sans: `${node.api},${NODE_URN}${node.id}`, ttl: '8760h', format: 'pem' },
  });
  const cert = res.body?.data?.certificate;
  const ca = res.body?.data?.issuing_ca;
  if (typeof cert !== 'string' || typeof ca !== 'string') {
    throw new VaultSetupError('E_SERVER', `the cluster did not return a signed certificate from ${SIGN_PATH}`, { hint: 'check the leader\'s log: docker logs <container>' });
  }
  return { cert: `${cert.trim()}\n`, ca: `${ca.trim()}\n` };
}

export interface IssuedNode {
  id: string;
  api: string;
  serial: string;
  /** When the certificate was issued (ms since the epoch): a join tried again leaves several for one node. */
  issuedAt: number;
}

/**
 * The nodes the cluster CA has given a certificate (not revoked, not expired): the joined ones and any that joined
 * but were not unsealed yet, which raft does not know about. Needs list on the engine's certs.
 */
export async function issuedNodes(api: VaultApi, token: string): Promise<IssuedNode[]> {
  const { X509Certificate } = await import('node:crypto');
  const list = await api.request<any>('GET', `${PKI_MOUNT}/certs?list=true`, { token, accept: [404] });
  const serials = list.status === 404 ? [] : ((list.body?.data?.keys ?? []) as string[]);
  const nodes: IssuedNode[] = [];
  for (const serial of serials) {
    const res = await api.request<any>('GET', `${PKI_MOUNT}/cert/${encodeURIComponent(serial)}`, { token, accept: [404] });
    const pem = res.body?.data?.certificate;
    if (res.status !== 200 || typeof pem !== 'string' || Number(res.body?.data?.revocation_time ?? 0) > 0) continue;
    let cert;
    try {
      cert = new X509Certificate(pem);
    } catch {
      continue;
    }
    if (Date.parse(cert.validTo) < Date.now()) continue;
    const uris = (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
    const id = uris.find((u) => u.startsWith(NODE_URN))?.slice(NODE_URN.length);
    const url = uris.find((u) => u.startsWith('https://'));
    if (id !== undefined && url !== undefined) nodes.push({ id, api: url.replace(/\/+$/, ''), serial, issuedAt: Date.parse(cert.validFrom) });
  }
  return nodes;
}

/** A removed node's certificates are revoked: it no longer counts as a node, and clients checking the CRL refuse it. */
export async function revokeNode(api: VaultApi, token: string, id: string): Promise<number> {
  let revoked = 0;
  for (const node of await issuedNodes(api, token)) {
    if (node.id !== id) continue;
    await api.request('POST', `${PKI_MOUNT}/revoke`, { token, body: { serial_number: node.serial } });
    revoked++;
  }
  return revoked;
}
