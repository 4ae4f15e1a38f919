// Server state for the agent and backup suites: deploy with the CLI, then init/unseal/seed over the HTTP API.
// An independent client (node:http(s), not the product's VaultApi). Shares and tokens stay in this process's memory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { runCli } from './cli.ts';
import { eventually } from './eventually.ts';
import type { TestDeployment } from './deployment.ts';
import { ROOT } from './rig.ts';

export interface Server {
  address: string;
  ca?: string | undefined;
}

export interface Initialised {
  keys: string[];
  rootToken: string;
}

/** `init --deploy-only` (plus any extra flags, e.g. --tls self-signed): a server that answers, uninitialised. */
export async function deploy(d: TestDeployment, flavor: string, image: string, extra: string[] = []): Promise<Server> {
  const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json', ...extra]);
  assert.equal(run.code, 0, run.stderr);
  const tls = extra.includes('--tls');
  return tls ? { address: `https://127.0.0.1:${d.port}`, ca: readFileSync(path.join(d.dir, 'ca.crt'), 'utf8') } : { address: d.address };
}

export function call(server: Server, method: string, apiPath: string, options: { token?: string; body?: unknown; wrapTtl?: string } = {}): Promise<{ status: number; body: any }> {
  const url = new URL(`${server.address}/v1/${apiPath}`);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = {};
  if (options.token) headers['x-vault-token'] = options.token;
  if (options.wrapTtl) headers['x-vault-wrap-ttl'] = options.wrapTtl;
  if (payload) headers['content-type'] = 'application/json';
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers, ...(server.ca ? { ca: server.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function initAndUnseal(server: Server, shares = 5, threshold = 3): Promise<Initialised> {
  const init = await call(server, 'PUT', 'sys/init', { body: { secret_shares: shares, secret_threshold: threshold } });
  assert.equal(init.status, 200, JSON.stringify(init.body));
  const result = { keys: init.body.keys as string[], rootToken: init.body.root_token as string };
  await unseal(server, result.keys.slice(0, threshold));
  return result;
}

export async function unseal(server: Server, keys: string[]): Promise<void> {
  let last: any;
  for (const key of keys) last = (await call(server, 'PUT', 'sys/unseal', { body: { key } })).body;
  assert.equal(last?.sealed, false, JSON.stringify(last));
  await waitActive(server);
}

/** Raft serves requests a moment after unseal (429/500 from sys/health meanwhile). */
export async function waitActive(server: Server): Promise<void> {
  await eventually(`${server.address} active`, async () => ((await call(server, 'GET', 'sys/health')).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
}

/** Until sys/seal-status answers: the server is up, whatever its state (after a start or a restart). */
export async function waitAnswering(server: Server): Promise<void> {
  await eventually(`${server.address} answering`, async () => ((await call(server, 'GET', 'sys/seal-status')).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
}

export function waitSealed(server: Server): Promise<any> {
  return eventually(`${server.address} sealed`, async () => {
    const res = await call(server, 'GET', 'sys/seal-status');
    return res.body?.sealed === true ? res.body : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
}

export async function mountKv(server: Server, token: string): Promise<void> {
  const res = await call(server, 'POST', 'sys/mounts/secret', { token, body: { type: 'kv', options: { version: '2' } } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

/** Writes a KV v2 secret, retrying while a fresh mount still upgrades. */
export async function putSecret(server: Server, token: string, key: string, data: Record<string, string>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await call(server, 'POST', `secret/data/${key}`, { token, body: { data } });
    if (res.status === 200) return;
    if (!JSON.stringify(res.body).includes('Upgrading')) assert.fail(`write secret/${key}: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`secret/${key}: the KV mount never finished upgrading`);
}

export async function putPolicy(server: Server, token: string, name: string, policy: string): Promise<void> {
  const res = await call(server, 'PUT', `sys/policies/acl/${name}`, { token, body: { policy } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

export async function mintToken(server: Server, token: string, policies: string[]): Promise<string> {
  const res = await call(server, 'POST', 'auth/token/create', { token, body: { policies, no_default_policy: true, ttl: '1h' } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.auth.client_token as string;
}

/** Unwraps a wrapping token (as the agent does) and returns the secret_id inside. */
export async function unwrapSecretId(server: Server, wrapping: string): Promise<string> {
  const res = await call(server, 'POST', 'sys/wrapping/unwrap', { token: wrapping });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data.secret_id as string;
}

export async function approleLogin(server: Server, roleId: string, secretId: string): Promise<{ status: number; body: any }> {
  return call(server, 'POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: secretId } });
}

/** Everything a stand-up needs: deployed, initialised 5/3, unsealed, KV v2 at secret/. */
export async function readyServer(d: TestDeployment, flavor: string, image: string, extra: string[] = []): Promise<Server & Initialised> {
  const server = await deploy(d, flavor, image, extra);
  const init = await initAndUnseal(server);
  await mountKv(server, init.rootToken);
  return { ...server, ...init };
}

/**
 * The Python with hvac (PyPI) that the agents' own client proofs run on: $VAULT_SETUP_PYTHON, else the rig's
 * venv (.rig/py, made by scripts/rig.sh). Missing fails loudly: these tests are never skipped.
 */
export function pythonBin(): string {
  const bin = process.env.VAULT_SETUP_PYTHON ?? path.join(ROOT, '.rig', 'py', 'bin', 'python');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/rig.sh\` (it makes .rig/py with hvac), or set VAULT_SETUP_PYTHON`);
  return bin;
}
