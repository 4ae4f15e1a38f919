// An agent that reads its secrets from Vault/OpenBao with AppRole, as `vault-setup agent add` sets it up.
// The pattern: unwrap the secret_id once, log in, read only its own paths, keep secrets in memory only,
// renew the token, and fail closed: no secret, no work (never a fallback key).
// Node 22+, no dependencies:   node agent.ts [--once]
//   VAULT_ADDR               https://127.0.0.1:8200 (with TLS: NODE_EXTRA_CA_CERTS=~/docker/vault/ca.crt); a cluster's
//                            nodes comma-separated, as `agent add` lists them: the next is tried when one does not answer
//   VAULT_ROLE_ID            from `agent add` (not secret)
//   VAULT_WRAPPED_SECRET_ID  the single-use wrapping token from `agent add` (or VAULT_SECRET_ID_FILE from --out-dir)
//   VAULT_SECRET_PATHS       openrouter,github  (paths under secret/)
import { readFileSync } from 'node:fs';

class FailClosed extends Error {}

const env = (name: string): string => process.env[name] ?? fail(`${name} is not set`);
const fail = (message: string): never => {
  throw new FailClosed(message);
};

const addresses = (): string[] => env('VAULT_ADDR').split(',').map((a) => a.trim()).filter(Boolean);
let current = 0; // the node that answered last

async function vault(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<any> {
  const all = addresses();
  let res: Response | undefined;
  const unreachable: string[] = [];
  // A node that does not answer is skipped; an answer, even an error, is final (a standby forwards to the leader).
  for (let i = 0; i < all.length && res === undefined; i++) {
    const addr = all[(current + i) % all.length] as string;
    try {
      res = await fetch(`${addr}/v1/${path}`, {
        method,
        headers: options.token ? { 'X-Vault-Token': options.token } : {},
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(5000),
      });
      current = (current + i) % all.length;
    } catch (error) {
      unreachable.push(`${addr}: ${(error as Error).cause ?? (error as Error).message}`);
      if (i + 1 < all.length) console.error(`${addr} does not answer; trying the next node`);
    }
  }
  if (res === undefined) return fail(`the server is unreachable (${unreachable.join('; ')})`);
  const body = (await res.json().catch(() => ({}))) as { errors?: string[] };
  if (!res.ok) fail(`${path}: ${res.status} ${(body.errors ?? []).join('; ')}`);
  return body;
}

class Secrets {
  #token = '';
  #cache = new Map<string, Record<string, string>>(); // memory only: never logged, written or serialised
  #failed: Error | undefined;
  #timer: NodeJS.Timeout | undefined;

  async login(roleId: string, secretId: string): Promise<void> {
    const { auth } = await vault('POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: secretId } });
    this.#token = auth.client_token;
    this.#schedule(auth.lease_duration);
  }

  async get(path: string): Promise<Record<string, string>> {
    if (this.#failed) throw new FailClosed(`secrets are unavailable: ${this.#failed.message}`);
    const cached = this.#cache.get(path);
    if (cached) return cached;
    const { data } = await vault('GET', `secret/data/${path}`, { token: this.#token });
    this.#cache.set(path, data.data);
    return data.data;
  }

  /** Renews the token; when that fails the cache is dropped and every later get() fails: fail closed. */
  async renew(): Promise<number> {
    try {
      const { auth } = await vault('POST', 'auth/token/renew-self', { token: this.#token });
      this.#schedule(auth.lease_duration);
      return auth.lease_duration;
    } catch (error) {
      this.#failed = error as Error;
      this.#cache.clear();
      throw error;
    }
  }

  #schedule(ttlSeconds: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.renew().catch((e) => console.error(`renewal failed, failing closed: ${e.message}`)), ttlSeconds * 667);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#cache.clear();
    await vault('POST', 'auth/token/revoke-self', { token: this.#token });
  }
}

async function main(): Promise<void> {
  const secretId = process.env.VAULT_SECRET_ID_FILE
    ? readFileSync(process.env.VAULT_SECRET_ID_FILE, 'utf8').trim()
    : (await vault('POST', 'sys/wrapping/unwrap', { token: env('VAULT_WRAPPED_SECRET_ID') })).data.secret_id; // works once
  const secrets = new Secrets();
  await secrets.login(env('VAULT_ROLE_ID'), secretId);
  for (const path of env('VAULT_SECRET_PATHS').split(',')) {
    const secret = await secrets.get(path);
    console.log(`ok: read secret/${path} (fields: ${Object.keys(secret).join(', ')})`); // names only, never values
  }
  console.log(`ok: token renewed (ttl ${await secrets.renew()}s)`);
  if (process.argv.includes('--once')) return secrets.close();
  setInterval(() => undefined, 1 << 30); // a real agent does its work here, calling secrets.get() when it needs a key
}

main().catch((error) => {
  console.error(error instanceof FailClosed ? `fail closed: ${error.message}` : error);
  process.exit(1);
});
