// One look at a deployment without any token: what the server answers (sys/health), what Docker says about the
// container, the certificate the listener serves, the newest snapshot on disk, and verify's token-less checks.
// Every fact that cannot be had is recorded as such; nothing here throws for a server that is down.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Context } from '../context.ts';
import type { DeploymentRecord } from '../deployment.ts';
import { deploymentPaths } from '../deployment.ts';
import { SERVICE } from '../services/templates.ts';
import type { HealthStatus } from '../services/vault-api.ts';
import { Probe } from '../verify/probe.ts';
import { escapeControls } from '../errors.ts';
import { type CheckFn, runChecks } from '../verify/report.ts';
import type { CheckGroup } from '../verify/types.ts';

export interface Observation {
  at: number;
  host: string;
  address: string;
  reachable: boolean;
  error?: string | undefined;
  initialized?: boolean | undefined;
  sealed?: boolean | undefined;
  role?: 'active' | 'standby' | undefined;
  version?: string | undefined;
  /** When the container last started (Docker), to tell a restart from an operator's seal. */
  containerStartedAt?: string | undefined;
  /** The deployment's container as Docker sees it (undefined with --addr, or when Docker cannot be asked). */
  container?: ContainerView | undefined;
  certificate?: { notAfter: string } | { error: string } | undefined;
  /** Newest *.snap in the backups directory; undefined when there is none yet. */
  snapshot?: { file: string; at: number } | undefined;
  verifyFailures: { id: string; finding: string; fix: string }[];
}

export type ContainerView = { name: string; status: 'missing' } | { name: string; status: string; exitCode: number; startedAt?: string | undefined };

export interface WatchTarget {
  dir: string | undefined;
  deployment: DeploymentRecord | undefined;
  name: string | undefined;
  address: string;
  caCert: string | undefined;
  backupsDir: string | undefined;
  /** A cluster node's private address: its API answers there by design (verify's network checks know it). */
  clusterAdvertise?: string | undefined;
  /** The app init recorded (verify's checks name it). */
  app?: string | undefined;
}

const ANY_STATUS = [400, 401, 403, 404, 429, 500, 501, 502, 503];

export async function observe(ctx: Context, target: WatchTarget, checks: [CheckGroup, CheckFn[]][]): Promise<Observation> {
  const probe = new Probe({
    ctx,
    paths: target.dir === undefined ? undefined : deploymentPaths(target.dir),
    deployment: target.deployment,
    address: target.address,
    caCert: target.caCert,
    token: undefined,
    tokenSource: '',
    app: target.app ?? 'openclaw',
    clusterAdvertise: target.clusterAdvertise,
    catalog: { paths: [], source: 'none' },
  });
  try {
    const at = ctx.clock.now();
    const [health, container, certificate, snapshot] = await Promise.all([
      health_(probe),
      containerView(ctx, target.name),
      target.address.startsWith('https:') ? servedCertificate(target.address, target.caCert) : Promise.resolve(undefined),
      target.backupsDir === undefined ? Promise.resolve(undefined) : newestSnapshot(target.backupsDir),
    ]);
    const base: Observation = { at, host: os.hostname(), address: target.address, reachable: health.ok, verifyFailures: [], container, containerStartedAt: container !== undefined && 'startedAt' in container ? container.startedAt : undefined, certificate, snapshot };
    if (!health.ok) return { ...base, error: health.error };
    const h = health.health;
    const observation: Observation = { ...base, initialized: h.initialized, sealed: h.sealed, role: h.standby ? 'standby' : 'active', version: h.version === undefined ? undefined : escapeControls(String(h.version)) };
    // verify's findings mean something only while the server serves; a sealed server is one problem, not ten.
    if (h.initialized && !h.sealed && checks.length > 0) {
      const results = await runChecks(probe, checks, ctx.redactor);
      observation.verifyFailures = results.filter((r) => r.status === 'fail').map((r) => ({ id: `${r.group}/${r.id}`, finding: r.finding, fix: r.fix }));
    }
    return observation;
  } finally {
    probe.close();
  }
}

async function health_(probe: Probe): Promise<{ ok: true; health: HealthStatus } | { ok: false; error: string }> {
  try {
    const res = await probe.api.request<HealthStatus>('GET', 'sys/health?uninitcode=200&sealedcode=200&standbycode=200&perfstandbyok=true', { accept: ANY_STATUS, retry: false });
    if (typeof res.body?.initialized !== 'boolean') return { ok: false, error: `sys/health answered ${res.status} without a status` };
    return { ok: true, health: res.body };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

async function containerView(ctx: Context, name: string | undefined): Promise<ContainerView | undefined> {
  if (name === undefined) return undefined;
  try {
    const found = await ctx.docker.findService(name, SERVICE);
    if (found === undefined) return { name, status: 'missing' };
    const info = await ctx.docker.inspect(found.id);
    return { name: info.name, status: info.state, exitCode: info.exitCode, startedAt: info.running ? info.startedAt : undefined };
  } catch {
    return undefined;
  }
}

/** The certificate the listener serves (read even when it has expired, so the expiry can be reported). */
export function servedCertificate(address: string, caCert: string | undefined): Promise<{ notAfter: string } | { error: string }> {
  const url = new URL(address);
  return new Promise((resolve) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port || 443), servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname, rejectUnauthorized: false, ...(caCert ? { ca: caCert } : {}) }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert?.valid_to ? { notAfter: new Date(cert.valid_to).toISOString() } : { error: 'the listener sent no certificate' });
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
  });
}

/** The newest snapshot file (by modification time) in the backups directory. */
export async function newestSnapshot(dir: string): Promise<{ file: string; at: number } | undefined> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return undefined;
  }
  let newest: { file: string; at: number } | undefined;
  for (const name of names.filter((n) => n.endsWith('.snap') && !n.startsWith('.'))) {
    const file = path.join(dir, name);
    try {
      const stat = await fs.stat(file);
      if (stat.isFile() && (newest === undefined || stat.mtimeMs > newest.at)) newest = { file, at: stat.mtimeMs };
    } catch {
      // removed meanwhile
    }
  }
  return newest;
}
