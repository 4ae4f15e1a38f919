// The X.509 pieces both certificate authorities use (`init --tls self-signed` and the cluster's CA): keys from
// node:crypto, certificates from node-forge.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

type Forge = typeof import('node-forge');

const DAY = 86_400_000;

export interface KeyPair {
  privatePem: string;
  privateKey: any;
  publicKey: any;
}

export interface Authority {
  cert: any;
  name: { name: string; value: string }[];
  keys: KeyPair;
}

export function keyPair(pki: Forge['pki']): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKey: pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    publicKey: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

/** Positive, 128 bits of randomness. */
export const serial = (): string => `01${randomBytes(15).toString('hex')}`;

export const altNames = (sans: string[]) => sans.map((san) => (isIP(san) ? { type: 7, ip: san } : { type: 2, value: san }));

/** A certificate with a new key pair and serial, valid from a minute ago (clock skew) for `years` years; unsigned. */
function newCertificate(pki: Forge['pki'], now: Date, years: number): { keys: KeyPair; cert: any } {
  const keys = keyPair(pki);
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + years * 365 * DAY);
  return { keys, cert };
}

/** A CA certificate, self-signed, that signs server certificates only (path length 0). */
export function makeAuthority(forge: Forge, commonName: string, years: number, now: Date): Authority {
  const { keys, cert } = newCertificate(forge.pki, now, years);
  const name = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'vault-setup' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert, name, keys };
}

/** A one-year server certificate for these names, with a new key, signed with the authority's key. */
export function issueServer(forge: Forge, ca: { cert: any; name: Authority['name']; privateKey: any }, sans: string[], now: Date, options: { clientAuth?: boolean } = {}): { cert: string; key: string } {
  const { pki } = forge;
  const { keys, cert } = newCertificate(pki, now, 1);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(ca.name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, ...(options.clientAuth ? { clientAuth: true } : {}) },
    { name: 'subjectAltName', altNames: altNames(sans) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());
  return { cert: pki.certificateToPem(cert), key: keys.privatePem };
}
