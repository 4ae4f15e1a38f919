// One leak suite across every command: init (with --print-keys, secrets from the catalog, one value from the
// environment), status, unseal after a restart, verify, agent, backup, their error paths, and two crashes forced
// through a proxy while shares are in memory. While they run, every process's argv and environment is recorded
// (the secrets are not known before init makes them, so the samples are searched afterwards). Then the deployment
// dir, $HOME, the temp dirs, the container's log and `docker inspect`, and each command's output are searched for
// every share, the root token, the app token, the agent's secret_id and every secret value, in every spelling.
// Allowed, because the operator asked: --print-keys's `init` member (shares, root token), the files given to
// --token-file/--out-dir, and a value the operator put in the CLI's own environment (in that process only).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { call, unseal as unsealDirect, waitActive } from '../helpers/day2.ts';
import { type Leak, findLeaks, needles } from '../helpers/leaks.ts';
import { liveCli } from '../helpers/live-cli.ts';
import { faultProxy } from '../helpers/proxy.ts';
import { serverImages } from '../helpers/rig.ts';

/** Every distinct argv and environment seen in /proc while it runs; searched once the secrets are known. */
function recordProcesses(intervalMs = 40): { stop(): void; search(secrets: string[]): (Leak & { pid: number; cmdline: string })[] } {
  const blobs = new Map<string, { pid: number; part: string; content: Buffer; cmdline: string }>();
  const sample = () => {
    let pids: string[] = [];
    try {
      pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return;
    }
    for (const pid of pids) {
      let cmdline = '';
      for (const part of ['cmdline', 'environ']) {
        try {
          const content = fs.readFileSync(`/proc/${pid}/${part}`);
          if (part === 'cmdline') cmdline = content.toString('utf8').replaceAll('\0', ' ').slice(0, 200);
          const key = `${pid}:${part}:${createHash('sha1').update(content).digest('hex')}`;
          if (!blobs.has(key)) blobs.set(key, { pid: Number(pid), part, content, cmdline });
        } catch {
          // ended meanwhile, or not ours to read
        }
      }
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
    },
    search(secrets) {
      const list = needles(secrets);
      const found: (Leak & { pid: number; cmdline: string })[] = [];
      for (const { pid, part, content, cmdline } of blobs.values()) {
        for (const n of list) {
          const where = `/proc/${pid}/${part}`;
          if (content.indexOf(n.bytes) >= 0 && !found.some((f) => f.where === where && f.secret === n.secret)) found.push({ where, secret: n.secret, form: n.form, pid, cmdline });
        }
      }
      return found;
    },
  };
}

/** Which of the secrets (by index) appear in a text, in any spelling. */
function secretsIn(text: string, secrets: string[]): number[] {
  const haystack = Buffer.from(text);
  return [...new Set(needles(secrets).filter((n) => haystack.indexOf(n.bytes) >= 0).map((n) => n.secret))];
}

