// `vault-setup init`: the whole playbook, resumable. Each phase starts from what the server reports:
// 1. deploy (files, container, ownership, API)  2. key ceremony and unseal  3. configure.
import path from 'node:path';
import { type CeremonyOptions, type CeremonyOutcome, type CeremonyPlan, ceremonyPhase, planCeremony } from '../ceremony/ceremony.ts';
import { resolveCounts } from '../ceremony/shares.ts';
import { type Catalog, loadCatalog } from '../config/catalog.ts';
import { parseMemory } from '../config/container-limits.ts';
import { LAYOUTS, type Layout, withServerUser } from '../config/flavor.ts';
import { validateNewAppName } from '../config/policy.ts';
import type { Context } from '../context.ts';
import { defaultDir } from '../deployment.ts';
import { quoted, usageError, withResult } from '../errors.ts';
import { toServerDuration } from '../services/wait.ts';
import type { ServerIdentity } from '../services/docker.ts';
import { ensureWritableDir, readIfExists, refuseSymlink } from '../services/files.ts';
import { grantedPaths, lockDeployment } from '../deployment/record.ts';
import { assertSafeDir } from '../services/dir-safety.ts';
import { signIn } from '../auth/sign-in.ts';
import { VaultSetupError } from '../errors.ts';
import { type Existing, saveRecord } from '../deployment/resume.ts';
import { operatorOptions, resumeFlags } from './init-resume.ts';
import { connect } from '../services/target.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { type ConfigureOptions, checkBeforeInit, configurePhase } from '../tasks/configure.tasks.ts';
import { type DeployState, LOOK_ONLY_TASKS, type TlsSource, deployTasks, newDeployState } from '../tasks/deploy.tasks.ts';
import { runTasks } from '../tasks/listr.ts';
import { validSan } from '../tls/self-signed.ts';
import { type ClusterCa, nodeSans } from '../tls/cluster-ca.ts';
import { checkAdvertise, nodeApi } from '../cluster/advertise.ts';
import { PKI_MOUNT, setupClusterPki } from '../cluster/pki.ts';
import type { TlsMode } from '../deployment/record.ts';
import { bool, duration, int, list, oneOf, str } from '../options/flags.ts';
import { refuseCeremonyNobodySees } from './init-preflight.ts';
import type { CommandResult, Flags, Invocation } from '../invocation.ts';

