// A neighbour on this host's network, for tests: a network namespace of the test's own, joined to the host by a
// veth pair (addresses in 198.18.0.0/15, reserved for benchmarks) and routing everything through the host, as a
// LAN host that routes Docker's bridge subnets via this server does. ip_forward is left as the engine set it.
// Independent of the product's probe (src/services/netns.ts), so a bug there cannot hide here.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';

export interface Neighbour extends AsyncDisposable {
  /** Whether a TCP handshake with host:port completes from the namespace (2 s per target). */
  reaches(targets: { host: string; port: number }[]): boolean[];
}

export function neighbour(): Neighbour {
  const tag = randomBytes(3).toString('hex');
  const ns = `vstest-${tag}`;
  const [hostIf, nsIf] = [`vst${tag}h`, `vst${tag}n`];
  const octet = (randomBytes(1)[0] as number) % 250;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const dispose = () => {
    for (const args of [['netns', 'del', ns], ['link', 'del', hostIf]]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `198.18.${octet}.1/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'addr', 'add', `198.18.${octet}.2/30`, 'dev', nsIf);
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'default', 'via', `198.18.${octet}.1`);
  } catch (error) {
    dispose();
    throw error;
  }
  return {
    reaches(targets) {
      const script = `const net = require('node:net');
Promise.all(JSON.parse(process.argv[1]).map((t) => new Promise((resolve) => {
  const s = net.connect(t.port, t.host);
  const done = (ok) => { s.destroy(); resolve(ok); };
  s.setTimeout(2000, () => done(false));
  s.once('connect', () => done(true));
  s.once('error', () => done(false));
}))).then((r) => process.stdout.write(JSON.stringify(r)));`;
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script, JSON.stringify(targets)], { encoding: 'utf8', timeout: 30_000 });
      return JSON.parse(out) as boolean[];
    },
    async [Symbol.asyncDispose]() {
      dispose();
    },
  };
}

/** Every IPv4 address of this host but loopback: where a neighbour could knock. */
export function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => (a as os.NetworkInterfaceInfo).address);
}

export function containerIp(id: string): string {
  return execFileSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id], { encoding: 'utf8' }).trim().split(/\s+/)[0] ?? '';
}
