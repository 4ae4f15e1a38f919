// Stand-ins for the hosts' private network (WireGuard, Tailscale, a VPC) on one machine: a veth pair of the test's
// own carrying N addresses in 10.251.X.0/24, so that each deployment binds its API and cluster port on its own
// "host" address with host networking, as on real hosts. The link (and its addresses) go when it is disposed.
// A veth pair rather than a dummy interface: the dummy module is not available in every container kernel.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import https from 'node:https';

export interface PrivateNet extends AsyncDisposable {
  addresses: string[];
}

export function privateNet(count: number): PrivateNet {
  const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const taken = ip('-4', 'addr');
  let octet = 0;
  for (let i = 0; i < 50 && (octet === 0 || taken.includes(`10.251.${octet}.`)); i++) octet = 1 + ((randomBytes(1)[0] as number) % 250);
  if (taken.includes(`10.251.${octet}.`)) throw new Error('no free 10.251.X.0/24 for the private network');
  const tag = randomBytes(3).toString('hex');
  const [a, b] = [`vsp${tag}a`, `vsp${tag}b`];
  const dispose = () => {
    try {
      ip('link', 'del', a);
    } catch {
      // already gone
    }
  };
  const addresses = Array.from({ length: count }, (_, i) => `10.251.${octet}.${i + 1}`);
  try {
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('link', 'set', a, 'up');
    ip('link', 'set', b, 'up');
    for (const addr of addresses) ip('addr', 'add', `${addr}/32`, 'dev', a);
  } catch (error) {
    dispose();
    throw error;
  }
  return { addresses, [Symbol.asyncDispose]: async () => dispose() };
}

/** An independent https client with the cluster's CA pinned (the tool's own client is not used to check it). */
export function call(base: string, ca: string, method: string, apiPath: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(`${base}/v1/${apiPath}`, {
      method,
      ca,
      timeout: 10_000,
      headers: { ...(options.token ? { 'x-vault-token': options.token } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}