export async function init(invocation: Invocation, ctx: Context): Promise<CommandResult> {
  // An existing deployment resumes with its own settings; a flag that would break its data is refused here.
  const { flags, existing } = await resumeFlags(ctx, path.resolve(str(invocation.flags, 'dir') ?? defaultDir(ctx.env)), invocation.flags);
  const flavor = oneOf(flags, 'flavor', ['vault', 'openbao'] as const, 'vault');
  const layout = serverUser(LAYOUTS[flavor], str(flags, 'server-user'));
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const port = int(flags, 'port', 8200, { min: 1, max: 65535 });
  const name = projectName(str(flags, 'name') ?? layout.defaultName);
  const advertise = str(flags, 'advertise') === undefined ? undefined : checkAdvertise(str(flags, 'advertise') as string);
  if (advertise !== undefined && existing !== undefined && existing.record.cluster === undefined) {
    throw usageError(`${dir} is a single-node deployment: init --advertise makes a new first node; an existing one is converted in place`, `vault-setup cluster convert --advertise ${advertise} --dir ${dir} (shows the change as a diff, keeps the data and the keys)`);
  }
  // The cluster CA made for a new first node: its key stays in memory until the cluster's PKI engine holds it.
  let clusterCa: ClusterCa | undefined;
  const options = {
    dir,
    layout,
    image: str(flags, 'image') ?? layout.defaultImage,
    name,
    port,
    storage: oneOf(flags, 'storage', ['raft', 'file'] as const, 'raft'),
    raftMultiplier: int(flags, 'raft-multiplier', 1, { min: 1, max: 10 }),
    tls: advertise === undefined ? tlsSource(flags) : clusterTls(flags, advertise, (ca) => (clusterCa = ca)),
    cluster: advertise === undefined ? undefined : { advertise, nodeId: existing?.record.nodeId ?? `${name}-1`, join: [] },
    force: bool(flags, 'force'),
    waitMs: duration(flags, 'wait', '90s'),
    memory: str(flags, 'memory') === undefined ? undefined : parseMemory(str(flags, 'memory') as string),
  };
  const catalog = await checkLaterFlags(flags);
  const quorum = quorumOption(flags, dir);
  await refuseCeremonyNobodySees(ctx, flags, dir);
  // Every later phase works from these, parsed once: nothing below reads a flag.
  const ceremonyOpts = ceremonyOptions(flags);
  const configureOpts = configureOptions(flags);
  const rerun = RERUN_FLAGS.flatMap((f): [string, string][] => (str(invocation.flags, f) === undefined ? [] : [[f, str(invocation.flags, f) as string]]));
  const address = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const state: DeployState = newDeployState(dir, address);
  await refuseSymlink(dir);
  // Before the directory and the lock file are made: nothing may be written under an unsafe directory.
  await assertSafeDir(dir);
  await ensureWritableDir(dir);
  await using _lock = await lockDeployment(dir);
  const tasks = deployTasks(ctx, options);
  // A new directory (no record, no compose file: a hand-edited one is the file step's to show as a diff).
  const fresh = existing === undefined && (await readIfExists(state.paths.compose)) === undefined;
  // Who receives the shares, decided once: before anything is written on a new deployment, else after deploy.
  let ceremonyPlan: CeremonyPlan | undefined;
  if (fresh && !bool(flags, 'deploy-only')) {
    // A new deployment: once the engine, image and port are checked, what configure will need from the environment
    // and the flags is checked before a file is written or a container started. An existing deployment is checked
    // after deploy, once its server says whether it is initialised.
    await runTasks(ctx, tasks.slice(0, LOOK_ONLY_TASKS), state);
    ceremonyPlan = await planCeremony(ctx, ceremonyOpts);
    await checkBeforeInit(ctx, configureOpts, catalog);
    await runTasks(ctx, tasks.slice(LOOK_ONLY_TASKS), state);
  } else {
    await runTasks(ctx, tasks, state);
  }
  const server = state.server as ServerIdentity;
  const settings = { flavor, image: options.image, name, port, storage: options.storage, tls: tlsMode(options.tls) };
  const clusterRecord = options.cluster === undefined ? undefined : { advertise: options.cluster.advertise, nodes: [{ id: options.cluster.nodeId, api: nodeApi(options.cluster.advertise, port) }] };
  await saveRecord(dir, existing, { settings, catalogFile: str(flags, 'secrets'), catalog, app: str(flags, 'app'), server, cluster: clusterRecord });

  const caCert = await readIfExists(state.paths.caCert);
  const api = connect(ctx, address, options.tls === undefined ? undefined : caCert);
  try {
    const common = { api, server, layout, paths: state.paths, name };
    const deployOnly = bool(flags, 'deploy-only');
    if (!deployOnly && state.health?.initialized === false && !fresh) {
      // Who receives the shares first, then what configure will need: a run that cannot finish initialises nothing.
      ceremonyPlan = await planCeremony(ctx, ceremonyOpts);
      await checkBeforeInit(ctx, configureOpts, catalog, `the server is deployed at ${address} and not initialised; fix that and run the same command again`);
    }
    if (quorum && state.health?.initialized === false && !deployOnly) {
      throw new VaultSetupError('E_USAGE', `--quorum is for a deployment initialised earlier whose root token was retired; the server in ${dir} is not initialised yet`, {
        hint: `drop --quorum: the key ceremony makes this run's root token (vault-setup init --dir ${dir})`,
      });
    }
    const ceremony = deployOnly ? await deployOnlyOutcome(api, dir) : await ceremonyPhase(ctx, { ...common, options: ceremonyOpts, plan: ceremonyPlan, rerun });
    if (options.cluster !== undefined && ceremony.unsealed && ceremony.rootToken !== undefined) {
      // The cluster CA's key goes into the cluster's PKI engine (inside the barrier), then out of memory.
      const outcome = await setupClusterPki(api, ceremony.rootToken, clusterCa).catch((error: unknown) => {
        throw ceremony.init === undefined ? error : withResult(error, { init: ceremony.init });
      });
      ctx.output.info(outcome === 'done' ? `Cluster CA handed to the PKI engine ${PKI_MOUNT}/ (joining nodes' certificates are signed there); autopilot configured.` : `Cluster CA: the PKI engine ${PKI_MOUNT}/ holds it.`);
      ceremony.steps.push({ id: 'cluster-ca', status: outcome, detail: `${PKI_MOUNT}/` });
    }
    clusterCa?.drop();
    // --quorum: the share holders make a root token for configure; it is revoked when this run ends (also on Ctrl-C).
    const useQuorum = quorum && ceremony.unsealed && !deployOnly && ceremony.rootToken === undefined;
    await using session = useQuorum
      ? await signIn(ctx, api, { quorum: { target: { dir, name, address, caCert: options.tls === undefined ? undefined : caCert, image: options.image }, fromStdin: bool(flags, 'stdin') }, purpose: 'configure the server (a resumed init)' })
      : undefined;
    const granted = grantedPaths(existing?.record, { kind: 'app', name: configureOpts.app });
    // With --json the shares are only in the final object: a failure from here on must still hand them over.
    const handOver = <T>(step: Promise<T>): Promise<T> =>
      step.catch((error: unknown) => {
        throw ceremony.init === undefined ? error : withResult(error, { init: ceremony.init });
      });
    const configure = ceremony.unsealed && !deployOnly ? await handOver(configurePhase(ctx, { ...common, rootToken: ceremony.rootToken, quorumToken: session?.token, granted, options: configureOpts, catalog })) : undefined;
    // configure revoked the quorum's token itself (its last step): nothing is left for the session to revoke.
    if (session !== undefined && (configure?.data.rootToken as { status?: string } | undefined)?.status === 'revoked') session.gone();
    const seal = await handOver(api.sealStatus());
    const skippedFields = configure === undefined ? undefined : skippedNow(existing, catalog, configure);
    if (seal.initialized) await handOver(saveRecord(dir, existing, { settings, catalogFile: str(flags, 'secrets'), catalog, app: str(flags, 'app'), server, shares: seal.n, threshold: seal.t, skippedFields, cluster: clusterRecord }));
    const steps = [...state.steps, ...ceremony.steps, ...(configure?.steps ?? [])];
    const changed = steps.filter((s) => s.status === 'done' && !['engine', 'port', 'api'].includes(s.id));
    const data = {
      dir,
      flavor,
      image: options.image,
      container: name,
      server,
      address,
      initialized: seal.initialized,
      sealed: seal.sealed,
      changed: changed.length > 0,
      steps,
      ...(ceremony.init === undefined ? {} : { init: ceremony.init }),
      ...(ceremony.resume === undefined ? {} : { resume: ceremony.resume }),
      ...(configure === undefined ? {} : { configure: configure.data }),
    };
    const human = [
      changed.length === 0 ? 'Nothing to change: the deployment is already up.' : `Deployed ${server.raw} in ${dir}.`,
      `Address: ${address}  (initialised: ${seal.initialized ? 'yes' : 'no'}, sealed: ${seal.sealed ? 'yes' : 'no'})`,
      ...(configure?.human ?? []),
      ...(ceremony.resume === undefined ? [] : [`Next: ${ceremony.resume}`]),
      ...(configure === undefined ? [] : ['', ...nextSteps(dir, ctx.env, configureOpts, options.storage, configure.data.operator as { status?: string; name?: string } | undefined)]),
    ].join('\n');
    // With the init result on stdout (--print-keys), stdout holds that JSON alone: the summary is for people.
    return { data, human, humanToStderr: ceremony.printed === true };
  } finally {
    api.close();
  }
}

