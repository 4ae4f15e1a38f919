// Looks at this host the way a neighbour on its network would: from a network namespace of our own, joined to
// the host by a veth pair and routing everything through it, as a LAN host that routes Docker's bridge subnets
// via this server does (moby#45610). Linux only, needs root and iproute2; everything it makes is removed again.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';

export interface Target {
  host: string;
  port: number;
}

export type Reach = { ok: true; reachable: Target[]; tried: number; from: string } | { ok: false; reason: string };

/** Whether this process can build a namespace at all; the reason when it cannot. */
export async function namespaceUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are a Linux feature';
  if (process.getuid?.() !== 0) return 'probing from a network namespace needs root';
  try {
    await run('ip', ['-V']);
  } catch {
    return 'iproute2 (`ip`) is not installed';
  }
  return undefined;
}

/** The host's own addresses a neighbour could send to: every IPv4 address but loopback. */
export function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && a.family === 'IPv4' && !a.internal && !a.address.startsWith('127.'))
    .map((a) => a.address);
}

/**
 * Tries a TCP connection to every target from a fresh namespace (1.5 s each, all at once) and says which
 * answered. The namespace and its veth pair are removed whatever happens.
 */
export async function reachFromNamespace(targets: Target[], options: { timeoutMs?: number } = {}): Promise<Reach> {
  const unavailable = await namespaceUnavailable();
  if (unavailable !== undefined) return { ok: false, reason: unavailable };
  const tag = randomBytes(3).toString('hex');
  const ns = `vsprobe-${tag}`;
  const [hostIf, nsIf] = [`vsp${tag}h`, `vsp${tag}n`];
  // 198.18.0.0/15 is reserved for network benchmarks (RFC 2544): no real network the host is on uses it.
  const third = randomBytes(1)[0] as number;
  const fourth = ((randomBytes(1)[0] as number) & 0xfc) | 0;
  const hostIp = `198.19.${third}.${fourth + 1}`;
  const nsIp = `198.19.${third}.${fourth + 2}`;
  try {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await run('ip', ['link', 'set', nsIf, 'netns', ns]);
    await run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    await run('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', hostIp]);
    const timeoutMs = options.timeoutMs ?? 1500;
    const out = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', CONNECT, JSON.stringify(targets), String(timeoutMs)], timeoutMs + 10_000);
    const answered = JSON.parse(out) as boolean[];
    return { ok: true, reachable: targets.filter((_, i) => answered[i] === true), tried: targets.length, from: nsIp };
  } catch (error) {
    return { ok: false, reason: `could not probe from a network namespace (${(error as Error).message.split('\n')[0]})` };
  } finally {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
  }
}

// Runs inside the namespace: a plain TCP connect per target; only a completed handshake counts as reachable.
const CONNECT = `
const net = require('node:net');
const targets = JSON.parse(process.argv[1]);
const timeout = Number(process.argv[2]);
Promise.all(targets.map((t) => new Promise((resolve) => {
  const s = net.connect({ host: t.host, port: t.port });
  const done = (ok) => { s.destroy(); resolve(ok); };
  s.setTimeout(timeout, () => done(false));
  s.once('connect', () => done(true));
  s.once('error', () => done(false));
}))).then((r) => process.stdout.write(JSON.stringify(r)));
`;

function run(cmd: string, args: string[], timeout = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}: ${String(stderr).trim() || error.message}`));
      else resolve(String(stdout));
    });
  });
}
