// init through Docker Compose v2 (`docker compose`), on a host whose own compose may be v1 only. The v2 plugin
// (built by scripts/build-compose-v2.sh) reaches the docker CLI through a private DOCKER_CONFIG, so no other test
// changes which compose it uses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { rig } from '../helpers/rig.ts';

describe('compose v2', () => {
  let config = '';
  let env: NodeJS.ProcessEnv = {};

  before(() => {
    const plugin = rig().composeV2;
    if (!plugin || !fs.existsSync(plugin)) {
      throw new Error(`the compose v2 plugin is missing (rig.json composeV2 = ${JSON.stringify(plugin)}): run \`RIG_COMPOSE_V2=1 bash scripts/rig.sh\``);
    }
    config = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-compose-v2-'));
    fs.mkdirSync(path.join(config, 'cli-plugins'));
    fs.symlinkSync(plugin, path.join(config, 'cli-plugins', 'docker-compose'));
    env = { DOCKER_CONFIG: config };
    // The environment really offers v2: otherwise the test below would prove nothing.
    const version = execFileSync('docker', ['compose', 'version', '--short'], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
    assert.match(version, /^v?2\./);
  });

  after(() => {
    if (config) fs.rmSync(config, { recursive: true, force: true });
  });

  it('init reaches "reachable, not initialised" through `docker compose`; a re-run changes nothing', async () => {
    const image = rig().openbaoImage;
    await using d = await testDeployment('cv2');
    const first = await runCli(['init', ...d.args('openbao', image), '--deploy-only', '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    const result = first.json();
    assert.equal(result.initialized, false);
    assert.equal(result.sealed, true);
    assert.equal(result.changed, true);
    assert.equal(result.address, d.address);
    const engine = result.steps.find((s: { id: string }) => s.id === 'engine');
    assert.equal(engine.detail, 'compose v2');

    const health = await fetch(`${d.address}/v1/sys/seal-status`).then((r) => r.json());
    assert.equal(health.initialized, false);

    // Created by compose v2 itself: its labels, including the version that made the container.
    const labels = JSON.parse(docker('inspect', '-f', '{{json .Config.Labels}}', d.name));
    assert.equal(labels['com.docker.compose.project'], d.name);
    assert.equal(labels['com.docker.compose.service'], 'server');
    assert.match(labels['com.docker.compose.version'], /^2\./);
    // The confinement the compose file asks for, as compose v2 applies it (docs/security.md's promise for v2).
    const host = JSON.parse(docker('inspect', '-f', '{{json .HostConfig}}', d.name));
    assert.equal(host.NetworkMode, 'host');
    assert.equal(host.Memory, 1024 * 1024 * 1024);
    assert.equal(host.MemorySwap, host.Memory, 'no swap');
    assert.deepEqual(host.CapDrop, ['ALL']);
    // compose v2 names them CAP_*, v1 without the prefix: the same capabilities.
    assert.deepEqual(host.CapAdd.map((c: string) => c.replace(/^CAP_/, '')).sort(), ['IPC_LOCK', 'SETGID', 'SETUID']);
    assert.equal(host.ReadonlyRootfs, true);
    assert.equal(host.PidsLimit, 1024);
    assert.deepEqual(host.SecurityOpt, ['no-new-privileges:true']);

    const containerId = docker('inspect', '-f', '{{.Id}}', d.name).trim();
    const second = await runCli(['init', ...d.args('openbao', image), '--deploy-only', '--json'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json().changed, false);
    assert.equal(docker('inspect', '-f', '{{.Id}}', d.name).trim(), containerId, 'container not recreated');
  });
});