/** The catalog fields left without a value: skipped in this run, or earlier in a path this run kept as it was. */
function skippedNow(existing: Existing | undefined, catalog: Catalog, configure: { skipped: string[]; data: Record<string, unknown> }): string[] {
  const kept = new Set(((configure.data.secrets ?? []) as { path: string; status: string }[]).filter((s) => s.status === 'kept').map((s) => s.path));
  const keptFields = new Set(catalog.entries.filter((e) => kept.has(e.path)).flatMap((e) => e.fields.map((f) => `${e.path}.${f.name}`)));
  const earlier = (existing?.record.skippedFields ?? []).filter((f) => keptFields.has(f));
  return [...new Set([...configure.skipped, ...earlier])];
}

/** The end of a configured init: the few commands a newcomer needs next, one line each. */
function nextSteps(dir: string, env: NodeJS.ProcessEnv, options: ConfigureOptions, storage: 'raft' | 'file', login: { status?: string; name?: string } | undefined): string[] {
  const at = dir === defaultDir(env) ? '' : ` --dir ${dir}`;
  const operator = ['created', 'updated', 'kept'].includes(login?.status ?? '') ? login?.name : undefined;
  const rows: [string, string][] = [
    options.tokenFile === undefined
      ? [`vault-setup verify${at}`, 'prove the deployment is healthy and safe (asks for the app token, hidden)']
      : [`vault-setup verify${at} --token-file ${options.tokenFile}`, 'prove the deployment is healthy and safe'],
    [`vault-setup unseal${at}`, 'after a reboot or restart: the server starts sealed'],
    // File storage has no snapshot API: `backup` would only explain the manual steps.
    ...(storage === 'raft' ? [[`vault-setup backup${at}`, 'a snapshot now; on a schedule: docs/backup.md'] as [string, string]] : []),
    [`vault-setup agent add NAME --secret secret/PATH${at}`, 'AppRole credentials for an app or an AI agent'],
    ...(operator === undefined ? [] : [[`vault-setup secret list --operator ${operator}${at}`, `daily work: log in as "${operator}" (no root token)`] as [string, string]]),
  ];
  const width = Math.max(...rows.map(([c]) => c.length));
  return ['Next steps:', ...rows.map(([c, what]) => `  ${c.padEnd(width)}  ${what}`)];
}

