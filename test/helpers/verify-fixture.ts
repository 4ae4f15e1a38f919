// A healthy, configured deployment for `verify` tests, and the ways to break it. Deployed and configured by the
// real CLI (`init --deploy-only`, then `init --yes` with a privileged token: KV v2, the playbook's five secrets,
// the read-only app policy and token, audit); initialised and unsealed over the HTTP API in between, because the
// key ceremony wants a terminal. The shares and the root token stay in this process's memory.
import { waitAnswering as waitServerAnswering } from './day2.ts';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CliRun, runCli } from './cli.ts';
import { type TestDeployment, docker, testDeployment } from './deployment.ts';
import { api, deploy, initAndUnseal, waitActive } from './server.ts';

export const CATALOG = ['openrouter', 'telegram', 'github', 'database', 'cockpit'];
export const APP = 'openclaw';

export interface VerifyFixture extends AsyncDisposable {
  d: TestDeployment;
  flavor: string;
  image: string;
  home: string;
  serverHome: string;
  keys: string[];
  rootToken: string;
  appToken: string;
  /** Where `init --app-token-file` wrote the app token (0600). */
  appTokenFile: string;
  /** Every secret value seeded from the environment, to prove none of them is ever printed. */
  values: string[];
  /** Whether the audit device was enabled over the API (Vault) rather than declared in vault.hcl (OpenBao). */
  auditViaApi: boolean;
  call(method: string, apiPath: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** `vault-setup verify --dir <d>` with HOME pointed at a clean temp dir and the token (if any) in VAULT_TOKEN. */
  verify(args?: string[], options?: { token?: string; env?: NodeJS.ProcessEnv }): Promise<CliRun>;
  unseal(): Promise<void>;
  /** A token with this policy HCL (a fresh policy named after it). */
  tokenWith(policy: string, options?: { ttl?: string }): Promise<string>;
  /** Restart the container (vault.hcl is read at start) and unseal again. */
  restart(): Promise<void>;
  /** Start a stopped container and unseal again. */
  start(): Promise<void>;
  /** `docker compose up -d` after a compose edit (recreates the container), and unseal again. */
  recreate(): Promise<void>;
}

export const appPolicy = (paths: string[]): string =>
  [
    ...paths.flatMap((p) => [`path "secret/data/${p}" { capabilities = ["read"] }`, `path "secret/metadata/${p}" { capabilities = ["read", "list"] }`]),
    'path "auth/token/lookup-self" { capabilities = ["read"] }',
    'path "auth/token/renew-self" { capabilities = ["update"] }',
    'path "sys/capabilities-self" { capabilities = ["update"] }',
  ].join('\n');

const composeCmd = fs.existsSync('/usr/bin/docker-compose') ? ['docker-compose'] : ['docker', 'compose'];

export async function verifyFixture(label: string, flavor: string, image: string): Promise<VerifyFixture> {
  const d = await testDeployment(label);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `vs-${label}-home-`));
  try {
    await deploy(d, flavor, image);
    const { keys, rootToken } = await initAndUnseal(d.address);
    const call = (method: string, apiPath: string, options: { token?: string; body?: unknown } = {}) => api(d.address, method, apiPath, options);
    const root = (method: string, apiPath: string, body?: unknown) => call(method, apiPath, { token: rootToken, ...(body === undefined ? {} : { body }) });

    // The playbook catalog's prompt fields come from the environment; cockpit's are generated.
    const values = [`sk-or-${randomBytes(8).toString('hex')}`, `123456:${randomBytes(8).toString('hex')}`, `chat-${randomBytes(4).toString('hex')}`, `ghp_${randomBytes(10).toString('hex')}`, `pw-${randomBytes(10).toString('hex')}`];
    const [OPENROUTER_API_KEY, TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, GITHUB_TOKEN, DB_PASSWORD] = values;
    const appTokenFile = path.join(home, `${APP}.token`);
    const configured = await runCli(['init', ...d.args(flavor, image), '--yes', '--json', '--keep-root-token', '--app-token-file', appTokenFile], {
      env: { HOME: home, VAULT_TOKEN: rootToken, OPENROUTER_API_KEY, TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, GITHUB_TOKEN, DB_PASSWORD },
    });
    assert.equal(configured.code, 0, configured.stderr);
    assert.deepEqual(configured.json().configure.secrets.map((s: { path: string }) => s.path), CATALOG);
    const appToken = fs.readFileSync(appTokenFile, 'utf8').trim();
    // Vault takes its audit device over the API; OpenBao refuses that and has it declared in vault.hcl.
    const auditViaApi = !/^audit "file"/m.test(fs.readFileSync(path.join(d.dir, 'config', 'vault.hcl'), 'utf8'));
    const serverHome = flavor === 'openbao' ? '/openbao' : '/vault';

    const unseal = async () => {
      for (const key of keys.slice(0, 2)) await call('PUT', 'sys/unseal', { body: { key } });
      await waitActive(d.address);
    };
    const waitAnswering = () => waitServerAnswering({ address: d.address });
    let policies = 0;
    return {
      d,
      flavor,
      image,
      home,
      serverHome,
      keys,
      rootToken,
      appToken,
      appTokenFile,
      values,
      auditViaApi,
      call,
      verify: (args = [], options = {}) =>
        runCli(['verify', '--dir', d.dir, ...args], { env: { HOME: home, ...(options.token ? { VAULT_TOKEN: options.token } : {}), ...options.env } }),
      unseal,
      async tokenWith(policy, options = {}) {
        const name = `verify-test-${++policies}`;
        assert.equal((await root('PUT', `sys/policies/acl/${name}`, { policy })).status, 204);
        const res = await root('POST', 'auth/token/create', { policies: [name], no_default_policy: true, ttl: options.ttl ?? '1h' });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.auth.client_token as string;
      },
      async restart() {
        docker('restart', '-t', '10', d.name);
        await waitAnswering();
        await unseal();
      },
      async start() {
        docker('start', d.name);
        await waitAnswering();
        await unseal();
      },
      async recreate() {
        execFileSync(composeCmd[0] as string, [...composeCmd.slice(1), '-p', d.name, 'up', '-d'], { cwd: d.dir, stdio: 'ignore' });
        await waitAnswering();
        await unseal();
      },
      async [Symbol.asyncDispose]() {
        await d[Symbol.asyncDispose]();
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await d[Symbol.asyncDispose]();
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** The check with this id from `verify --json`. */
export function check(run: CliRun, id: string): { group: string; id: string; status: string; finding: string; fix: string } {
  const found = (run.json().checks as { id: string }[]).find((c) => c.id === id);
  assert.ok(found, `no check ${id} in the report`);
  return found as ReturnType<typeof check>;
}
