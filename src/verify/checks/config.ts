// Configuration, seen with the operator's token (the app's, normally): KV v2, the catalog's paths (metadata
// only: versions, never values), the token itself, its capabilities, and an audit device. Without a token
// every check here is `skip`, never `pass`.
import { blocks } from '../hcl.ts';
import type { Probe, TokenInfo } from '../probe.ts';
import { type CheckResult, fail, pass, skip, warn } from '../types.ts';
import { auditLog } from './hardening.ts';

type TokenState = { state: 'valid'; info: TokenInfo } | { state: 'no-lookup' } | { state: 'invalid' };

/** Why the token checks cannot run, or undefined when they can. */
async function gate(p: Probe): Promise<string | undefined> {
  if (p.token === undefined) return 'no token (set VAULT_TOKEN or BAO_TOKEN, or pass --token-file)';
  return p.serving();
}

function tokenState(p: Probe): Promise<TokenState> {
  return p.memo('token-state', async (): Promise<TokenState> => {
    const res = await p.lookupSelf();
    if (res?.status === 200 && res.body?.data !== undefined) return { state: 'valid', info: res.body.data };
    // lookup-self comes from the default policy; a least-privilege token may lack it. If it can read its own
    // catalog it is alive; if it can do nothing at all, the server no longer knows it.
    const probe = await metadata(p, p.catalog.paths[0] ?? OUTSIDE_NAME);
    return probe?.status === 200 || probe?.status === 404 ? { state: 'no-lookup' } : { state: 'invalid' };
  });
}

const metadata = (p: Probe, secretPath: string) => p.withToken<{ data?: KvMetadata }>('GET', `secret/metadata/${secretPath}`);

interface KvMetadata {
  current_version?: number;
  versions?: Record<string, { deletion_time?: string; destroyed?: boolean }>;
}

/** The token checks' common start: a skip result, or the token's state when it is usable. */
async function usable(p: Probe, id: string): Promise<{ result: CheckResult } | { token: Exclude<TokenState, { state: 'invalid' }> }> {
  const reason = await gate(p);
  if (reason !== undefined) return { result: skip(id, reason) };
  const token = await tokenState(p);
  if (token.state === 'invalid') return { result: skip(id, 'the token is not valid') };
  return { token };
}

export async function tokenValid(p: Probe): Promise<CheckResult> {
  const id = 'token-valid';
  const reason = await gate(p);
  if (reason !== undefined) return skip(id, reason);
  const token = await tokenState(p);
  if (token.state === 'invalid') {
    return fail(id, `the token from ${p.tokenSource} is not valid (expired or revoked): the server answers 403 to everything`, 'issue a new app token (vault-setup init re-run, or vault token create -policy=<app>) and update the app');
  }
  if (token.state === 'no-lookup') return pass(id, `the token from ${p.tokenSource} works (it may not look itself up)`);
  const name = token.info.display_name ? ` (${token.info.display_name})` : '';
  return pass(id, `the token from ${p.tokenSource} is valid${name}`);
}

export async function kvEngine(p: Probe): Promise<CheckResult> {
  const id = 'kv-v2';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  // What `vault kv` itself asks: any token with some access under secret/ may read its mount's type.
  const mount = await p.withToken<{ data?: { type?: string; options?: { version?: string } | null } }>('GET', 'sys/internal/ui/mounts/secret');
  const data = mount?.status === 200 ? mount.body?.data : undefined;
  if (data?.type !== undefined) {
    if (data.type === 'kv' && String(data.options?.version ?? '1') === '2') return pass(id, 'secret/ is a KV version 2 engine');
    return fail(id, `secret/ is ${data.type === 'kv' ? 'KV version 1' : `a ${data.type} engine`}, not KV version 2`, 'move it away and mount KV v2 there (vault secrets enable -path=secret kv-v2), then re-seed');
  }
  if (p.catalog.paths.length === 0) return skip(id, `no catalog paths (catalog: ${p.catalog.source}): the app's token reads nothing under secret/, so it cannot see the engine`);
  const probe = await metadata(p, p.catalog.paths[0] as string);
  if (probe?.status === 200) return pass(id, 'secret/ answers KV v2 metadata reads');
  return fail(id, 'no KV v2 engine at secret/ is visible to this token', 'mount it (vault-setup init configures it), or check the token\'s policy');
}

