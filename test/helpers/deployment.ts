// A throwaway deployment: temp dir, unique name, free port; removed (container, files) when disposed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestDeployment extends AsyncDisposable {
  dir: string;
  name: string;
  port: number;
  address: string;
  /** init flags that point at this deployment. */
  args(flavor: string, image: string): string[];
}

// Below the kernel's ephemeral range (32768+): with host networking every client socket on this machine takes
// ephemeral ports on loopback, so a port picked there can be taken again before the server binds it.
function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if ((await canBind(port, '127.0.0.1')) && (await canBind(port, '127.0.0.2'))) return port;
  }
  throw new Error('no free port found in 20000-31999');
}

export async function testDeployment(label = 'vs'): Promise<TestDeployment> {
  const id = randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vs-${label}-`));
  const name = `vstest-${label}-${id}`;
  const port = await freePort();
  return {
    dir,
    name,
    port,
    address: `http://127.0.0.1:${port}`,
    args: (flavor, image) => ['--dir', dir, '--flavor', flavor, '--image', image, '--name', name, '--port', String(port)],
    async [Symbol.asyncDispose]() {
      removeContainers(name);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function removeContainers(project: string): void {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).trim();
  if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')], { stdio: 'ignore' });
  // compose also made a network per project; left behind they exhaust Docker's address pools (~30 networks).
  const networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' }).trim();
  if (networks) execFileSync('docker', ['network', 'rm', ...networks.split('\n')], { stdio: 'ignore' });
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