/** --name is the container and compose project name: compose's rule, checked before any file is written. */
function projectName(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    throw usageError(`--name must be lower-case letters, digits, "-" or "_" (at most 63), starting with a letter or digit; got ${quoted(name)}`, 'e.g. --name vault');
  }
  return name;
}

/** What the later phases read from flags, checked before anything is deployed: a typo must not stop init halfway. */
async function checkLaterFlags(flags: Flags): Promise<Catalog> {
  resolveCounts({ shares: str(flags, 'shares'), threshold: str(flags, 'threshold') }, list(flags, 'pgp-keys').length || undefined);
  for (const name of ['token-ttl', 'wrap-ttl', 'wait-unseal']) if (str(flags, name) !== undefined) duration(flags, name, '0s');
  validateNewAppName(str(flags, 'app') ?? 'openclaw');
  const catalog = await loadCatalog(str(flags, 'secrets'));
  for (const name of ['app-token-file', 'keys-out']) {
    const value = str(flags, name);
    if (value !== undefined) await refuseSymlink(path.resolve(value));
  }
  return catalog;
}

/**
 * --quorum (and its --stdin) for a resumed init whose root token was retired. --operator is refused with the command
 * that works: configure writes the app's policy, its token and the audit device, which the operator policy may not.
 */
function quorumOption(flags: Flags, dir: string): boolean {
  const quorum = bool(flags, 'quorum');
  const operator = str(flags, 'operator');
  if (operator !== undefined) {
    throw new VaultSetupError('E_USAGE', `--operator ${operator.slice(0, 40)}: the operator login may not configure the server (init writes the app's policy, its token and the audit device: privilege changes)`, {
      hint: `on a deployment whose root token was retired: vault-setup init --dir ${dir} --quorum (share holders make a root token for this run only); --create-operator NAME names the login init creates`,
    });
  }
  if (bool(flags, 'stdin') && !quorum) throw usageError('--stdin reads the shares of --quorum, and --quorum was not given', `vault-setup init --dir ${dir} --quorum --stdin`);
  if (quorum && bool(flags, 'stdin') && bool(flags, 'password-stdin')) throw usageError('--stdin (the shares) and --password-stdin both read standard input', 'type the password at the hidden prompt, or the shares (drop --stdin)');
  if (quorum && bool(flags, 'keep-root-token')) throw usageError('--keep-root-token and --quorum: the quorum makes a root token for this run only', 'for a root token to keep, run `vault-setup generate-root`');
  return quorum;
}

/** The deployment flags a resumed `init` must repeat (with --dir), as the operator gave them. */
const RERUN_FLAGS = ['flavor', 'image', 'name', 'port', 'storage', 'tls', 'advertise', 'server-user'];

/** --server-user UID:GID: the server's uid and gid on the host (root is refused: the point is a dedicated account). */
function serverUser(layout: Layout, value: string | undefined): Layout {
  if (value === undefined) return layout;
  let chosen: Layout;
  try {
    chosen = withServerUser(layout, value);
  } catch {
    throw usageError(`--server-user must be UID:GID, two numbers, got "${value}"`, 'e.g. --server-user 2001:2001 (create the account first: useradd --system --uid 2001 --user-group vault-server)');
  }
  if (chosen.uid === 0 || chosen.gid === 0) throw usageError('--server-user 0 would run the server as root', 'give the uid:gid of a dedicated, unprivileged account');
  return chosen;
}

/** The ceremony flags init was given; on a server initialised before, they have no effect and init says so. */
const CEREMONY_FLAGS = ['shares', 'threshold', 'pgp-keys', 'root-token-pgp-key', 'keys-out', 'print-keys'];

