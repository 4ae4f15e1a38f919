// adopt's reading of a hand-made deployment: the layout from where the compose file mounts things (not from the
// image's name), what would lose data (a named volume, another storage path) or TLS refused before anything
// changes, and the hardened files for the same image, name and port.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { adoptableProblem, hardenedFiles, layoutOf } from '../../src/adopt/shape.ts';
import { loadDeployment } from '../../src/deployment.ts';
import { composeFacts, composeUpCommand, defaultProjectName } from '../../src/deployment/container.ts';
import type { Context } from '../../src/context.ts';

const compose = (image: string, data = './data') => `version: "3.8"\nservices:\n  vault:\n    image: ${image}\n    container_name: vault\n    restart: unless-stopped\n    ports:\n      - "127.0.0.1:8200:8200"\n    volumes:\n      - ./config:/vault/config:ro\n      - ${data}:/vault/data\n    command: server -config=/vault/config/vault.hcl\n`;
const HCL = 'storage "file" {\n  path = "/vault/data"\n}\n\nlistener "tcp" {\n  address     = "0.0.0.0:8200"\n  tls_disable = 1\n}\n\napi_addr = "http://127.0.0.1:8200"\n\nui = true\n\ndisable_mlock = true\n';

describe('adopt: reading a playbook deployment', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-adopt-shape-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const make = async (name: string, composeText: string, hcl = HCL) => {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'docker-compose.yml'), composeText);
    fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), hcl);
    const deployment = (await loadDeployment(dir))!;
    return { deployment, layout: await layoutOf(deployment) };
  };

  it('the playbook as written: adoptable, Vault layout whatever the image is called', async () => {
    const { deployment, layout } = await make('ok', compose('example/openbao-in-vault-layout:2.6.2'));
    assert.equal(layout.home, '/vault');
    assert.equal(await adoptableProblem(deployment, layout), undefined);
    const files = await hardenedFiles(deployment, layout, { product: 'openbao', version: '2.6.2', raw: 'OpenBao v2.6.2' }, 'file');
    assert.deepEqual(files.map((f) => path.basename(f.path)), ['docker-compose.yml', 'vault.hcl']);
    const [c, h] = files.map((f) => f.after) as [string, string];
    assert.match(c, /image: example\/openbao-in-vault-layout:2\.6\.2/);
    assert.match(c, /container_name: vault/);
    assert.match(c, /- \.\/data:\/vault\/data/);
    assert.match(h, /storage "file" \{\n  path = "\/vault\/data"\n\}/);
    assert.match(h, /address         = "127\.0\.0\.1:8200"/);
    assert.match(h, /^audit "file" "file" \{/m, 'OpenBao refuses audit devices through the API: declared');
  });

  it('a named volume for the data, another storage path, TLS: refused with the reason', async () => {
    const named = await make('named', `${compose('hashicorp/vault:1.17', 'vault-data')}volumes:\n  vault-data: {}\n`);
    assert.match((await adoptableProblem(named.deployment, named.layout))!.message, /does not mount \.\/data at \/vault\/data \(it mounts vault-data\)/);
    const elsewhere = await make('elsewhere', compose('hashicorp/vault:1.17'), HCL.replace('/vault/data', '/vault/file'));
    assert.match((await adoptableProblem(elsewhere.deployment, elsewhere.layout))!.message, /keeps the data at \/vault\/file, not \/vault\/data/);
    const tls = await make('tls', compose('hashicorp/vault:1.17'), HCL.replace('tls_disable = 1', 'tls_cert_file = "/vault/config/c.pem"\n  tls_key_file = "/vault/config/k.pem"'));
    assert.match((await adoptableProblem(tls.deployment, tls.layout))!.message, /serves TLS/);
  });
});

describe('the container of a hand-made deployment, found the way compose finds it', () => {
  it('the project is the directory\'s name as compose normalises it; the service is the file\'s own', () => {
    assert.equal(defaultProjectName('/root/docker/vault'), 'vault');
    assert.equal(defaultProjectName('/srv/My Vault.prod/'), 'myvaultprod');
    assert.equal(defaultProjectName('/srv/_vault-1'), 'vault-1');
    assert.deepEqual(composeFacts({ services: { vault: { container_name: 'vault' } } }), { service: 'vault', containerName: 'vault', projectName: undefined });
    assert.deepEqual(composeFacts({ name: 'secrets', services: { db: {}, server: {} } }), { service: 'server', containerName: undefined, projectName: 'secrets' });
    assert.deepEqual(composeFacts(undefined), { service: 'server', containerName: undefined, projectName: undefined });
  });

  it('the start command names the compose installed here, with -p only when the project is not the directory\'s', async () => {
    const withCompose = (file: string, args: string[]) => ({ compose: { detect: async () => ({ file, args, version: args.length > 0 ? 'v2' : 'v1' }) } }) as unknown as Context;
    assert.equal(await composeUpCommand(withCompose('docker-compose', []), '/root/docker/vault', { project: 'vault', projectIsDefault: true }), 'cd /root/docker/vault && docker-compose up -d');
    assert.equal(await composeUpCommand(withCompose('docker', ['compose']), '/srv/x', { project: 'vs-a', projectIsDefault: false }), 'cd /srv/x && docker compose -p vs-a up -d');
  });
});