for (const { label, flavor, image } of serverImages()) {
  describe(`leaks (${label})`, () => {
    it('no share, token or secret value in files, logs, inspect, argv, environments, outputs or stacks', { timeout: 15 * 60_000 }, async (t) => {
      const since = Date.now();
      await using d = await testDeployment(`lk-${label.slice(0, 6)}`);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lk-home-'));
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lk-tmp-'));
      // What the operator keeps outside the deployment: the catalog, the token files, the agent's files.
      const operator = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lk-op-'));
      t.after(() => {
        for (const dir of [home, tmp, operator]) fs.rmSync(dir, { recursive: true, force: true });
      });
      const envValue = `env-${createHash('sha256').update(`${Date.now()}${Math.random()}`).digest('hex').slice(0, 32)}`;
      const catalog = path.join(operator, 'secrets.yaml');
      fs.writeFileSync(catalog, 'secrets:\n  leak/db:\n    password: { from: generate, format: base64, bytes: 24 }\n  leak/api:\n    key: { from: env, var: LEAK_API_KEY }\n    id: { from: generate, format: hex, bytes: 16 }\n');
      const appTokenFile = path.join(operator, 'app-token');
      const rootTokenFile = path.join(operator, 'root-token');
      const outDir = path.join(operator, 'agent');
      const env = { HOME: home, TMPDIR: tmp };
      const recorder = recordProcesses();
      const runs: { name: string; pid: number; args?: string; stdout: string; stderr: string; envAllowed: string[] }[] = [];
      let secrets: string[] = [envValue];
      // Runs one command; keeps its outputs, and the secrets the operator put in its own environment.
      const run = async (name: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; code?: number } = {}) => {
        const cli = liveCli(args, { env: { ...env, ...options.env } });
        if (options.input !== undefined) cli.write(options.input);
        cli.end();
        const code = await cli.exited;
        if (options.code !== undefined) assert.equal(code, options.code, `${name}: ${cli.stderr()}`);
        const entry = { name, pid: cli.pid, args: args.join(' '), stdout: cli.stdout(), stderr: cli.stderr(), envAllowed: Object.values(options.env ?? {}).filter((v): v is string => v !== undefined) };
        runs.push(entry);
        return entry;
      };

      let init: any;
      let keys: string[] = [];
      let rootToken = '';
      await t.test('init --print-keys --keep-root-token --json: secrets from the catalog and the environment', async () => {
        const r = await run('init', ['init', ...d.args(flavor, image), '--yes', '--json', '--print-keys', '--keep-root-token', '--secrets', catalog, '--app-token-file', appTokenFile], { env: { LEAK_API_KEY: envValue }, code: 0 });
        init = JSON.parse(r.stdout);
        keys = init.init.unseal_keys_b64;
        rootToken = init.init.root_token;
        assert.equal(init.configure.appToken.delivered, 'file');
        assert.ok(!('token' in init.configure.appToken), 'no app token in --json without --show-token');
        assert.ok(!('token' in init.configure.rootToken), 'the kept root token is not repeated outside the init member');
        fs.writeFileSync(rootTokenFile, `${rootToken}\n`, { mode: 0o600 });
      });

      let appToken = '';
      const values: string[] = [];
      await t.test('the secrets are known now: the values, the app token', async () => {
        appToken = fs.readFileSync(appTokenFile, 'utf8').trim();
        for (const p of ['leak/db', 'leak/api']) {
          const res = await call({ address: d.address }, 'GET', `secret/data/${p}`, { token: appToken });
          assert.equal(res.status, 200);
          values.push(...Object.values(res.body.data.data as Record<string, string>));
        }
        assert.equal(values.length, 3);
        assert.ok(values.includes(envValue));
        secrets = [envValue, ...keys, rootToken, appToken, ...values.filter((v) => v !== envValue)];
      });
      const idx = (value: string) => secrets.indexOf(value);

      await t.test('status, unseal after a restart, verify', async () => {
        await run('status', ['status', '--dir', d.dir, '--json'], { code: 0 });
        docker('restart', d.name);
        const r = await run('unseal', ['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys.slice(0, 3).join('\n')}\n`, code: 0 });
        assert.equal(JSON.parse(r.stdout).sealed, false);
        await waitActive({ address: d.address });
        await run('verify', ['verify', '--dir', d.dir, '--token-file', appTokenFile, '--secrets', catalog, '--json']);
        await run('verify (root token in the environment)', ['verify', '--dir', d.dir, '--json'], { env: { VAULT_TOKEN: rootToken } });
      });

      let secretId = '';
      await t.test('agent add with --out-dir, agent list, backup', async () => {
        const r = await run('agent add', ['agent', 'add', 'leaky', '--secret', 'secret/leak/db', '--dir', d.dir, '--token-file', rootTokenFile, '--out-dir', outDir, '--json'], { code: 0 });
        assert.ok(!('secret_id' in JSON.parse(r.stdout)));
        secretId = fs.readFileSync(path.join(outDir, 'secret_id'), 'utf8').trim();
        secrets.push(secretId);
        await run('agent list', ['agent', 'list', '--dir', d.dir, '--token-file', rootTokenFile, '--json'], { code: 0 });
        await run('backup', ['backup', '--dir', d.dir, '--token-file', rootTokenFile, '--json'], { code: 0 });
        assert.ok(fs.readdirSync(path.join(d.dir, 'backups')).some((f) => f.endsWith('.snap')), 'the snapshot is in the deployment dir, and searched');
      });

      await t.test('watch (a webhook on loopback), seal --reason, install-units with a Telegram token in the environment', async () => {
        const bodies: string[] = [];
        const http = await import('node:http');
        const rx = http.createServer((req, res) => {
          let body = '';
          req.on('data', (c) => (body += c));
          req.on('end', () => {
            bodies.push(`${req.url} ${body}`);
            res.end('{}');
          });
        });
        await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
        const hook = `http://127.0.0.1:${(rx.address() as { port: number }).port}/hook`;
        try {
          const botToken = `4242:${createHash('sha256').update(`${Date.now()}bot`).digest('hex').slice(0, 30)}`;
          const botFile = path.join(operator, 'telegram-token');
          fs.writeFileSync(botFile, `${botToken}\n`, { mode: 0o600 });
          secrets.push(botToken);
          const notify = ['--notify', hook, '--telegram=-1001', '--telegram-token-file', botFile, '--telegram-api', hook.replace(/\/hook$/, '/tg')];
          await run('watch', ['watch', '--once', '--dir', d.dir, '--json', ...notify]);
          await run('seal --reason', ['seal', '--dir', d.dir, '--reason', 'leak drill', '--token-file', rootTokenFile, '--json'], { code: 0 });
          await run('watch (deliberately sealed)', ['watch', '--once', '--dir', d.dir, '--json', ...notify], { code: 0 });
          await run('unseal after seal', ['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys.slice(0, 3).join('\n')}\n`, code: 0 });
          await waitActive({ address: d.address });
          await run('watch (unsealed)', ['watch', '--once', '--dir', d.dir, '--json', ...notify]);
          await run('install-units', ['install-units', '--dir', d.dir, '--format', 'systemd', '--unit-dir', path.join(tmp, 'units'), '--yes', '--json', '--telegram=-1001', '--telegram-token-file', botFile], { env: { TELEGRAM_BOT_TOKEN: botToken }, code: 0 });
          await run('install-units (cron)', ['install-units', '--dir', d.dir, '--format', 'cron', '--unit-dir', path.join(tmp, 'cron'), '--yes', '--json'], { env: { TELEGRAM_BOT_TOKEN: botToken }, code: 0 });
          assert.ok(bodies.some((b) => b.startsWith('/hook ') && b.includes('sealed-deliberately')), `the deliberate seal was reported: ${bodies.length} messages`);
          assert.ok(fs.readFileSync(path.join(tmp, 'units', `vault-setup-${d.name}-watch.service`), 'utf8').includes(botFile), 'the unit names the token file, not the token');
          runs.push({ name: 'messages received by the webhook and the Telegram stand-in', pid: -1, stdout: bodies.filter((b) => !b.startsWith('/tg/bot')).join('\n'), stderr: bodies.filter((b) => b.startsWith('/tg/bot')).map((b) => b.slice(b.indexOf(' '))).join('\n'), envAllowed: [] });
        } finally {
          await new Promise((resolve) => rx.close(resolve));
        }
      });

      await t.test('error paths: a failed round with a real share, a bad token, a revoked app token, a sealed server', async () => {
        docker('restart', d.name);
        const wrong = Buffer.alloc(33, 7).toString('base64');
        await run('unseal: wrong combination', ['unseal', '--dir', d.dir, '--stdin', '--json'], { input: `${keys[0]}\n${keys[1]}\n${wrong}\n`, code: 10 });
        await run('unseal: malformed line after a real share', ['unseal', '--dir', d.dir, '--stdin'], { input: `${keys[2]}\n${keys[3]?.slice(0, 20)}\n`, code: 11 });
        await run('agent on a sealed server', ['agent', 'list', '--dir', d.dir, '--token-file', rootTokenFile, '--json'], { code: 9 });
        await run('verify on a sealed server', ['verify', '--dir', d.dir, '--token-file', appTokenFile, '--json']);
        await run('unseal', ['unseal', '--dir', d.dir, '--stdin', '--json', '--reset'], { input: `${keys.slice(1, 4).join('\n')}\n`, code: 0 });
        await waitActive({ address: d.address });
        const bad = path.join(operator, 'bad-token');
        fs.writeFileSync(bad, `${appToken}\n`);
        await run('backup with a token that may not', ['backup', '--dir', d.dir, '--token-file', bad, '--json'], { code: 12 });
        await run('agent with a token that may not', ['agent', 'add', 'nope', '--secret', 'leak/db', '--dir', d.dir, '--token-file', bad, '--json'], { code: 12 });
      });

      await t.test('crashes with shares in memory, through a proxy: a broken answer and an echoed share are redacted', async () => {
        docker('restart', d.name);
        await using proxy = await faultProxy(d.address);
        // The "server" answers the second share with JSON null: an internal error, its stack printed.
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, times: 1 });
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, status: 200, body: 'null', times: 1 });
        const crash = await run('unseal: internal error', ['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: `${keys[0]}\n${keys[1]}\n${keys[2]}\n`, code: 1 });
        assert.match(crash.stderr, /internal error: TypeError: .*\n\s+at /, 'the stack is shown');
        assert.equal(JSON.parse(crash.stdout).error.code, 'E_INTERNAL');
        // The "server" echoes the request (the share) in an answer that is not JSON, and in an error body.
        proxy.clear();
        await call({ address: d.address }, 'PUT', 'sys/unseal', { body: { reset: true } });
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, rewrite: (_body, request) => `<pre>${request}</pre>`, times: 1 });
        const echoed = await run('unseal: share echoed in a non-JSON answer', ['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: `${keys[3]}\n`, code: 16 });
        // sys/unseal carries shares: the body is never quoted, whatever it holds (only its size and type).
        assert.match(echoed.stderr, /is not JSON \(HTTP 200\): \d+ bytes( of [^,]+)?, not shown \(the endpoint carries secrets\)/, 'the body of a sensitive endpoint is not quoted');
        assert.doesNotMatch(echoed.stderr, /<pre>/);
        proxy.inject({ method: 'PUT', path: /^sys\/unseal$/, status: 500, body: (request) => JSON.stringify({ errors: [`cannot use ${JSON.parse(request).key}`] }), times: 1 });
        const error = await run('unseal: share echoed in an error', ['unseal', '--addr', proxy.address, '--stdin', '--json'], { input: `${keys[4]}\n`, code: 11 });
        assert.match(error.stderr, /cannot use \[redacted\]/);
        const status = await run('status through the proxy', ['status', '--addr', proxy.address, '--json'], { code: 0 });
        assert.equal(JSON.parse(status.stdout).server.reachable, true);
      });

      await t.test('a task that fails with a secret value in the server\'s error: the task line is redacted too', async () => {
        // init cannot be pointed at a proxy, so its configure phase runs in a child like the CLI's (no --json, no TTY).
        await call({ address: d.address }, 'PUT', 'sys/unseal', { body: { reset: true } });
        await unsealDirect({ address: d.address }, keys.slice(0, 3));
        await using proxy = await faultProxy(d.address);
        let echoed = '';
        proxy.inject({
          method: 'POST',
          path: /^secret\/data\/leak\/echo$/,
          status: 400,
          body: (request) => {
            echoed = JSON.parse(request).data.value;
            return JSON.stringify({ errors: [`refusing ${echoed}`] });
          },
        });
        const echoCatalog = path.join(operator, 'echo.yaml');
        fs.writeFileSync(echoCatalog, 'secrets:\n  leak/echo:\n    value: { from: generate, format: hex, bytes: 20 }\n');
        const script = path.join(operator, 'configure-through-proxy.ts');
        fs.writeFileSync(
          script,
          `import { createContext } from '${path.resolve('src/context.ts')}';
import { LAYOUTS } from '${path.resolve('src/config/flavor.ts')}';
import { deploymentPaths } from '${path.resolve('src/deployment.ts')}';
import { VaultApi } from '${path.resolve('src/services/vault-api.ts')}';
import { configurePhase } from '${path.resolve('src/tasks/configure.tasks.ts')}';
import { configureOptions } from '${path.resolve('src/commands/init.ts')}';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
// The token as init's resume would read it (VAULT_TOKEN), but kept in memory: never this process's environment.
const ctx = createContext({ yes: true, env: { VAULT_TOKEN: input.rootToken } });
const api = new VaultApi({ address: input.address });
try {
  await configurePhase(ctx, { api, server: input.server, layout: LAYOUTS[input.flavor], paths: deploymentPaths(input.dir), name: input.name, options: configureOptions(input.flags) });
} catch (error) {
  // Not redacted here: the task runner must already have redacted the error it rethrows.
  process.stderr.write(String(error) + '\\n');
  process.exitCode = 16;
} finally {
  api.close();
}
`,
        );
        const seal = (await call({ address: d.address }, 'GET', 'sys/seal-status')).body;
        const { spawn } = await import('node:child_process');
        const child = spawn(process.execPath, [script], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += c));
        child.stderr.on('data', (c) => (stderr += c));
        const product = flavor === 'openbao' || label !== 'vault' ? 'openbao' : 'vault';
        child.stdin.end(JSON.stringify({
          address: proxy.address,
          server: { product, version: seal.version, raw: `${product} v${seal.version}` },
          flavor,
          dir: d.dir,
          name: d.name,
          flags: { secrets: echoCatalog, 'token-file': path.join(operator, 'echo-token'), 'keep-root-token': true },
          rootToken,
        }));
        const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
        assert.equal(code, 16, stderr);
        assert.ok(echoed.length >= 20, `the proxy saw the generated value (${echoed.length}): ${stderr}`);
        secrets.push(echoed);
        // Without a terminal a failed step is said once, by the error that follows it: redacted before it leaves the task.
        assert.match(stderr, /^VaultSetupError: the server refused to write secret\/leak\/echo: refusing \[redacted\]$/m);
        assert.doesNotMatch(stderr, /✖ secret\/leak\/echo/);
        assert.deepEqual(secretsIn(`${stdout}${stderr}`, secrets), []);
        runs.push({ name: 'configure through the proxy', pid: child.pid as number, stdout, stderr, envAllowed: [] });
      });

      recorder.stop();

      await t.test('outputs: only what was asked for', () => {
        const printed = [...keys, rootToken].map(idx);
        for (const r of runs) {
          // --print-keys put the shares and the root token in init's `init` member: that member only.
          const stdout = r.name === 'init' ? JSON.stringify({ ...JSON.parse(r.stdout), init: undefined }) : r.stdout;
          assert.deepEqual(secretsIn(stdout, secrets), [], `${r.name}: stdout`);
          assert.deepEqual(secretsIn(r.stderr, secrets), [], `${r.name}: stderr`);
        }
        const initRun = runs.find((r) => r.name === 'init');
        assert.deepEqual(secretsIn(initRun?.stdout ?? '', secrets).sort(), printed.sort(), 'init printed exactly the shares and the root token');
      });

      await t.test('argv and environments of every process while the commands ran', () => {
        const found = recorder.search(secrets);
        // The operator put LEAK_API_KEY (and for one verify, VAULT_TOKEN) in the CLI's own environment.
        const own = (l: (typeof found)[number]) => {
          // A pid may have been reused by a later run on a busy machine: any run that had it (or, sampled while the
          // pid changed hands, whose exact command line it shows) and was given the value.
          const same = (r: (typeof runs)[number]) => r.pid === l.pid || (r.args !== undefined && l.cmdline.trimEnd().endsWith(`src/cli.ts ${r.args}`));
          return l.where.endsWith('/environ') && runs.some((r) => same(r) && r.envAllowed.includes(secrets[l.secret] as string));
        };
        assert.deepEqual(found.filter((l) => !own(l)).map((l) => `${l.where} secret #${l.secret} (${l.form}): ${l.cmdline}`), []);
        assert.ok(found.some((l) => own(l) && l.secret === 0), 'control: the value the operator put in init\'s environment was seen there');
      });

      await t.test('files (deployment, $HOME, temp dirs), the container log, docker inspect', async () => {
        const leaks = await findLeaks({
          secrets,
          dirs: [d.dir, home, tmp],
          recentDirs: [os.tmpdir()],
          since,
          containers: [d.name],
          exclude: [operator],
        });
        assert.deepEqual(leaks, []);
      });
    });
  });
}
