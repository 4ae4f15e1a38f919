// A private Docker Engine for fault tests: its own socket, data root and exec root, so a test can stop and
// restart "the engine" without disturbing the engine every other test uses.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PrivateEngine extends AsyncDisposable {
  host: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  docker(...args: string[]): string;
}

export async function privateEngine(images: string[]): Promise<PrivateEngine> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-engine-'));
  const socket = path.join(root, 'docker.sock');
  const host = `unix://${socket}`;
  let child: ChildProcess | undefined;
  // Its own bridge: a dockerd started with `--bridge none` deletes the host's docker0, which the main engine needs.
  const bridge = `vs${path.basename(root).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const subnet = `10.213.${Math.floor(Math.random() * 250) + 1}`;
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const env = { ...process.env, DOCKER_HOST: host };
  const docker = (...args: string[]) => execFileSync('docker', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  const engine: PrivateEngine = {
    host,
    docker,
    async start() {
      const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
      child = spawn(
        'dockerd',
        ['-H', host, '--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'), '--pidfile', path.join(root, 'docker.pid'), '--bridge', bridge, '--iptables=false', '--ip-masq=false'],
        { stdio: ['ignore', log, log] },
      );
      for (let i = 0; i < 120; i++) {
        try {
          docker('info', '--format', '{{.ServerVersion}}');
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      throw new Error(`private dockerd did not start: ${fs.readFileSync(path.join(root, 'dockerd.log'), 'utf8').slice(-2000)}`);
    },
    async stop() {
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM'); // a graceful engine stop takes its containers down, as a host shutdown does
      await exited;
    },
    async [Symbol.asyncDispose]() {
      try {
        const ids = docker('ps', '-aq').trim();
        if (ids) docker('rm', '-f', ...ids.split('\n'));
      } catch {
        // the engine may be stopped already
      }
      await engine.stop();
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      // A stopped engine can leave mounts (netns, overlay) under its root for a moment: detach them before removing.
      const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${root}/`));
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
  await engine.start();
  for (const image of images) {
    execFileSync('sh', ['-c', `docker save "${image}" | DOCKER_HOST="${host}" docker load -q`], { stdio: 'ignore' });
  }
  return engine;
}
