// watch's own I/O on loopback only: the certificate a TLS listener serves, the newest snapshot by its time, and the
// --interval loop (two checks, one notification) with the clock swapped so the loop ends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { watch } from '../../src/commands/watch.ts';
import { createContext } from '../../src/context.ts';
import { makeSelfSigned } from '../../src/tls/self-signed.ts';
import { assess } from '../../src/watch/assess.ts';
import { newestSnapshot, servedCertificate } from '../../src/watch/observe.ts';

const DAY = 86_400_000;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('watch on loopback', () => {
  it('reads the certificate the listener serves; 10 days left is a warning, with the date', async () => {
    const material = await makeSelfSigned([], new Date(Date.now() - 355 * DAY));
    const server = tls.createServer({ cert: material.serverCert, key: material.serverKey });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const cert = await servedCertificate(`https://127.0.0.1:${port}`, material.caCert);
      assert.ok('notAfter' in cert, JSON.stringify(cert));
      const left = (Date.parse(cert.notAfter) - Date.now()) / DAY;
      assert.ok(left > 9 && left < 11, `${left} days`);
      const a = assess({ at: Date.now(), host: 'h', address: 'https://x', reachable: true, initialized: true, sealed: false, verifyFailures: [], certificate: cert }, { dirArg: '', certDays: 14, snapshotMaxAgeMs: 26 * 3600_000 });
      assert.deepEqual([a.state, a.level, a.problems[0]?.id], ['degraded', 'warn', 'certificate-expiring']);
      assert.deepEqual(await servedCertificate(`https://127.0.0.1:${await closedPort()}`, undefined), { error: 'ECONNREFUSED' });
    } finally {
      server.close();
    }
  });

  it('the newest snapshot is the most recently written *.snap; none is undefined', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-wsnap-'));
    try {
      assert.equal(await newestSnapshot(dir), undefined);
      for (const [name, age] of [['a.snap', 30], ['b.snap', 27], ['c.txt', 1]] as const) {
        fs.writeFileSync(path.join(dir, name), '');
        const t = new Date(Date.now() - age * 3600_000);
        fs.utimesSync(path.join(dir, name), t, t);
      }
      const newest = await newestSnapshot(dir);
      assert.equal(newest?.file, path.join(dir, 'b.snap'));
      assert.ok(Math.abs((newest?.at ?? 0) - (Date.now() - 27 * 3600_000)) < 5000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--interval: one JSON line per check, one notification for a state that lasts, never a second one', async () => {
    const bodies: string[] = [];
    const rx = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        res.end();
      });
    });
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d) => (out += d));
    const ctx = createContext({ json: true, env: { NO_COLOR: '1', HOME: os.tmpdir() }, streams: { stdout, stderr: new PassThrough() }, stdin: new PassThrough() });
    let sleeps = 0;
    const stop = new Error('enough');
    ctx.clock = { now: () => Date.now(), sleep: async () => { if (++sleeps >= 3) throw stop; } };
    const addr = `http://127.0.0.1:${await closedPort()}`;
    try {
      await assert.rejects(watch({ flags: { addr, interval: '1s', json: true, notify: [`http://127.0.0.1:${(rx.address() as net.AddressInfo).port}/hook`] }, positionals: [] }, ctx), stop);
      const lines = out.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 3);
      assert.deepEqual(lines.map((l) => [l.state, l.notified]), [['unreachable', 'first'], ['unreachable', null], ['unreachable', null]]);
      assert.equal(bodies.length, 1);
      assert.equal(JSON.parse(bodies[0] as string).fix, `vault-setup unseal --addr ${addr}`);
    } finally {
      rx.close();
    }
  });
});
