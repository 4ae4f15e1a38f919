// A deployed, initialised and unsealed server for tests of what comes after the ceremony. The shares and the
// root token stay in this process's memory: never written to disk, argv or a child's environment.
import assert from 'node:assert/strict';
import { runCli } from './cli.ts';
import type { TestDeployment } from './deployment.ts';

export interface Initialised {
  keys: string[];
  rootToken: string;
}

/** `init --deploy-only`: files, container, a server that answers (uninitialised). */
export async function deploy(d: TestDeployment, flavor: string, image: string): Promise<void> {
  const run = await runCli(['init', ...d.args(flavor, image), '--deploy-only', '--json']);
  assert.equal(run.code, 0, run.stderr);
}

export async function api(address: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers: { ...(options.token ? { 'x-vault-token': options.token } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}) },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** PUT sys/init then sys/unseal with the shares, and waits until the node is active. */
export async function initAndUnseal(address: string, options: { shares?: number; threshold?: number } = {}): Promise<Initialised> {
  const shares = options.shares ?? 3;
  const threshold = options.threshold ?? 2;
  const init = await api(address, 'PUT', 'sys/init', { body: { secret_shares: shares, secret_threshold: threshold } });
  assert.equal(init.status, 200, JSON.stringify(init.body?.errors));
  const { keys, root_token: rootToken } = init.body as { keys: string[]; root_token: string };
  for (const key of keys.slice(0, threshold)) {
    const res = await api(address, 'PUT', 'sys/unseal', { body: { key } });
    assert.equal(res.status, 200);
  }
  await waitActive(address);
  return { keys, rootToken };
}

/** Raft needs a moment after unseal before it serves requests (429/500 from sys/health meanwhile). */
export async function waitActive(address: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${address}/v1/sys/health`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${address} did not become active`);
}
