// `vault-setup verify`: one report that says whether a deployment is healthy and safe, one finding and one fix
// per check. Exit 0 when nothing fails (warnings are listed), 13 when something fails, 14 for warnings with --strict.
import path from 'node:path';
import type { Context } from '../context.ts';
import { type DeploymentRecord, defaultDir, deploymentPaths, loadDeployment } from '../deployment.ts';
import { VaultSetupError } from '../errors.ts';
import { wantsColour, type Style } from '../output.ts';
import { readIfExists } from '../services/files.ts';
import { checkAddr } from '../services/target.ts';
import { obtainToken } from '../services/token.ts';
import { validateAppName } from '../config/policy.ts';
import { catalogPaths, recordedCatalog } from '../verify/catalog.ts';
import { checkSignInFlags, signIn } from '../auth/sign-in.ts';
import { readRecord } from '../deployment/record.ts';
import { CLUSTER_CHECKS } from '../verify/checks/cluster.ts';
import { CHECK_GROUPS } from '../verify/groups.ts';
import { Probe } from '../verify/probe.ts';
import { type CheckFn, exitCodeFor, render, runChecks, summarise, verdict } from '../verify/report.ts';
import type { CheckGroup } from '../verify/types.ts';
import { bool, str } from '../options/flags.ts';
import type { CommandResult, Invocation } from '../invocation.ts';


export async function verify({ flags }: Invocation, ctx: Context): Promise<CommandResult> {
  const strict = bool(flags, 'strict');
  checkSignInFlags({ operator: str(flags, 'operator'), passwordStdin: bool(flags, 'password-stdin'), tokenFile: undefined });
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  // The catalog and app init recorded; --secrets and --app still override.
  const recorded = await readRecord(dir);
  const app = validateAppName(str(flags, 'app') ?? recorded?.app ?? 'openclaw');
  const addr = str(flags, 'addr');
  checkAddr(addr);
  const catalog = str(flags, 'secrets') === undefined && recorded?.catalog ? recordedCatalog(recorded.catalog, recorded.skippedFields) : await catalogPaths(str(flags, 'secrets'));

  const paths = deploymentPaths(dir);
  let deployment: DeploymentRecord | undefined;
  let composeBroken = false;
  try {
    deployment = await loadDeployment(dir);
  } catch (error) {
    if (!(error instanceof VaultSetupError)) throw error;
    composeBroken = true; // reported by the compose-file check, with the parser's reason
  }
  if (deployment === undefined && !composeBroken && addr === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`, {
      hint: 'pass --dir where `vault-setup init` wrote docker-compose.yml, or --addr URL to check only the server',
    });
  }
  const hasDir = deployment !== undefined || composeBroken;
  const address = addr ?? deployment?.address ?? 'http://127.0.0.1:8200';
  const caCert = deployment?.tls ? await readIfExists(paths.caCert) : undefined;

  const probe = new Probe({ ctx, paths: hasDir ? paths : undefined, deployment, address, caCert, token: undefined, tokenSource: '', clusterAdvertise: recorded?.cluster?.advertise, app, catalog });
  try {
    const operator = str(flags, 'operator');
    // The operator login inspects the server (live root tokens, its own policy, the raft state); it is revoked when
    // the checks are done. The app token, if any, is still the one whose reach is checked.
    await using session = operator === undefined || (await probe.serving()) !== undefined ? undefined : await signIn(ctx, probe.api, { operator, passwordStdin: bool(flags, 'password-stdin'), purpose: 'inspect the server (root tokens, policies, raft state)' });
    probe.adminToken = session?.token;
    await resolveToken(ctx, probe, str(flags, 'token-file'));
    // A cluster node gets the cluster's checks too (a single node's report is unchanged).
    const cluster = recorded?.cluster;
    const groups: [CheckGroup, CheckFn[]][] = cluster === undefined ? CHECK_GROUPS : [...CHECK_GROUPS, ['cluster', CLUSTER_CHECKS.map((check) => (p: Probe) => check(p, { record: cluster, caCert }))]];
    const results = await runChecks(probe, groups, ctx.redactor);
    const summary = summarise(results);
    const exitCode = exitCodeFor(summary, strict);
    const stdout = ctx.output.streams.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
    const tty = stdout.isTTY === true;
    const human = render(results, {
      tty,
      style: tty && wantsColour(stdout, ctx.env) ? ctx.output.style : PLAIN,
      quiet: ctx.output.quiet,
      strict,
      columns: stdout.columns,
    });
    const data = {
      status: verdict(summary, strict),
      exitCode,
      strict,
      target: { dir: hasDir ? dir : null, address, container: deployment?.name ?? null },
      token: probe.token === undefined ? null : { source: probe.tokenSource },
      inspector: session === undefined ? null : { operator },
      catalog: catalog,
      summary,
      checks: results,
    };
    return { data, human, exitCode };
  } finally {
    probe.close();
  }
}

const PLAIN: Style = { bold: (t) => t, dim: (t) => t, red: (t) => t, green: (t) => t, yellow: (t) => t, cyan: (t) => t };

/**
 * The token for the configuration checks: --token-file, BAO_TOKEN/VAULT_TOKEN, or a masked prompt on a
 * terminal. Without one (or with nobody to ask) those checks are skipped, never passed. No prompt while the
 * server cannot use a token anyway.
 */
async function resolveToken(ctx: Context, probe: Probe, tokenFile: string | undefined): Promise<void> {
  const fromEnv = [ctx.env.BAO_TOKEN ? 'BAO_TOKEN' : undefined, ctx.env.VAULT_TOKEN ? 'VAULT_TOKEN' : undefined].find((n) => n !== undefined && (ctx.env[n] ?? '').trim() !== '');
  if (tokenFile === undefined && fromEnv === undefined) {
    if (!ctx.prompter.interactive || (await probe.serving()) !== undefined) return;
    // An empty answer is an answer: run the checks that need no token, as without a terminal.
    const typed = (await ctx.prompter.secret('Token to check the configuration, normally the app token (input hidden; Enter alone skips those checks)')).trim();
    if (typed === '') return;
    ctx.redactor.add(typed);
    if (/[^\x21-\x7e]/.test(typed)) {
      throw new VaultSetupError('E_AUTH', 'the typed token holds spaces or non-ASCII characters; a token never does', { hint: 'give the token alone, without quotes or spaces' });
    }
    probe.token = typed;
    probe.tokenSource = 'the prompt';
    return;
  }
  probe.token = await obtainToken(ctx, { tokenFile, purpose: 'check the configuration (normally the app token)' });
  probe.tokenSource = tokenFile !== undefined ? `--token-file ${tokenFile}` : (fromEnv ?? 'the prompt');
}
