// TLS on the real servers: a self-signed CA and server certificate made by init, or the operator's own files;
// the key readable only by the server's uid; https with the CA pinned for every later command; verify's checks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { makeSelfSigned } from '../../src/tls/self-signed.ts';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { serverImages } from '../helpers/rig.ts';

const DAY = 86_400_000;

function handshake(port: number, ca: string): Promise<{ authorized: boolean; error: string | undefined; san: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false }, () => {
      resolve({ authorized: socket.authorized, error: socket.authorizationError?.toString(), san: socket.getPeerX509Certificate()?.subjectAltName });
      socket.end();
    });
    socket.on('error', reject);
  });
}

const check = (run: { json(): any }, id: string) => run.json().checks.find((c: { id: string }) => c.id === id);

for (const { label, flavor, image } of serverImages()) {
  describe(`tls (${label})`, () => {
    it('init --tls self-signed: key 0600 owned by uid 100, chain and SANs verify, status and verify talk https', async () => {
      await using d = await testDeployment(`tls-${label}`);
      const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--tls', 'self-signed', '--tls-san', 'vault.internal', '--tls-san', '10.9.8.7', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json().address, `https://127.0.0.1:${d.port}`);
      const key = fs.statSync(path.join(d.dir, 'config/tls/server.key'));
      assert.equal(key.mode & 0o777, 0o600);
      assert.equal(key.uid, 100);
      const ca = fs.readFileSync(path.join(d.dir, 'ca.crt'), 'utf8');
      const h = await handshake(d.port, ca);
      assert.equal(h.authorized, true, h.error);
      assert.match(h.san ?? '', /IP Address:127\.0\.0\.1/);
      assert.match(h.san ?? '', /DNS:localhost/);
      assert.match(h.san ?? '', /DNS:vault\.internal/);
      assert.match(h.san ?? '', /IP Address:10\.9\.8\.7/);
      // Another CA does not verify it: the pin matters.
      const other = await makeSelfSigned([]);
      assert.equal((await handshake(d.port, other.caCert)).authorized, false);

      const status = await runCli(['status', '--dir', d.dir, '--json']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json().server.reachable, true);
      assert.equal(status.json().address, `https://127.0.0.1:${d.port}`);

      const verify = await runCli(['verify', '--dir', d.dir, '--json']);
      assert.equal(check(verify, 'tls').status, 'pass', JSON.stringify(check(verify, 'tls')));
      assert.match(check(verify, 'tls').finding, /chain verified against the deployment CA \(ca\.crt\), names .*DNS:vault\.internal/);

      // Re-running keeps the certificate (never re-issued behind the operator's back).
      const cert = fs.readFileSync(path.join(d.dir, 'config/tls/server.crt'), 'utf8');
      const again = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--tls', 'self-signed', '--tls-san', 'vault.internal', '--tls-san', '10.9.8.7', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().changed, false);
      assert.equal(fs.readFileSync(path.join(d.dir, 'config/tls/server.crt'), 'utf8'), cert);

      // Plain http against the TLS listener is a clear finding.
      const plain = await runCli(['verify', '--dir', d.dir, '--addr', `http://127.0.0.1:${d.port}`, '--json']);
      assert.notEqual(check(plain, 'api').status, 'pass');
    });

    it('--tls-cert/--tls-key/--tls-ca install the operator\'s files; a certificate close to expiry is a warning', async () => {
      await using d = await testDeployment(`tlsf-${label}`);
      // A certificate issued 340 days ago: 25 days left.
      const material = await makeSelfSigned(['vault.internal'], new Date(Date.now() - 340 * DAY));
      const files = fs.mkdtempSync(path.join(path.dirname(d.dir), 'vs-tlsfiles-'));
      for (const [name, text] of Object.entries({ 'cert.pem': material.serverCert, 'key.pem': material.serverKey, 'ca.pem': material.caCert })) fs.writeFileSync(path.join(files, name), text);
      const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--tls-cert', path.join(files, 'cert.pem'), '--tls-key', path.join(files, 'key.pem'), '--tls-ca', path.join(files, 'ca.pem'), '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(fs.readFileSync(path.join(d.dir, 'ca.crt'), 'utf8'), material.caCert);
      const verify = await runCli(['verify', '--dir', d.dir, '--json']);
      const c = check(verify, 'tls');
      assert.equal(c.status, 'warn', JSON.stringify(c));
      assert.match(c.finding, /expires in 2[45] days/);
      fs.rmSync(files, { recursive: true, force: true });
    });
  });
}

describe('tls: bad flags', () => {
  it('are usage errors that say what to do', async () => {
    for (const [args, pattern] of [
      [['--tls', 'acme'], /--tls must be "self-signed"/],
      [['--tls-cert', '/x.pem'], /--tls-cert and --tls-key go together/],
      [['--tls', 'self-signed', '--tls-san', 'bad name!'], /neither an IP address nor a DNS name/],
      [['--tls-san', 'a.b'], /--tls-san needs --tls self-signed/],
      [['--tls-ca', '/ca.pem'], /--tls-ca goes with --tls-cert/],
    ] as const) {
      const run = await runCli(['init', ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  });
});
