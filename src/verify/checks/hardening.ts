// Hardening: the rows of the production-hardening guide that one host can see
// (../shared/reference/hardening-checks.md): dev mode, process user, core dumps, secrets in the container's
// env or command, raw storage and UI, unauthenticated generate-root, versions lacking security fixes, the
// audit log, container privileges, backups.
import fs from 'node:fs/promises';
import path from 'node:path';
import { missingFixes } from '../advisories.ts';
import { blocks, truthy } from '../hcl.ts';
import type { Probe } from '../probe.ts';
import { scanText } from '../scan.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';
import { volumes } from './files.ts';

export async function devMode(p: Probe): Promise<CheckResult> {
  const id = 'dev-mode';
  const lookup = await p.container();
  const seal = await p.sealStatus();
  const service = await p.service();
  const signs: string[] = [];
  if (lookup.kind === 'found') {
    const { cmd, env } = lookup.container;
    if (cmd.some((a) => /^--?dev($|[-=])/.test(a))) signs.push(`the command is "${cmd.filter((a) => /^-/.test(a) || a === 'server').join(' ')}"`);
    const devEnv = env.map((e) => e.split('=')[0] as string).filter((n) => /_DEV_(ROOT_TOKEN_ID|LISTEN_ADDRESS)$/.test(n));
    if (devEnv.length > 0) signs.push(`the environment sets ${devEnv.join(', ')}`);
  }
  if (service !== undefined && service.command === undefined && service.entrypoint === undefined) signs.push('docker-compose.yml sets no command, and the official images default to `server -dev`');
  if (seal?.storage_type === 'inmem') signs.push('the server reports in-memory storage');
  if (signs.length > 0) return fail(id, `dev mode: ${signs.join('; ')} (a known root token, nothing persisted)`, 'run `server -config=<home>/config/vault.hcl` (vault-setup init writes it)');
  if (lookup.kind !== 'found' && seal === undefined) return skip(id, 'neither the container nor the server can be seen');
  return pass(id, `production server mode${seal?.storage_type ? ` (${seal.storage_type} storage)` : ''}`);
}

export async function nonRoot(p: Probe): Promise<CheckResult> {
  const id = 'non-root';
  const proc = await p.process();
  if (proc === undefined || proc.uid === undefined) return skip(id, 'the server process is not visible (container not running, or Docker runs elsewhere)');
  if (proc.uid === 0) return fail(id, `the server process ${proc.name} (pid ${proc.pid}) runs as root`, 'use the image entrypoint (it drops to the server user), or set user: "100:1000" and pre-chown data/ and logs/');
  return pass(id, `${proc.name} runs as uid ${proc.uid} (${proc.via})`);
}

export async function coreDumps(p: Probe): Promise<CheckResult> {
  const id = 'core-dumps';
  const proc = await p.process();
  const lookup = await p.container();
  if (proc?.coreLimit !== undefined) {
    if (proc.coreLimit === 0) return pass(id, `core dumps off (${proc.via}/limits: 0)`);
    return warn(id, `core dumps allowed (limit ${proc.coreLimit === Number.POSITIVE_INFINITY ? 'unlimited' : proc.coreLimit}): a crash can write keys from memory to disk`, 'add `ulimits: { core: 0 }` to the service in docker-compose.yml and recreate');
  }
  if (lookup.kind !== 'found') return skip(id, 'no container to look at');
  const core = lookup.container.ulimits.find((u) => u.Name === 'core');
  if (core !== undefined && core.Soft === 0 && core.Hard === 0) return pass(id, 'core dumps off (container ulimit core=0)');
  return warn(id, 'the container does not set ulimit core=0 and the process limits are not visible', 'add `ulimits: { core: 0 }` to the service in docker-compose.yml');
}

// Names that hold credentials; *_ADDR, *_PATH and *_FILE point at them and are fine.
const SECRET_NAME = /(TOKEN|SECRET|PASSW(OR)?D|UNSEAL|PRIVATE|(^|_)KEYS?$|ROOT_TOKEN_ID)/i;
const POINTER_NAME = /_(ADDR|PATH|FILE|URL)$/i;

