// A local CA and a server certificate for `init --tls self-signed`, made with node-forge (a maintained X.509
// library) and keys from node:crypto. The CA key is used once and discarded: nothing can sign later certificates.
import { isIP } from 'node:net';
import { issueServer, makeAuthority } from './x509.ts';

export interface TlsMaterial {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export async function makeSelfSigned(extraSans: string[], now = new Date()): Promise<TlsMaterial> {
  const { default: forge } = await import('node-forge');
  const ca = makeAuthority(forge, 'vault-setup local CA', 5, now);
  const server = issueServer(forge, { cert: ca.cert, name: ca.name, privateKey: ca.keys.privateKey }, uniqueSans(['127.0.0.1', 'localhost', ...extraSans]), now);
  return { caCert: forge.pki.certificateToPem(ca.cert), serverCert: server.cert, serverKey: server.key };
}

export function uniqueSans(sans: string[]): string[] {
  return [...new Set(sans.map((s) => s.trim()).filter((s) => s.length > 0))];
}

/** A SAN must be an IP address or a DNS name (wildcards allowed in the first label). */
export function validSan(san: string): boolean {
  return isIP(san) !== 0 || /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(san);
}
