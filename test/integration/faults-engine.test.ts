// The engine goes away before and during init: a clear error naming the step and the next action, nothing lost,
// and a re-run resumes once the engine is back. Uses a private engine so other suites keep theirs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { testDeployment } from '../helpers/deployment.ts';
import { privateEngine } from '../helpers/engine.ts';
import { ROOT, rig } from '../helpers/rig.ts';

describe('faults: the Docker Engine goes away', () => {
  it('before init: exit 3 and nothing written; during init: exit 3 naming the engine; after restart init resumes', async () => {
    const image = rig().openbaoImage;
    await using engine = await privateEngine([image]);
    await using d = await testDeployment('engine');
    const env = { DOCKER_HOST: engine.host };
    const args = ['init', ...d.args('openbao', image), '--deploy-only'];

    await engine.stop();
    const before = await runCli([...args, '--json'], { env });
    assert.equal(before.code, 3, before.stderr);
    assert.match(before.stderr, /Docker Engine is unreachable/);
    assert.match(before.stderr, /start Docker/);
    assert.deepEqual(fs.readdirSync(d.dir), []);

    // During init: freeze init right after it wrote its files, stop the engine, let init go on.
    await engine.start();
    const child = spawn(process.execPath, [`${ROOT}src/cli.ts`, ...args, '--wait', '60s'], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let frozen = false;
    const sawStart = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (!frozen && /✔ Write docker-compose\.yml/.test(stderr)) {
          frozen = true;
          child.kill('SIGSTOP');
          resolve();
        }
      });
    });
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await Promise.race([sawStart, exited]);
    await engine.stop();
    child.kill('SIGCONT');
    const code = await exited;
    assert.equal(code, 3, stderr);
    assert.match(stderr, /Docker Engine (went away|is unreachable)/);
    assert.match(stderr, /vault-setup resumes where it stopped/);
    assert.doesNotMatch(stderr, /internal error/);
    const written = fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8');

    // The engine is back (a reboot): the restart policy brings the container back; init resumes and changes nothing.
    await engine.start();
    const resumed = await runCli([...args, '--json'], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    const result = resumed.json();
    assert.equal(result.initialized, false);
    assert.equal(fs.readFileSync(path.join(d.dir, 'docker-compose.yml'), 'utf8'), written);
    assert.equal(result.steps.find((s: { id: string }) => s.id === 'files').status, 'kept');
    const health = await fetch(`${d.address}/v1/sys/seal-status`).then((r) => r.json());
    assert.equal(health.initialized, false);
  });
});