export async function catalogPaths(p: Probe): Promise<CheckResult> {
  const id = 'catalog-paths';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  if (p.catalog.paths.length === 0) return pass(id, `no catalog paths to check (catalog: ${p.catalog.source})`);
  const answers = await Promise.all(p.catalog.paths.map(async (secretPath) => ({ secretPath, res: await metadata(p, secretPath) })));
  const missing: string[] = [];
  const deleted: string[] = [];
  const denied: string[] = [];
  const present: string[] = [];
  // A path skipped whole at init and written since (by any client) is no longer skipped.
  const skipped = new Map([...(p.catalog.skipped ?? [])].filter(([s, v]) => !v.all || answers.find((a) => a.secretPath === s)?.res?.status === 404));
  for (const { secretPath, res } of answers) {
    if (res?.status === 404 && skipped.get(secretPath)?.all === true) continue; // skipped on purpose: a warning below
    if (res?.status === 404) missing.push(secretPath);
    else if (res?.status !== 200) denied.push(secretPath);
    else {
      const meta = res.body?.data ?? {};
      const current = meta.current_version ?? 0;
      const v = meta.versions?.[String(current)];
      if (current === 0 || v === undefined || v.destroyed === true || (v.deletion_time ?? '') !== '') deleted.push(`${secretPath} (v${current})`);
      else present.push(`${secretPath} v${current}`);
    }
  }
  const problems = [
    missing.length ? `missing: ${missing.map((s) => `secret/${s}`).join(', ')}` : '',
    deleted.length ? `current version deleted: ${deleted.map((s) => `secret/${s}`).join(', ')}` : '',
    denied.length ? `the token cannot read the metadata of ${denied.map((s) => `secret/${s}`).join(', ')}` : '',
  ].filter(Boolean);
  const from = `catalog: ${p.catalog.source}`;
  const skippedText = skipped.size === 0 ? '' : `; skipped at init: ${[...skipped].map(([s, v]) => (v.all ? `secret/${s}` : `secret/${s} (${v.fields.join(', ')})`)).join(', ')}`;
  if (problems.length > 0) {
    return fail(id, `${problems.join('; ')}${skippedText} (${present.length}/${p.catalog.paths.length} present, ${from})`, missing.length || deleted.length ? 'seed them: vault-setup init --secrets <catalog> (creates only what is missing)' : "grant read on secret/metadata/<path> in the app's policy");
  }
  if (skipped.size > 0) {
    const [first, v] = [...skipped][0] as [string, { fields: string[]; all: boolean }];
    return warn(id, `${present.length}/${p.catalog.paths.length} paths present${skippedText.replace(/^; /, ', ')} (${from})`, `write them when you have the values, e.g. vault-setup secret put secret/${first} ${v.fields.join(' ')}${v.all ? '' : ' --overwrite (with all its fields)'}`);
  }
  return pass(id, `${present.length}/${p.catalog.paths.length} paths present: ${present.join(', ')} (${from})`);
}

export async function tokenNotRoot(p: Probe): Promise<CheckResult> {
  const id = 'token-not-root';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  if (u.token.state === 'no-lookup') return pass(id, 'not root (it cannot even look itself up)');
  if (u.token.info.policies?.includes('root')) {
    return fail(id, 'the token is a root token: it can do everything, including reading every secret and unsealing nothing stops it', 'give the app a scoped token (vault-setup init issues one) and revoke this one (vault token revoke -self)');
  }
  return pass(id, `not root (policies: ${(u.token.info.policies ?? []).join(', ') || 'none'})`);
}