export function ceremonyOptions(flags: Flags): CeremonyOptions {
  return {
    shares: str(flags, 'shares'),
    threshold: str(flags, 'threshold'),
    pgpKeys: list(flags, 'pgp-keys'),
    rootTokenPgpKey: str(flags, 'root-token-pgp-key'),
    keysOut: str(flags, 'keys-out'),
    printKeys: bool(flags, 'print-keys'),
    waitUnsealMs: str(flags, 'wait-unseal') === undefined ? undefined : duration(flags, 'wait-unseal', '0s'),
    given: CEREMONY_FLAGS.filter((f) => flags[f] !== undefined),
  };
}

export function configureOptions(flags: Flags): ConfigureOptions {
  const tokenFile = str(flags, 'app-token-file');
  const wrap = str(flags, 'wrap-ttl');
  return {
    app: validateNewAppName(str(flags, 'app') ?? 'openclaw'),
    catalogFile: str(flags, 'secrets'),
    overwriteAll: bool(flags, 'overwrite'),
    tokenTtl: toServerDuration(duration(flags, 'token-ttl', '720h')),
    tokenTtlText: str(flags, 'token-ttl') ?? '720h',
    tokenFile: tokenFile === undefined ? undefined : path.resolve(tokenFile),
    wrapTtl: wrap === undefined ? undefined : toServerDuration(duration(flags, 'wrap-ttl', wrap)),
    showToken: bool(flags, 'show-token'),
    keepRoot: bool(flags, 'keep-root-token'),
    force: bool(flags, 'force'),
    printKeys: bool(flags, 'print-keys'),
    operator: operatorOptions(flags),
  };
}

async function deployOnlyOutcome(api: VaultApi, dir: string): Promise<CeremonyOutcome> {
  const seal = await api.sealStatus();
  const resume = seal.initialized ? undefined : `run \`vault-setup init --dir ${dir}\` without --deploy-only (it resumes with the recorded settings) for the key ceremony`;
  return { steps: [], unsealed: false, resume };
}

/** The first node of a cluster: TLS from the cluster CA, always (the API leaves the host). */
function clusterTls(flags: Flags, advertise: string, made: (ca: ClusterCa) => void): TlsSource {
  if (str(flags, 'tls-cert') !== undefined || str(flags, 'tls-key') !== undefined || str(flags, 'tls-ca') !== undefined) {
    throw usageError('--advertise issues every node\'s certificate from the cluster\'s own CA: drop --tls-cert, --tls-key and --tls-ca', 'docs/cluster.md explains the cluster CA');
  }
  const mode = str(flags, 'tls');
  if (mode !== undefined && mode !== 'self-signed') throw usageError(`--tls must be "self-signed", got "${mode}"`);
  if (oneOf(flags, 'storage', ['raft', 'file'] as const, 'raft') !== 'raft') throw usageError('--advertise needs raft storage: a cluster is raft\'s', 'drop --storage file');
  const sans = list(flags, 'tls-san');
  for (const san of sans) if (!validSan(san)) throw usageError(`--tls-san "${san}" is neither an IP address nor a DNS name`);
  return { kind: 'cluster', sans: [...nodeSans(advertise), ...sans], made };
}

function tlsMode(tls: TlsSource | undefined): TlsMode {
  if (tls === undefined) return 'off';
  if (tls.kind === 'issued') return 'cluster';
  return tls.kind;
}

/** --tls self-signed, or the operator's --tls-cert/--tls-key (and --tls-ca); nothing means plain http. */
function tlsSource(flags: Flags): TlsSource | undefined {
  const mode = str(flags, 'tls');
  const cert = str(flags, 'tls-cert');
  const key = str(flags, 'tls-key');
  const sans = list(flags, 'tls-san');
  const ca = str(flags, 'tls-ca');
  if (ca !== undefined && cert === undefined) throw usageError('--tls-ca goes with --tls-cert and --tls-key');
  if (mode !== undefined && mode !== 'self-signed') throw usageError(`--tls must be "self-signed", got "${mode}"`, 'or pass --tls-cert FILE --tls-key FILE');
  if (mode !== undefined && (cert !== undefined || key !== undefined)) throw usageError('--tls self-signed and --tls-cert/--tls-key exclude each other');
  if ((cert === undefined) !== (key === undefined)) throw usageError('--tls-cert and --tls-key go together');
  for (const san of sans) if (!validSan(san)) throw usageError(`--tls-san "${san}" is neither an IP address nor a DNS name`);
  if (sans.length > 0 && mode === undefined) throw usageError('--tls-san needs --tls self-signed');
  if (mode === 'self-signed') return { kind: 'self-signed', sans };
  if (cert !== undefined && key !== undefined) return { kind: 'files', cert: path.resolve(cert), key: path.resolve(key), ...(ca === undefined ? {} : { ca: path.resolve(ca) }) };
  return undefined;
}
