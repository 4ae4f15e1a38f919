// A local CA and a server certificate for `init --tls self-signed`, made with node-forge (a maintained X.509
// library) and keys from node:crypto. The CA key is used once and discarded: nothing can sign later certificates.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

export interface TlsMaterial {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

const DAY = 86_400_000;

export async function makeSelfSigned(extraSans: string[], now = new Date()): Promise<TlsMaterial> {
  const { default: forge } = await import('node-forge');
  const { pki } = forge;
  const keyPair = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      privateKey: pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
      publicKey: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    };
  };
  const serial = () => `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness

  const caKeys = keyPair();
  const ca = pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = new Date(now.getTime() - 60_000);
  ca.validity.notAfter = new Date(now.getTime() + 5 * 365 * DAY);
  const caName = [{ name: 'commonName', value: 'vault-setup local CA' }, { name: 'organizationName', value: 'vault-setup' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = keyPair();
  const cert = pki.createCertificate();
  cert.publicKey = serverKeys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 365 * DAY);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caName);
  const sans = uniqueSans(['127.0.0.1', 'localhost', ...extraSans]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: sans.map((san) => (isIP(san) ? { type: 7, ip: san } : { type: 2, value: san })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());

  return { caCert: pki.certificateToPem(ca), serverCert: pki.certificateToPem(cert), serverKey: serverKeys.privatePem };
}

export function uniqueSans(sans: string[]): string[] {
  return [...new Set(sans.map((s) => s.trim()).filter((s) => s.length > 0))];
}

/** A SAN must be an IP address or a DNS name (wildcards allowed in the first label). */
export function validSan(san: string): boolean {
  return isIP(san) !== 0 || /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(san);
}