export async function tokenPolicies(p: Probe): Promise<CheckResult> {
  const id = 'token-policies';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  if (u.token.state === 'no-lookup') return skip(id, 'the token cannot look itself up (auth/token/lookup-self not granted)');
  const policies = u.token.info.policies ?? [];
  if (policies.includes('root')) return skip(id, 'root token (see token-not-root)');
  const notes: string[] = [];
  if (policies.includes('default')) notes.push('it carries the default policy (cubbyhole, token self-management, sys/capabilities-self, …)');
  if (!policies.includes(p.app)) notes.push(`it does not carry the policy "${p.app}" (--app)`);
  if (notes.length > 0) return warn(id, `${notes.join('; ')}: policies ${policies.join(', ') || 'none'}`, `issue the app token with only -policy=${p.app} and -no-default-policy (unless the default policy is intended)`);
  return pass(id, `policies: ${policies.join(', ')} (no default policy)`);
}

export async function tokenTtl(p: Probe): Promise<CheckResult> {
  const id = 'token-ttl';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  if (u.token.state === 'no-lookup') return skip(id, 'the token cannot look itself up (auth/token/lookup-self not granted)');
  const { ttl = 0, creation_ttl: creation = 0, renewable, policies = [] } = u.token.info;
  if (policies.includes('root')) return skip(id, 'root token (see token-not-root)');
  if (ttl === 0) return warn(id, 'the token never expires', 'issue the app token with a TTL (vault-setup init --token-ttl 720h) and renew it from the app');
  const left = formatSeconds(ttl);
  if (creation > 0 && ttl < creation * 0.1) {
    return warn(id, `${left} left of ${formatSeconds(creation)} (under 10%)${renewable ? '' : ', not renewable'}`, renewable ? 'renew it now (vault token renew) or issue a new one' : 'issue a new app token before it expires');
  }
  return pass(id, `${left} left${creation > 0 ? ` of ${formatSeconds(creation)}` : ''}${renewable ? ', renewable' : ''}`);
}

// Paths the app's token must not touch: outside its catalog under secret/, and the server's own controls.
const OUTSIDE_NAME = 'vault-setup-verify-outside-catalog';
const OUTSIDE = [`secret/data/${OUTSIDE_NAME}`, 'secret/metadata/', 'sys/mounts', 'sys/policies/acl', 'sys/audit', 'auth/token/create', 'sys/seal', 'identity/entity'];
const READ_ONLY: Record<'data' | 'metadata', string[]> = { data: ['read'], metadata: ['read', 'list'] };

