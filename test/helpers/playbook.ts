// A deployment made by hand with the playbook's own steps (seed 004, chapter 2.7), for adopt's tests: its
// docker-compose.yml and vault.hcl word for word with a rig image and a free port, `docker-compose up -d`, the
// playbook's `docker exec ... chown`, then its commands through `docker exec <c> vault ...`: `operator init` 5/3, three
// `operator unseal`s, KV v2 at secret/, the five `kv put`s, `token create -policy=default`, an unseal.sh with three keys, and an app's .env
// holding the root token. assertAdopted checks what every adopted deployment holds, with an independent client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, waitActive, waitAnswering, type Server } from './day2.ts';
import { docker, freePort, removeContainers } from './deployment.ts';

// Step 10's secrets, with values in place of the placeholders (quotes, a colon, a long one).
export const SECRETS: Record<string, Record<string, string>> = {
  openrouter: { api_key: 'sk-or-v1-0123456789abcdef' },
  telegram: { bot_token: '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11', chat_id: '-1001234567890' },
  github: { token: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
  database: { host: '127.0.0.1', port: '5432', name: 'oa_system', user: 'oa_admin', password: 'S7r0ng "pass" \\ word' },
  cockpit: { jwt_secret: 'a'.repeat(64), admin_password: 'adm1n-p@ss' },
};
export const PASSWORD = 'operator-password-for-adopt';

export const playbookCompose = (image: string, name: string, port: number) => `version: "3.8"

services:
  vault:
    image: ${image}
    container_name: ${name}
    restart: unless-stopped
    ports:
      - "127.0.0.1:${port}:8200"
    environment:
      VAULT_ADDR: "http://127.0.0.1:8200"
    cap_add:
      - IPC_LOCK
    volumes:
      - ./config:/vault/config:ro
      - ./data:/vault/data
    command: server -config=/vault/config/vault.hcl
    networks:
      - vault-net

networks:
  vault-net:
    driver: bridge
`;

const PLAYBOOK_HCL = `storage "file" {
  path = "/vault/data"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = 1
}

api_addr = "http://127.0.0.1:8200"

ui = true

disable_mlock = true
`;


export interface Playbook {
  dir: string;
  home: string;
  root: string;
  name: string;
  port: number;
  server: Server;
  keys: string[];
  hexKeys: string[];
  rootToken: string;
  oldAppToken: string;
  script: string;
  appEnv: string;
}

/** A deployment made by the playbook's steps 1-12 (and the unseal.sh it forbids), with the given image. */
export async function playbookDeployment(t: { after(fn: () => void): void }, image: string, skip: string[] = []): Promise<Playbook> {
  const name = `vstest-adopt-${randomBytes(3).toString('hex')}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-adopt-'));
  // ~/docker/vault: the directory's name is the compose project, as with `cd ~/docker/vault && docker compose up -d`.
  const dir = path.join(root, 'docker', name);
  const home = path.join(root, 'home');
  t.after(() => {
    removeContainers(name);
    fs.rmSync(root, { recursive: true, force: true });
  });
  const port = await freePort();
  const server: Server = { address: `http://127.0.0.1:${port}` };

  // Steps 1-4: the files, the start, the ownership fix.
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), playbookCompose(image, name, port));
  fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), PLAYBOOK_HCL);
  execFileSync('docker-compose', ['up', '-d'], { cwd: dir, stdio: 'ignore' });
  docker('exec', name, 'chown', '-R', 'vault:vault', '/vault/data');
  await waitAnswering(server);

  // Steps 5-12 as the playbook types them: the server's own CLI in the container (docker exec), VAULT_ADDR from
  // the compose file, the root token exported as the playbook does.
  const vault = (args: string[], token?: string): string => docker('exec', ...(token === undefined ? [] : ['-e', `VAULT_TOKEN=${token}`]), name, 'vault', ...args);
  const init = JSON.parse(vault(['operator', 'init', '-key-shares=5', '-key-threshold=3', '-format=json']));
  const keys = init.unseal_keys_b64 as string[];
  const rootToken = init.root_token as string;
  for (const key of keys.slice(0, 3)) vault(['operator', 'unseal', key]);
  await waitActive(server);
  vault(['secrets', 'enable', '-path=secret', '-version=2', 'kv'], rootToken);
  for (const [key, data] of Object.entries(SECRETS).filter(([k]) => !skip.includes(k))) {
    const fields = Object.entries(data).map(([f, v]) => `${f}=${v}`);
    for (let i = 0; ; i++) {
      // A KV v2 mount is writable a moment after it is enabled ("Upgrading from non-versioned to versioned data").
      try {
        vault(['kv', 'put', `secret/${key}`, ...fields], rootToken);
        break;
      } catch (error) {
        assert.ok(i < 100 && /Upgrading|upgrade/i.test(String((error as { stderr?: string }).stderr ?? error)), String(error));
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  const created = JSON.parse(vault(['token', 'create', '-policy=default', '-display-name=openclaw-app', '-ttl=720h', '-format=json'], rootToken));
  // What the playbook warns against, and what people write anyway.
  const script = path.join(dir, 'unseal.sh');
  fs.writeFileSync(script, `#!/bin/sh\n${keys.slice(0, 3).map((k) => `docker exec -e VAULT_ADDR=http://127.0.0.1:8200 vault vault operator unseal ${k}`).join('\n')}\n`, { mode: 0o700 });
  const appEnv = path.join(home, 'openclaw', '.env');
  fs.mkdirSync(path.dirname(appEnv), { recursive: true });
  fs.writeFileSync(appEnv, `VAULT_ADDR=http://127.0.0.1:${port}\nVAULT_TOKEN=${rootToken}\n`, { mode: 0o600 });
  return { dir, home, root, name, port, server, keys, hexKeys: init.unseal_keys_hex as string[], rootToken, oldAppToken: created.auth.client_token as string, script, appEnv };
}

/** What every adopted deployment holds: the hardened files, raft, audit, the scoped token reading every secret. */
export async function assertAdopted(p: Playbook, out: any, tokenFile: string, skipped: string[] = []): Promise<string> {
  const hcl = fs.readFileSync(path.join(p.dir, 'config', 'vault.hcl'), 'utf8');
  assert.match(hcl, /^ui = false$/m);
  assert.match(hcl, new RegExp(`address += "127\\.0\\.0\\.1:${p.port}"`));
  assert.doesNotMatch(hcl, /address\s*=\s*"0\.0\.0\.0/);
  assert.match(hcl, /storage "raft" \{/);
  assert.doesNotMatch(hcl, /storage "file"/);
  const compose = fs.readFileSync(path.join(p.dir, 'docker-compose.yml'), 'utf8');
  assert.match(compose, /network_mode: host/);
  assert.doesNotMatch(compose, /ports:/);
  assert.match(compose, /no-new-privileges:true/);
  assert.ok(fs.existsSync(path.join(p.dir, 'data', 'raft', 'raft.db')), 'the data is raft now');
  assert.ok(fs.statSync(out.migrate.snapshot).size > 0, 'the first snapshot exists');
  assert.equal((await call(p.server, 'GET', 'sys/seal-status')).body.sealed, false);
  // Audit on: the device writes the requests made since.
  const audit = path.join(p.dir, 'logs', 'audit.log');
  assert.ok(fs.existsSync(audit) && fs.statSync(audit).size > 0, 'the audit log is written');
  // The scoped app token reads every secret, byte for byte, and nothing more.
  const appToken = fs.readFileSync(tokenFile, 'utf8').trim();
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
  assert.deepEqual((await call(p.server, 'GET', 'auth/token/lookup-self', { token: appToken })).body.data.policies, ['openclaw']);
  for (const [key, data] of Object.entries(SECRETS).filter(([k]) => !skipped.includes(k))) {
    const res = await call(p.server, 'GET', `secret/data/${key}`, { token: appToken });
    assert.equal(res.status, 200, key);
    assert.deepEqual(res.body.data.data, data, `secret/${key} byte for byte`);
  }
  assert.equal((await call(p.server, 'POST', 'secret/data/openrouter', { token: appToken, body: { data: { api_key: 'x' } } })).status, 403, 'the app token cannot write');
  const record = JSON.parse(fs.readFileSync(path.join(p.dir, 'vault-setup.json'), 'utf8'));
  assert.equal(record.storage, 'raft');
  assert.equal(record.name, p.name);
  assert.equal(record.app, 'openclaw');
  assert.equal(record.threshold, 3);
  return appToken;
}
