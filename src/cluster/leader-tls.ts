// Before anything is sent to a leader, its certificate must verify with the CA the operator brought from the first
// node (`--leader-ca`): a wrong CA, or a server in the middle, stops `join` before a password or a request leaves.
import tls from 'node:tls';
import { VaultSetupError } from '../errors.ts';

export async function checkLeaderCertificate(leader: string, ca: string, caFile: string, timeoutMs = 5000): Promise<void> {
  const url = new URL(leader);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const outcome = await new Promise<{ ok: true } | { ok: false; reason: string; reached: boolean }>((resolve) => {
    const socket = tls.connect({ host, port, ca, rejectUnauthorized: false, ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }) }, () => {
      const peer = socket.getPeerCertificate();
      const identity = tls.checkServerIdentity(host, peer);
      socket.end();
      if (!socket.authorized) resolve({ ok: false, reached: true, reason: String(socket.authorizationError ?? 'not authorised') });
      else if (identity !== undefined) resolve({ ok: false, reached: true, reason: identity.message });
      else resolve({ ok: true });
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve({ ok: false, reached: false, reason: `no answer in ${Math.round(timeoutMs / 1000)} s` });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reached: false, reason: error.code ?? error.message }));
  });
  if (outcome.ok) return;
  if (!outcome.reached) {
    throw new VaultSetupError('E_SERVER_UNREACHABLE', `the leader at ${url.origin} did not answer (${outcome.reason})`, {
      hint: 'check the address and port, that the private network is up between the hosts, and that the leader is running and unsealed',
    });
  }
  throw new VaultSetupError('E_CLUSTER', `the leader at ${url.origin} presented a certificate that ${caFile} does not verify (${outcome.reason}); nothing was sent to it`, {
    hint: "copy the cluster's CA from the first node (its <dir>/ca.crt) and pass it to --leader-ca; a different certificate here can mean someone is in the middle",
  });
}
