// `vault-setup verify` against real servers in both image layouts: a deployment set up by `vault-setup init`
// passes, and each broken state gives its own finding. One deployment per image; each test breaks it and puts
// it back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { docker } from '../helpers/deployment.ts';
import { ROOT, serverImages } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';
import { APP, CATALOG, type VerifyFixture, appPolicy, check, verifyFixture } from '../helpers/verify-fixture.ts';

const EXIT_FAILED = 13;
const EXIT_WARNINGS = 14;

for (const { label, flavor, image } of serverImages()) {
  describe(`verify (${label})`, () => {
    let f: VerifyFixture;
    before(async () => {
      f = await verifyFixture(`ver-${label}`, flavor, image);
    });
    after(async () => {
      await f?.[Symbol.asyncDispose]();
    });

    /** Nothing the test holds secret appears in what verify printed. */
    const noSecretsIn = (text: string) => {
      for (const secret of [f.rootToken, f.appToken, ...f.keys, ...f.values]) assert.equal(text.includes(secret), false, 'a secret was printed');
    };

    it('a clean deployment passes: exit 0, every check reported, TLS off only a warning', async () => {
      const run = await f.verify(['--json'], { token: f.appToken });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      noSecretsIn(run.stdout + run.stderr);
      const report = run.json();
      assert.equal(report.exitCode, 0);
      const ids = report.checks.map((c: { id: string }) => c.id);
      assert.equal(new Set(ids).size, ids.length, 'check ids are unique');
      // The app token may read neither policies nor token accessors: those two checks say so (an operator's may).
      const needOperator = ['operator-policy', 'no-root-token'];
      assert.deepEqual(
        report.checks.filter((c: { id: string; status: string }) => (c.status === 'fail' || c.status === 'skip') && !needOperator.includes(c.id)),
        [],
        'nothing fails or is skipped with a token on a healthy deployment',
      );
      for (const id of needOperator) assert.equal(check(run, id).status, 'skip', `${id}: ${check(run, id).finding}`);
      assert.deepEqual(new Set(report.checks.map((c: { group: string }) => c.group)), new Set(['files', 'hygiene', 'runtime', 'config', 'hardening']));
      for (const id of ['port', 'config-read-only', 'data-owner', 'key-material', 'container', 'unsealed', 'kv-v2', 'catalog-paths', 'token-not-root', 'token-policies', 'capabilities', 'audit-device', 'dev-mode', 'non-root', 'core-dumps', 'env-secrets', 'raw-storage', 'audit-log']) {
        assert.equal(check(run, id).status, 'pass', `${id}: ${check(run, id).finding}`);
      }
      const tls = check(run, 'tls');
      assert.equal(tls.status, 'warn');
      assert.match(tls.finding, /TLS is off: acceptable only because the port is bound to 127\.0\.0\.1/);
      assert.match(check(run, 'catalog-paths').finding, /^5\/5 paths present: openrouter v1, telegram v1/);
      assert.match(check(run, 'version').finding, new RegExp(image.split(':')[1] as string));
      const generateRoot = check(run, 'generate-root');
      if (label === 'vault') {
        // Vault 1.17 serves the unauthenticated generate-root endpoints by design: a warning that says so.
        assert.equal(generateRoot.status, 'warn');
        assert.match(generateRoot.finding, /allows it by design \(CVE-2026-5807/);
      } else {
        // OpenBao >= 2.5.3 refuses them.
        assert.equal(generateRoot.status, 'pass');
        assert.match(generateRoot.finding, /refused \(4\d\d\)/);
      }
      assert.deepEqual(report.token, { source: 'VAULT_TOKEN' });

      // Without a TTY: plain lines on stdout, no colour, the summary last.
      const plain = await f.verify([], { token: f.appToken });
      assert.equal(plain.code, 0);
      assert.match(plain.stdout, /^pass files\/port: API on 127\.0\.0\.1:\d+ only \(host network, every tcp listener on loopback\)$/m);
      assert.match(plain.stdout, /^warn files\/tls: TLS is off.*\n {2}fix: /m);
      assert.match(plain.stdout.trimEnd().split('\n').at(-1) as string, /^verify: healthy, with warnings: \d+ passed, \d+ warnings?, 0 failed, 2 skipped$/, "the two checks that need an operator token are skipped");
      assert.doesNotMatch(plain.stdout + plain.stderr, /\x1b\[/);

      // --quiet: only the problems; --strict: warnings fail with their own code.
      const quiet = await f.verify(['--quiet'], { token: f.appToken });
      assert.equal(quiet.code, 0);
      assert.doesNotMatch(quiet.stdout, /^pass /m);
      assert.match(quiet.stdout, /^warn files\/tls:/m);
      const strict = await f.verify(['--strict', '--json'], { token: f.appToken });
      assert.equal(strict.code, EXIT_WARNINGS);
      assert.equal(strict.json().status, 'failed');
    });

    it('without a token the configuration checks are skipped (never passed) and nothing prompts', async () => {
      const run = await f.verify(['--json']);
      assert.equal(run.code, 0, run.stderr);
      const config = run.json().checks.filter((c: { group: string }) => c.group === 'config');
      assert.ok(config.length >= 8);
      for (const c of config) {
        assert.equal(c.status, 'skip', c.id);
        assert.match(c.finding, /no token \(set VAULT_TOKEN or BAO_TOKEN, or pass --token-file\)/);
      }
      assert.equal(run.json().token, null);
      // --token-file works the same as the variable: here the file `init --token-file` wrote.
      const withFile = await f.verify(['--json', '--token-file', f.appTokenFile]);
      assert.equal(withFile.code, 0, withFile.stdout);
      assert.equal(check(withFile, 'capabilities').status, 'pass');
      assert.match(withFile.json().token.source, /--token-file/);
    });

    it('on a terminal: a masked prompt for the token, then a table', async () => {
      // The exit status is echoed by the shell: tmux may report a dead pane before it knows the status.
      const command = `'${process.execPath}' '${ROOT}src/cli.ts' verify --dir '${f.d.dir}'; echo "exit=$?"`;
      using term = terminal(['sh', '-c', command], { env: { PATH: process.env.PATH, HOME: f.home, NO_COLOR: '1' } });
      await term.waitFor(/Token to check the configuration/);
      term.paste(f.appToken);
      term.key('Enter');
      const screen = await term.waitFor(/^exit=\d+$/m);
      assert.match(screen, /verify: healthy, with warnings/);
      assert.match(screen, /^exit=0$/m);
      assert.match(screen, /STATUS\s+GROUP\s+CHECK\s+FINDING/);
      assert.match(screen, /✔ pass\s+config\s+token-valid\s+the token from the prompt is valid/);
      assert.match(screen, /⚠ warn\s+tls\s+TLS is off/);
      assert.equal(screen.includes(f.appToken), false, 'the token is not echoed');
    });

    it('on a terminal: Enter alone at the token prompt runs the token-less checks (no loop)', async () => {
      const command = `'${process.execPath}' '${ROOT}src/cli.ts' verify --dir '${f.d.dir}'; echo "exit=$?"`;
      using term = terminal(['sh', '-c', command], { env: { PATH: process.env.PATH, HOME: f.home, NO_COLOR: '1' } });
      await term.waitFor(/Enter alone skips those checks/);
      term.key('Enter');
      const screen = await term.waitFor(/^exit=\d+$/m);
      assert.match(screen, /^exit=0$/m);
      assert.doesNotMatch(screen, /a token is needed/);
      assert.match(screen, /–\s+skip\s+config\s+token-valid\s+no token/);
      assert.match(screen, /✔ pass\s+unsealed\s+unsealed/);
    });

    it('compose edits: a token in the environment, no command (dev mode), a writable config mount', async () => {
      const compose = path.join(f.d.dir, 'docker-compose.yml');
      const original = fs.readFileSync(compose, 'utf8');
      const doc = YAML.parse(original);
      const service = doc.services.server;
      service.environment.VAULT_TOKEN = f.rootToken;
      delete service.command;
      service.volumes = service.volumes.map((v: string) => v.replace(/:ro$/, ''));
      fs.writeFileSync(compose, YAML.stringify(doc));
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        noSecretsIn(run.stdout + run.stderr);
        assert.equal(check(run, 'env-secrets').status, 'fail');
        assert.match(check(run, 'env-secrets').finding, /^the environment holds VAULT_TOKEN \(values not shown\)/);
        assert.equal(check(run, 'dev-mode').status, 'fail');
        assert.match(check(run, 'dev-mode').finding, /sets no command, and the official images default to `server -dev`/);
        assert.equal(check(run, 'config-read-only').status, 'warn');
        assert.match(check(run, 'config-read-only').finding, /docker-compose\.yml mounts it writable/);
      } finally {
        fs.writeFileSync(compose, original);
      }
    });

    it('sealed: the finding says so and how to unseal; the configuration checks are skipped', async () => {
      assert.equal((await f.call('PUT', 'sys/seal', { token: f.rootToken })).status, 204);
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        const unsealed = check(run, 'unsealed');
        assert.equal(unsealed.status, 'fail');
        assert.match(unsealed.finding, /the server is sealed \(0\/2 shares entered\)/);
        assert.match(unsealed.fix, /vault-setup unseal --dir/);
        assert.equal(check(run, 'catalog-paths').status, 'skip');
        assert.match(check(run, 'catalog-paths').finding, /sealed/);
      } finally {
        await f.unseal();
      }
    });

    it('container stopped: the container and API checks fail with the exit code', async () => {
      docker('stop', '-t', '10', f.d.name);
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        assert.match(check(run, 'container').finding, new RegExp(`^${f.d.name} is exited \\(exit code \\d+\\)$`));
        assert.match(check(run, 'container').fix, /docker(-| )compose( -p \S+)? up -d/);
        assert.equal(check(run, 'api').status, 'fail');
        assert.equal(check(run, 'unsealed').status, 'skip');
        // Plain output names the problem too, for a cron mail.
        const plain = await f.verify(['--quiet'], { token: f.appToken });
        assert.match(plain.stdout, /^fail runtime\/container: .* is exited/m);
        assert.match(plain.stdout, /problems found/);
      } finally {
        await f.start();
      }
    });

    it('an unseal script with keys in the directory, and a root token in ~/.vault-token', async () => {
      const script = path.join(f.d.dir, 'unseal.sh');
      fs.writeFileSync(script, `#!/bin/sh\n# playbook's forbidden shortcut\n${f.keys.slice(0, 2).map((k) => `docker exec vault vault operator unseal ${k}`).join('\n')}\n`, { mode: 0o700 });
      const tokenFile = path.join(f.home, '.vault-token');
      fs.writeFileSync(tokenFile, f.rootToken, { mode: 0o600 });
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        noSecretsIn(run.stdout + run.stderr);
        const material = check(run, 'key-material');
        assert.equal(material.status, 'fail');
        assert.equal(material.finding, 'unseal.sh is an unseal script with 2 unseal keys in it (lines 3 and 4)');
        const vaultToken = check(run, 'vault-token-file');
        assert.equal(vaultToken.status, 'fail');
        assert.match(vaultToken.finding, /\.vault-token holds a root token \(lookup-self: policies \["root"\]\)/);
      } finally {
        fs.rmSync(script);
        fs.rmSync(tokenFile);
      }
    });

    it('data dir owned by root: the server could not write it', async () => {
      const data = path.join(f.d.dir, 'data');
      fs.chownSync(data, 0, 0);
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        const owner = check(run, 'data-owner');
        assert.equal(owner.status, 'fail');
        assert.match(owner.finding, /data is owned by uid 0 \(root\), but the server runs as uid 100/);
        assert.match(owner.fix, /chown -R 100:1000/);
      } finally {
        fs.chownSync(data, 100, 1000);
      }
    });

    it('a missing secret is named; values are never read', async () => {
      assert.equal((await f.call('DELETE', 'secret/metadata/telegram', { token: f.rootToken })).status, 204);
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        const paths = check(run, 'catalog-paths');
        assert.equal(paths.status, 'fail');
        assert.match(paths.finding, /^missing: secret\/telegram \(4\/5 present, catalog: the built-in playbook catalog\)$/);
        // A catalog file narrows what is expected.
        const catalog = path.join(f.home, 'catalog.yaml');
        fs.writeFileSync(catalog, 'secrets:\n  openrouter:\n    api_key: { from: prompt }\n  github:\n    token: { from: prompt }\n');
        const narrowed = await f.verify(['--json', '--secrets', catalog], { token: f.appToken });
        assert.match(check(narrowed, 'catalog-paths').finding, /^2\/2 paths present: openrouter v1, github v1/);
      } finally {
        assert.equal((await f.call('POST', 'secret/data/telegram', { token: f.rootToken, body: { data: { bot_token: f.values[1], chat_id: f.values[2] } } })).status, 200);
      }
    });

    it('a token too broad: the root token, or a write capability on a catalog path', async () => {
      const asRoot = await f.verify(['--json'], { token: f.rootToken });
      assert.equal(asRoot.code, EXIT_FAILED);
      noSecretsIn(asRoot.stdout + asRoot.stderr);
      assert.equal(check(asRoot, 'token-not-root').status, 'fail');
      assert.match(check(asRoot, 'token-not-root').finding, /root token/);
      assert.equal(check(asRoot, 'capabilities').status, 'fail');

      const writer = await f.tokenWith(`${appPolicy(CATALOG)}\npath "secret/data/openrouter" { capabilities = ["read", "create", "update"] }`);
      const run = await f.verify(['--json', '--app', APP], { token: writer });
      assert.equal(run.code, EXIT_FAILED);
      const caps = check(run, 'capabilities');
      assert.equal(caps.status, 'fail');
      assert.match(caps.finding, /it can change catalog secrets: secret\/data\/openrouter \(create, update\)/);
      // Reading outside the catalog is too broad as well.
      const reader = await f.tokenWith(`${appPolicy(CATALOG)}\npath "secret/data/*" { capabilities = ["read"] }`);
      const wide = await f.verify(['--json'], { token: reader });
      assert.match(check(wide, 'capabilities').finding, /not denied outside the catalog: secret\/data\/vault-setup-verify-outside-catalog \(read\)/);
      // Its policy is not the app's: a warning that says which one is expected.
      assert.equal(check(wide, 'token-policies').status, 'warn');
      assert.match(check(wide, 'token-policies').finding, /does not carry the policy "openclaw"/);
    });

    it('a revoked or expired token: not valid, the other token checks skipped', async () => {
      const revoked = await f.tokenWith(appPolicy(CATALOG));
      assert.equal((await f.call('POST', 'auth/token/revoke', { token: f.rootToken, body: { token: revoked } })).status, 204);
      const run = await f.verify(['--json'], { token: revoked });
      assert.equal(run.code, EXIT_FAILED);
      assert.equal(check(run, 'token-valid').status, 'fail');
      assert.match(check(run, 'token-valid').finding, /is not valid \(expired or revoked\)/);
      assert.equal(check(run, 'capabilities').status, 'skip');

      const expiring = await f.tokenWith(appPolicy(CATALOG), { ttl: '2s' });
      for (let i = 0; i < 100 && (await f.call('GET', 'auth/token/lookup-self', { token: expiring })).status === 200; i++) await new Promise((r) => setTimeout(r, 200));
      const expired = await f.verify(['--json'], { token: expiring });
      assert.equal(expired.code, EXIT_FAILED);
      assert.equal(check(expired, 'token-valid').status, 'fail');
    });

    it('listener on 0.0.0.0 with the host network: the files say so and a neighbour reaches it', async () => {
      const config = path.join(f.d.dir, 'config', 'vault.hcl');
      const original = fs.readFileSync(config, 'utf8');
      fs.writeFileSync(config, original.replace(`address         = "127.0.0.1:${f.d.port}"`, `address         = "0.0.0.0:${f.d.port}"`));
      try {
        await f.restart();
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        const port = check(run, 'port');
        assert.equal(port.status, 'fail');
        assert.match(port.finding, /network_mode: host with a listener on every interface: the API is reachable from the network/);
        const exposure = check(run, 'exposure');
        assert.equal(exposure.status, 'fail', exposure.finding);
        assert.match(exposure.finding, new RegExp(`reaches the server at .*:${f.d.port}`));
        // TLS off on a public port is no longer a mere warning.
        assert.equal(check(run, 'tls').status, 'fail');
      } finally {
        fs.writeFileSync(config, original);
        await f.restart();
      }
    });

    it('audit off: no device, and the log stops growing', async () => {
      const config = path.join(f.d.dir, 'config', 'vault.hcl');
      const original = fs.readFileSync(config, 'utf8');
      if (f.auditViaApi) {
        assert.equal((await f.call('DELETE', 'sys/audit/file', { token: f.rootToken })).status, 204);
      } else {
        fs.writeFileSync(config, original.replace(/audit "file" "file" \{[\s\S]*?\n\}\n/, ''));
        await f.restart();
      }
      try {
        const run = await f.verify(['--json'], { token: f.appToken });
        assert.equal(run.code, EXIT_FAILED);
        const device = check(run, 'audit-device');
        assert.equal(device.status, 'fail');
        assert.match(device.finding, /^no audit device: none declared in config\/vault\.hcl and logs\/audit\.log does not grow$/);
        const log = check(run, 'audit-log');
        assert.equal(log.status, 'fail');
        assert.match(log.finding, /logs\/audit\.log did not grow after an audited request/);
        // With a privileged token sys/audit itself is read.
        const asRoot = await f.verify(['--json'], { token: f.rootToken });
        assert.match(check(asRoot, 'audit-device').finding, /no audit device is enabled/);
      } finally {
        fs.writeFileSync(config, original);
        if (f.auditViaApi) await f.call('PUT', 'sys/audit/file', { token: f.rootToken, body: { type: 'file', options: { file_path: `${f.serverHome}/logs/audit.log` } } });
        else await f.restart();
      }
    });
  });
}
