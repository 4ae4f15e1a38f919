// Where shares and tokens may travel. Plain http carries them in clear: that is acceptable on this host's loopback
// (and over a tunnel the operator vouches for with --insecure-http), never by default to another host.
import { isIP } from 'node:net';
import { VaultSetupError } from '../errors.ts';

/** localhost, 127.0.0.0/8, ::1 (and ::ffff:127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(h);
  return false;
}

/** Refuses --addr http://<not loopback> unless the operator said --insecure-http. */
export function checkAddr(addr: string, insecureHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    return; // the command's own parser says what is wrong with it
  }
  if (url.protocol !== 'http:' || insecureHttp || isLoopbackHost(url.hostname)) return;
  throw new VaultSetupError('E_USAGE', `--addr ${url.protocol}//${url.host} is plain http to another host: shares and tokens would cross the network in clear`, {
    hint: 'use https:// (vault-setup init --tls self-signed), an SSH tunnel to 127.0.0.1, or add --insecure-http if the link is already encrypted (WireGuard)',
  });
}