export async function capabilities(p: Probe): Promise<CheckResult> {
  const id = 'capabilities';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  const own = p.catalog.paths.flatMap((s) => [`secret/data/${s}`, `secret/metadata/${s}`]);
  const res = await p.withToken<Record<string, unknown>>('POST', 'sys/capabilities-self', { paths: [...own, ...OUTSIDE] });
  if (res?.status !== 200) {
    // Without sys/capabilities-self, probe what is safe to probe: reads outside the catalog must be denied.
    const outside = await Promise.all([p.withToken('GET', `secret/metadata/${OUTSIDE_NAME}`), p.withToken('GET', 'sys/mounts')]);
    const open = outside.filter((r) => r !== undefined && r.status !== 403).length;
    if (open > 0) return fail(id, 'the token is not denied outside its catalog (reads under secret/ or sys/mounts are allowed)', 'restrict its policy to read on exactly the catalog paths');
    return warn(id, 'reads outside the catalog are denied, but write capabilities cannot be listed: sys/capabilities-self is not granted to this token', `add path "sys/capabilities-self" { capabilities = ["update"] } to the ${p.app} policy so it can be checked`);
  }
  const caps = (res.body?.data ?? res.body) as Record<string, string[]>;
  const writes: string[] = [];
  const unreadable: string[] = [];
  const open: string[] = [];
  for (const s of p.catalog.paths) {
    for (const kind of ['data', 'metadata'] as const) {
      const have = caps[`secret/${kind}/${s}`] ?? [];
      const extra = have.filter((c) => !READ_ONLY[kind].includes(c) && c !== 'deny');
      if (extra.length > 0) writes.push(`secret/${kind}/${s} (${extra.join(', ')})`);
      if (kind === 'data' && !have.includes('read') && !have.includes('root')) unreadable.push(`secret/${s}`);
    }
  }
  for (const path of OUTSIDE) {
    const have = caps[path] ?? ['deny'];
    if (!(have.length === 1 && have[0] === 'deny')) open.push(`${path} (${have.join(', ')})`);
  }
  const problems = [
    writes.length ? `it can change catalog secrets: ${writes.slice(0, 4).join('; ')}${writes.length > 4 ? ` and ${writes.length - 4} more` : ''}` : '',
    open.length ? `it is not denied outside the catalog: ${open.slice(0, 4).join('; ')}${open.length > 4 ? ` and ${open.length - 4} more` : ''}` : '',
    unreadable.length ? `it cannot read ${unreadable.join(', ')}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    return fail(id, `token too broad or too narrow: ${problems.join('; ')}`, `limit the ${p.app} policy to read on secret/data/<path> and read+list on secret/metadata/<path> for exactly the catalog`);
  }
  return pass(id, `read-only on the ${p.catalog.paths.length} catalog paths, denied on ${OUTSIDE.length} paths outside`);
}

export async function auditDevice(p: Probe): Promise<CheckResult> {
  const id = 'audit-device';
  const u = await usable(p, id);
  if ('result' in u) return u.result;
  const res = await p.withToken<{ data?: Record<string, { type?: string; options?: { file_path?: string } }> }>('GET', 'sys/audit');
  if (res?.status === 200) {
    const devices = Object.entries(res.body?.data ?? {});
    if (devices.length > 0) return pass(id, `audit device${devices.length > 1 ? 's' : ''}: ${devices.map(([k, d]) => `${k} (${d.type}${d.options?.file_path ? ` → ${d.options.file_path}` : ''})`).join(', ')}`);
    return fail(id, 'no audit device is enabled: reads of secrets leave no trace', auditFix(p));
  }
  // sys/audit needs sudo, which an app token rightly lacks: read the config and the log file instead.
  const config = await p.config();
  const declared = config.ok ? blocks(config.value, 'audit') : [];
  if (declared.length > 0) return pass(id, `declared in config/vault.hcl: ${declared.map((b) => b.labels.join(' ')).join(', ')} (sys/audit needs sudo: read from the config)`);
  const log = await auditLog(p);
  if (log.kind === 'unknown' || log.kind === 'present') {
    return warn(id, `cannot confirm an audit device: sys/audit needs sudo, and ${log.kind === 'unknown' ? log.why : `${log.rel} cannot be tested`}`, 'run verify with --dir on the host, or once with a token that may read sys/audit');
  }
  if (log.kind === 'growing') return pass(id, `the audit log ${log.rel} grows with each request (sys/audit needs sudo: judged from the log)`);
  return fail(id, `no audit device: none declared in config/vault.hcl and ${log.kind === 'absent' ? `no audit log at ${log.rel}` : `${log.rel} does not grow`}`, auditFix(p));
}

const auditFix = (p: Probe) =>
  `Vault: vault audit enable file file_path=${p.layout?.home ?? '/vault'}/logs/audit.log; OpenBao: declare audit "file" "file" { options { file_path = "${p.layout?.home ?? '/openbao'}/logs/audit.log" } } in vault.hcl and restart (vault-setup init does this)`;

export function formatSeconds(s: number): string {
  if (s >= 86400 * 2) return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}

export const CONFIG_CHECKS = [tokenValid, kvEngine, catalogPaths, tokenNotRoot, tokenPolicies, tokenTtl, capabilities, auditDevice];
