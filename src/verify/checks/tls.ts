// The live TLS listener: does it speak TLS, does its chain verify against the deployment's CA (or the system's
// roots), do its SANs cover the address clients use, and how long until it expires (warning under 30 days).
import { isIP } from 'node:net';
import tls from 'node:tls';
import { readIfExists } from '../../services/files.ts';
import type { Probe } from '../probe.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';

const DAY = 86_400_000;
const WARN_DAYS = 30;

interface Handshake {
  protocol: string | null;
  cert: import('node:crypto').X509Certificate | undefined;
  authorized: boolean;
  authorizationError: string | undefined;
}

function handshake(host: string, port: number, ca: string | undefined): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }), timeout: 5000 }, () => {
      resolve({
        protocol: socket.getProtocol(),
        cert: socket.getPeerX509Certificate(),
        authorized: socket.authorized,
        authorizationError: socket.authorizationError === null ? undefined : String(socket.authorizationError),
      });
      socket.end();
    });
    socket.on('timeout', () => socket.destroy(new Error('timed out')));
    socket.on('error', reject);
  });
}

/** Part of the `tls` check: what the live listener presents, once the config says TLS is on. */
export async function tlsCertificate(p: Probe): Promise<CheckResult> {
  const id = 'tls';
  if (!p.address.startsWith('https:')) return skip(id, 'the server is reached over plain http (see tls)');
  const url = new URL(p.address);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const ca = p.paths === undefined ? undefined : await readIfExists(p.paths.caCert);
  let h: Handshake;
  try {
    h = await handshake(host, port, ca);
  } catch (error) {
    const message = (error as Error).message;
    if (/wrong version number|packet length too long|EPROTO/i.test(message)) {
      return fail(id, `${p.address} does not speak TLS (the listener answers plain http)`, 'use an http:// address, or enable TLS in the listener and restart the container');
    }
    return skip(id, `no TLS handshake with ${host}:${port} (${message.split('\n')[0]})`);
  }
  if (h.cert === undefined) return fail(id, 'the server sent no certificate', 'configure tls_cert_file and tls_key_file');
  const trust = ca === undefined ? 'the system trust store' : 'the deployment CA (ca.crt)';
  if (!h.authorized) {
    return fail(id, `the certificate chain does not verify against ${trust} (${h.authorizationError ?? 'unknown reason'})`, 're-issue the certificate (remove config/tls and ca.crt, then init --tls self-signed --force), or install one your clients trust');
  }
  const covers = isIP(host) ? h.cert.checkIP(host) !== undefined : h.cert.checkHost(host) !== undefined;
  if (!covers) {
    return fail(id, `the certificate's names (${h.cert.subjectAltName ?? h.cert.subject}) do not include ${host}`, 'add it with --tls-san and re-issue the certificate');
  }
  const left = Date.parse(h.cert.validTo) - Date.now();
  const until = new Date(Date.parse(h.cert.validTo)).toISOString().slice(0, 10);
  if (left <= 0) return fail(id, `the certificate expired on ${until}`, 're-issue it: remove config/tls and ca.crt, then init --tls self-signed --force (or install a new one)');
  const days = Math.floor(left / DAY);
  const summary = `${h.protocol ?? 'TLS'}, chain verified against ${trust}, names ${h.cert.subjectAltName ?? ''}, valid until ${until} (${days} days)`;
  if (days < WARN_DAYS) return warn(id, `the certificate expires in ${days} days (${until})`, 're-issue it before then: remove config/tls and ca.crt, then init --tls self-signed --force');
  return pass(id, summary);
}
