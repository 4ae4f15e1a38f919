// The cluster's certificate authority (docs/cluster.md). `init --advertise` makes it in memory, signs the first
// node's certificate with it and hands the key to the cluster's own PKI engine once the server is unsealed; the key
// is never written to disk. A joining node makes its own key and a certificate request (CSR) here; the cluster signs
// the request, so no node's private key ever leaves the host it serves.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

const DAY = 86_400_000;

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

function keyPair(pki: any) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKey: pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    publicKey: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

const serial = () => `01${randomBytes(15).toString('hex')}`;
const altNames = (sans: string[]) => sans.map((san) => (isIP(san) ? { type: 7, ip: san } : { type: 2, value: san }));

export async function makeClusterCa(now = new Date()): Promise<ClusterCa> {
  const f = await forge();
  const { pki } = f;
  let keys: ReturnType<typeof keyPair> | undefined = keyPair(pki);
  const ca = pki.createCertificate();
  ca.publicKey = keys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = new Date(now.getTime() - 60_000);
  ca.validity.notAfter = new Date(now.getTime() + 10 * 365 * DAY);
  const name = [{ name: 'commonName', value: CA_NAME }, { name: 'organizationName', value: 'vault-setup' }];
  ca.setSubject(name);
  ca.setIssuer(name);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(keys.privateKey, f.md.sha256.create());
  const caCert = pki.certificateToPem(ca);
  const held = () => {
    if (keys === undefined) throw new Error('the cluster CA key was already handed over');
    return keys;
  };
  return {
    caCert,
    bundle: () => `${held().privatePem}${caCert}`,
    async issue(sans) {
      const node = keyPair(pki);
      const cert = pki.createCertificate();
      cert.publicKey = node.publicKey;
      cert.serialNumber = serial();
      cert.validity.notBefore = new Date(now.getTime() - 60_000);
      cert.validity.notAfter = new Date(now.getTime() + 365 * DAY);
      cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
      cert.setIssuer(name);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: altNames(sans) },
        { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(held().privateKey, f.md.sha256.create());
      return { cert: pki.certificateToPem(cert), key: node.privatePem };
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