export async function envSecrets(p: Probe): Promise<CheckResult> {
  const id = 'env-secrets';
  const lookup = await p.container();
  const service = await p.service();
  const env: string[] = lookup.kind === 'found' ? lookup.container.env : [];
  const composeEnv = service?.environment;
  const fromCompose = Array.isArray(composeEnv) ? (composeEnv as string[]) : Object.entries((composeEnv ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}=${v ?? ''}`);
  const names = new Set<string>();
  for (const entry of [...env, ...fromCompose]) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    if (value === '') continue;
    if ((SECRET_NAME.test(name) && !POINTER_NAME.test(name)) || scanText(value).hits.length > 0) names.add(name);
  }
  const args = lookup.kind === 'found' ? [...lookup.container.entrypoint, ...lookup.container.cmd] : ((service?.command as string[] | string | undefined) === undefined ? [] : [String(service?.command)]);
  const argHits = scanText(args.join('\n')).hits.length > 0 || args.some((a) => /root-token-id|-token=|-key=/.test(a));
  if (lookup.kind !== 'found' && service === undefined) return skip(id, 'neither the container nor docker-compose.yml can be read');
  if (names.size > 0 || argHits) {
    const what = [names.size ? `the environment holds ${[...names].join(', ')}` : '', argHits ? 'the command line holds a token or key' : ''].filter(Boolean).join('; ');
    return fail(id, `${what} (values not shown): anyone who can run docker inspect reads it`, 'remove it from docker-compose.yml and recreate the container; revoke or rotate what was exposed');
  }
  return pass(id, 'no token or key in the container environment or command');
}

/** The running config when the token may read it (sys/config/state/sanitized), else undefined. */
async function sanitized(p: Probe): Promise<Record<string, unknown> | undefined> {
  if (p.token === undefined || (await p.serving()) !== undefined) return undefined;
  const res = await p.withToken<{ data?: Record<string, unknown> }>('GET', 'sys/config/state/sanitized');
  return res?.status === 200 ? res.body?.data : undefined;
}

/** A boolean setting as the running server reports it (sanitised config), else as config/vault.hcl declares it. */
async function setting(p: Probe, running: string, declared: string): Promise<{ on: boolean | undefined; from: string }> {
  const live = await sanitized(p);
  if (live !== undefined) return { on: live[running] === true, from: 'the running config' };
  const config = await p.config();
  return { on: config.ok ? truthy(config.value.attrs[declared]) : undefined, from: 'config/vault.hcl' };
}

export async function rawStorage(p: Probe): Promise<CheckResult> {
  const id = 'raw-storage';
  const { on, from } = await setting(p, 'raw_storage_endpoint', 'raw_storage_endpoint');
  if (on === undefined) return skip(id, 'config/vault.hcl cannot be read');
  if (on) return fail(id, `raw_storage_endpoint is on (${from}): sys/raw reads and writes storage under the ACLs`, 'remove raw_storage_endpoint from vault.hcl and restart');
  return pass(id, `raw storage endpoint off (${from})`);
}

export async function ui(p: Probe): Promise<CheckResult> {
  const id = 'ui';
  const { on } = await setting(p, 'enable_ui', 'ui');
  if (on === undefined) return skip(id, 'config/vault.hcl cannot be read');
  if (on) return warn(id, 'the web UI is on: more surface on the API port', 'set ui = false in vault.hcl unless you use it (through the tunnel)');
  return pass(id, 'web UI off');
}

export async function generateRoot(p: Probe): Promise<CheckResult> {
  const id = 'generate-root';
  const res = await p.call('GET', 'sys/generate-root/attempt');
  if (res === undefined) return skip(id, 'the API is not reachable');
  if (res.status === 200) {
    const product = await p.product();
    if (product?.product === 'openbao') {
      return warn(id, 'unauthenticated sys/generate-root is open (disable_unauthed_generate_root_endpoints = false): anyone reaching the port can start or cancel a root-token generation', 'remove that listener setting unless a recovery is under way');
    }
    return warn(
      id,
      `unauthenticated sys/generate-root is open: ${product ? `Vault ${product.version}` : 'this Vault'} allows it by design (CVE-2026-5807: anyone reaching the port can block or cancel a root-token generation); the loopback binding limits who can`,
      'keep the port on 127.0.0.1; Vault 2.0 requires a token for it (OpenBao 2.5.3+ refuses it)',
    );
  }
  if (res.status >= 500) return skip(id, `the server answered ${res.status}`);
  return pass(id, `unauthenticated sys/generate-root refused (${res.status})`);
}

export async function knownFixes(p: Probe): Promise<CheckResult> {
  const id = 'security-fixes';
  const product = await p.product();
  if (product === undefined) return skip(id, 'the server version is not known');
  const name = product.product === 'openbao' ? 'OpenBao' : 'Vault';
  const missing = missingFixes(product.product, product.version);
  if (missing.length === 0) return pass(id, `${name} ${product.version}: no fix from vault-setup's advisory table missing`);
  const newest = missing.map((a) => a.fixedIn).sort((a, b) => (a < b ? 1 : -1))[0];
  return warn(
    id,
    `${name} ${product.version} lacks fixes for ${missing.map((a) => `${a.ids.join('/')} (${a.what}; fixed in ${a.fixedIn}; ${a.source.split(',')[0]})`).join('; ')}`,
    `upgrade the image to ${name} ${newest} or later${product.product === 'vault' ? ' (or OpenBao)' : ''}; until then keep the port on loopback and privileged tokens revoked`,
  );
}

export type AuditLogState =
  | { kind: 'growing'; rel: string }
  | { kind: 'static'; rel: string }
  | { kind: 'present'; rel: string; why: string }
  | { kind: 'absent'; rel: string }
  | { kind: 'unknown'; rel: string; why: string };

/** Where the file audit device writes on the host, and whether an audited request makes it grow. */
export function auditLog(p: Probe): Promise<AuditLogState> {
  return p.memo('audit-log', async (): Promise<AuditLogState> => {
    const layout = await p.serverLayout();
    const config = await p.config();
    const stanza = config.ok ? blocks(config.value, 'audit').find((b) => b.labels[0] === 'file') : undefined;
    const options = stanza?.body.blocks.find((b) => b.type === 'options')?.body.attrs ?? (stanza?.body.attrs.options as Record<string, unknown> | undefined);
    let inContainer = typeof options?.file_path === 'string' ? options.file_path : undefined;
    if (inContainer === undefined && p.token !== undefined) {
      const res = await p.withToken<{ data?: Record<string, { type?: string; options?: { file_path?: string } }> }>('GET', 'sys/audit');
      inContainer = Object.values(res?.body?.data ?? {}).find((d) => d.type === 'file')?.options?.file_path;
    }
    inContainer ??= `${layout.home}/logs/audit.log`;
    if (!inContainer.startsWith('/')) return { kind: 'unknown', rel: inContainer, why: `the audit device writes to ${inContainer}, not a file` };
    const host = await hostPath(p, inContainer);
    if (host === undefined) return { kind: 'unknown', rel: inContainer, why: `${inContainer} is not on a volume this host can see` };
    const rel = p.paths ? path.relative(p.paths.dir, host) : host;
    const before = await fs.stat(host).catch(() => undefined);
    if (before === undefined) return { kind: 'absent', rel };
    const notServing = await p.serving();
    if (notServing !== undefined) return { kind: 'present', rel, why: notServing };
    // A request without a token is denied, and the denial is audited: the file must grow.
    await p.call('GET', 'auth/token/lookup-self');
    const after = await fs.stat(host).catch(() => undefined);
    return (after?.size ?? 0) > before.size ? { kind: 'growing', rel } : { kind: 'static', rel };
  });
}

async function hostPath(p: Probe, inContainer: string): Promise<string | undefined> {
  const lookup = await p.container();
  const mounts = lookup.kind === 'found' ? lookup.container.mounts : [];
  const declared = volumes(await p.service()).map((v) => ({ source: p.paths && v.source.startsWith('.') ? path.resolve(p.paths.dir, v.source) : v.source, destination: v.target }));
  for (const m of [...mounts, ...declared]) {
    const dest = m.destination.replace(/\/+$/, '');
    if (inContainer === dest || inContainer.startsWith(`${dest}/`)) return path.join(m.source, inContainer.slice(dest.length));
  }
  return p.paths ? path.join(p.paths.logsDir, path.basename(inContainer)) : undefined;
}

export async function auditLogGrowing(p: Probe): Promise<CheckResult> {
  const id = 'audit-log';
  if (p.paths === undefined) return skip(id, 'no deployment directory (only --addr)');
  const log = await auditLog(p);
  switch (log.kind) {
    case 'growing':
      return pass(id, `${log.rel} is present and grows with each request`);
    case 'static':
      return fail(id, `${log.rel} did not grow after an audited request: no audit device writes to it`, 'enable a file audit device writing there (vault-setup init does), then re-run verify');
    case 'absent':
      return fail(id, `no audit log at ${log.rel}: requests are not being recorded`, 'enable a file audit device (vault-setup init does), then re-run verify');
    case 'present':
      return warn(id, `${log.rel} is present; whether it grows cannot be tested (${log.why})`, 'unseal the server and re-run verify');
    case 'unknown':
      return skip(id, log.why);
  }
}

export async function containerPrivileges(p: Probe): Promise<CheckResult> {
  const id = 'container-privileges';
  const lookup = await p.container();
  if (lookup.kind !== 'found') return skip(id, 'no container to look at');
  const c = lookup.container;
  if (c.privileged) return fail(id, 'the container runs privileged: root in it is root on the host', 'remove `privileged: true` from docker-compose.yml');
  const extra = c.capAdd.filter((cap) => !/^(CAP_)?IPC_LOCK$/.test(cap));
  const notes: string[] = [];
  if (extra.length > 0) notes.push(`extra capabilities: ${extra.join(', ')}`);
  if (!c.securityOpt.some((o) => /^no-new-privileges(:true|=true)?$/.test(o))) notes.push('no-new-privileges is not set');
  if (notes.length > 0) return warn(id, notes.join('; '), 'drop extra cap_add entries and add `security_opt: ["no-new-privileges:true"]` to the service');
  return pass(id, `not privileged, no extra capabilities${c.capAdd.length ? ` (IPC_LOCK only)` : ''}, no-new-privileges`);
}

/** Swapped-out pages of the server's memory (keys, tokens) land on disk unencrypted. */
export async function swap(p: Probe): Promise<CheckResult> {
  const id = 'swap';
  const swaps = await fs.readFile('/proc/swaps', 'utf8').catch(() => undefined);
  if (swaps === undefined) return skip(id, '/proc/swaps is not readable');
  const devices = swaps.trim().split('\n').length - 1;
  if (devices === 0) return pass(id, 'no swap on this host');
  const proc = await p.process();
  if (proc !== undefined && proc.via.startsWith('/proc/')) {
    // cgroup v2: memory.swap.max = 0 keeps this container out of swap whatever the host does.
    const cgroup = await fs.readFile(`/proc/${proc.pid}/cgroup`, 'utf8').catch(() => '');
    const v2 = /^0::(\S+)$/m.exec(cgroup)?.[1];
    const max = v2 === undefined ? undefined : await fs.readFile(`/sys/fs/cgroup${v2}/memory.swap.max`, 'utf8').catch(() => undefined);
    if (max?.trim() === '0') return pass(id, `the host swaps (${devices} device${devices > 1 ? 's' : ''}), but this container may not (memory.swap.max = 0)`);
  }
  return warn(id, `the host has swap (${devices} device${devices > 1 ? 's' : ''}) and the container may use it: secrets in memory can reach the disk`, 'swapoff -a (and remove swap from /etc/fstab), or give the service memswap_limit equal to mem_limit');
}

export async function backups(p: Probe): Promise<CheckResult> {
  const id = 'backup';
  if (p.paths === undefined) return skip(id, 'no deployment directory (only --addr)');
  const dir = path.join(p.paths.dir, 'backups');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const snaps = await Promise.all(names.filter((n) => n.endsWith('.snap')).map(async (n) => (await fs.stat(path.join(dir, n))).mtimeMs));
  if (snaps.length === 0) return warn(id, 'no snapshot in backups/: losing data/ loses every secret', 'vault-setup backup (and copy the snapshot off this host)');
  const ageDays = (p.ctx.clock.now() - Math.max(...snaps)) / 86_400_000;
  if (ageDays > 7) return warn(id, `the newest snapshot in backups/ is ${Math.floor(ageDays)} days old`, 'vault-setup backup (schedule it, e.g. daily from cron)');
  return pass(id, `newest snapshot in backups/ is ${ageDays < 1 ? 'from today' : `${Math.floor(ageDays)} day(s) old`}`);
}

export const HARDENING_CHECKS = [devMode, nonRoot, coreDumps, envSecrets, rawStorage, ui, generateRoot, knownFixes, auditLogGrowing, containerPrivileges, swap, backups];
