// The cluster's certificate authority (docs/cluster.md). `init --advertise` makes it in memory, signs the first
// node's certificate with it and hands the key to the cluster's own PKI engine once the server is unsealed; the key
// is never written to disk. A joining node makes its own key and a certificate request (CSR) here; the cluster signs
// the request, so no node's private key ever leaves the host it serves.
import { type KeyPair, altNames, issueServer, keyPair, makeAuthority } from './x509.ts';

export interface ClusterCa {
  caCert: string;
  /** The CA key and certificate as one PEM bundle, for the PKI engine's config/ca. Only in memory. */
  bundle(): string;
  /** A server certificate for a node: 127.0.0.1, localhost and the node's private address. */
  issue(sans: string[]): Promise<{ cert: string; key: string }>;
  /** Forgets the CA key (the string itself is immutable: the reference goes). */
  drop(): void;
}

export const CA_NAME = 'vault-setup cluster CA';

/** The SANs a node's certificate carries: loopback for the host's own clients, and the private address. */
export const nodeSans = (advertise: string): string[] => ['127.0.0.1', 'localhost', advertise];

async function forge() {
  return (await import('node-forge')).default;
}


export async function makeClusterCa(now = new Date()): Promise<ClusterCa> {
  const f = await forge();
  const authority = makeAuthority(f, CA_NAME, 10, now);
  let keys: KeyPair | undefined = authority.keys;
  const caCert = f.pki.certificateToPem(authority.cert);
  const held = () => {
    if (keys === undefined) throw new Error('the cluster CA key was already handed over');
    return keys;
  };
  return {
    caCert,
    bundle: () => `${held().privatePem}${caCert}`,
    async issue(sans) {
      return issueServer(f, { cert: authority.cert, name: authority.name, privateKey: held().privateKey }, sans, now, { clientAuth: true });
    },
    drop() {
      keys = undefined;
    },
  };
}

/**
 * A joining node's key (stays on this host) and the certificate request the cluster signs. The request carries the
 * node's names (the cluster's role signs the names of the request): addresses, and URIs naming its API and node id.
 */
export async function makeNodeRequest(sans: string[], uris: string[] = []): Promise<{ csr: string; key: string }> {
  const f = await forge();
  const { pki } = f;
  const keys = keyPair(pki);
  const csr = pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject([{ name: 'commonName', value: 'localhost' }]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [...altNames(sans), ...uris.map((value) => ({ type: 6, value }))] }] }]);
  csr.sign(keys.privateKey, f.md.sha256.create());
  return { csr: pki.certificationRequestToPem(csr), key: keys.privatePem };
}
