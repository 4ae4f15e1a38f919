// `vault-setup adopt`: takes over a deployment made by hand with the playbook (compose file + vault.hcl in
// ~/docker/vault, file storage, the root token in use, a -policy=default app token). It reports what differs from
// the hardened shape (verify's checks), finds unseal scripts with keys in them, then step by step, each with its diff
// and a confirmation (or --yes): the compose file and vault.hcl as init writes them, file -> raft (migrate's core),
// init's configure phase (audit, KV v2, the catalog's missing paths create-only, the app's policy and a scoped
// token, the operator login), the old app token revoked when asked, the old root token revoked, the deployment
// record written. Shares and tokens stay in memory: from masked prompts, stdin or VAULT_TOKEN, never argv or disk.
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Context } from '../context.ts';
import { report, reportLines, summarise } from '../adopt/report.ts';
import { configurePreview, raftPreview } from '../adopt/preview.ts';
import { type HostScan, scanHost, shred } from '../adopt/scripts.ts';
import { BACKUP_SUFFIX, adoptableProblem, applyShape, hardenedFiles, layoutOf, relative, startHardened } from '../adopt/shape.ts';
import { validateOperatorName } from '../auth/sign-in.ts';
import { shareOrThrow } from '../ceremony/shares.ts';
import { validateNewAppName } from '../config/policy.ts';
import { type DeploymentRecord, defaultDir, loadDeployment } from '../deployment.ts';
import { readRecord } from '../deployment/record.ts';
import { saveRecord } from '../deployment/resume.ts';
import { VaultSetupError, escapeControls, usageError } from '../errors.ts';
import { type Step, STATE_FILE, clearState, readState as readAdoptState, writeState } from '../adopt/state.ts';
import { readState } from '../migrate/host.ts';
import { migrateToRaft, preflight } from '../migrate/run.ts';
import { bool, duration, str } from '../options/flags.ts';
import { ensureRunning, identifyFromApi } from '../services/readiness.ts';
import { type Target, connect } from '../services/target.ts';
import { obtainToken } from '../services/token.ts';
import { readIfExists } from '../services/files.ts';
import { SERVICE } from '../services/templates.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { APP_META, configurePhase } from '../tasks/configure.tasks.ts';
import { collectShares, unsealWith } from '../upgrade/shares.ts';
import type { CommandResult, Invocation } from '../invocation.ts';


interface StepOutcome {
  step: string;
  status: 'done' | 'kept' | 'skipped';
  detail?: string;
}

export async function adopt({ flags, positionals }: Invocation, ctx: Context): Promise<CommandResult> {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'vault-setup adopt [--dir DIR]; shares and tokens are never arguments');
  const dir = path.resolve(str(flags, 'dir') ?? defaultDir(ctx.env));
  const yes = bool(flags, 'yes');
  const reportOnly = bool(flags, 'report-only');
  const fromStdin = bool(flags, 'stdin');
  const passwordStdin = bool(flags, 'password-stdin');
  const keepOld = bool(flags, 'keep-old-tokens');
  const revokeOldApp = bool(flags, 'revoke-old-app-token');
  const shredScripts = bool(flags, 'shred-unseal-script');
  const app = validateNewAppName(str(flags, 'app') ?? 'openclaw');
  const operatorName = validateOperatorName(str(flags, 'create-operator') ?? 'admin', '--create-operator');
  const waitMs = duration(flags, 'wait', '90s');
  const tokenFile = str(flags, 'token-file');
  const catalogFile = str(flags, 'secrets');
  if ((fromStdin || passwordStdin) && ctx.stdin.isTTY === true) throw usageError('--stdin and --password-stdin read a pipe, but standard input is a terminal (what you type would be echoed)', 'run without them to be asked with hidden input');
  if (revokeOldApp && keepOld) throw usageError('--revoke-old-app-token and --keep-old-tokens contradict each other', 'keep one of them');

  const started = ctx.clock.now();
  let deployment = await loadDeployment(dir);
  if (deployment === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no docker-compose.yml in ${dir}`, { hint: 'pass --dir where the playbook wrote docker-compose.yml (it uses ~/docker/vault)' });
  }
  const pending = await readState(dir);
  const progress = await readAdoptState(dir);
  // A migration adopt itself started is resumed below; one started by `migrate` is finished by `migrate`.
  if (pending !== undefined && progress === undefined) {
    // The server may be down and sealed mid-migration: migrate resumes it on its own (its state file says where).
    throw new VaultSetupError('E_USAGE', `a storage migration was interrupted here (last stage: ${pending.stage})`, {
      hint: `finish it first: vault-setup migrate --storage raft --dir ${dir}${pending.migrateImage === pending.image ? '' : ` --image ${pending.migrateImage}`} (it resumes), then run adopt again`,
    });
  }
  if ((await readRecord(dir)) !== undefined && progress?.step === 'root-token') {
    await clearState(dir);
    return { data: { dir, changed: false, adopted: true }, human: `The interrupted adopt in ${dir} had done every step (the root token is revoked, vault-setup.json written): nothing left to do. Check it with vault-setup verify --dir ${dir}.` };
  }
  if ((await readRecord(dir)) !== undefined && progress === undefined) {
    return { data: { dir, changed: false, adopted: true }, human: `${dir} is a vault-setup deployment already (vault-setup.json): nothing to adopt. Check it with vault-setup verify --dir ${dir}.` };
  }
  const layout = await layoutOf(deployment);
  const problem = await adoptableProblem(deployment, layout);
  if (problem !== undefined) throw new VaultSetupError('E_USAGE', problem.message, { hint: problem.hint });
  const say = (line: string) => ctx.output.info(line);
  const api = connect(ctx, deployment.address, undefined);
  try {
    // Standard input, read once: [the root token], the shares, [the operator's password]. Memory only.
    const lines = fromStdin || passwordStdin ? await readLines(ctx.stdin) : [];
    let next = 0;
    const envToken = (ctx.env.BAO_TOKEN ?? ctx.env.VAULT_TOKEN ?? '').trim();
    let token: string;
    if (fromStdin && tokenFile === undefined && envToken === '') {
      token = (lines[next++] ?? '').trim();
      if (token === '' || /[^\x21-\x7e]/.test(token)) throw new VaultSetupError('E_AUTH', 'the first line of standard input must be the root token (VAULT_TOKEN and --token-file are not set)', { hint: 'pipe the root token, then the shares, one per line; or set VAULT_TOKEN' });
      ctx.redactor.add(token);
    } else {
      token = await obtainToken(ctx, { tokenFile, purpose: 'adopt the deployment (the playbook\'s root token)' });
    }

    if (progress !== undefined) say(`Resuming the adopt recorded in ${STATE_FILE} (last step done: ${progress.step}); steps already done are found done.`);
    // The shares, once: the restarts below (new shape, raft) each come back sealed.
    let shares: string[] | undefined;
    const takeShares = async (seal: { t: number; n: number }): Promise<string[]> => {
      if (shares !== undefined) return shares;
      if (fromStdin) {
        shares = [];
        for (; next < lines.length && shares.length < seal.t; next++) {
          const line = lines[next] as string;
          if (line.trim() === '') continue;
          const key = shareOrThrow(line, `line ${next + 1} of standard input`, seal.n);
          ctx.redactor.addShare(key);
          if (!shares.includes(key)) shares.push(key);
        }
        if (shares.length < seal.t) throw new VaultSetupError('E_NEEDS_ANSWER', `standard input held ${shares.length} distinct shares; ${seal.t} are needed (the server restarts sealed)`, { hint: `pipe ${seal.t} shares, one per line; nothing was changed` });
        return shares;
      }
      if (!ctx.prompter.interactive) throw new VaultSetupError('E_NEEDS_ANSWER', 'there is no terminal to ask for the unseal shares the restarts need', { hint: 'pipe them with --stdin (after the root token unless VAULT_TOKEN is set); nothing was changed' });
      shares = await collectShares(ctx, false, seal);
      return shares;
    };

    // A migration this adopt started and a crash stopped (the server may be down or sealed): finished first, from
    // its own state file, so the checks below find the server up, unsealed, on raft.
    let migrated: Awaited<ReturnType<typeof migrateToRaft>> | undefined;
    if (pending !== undefined && !reportOnly) {
      say(`2/5 File storage to raft: resuming the migration recorded in migrate-state.json (last stage: ${pending.stage}) ...`);
      migrated = await migrateToRaft(ctx, {
        target: targetOf(dir, deployment), api, dir, deployment, token, shares: await takeShares(pending.seal), seal: pending.seal, waitMs,
        migrateImage: pending.migrateImage,
        image: pending.image,
        server: pending.server,
        resume: `vault-setup adopt --dir ${dir}`,
        command: 'adopt',
      });
      deployment = (await loadDeployment(dir)) as DeploymentRecord;
    }

    // A run killed after the playbook's container was removed and before the hardened one was up leaves none
    // running: the files say adopt wrote them (*.pre-adopt), so it is started (and unsealed) from them.
    if (!reportOnly && (await readIfExists(`${deployment.paths.compose}${BACKUP_SUFFIX}`)) !== undefined) {
      const container = await ctx.docker.findService(deployment.name, SERVICE);
      if (container?.state !== 'running') {
        say(`The hardened container is not running (an adopt was interrupted while it recreated it): starting it ...`);
        await startHardened(ctx, deployment, layout);
        await ensureRunning(ctx, targetOf(dir, deployment), waitMs);
        const status = await api.sealStatus();
        if (status.sealed) await unsealWith(ctx, api, await takeShares(status));
      }
    }

    const seal = await api.sealStatus();
    if (!seal.initialized || seal.sealed) {
      throw new VaultSetupError(seal.initialized ? 'E_SEALED' : 'E_NOT_INITIALIZED', `the server at ${deployment.address} is ${seal.initialized ? 'sealed' : 'not initialised'}: adopt reads it before it changes anything`, {
        hint: seal.initialized ? `unseal it first: vault-setup unseal --dir ${dir}` : `a server that was never initialised needs no adopting: vault-setup init --dir ${dir}`,
      });
    }
    const self = await api.request<any>('GET', 'auth/token/lookup-self', { token, accept: [403] });
    if (self.status === 403) throw new VaultSetupError('E_AUTH', 'the server refused the token (invalid, expired or revoked)', { hint: 'use the playbook\'s root token (VAULT_TOKEN or the first line of --stdin); a revoked one is replaced with vault-setup generate-root' });
    if (!((self.body?.data?.policies ?? []) as string[]).includes('root')) {
      throw new VaultSetupError('E_AUTH', 'adopt needs the playbook\'s root token: the token given is not a root token', { hint: 'give the root token from `operator init`, or make one with vault-setup generate-root; nothing was changed' });
    }
    const server = await identifyFromApi(deployment.address, undefined);
    if (server === undefined) throw new VaultSetupError('E_SERVER_UNREACHABLE', `the server at ${deployment.address} does not say what it is`, { hint: 'check that it runs, then re-run' });

    const before = await report(ctx, deployment, app, catalogFile, token);
    const home = ctx.env.HOME ?? os.homedir();
    const scan = await scanHost([{ dir, skip: [deployment.paths.dataDir, deployment.paths.logsDir, path.join(dir, 'backups')] }, { dir: home, skip: [dir] }], [token]);
    warnAboutScripts(ctx, scan);
    const reportData = { before: summarise(before), findings: before.filter((f) => f.status !== 'pass' && f.status !== 'skip') };
    const scripts = scan.unsealScripts.map((s) => ({ file: s.file, shares: s.shares, lines: s.lines, shredded: false }));
    if (reportOnly) {
      return {
        data: { dir, server: server.raw, report: reportData, unseal_scripts: scripts, files_with_root_token: scan.holdingToken, changed: false },
        human: [reportLines(before), ...scripts.map((s) => `Unseal script with keys: ${s.file}`), 'Nothing was changed (--report-only).'].join('\n'),
      };
    }

    const unsealShares = await takeShares(seal);
    const password = passwordStdin ? lines.slice(next).find((l) => l !== '') : undefined;
    if (passwordStdin && password === undefined) throw new VaultSetupError('E_NEEDS_ANSWER', '--password-stdin: no line for the operator\'s password after the shares', { hint: 'pipe the password as the line after the shares; nothing was changed' });
    if (password !== undefined) ctx.redactor.add(password);

    const confirm = async (question: string): Promise<void> => {
      if (yes) return;
      if (!ctx.prompter.interactive) throw new VaultSetupError('E_NEEDS_ANSWER', `"${question}" needs an answer and there is no terminal`, { hint: `read the report (vault-setup adopt --report-only --dir ${dir}), then re-run with --yes; steps done so far stay done` });
      if (!(await ctx.prompter.confirm(question, { default: true }))) throw new VaultSetupError('E_USAGE', `stopped before "${question}"`, { hint: `re-run \`vault-setup adopt --dir ${dir}\` to continue; steps done so far stay done` });
    };
    const steps: StepOutcome[] = [];
    const diffs: Record<string, string> = {};
    // Each step, once done (or found done), is recorded: a re-run after a crash says where it resumes.
    const done = (step: Step): Promise<void> => writeState(ctx, dir, { step });

    // 1. The compose file and vault.hcl as init writes them.
    const shape = await hardenedFiles(deployment, layout, server, deployment.storage);
    if (shape.length === 0) steps.push({ step: 'shape', status: 'kept', detail: 'docker-compose.yml and config/vault.hcl are in the hardened shape' });
    else {
      say(`1/5 The hardened shape (originals kept as *${BACKUP_SUFFIX}):`);
      for (const f of shape) {
        diffs[relative(dir, f.path)] = f.diff;
        say(`--- ${relative(dir, f.path)}\n${f.diff}`);
      }
      await confirm('Rewrite docker-compose.yml and config/vault.hcl as shown, and recreate the container?');
      const applied = await applyShape(ctx, deployment, layout, shape);
      for (const n of applied.networks) say(n.removed ? `    Removed the old container's network ${n.network} (nothing else uses it; the server is on the host's network now).` : `    Left the old container's network ${n.network}: ${n.reason}. Remove it when they no longer need it: docker network rm ${n.network}`);
      deployment = (await loadDeployment(dir)) as DeploymentRecord;
      await ensureRunning(ctx, targetOf(dir, deployment), waitMs);
      await unsealWith(ctx, api, unsealShares);
      const networks = applied.networks.map((n) => (n.removed ? `network ${n.network} removed` : `network ${n.network} left: ${n.reason}`));
      steps.push({ step: 'shape', status: 'done', detail: ['loopback listeners, host network, UI off, confinement; container recreated and unsealed', ...networks].join('; ') });
    }
    await done('shape');
    const target = targetOf(dir, deployment);

    // 2. File storage to raft.
    if (migrated !== undefined) steps.push({ step: 'raft', status: 'done', detail: `resumed; ${migrated.keys} keys, ${migrated.policies} policies read back; snapshot ${migrated.snapshot}` });
    else if (deployment.storage === 'file') {
      say('2/5 File storage to raft (operator migrate, offline; every key read back before the switch is kept):');
      say(await raftPreview(deployment, target));
      await confirm('Stop the server, migrate file storage to raft as shown, and take the first snapshot?');
      const migrateImage = str(flags, 'image') ?? deployment.image;
      await preflight(ctx, { target, api, dir, deployment }, migrateImage);
      migrated = await migrateToRaft(ctx, {
        target, api, dir, deployment, token, shares: unsealShares, seal: { t: seal.t, n: seal.n }, waitMs, migrateImage,
        image: deployment.image,
        server: server.raw,
        resume: `vault-setup adopt --dir ${dir}`,
        command: 'adopt',
      });
      diffs['config/vault.hcl (raft)'] = migrated.config_diff;
      deployment = (await loadDeployment(dir)) as DeploymentRecord;
      steps.push({ step: 'raft', status: 'done', detail: `${migrated.keys} keys, ${migrated.policies} policies read back; snapshot ${migrated.snapshot}` });
    } else steps.push({ step: 'raft', status: 'kept', detail: 'raft storage already' });
    await done('raft');

    // 3. init's configure phase, with the root token kept until step 5.
    const oldAppTokens = await defaultPolicyTokens(api, token);
    say('3/5 Audit device, KV v2, the catalog\'s missing paths (create-only), the app policy and a scoped app token, the operator login:');
    for (const line of await configurePreview(app, catalogFile, str(flags, 'app-token-file'), operatorName)) say(line);
    await confirm(`Configure the server for the app "${app}" (nothing existing is overwritten)?`);
    const configureCtx: Context = { ...ctx, env: { ...ctx.env, VAULT_TOKEN: token, BAO_TOKEN: token }, stdin: Readable.from(password === undefined ? [] : [`${password}\n`]) };
    const configured = await configurePhase(configureCtx, {
      api,
      server,
      layout,
      paths: deployment.paths,
      name: deployment.name,
      options: {
        app,
        catalogFile,
        overwriteAll: false,
        tokenTtl: '2592000s',
        tokenTtlText: '720h',
        tokenFile: str(flags, 'app-token-file'),
        wrapTtl: undefined,
        showToken: bool(flags, 'show-token'),
        keepRoot: true, // revoked below, after the old app token, with what uses it named
        force: false,
        printKeys: false,
        operator: { name: operatorName, none: false, passwordStdin: password !== undefined },
      },
    });
    steps.push({ step: 'configure', status: 'done' });
    await done('configured');

    // 4. The playbook's -policy=default app token: revoked only when asked.
    const revokedApp: string[] = [];
    if (oldAppTokens.length > 0 && revokeOldApp) {
      await confirm(`Revoke the old -policy=default app token${oldAppTokens.length > 1 ? 's' : ''} (${oldAppTokens.map((t) => t.displayName).join(', ')})?`);
      for (const t of oldAppTokens) {
        await api.request('POST', 'auth/token/revoke-accessor', { token, body: { accessor: t.accessor } });
        revokedApp.push(t.accessor);
      }
      steps.push({ step: 'old-app-token', status: 'done', detail: `revoked ${revokedApp.length}` });
    } else steps.push({ step: 'old-app-token', status: oldAppTokens.length === 0 ? 'kept' : 'skipped', detail: oldAppTokens.length === 0 ? 'none found' : 'still valid: pass --revoke-old-app-token once the app uses the new token' });
    await done('old-app-token');

    // The unseal scripts (shredded when asked; on a terminal: asked now) and the record, before the root token goes:
    // a re-run after a crash past this point needs nothing the revoked token would have given it.
    for (const s of scripts) {
      const wanted = shredScripts || (ctx.prompter.interactive && !yes && (await ctx.prompter.confirm(`Shred ${s.file} (overwrite, then delete)? Rekey afterwards either way.`, { default: true })));
      if (wanted) {
        await shred(s.file);
        s.shredded = true;
      }
    }

    await saveRecord(dir, undefined, {
      settings: { flavor: layout.flavor, image: deployment.image, name: deployment.name, port: deployment.port, storage: deployment.storage, tls: 'off' },
      app,
      catalogFile,
      server,
      shares: seal.n,
      threshold: seal.t,
    });
    await done('recorded');

    // 5. The old root token.
    let rootStatus: 'revoked' | 'kept' = 'kept';
    if (!keepOld) {
      const broken = scan.holdingToken.length > 0 ? ` Apps reading it from ${scan.holdingToken.join(', ')} stop working until they take the new app token.` : '';
      await confirm(`Revoke the playbook's root token?${broken}`);
      await api.request('POST', 'auth/token/revoke-self', { token });
      rootStatus = 'revoked';
      steps.push({ step: 'root-token', status: 'done', detail: 'revoked' });
      await done('root-token');
    } else steps.push({ step: 'root-token', status: 'kept', detail: '--keep-old-tokens' });

    await clearState(dir);
    const after = await report(ctx, deployment, app, catalogFile, rootStatus === 'revoked' ? undefined : token);

    const configureData = configured.data as Record<string, unknown>;
    delete configureData.rootToken; // configure kept it for step 5; the outcome is root_token below
    const data = {
      dir,
      server: server.raw,
      steps,
      report: { ...reportData, after: summarise(after) },
      diffs,
      migrate: migrated ?? null,
      configure: configureData,
      old_app_tokens: { found: oldAppTokens.map((t) => ({ accessor: t.accessor, display_name: t.displayName })), revoked: revokedApp },
      root_token: { status: rootStatus, files_holding_it: scan.holdingToken },
      unseal_scripts: scripts,
      // Keys that sat in a file are leaked keys, shredded or not: new shares are the only fix.
      rekey_advised: scripts.length > 0,
      record: path.join(dir, 'vault-setup.json'),
      changed: true,
      seconds: Math.round((ctx.clock.now() - started) / 100) / 10,
    };
    const human = [
      `Adopted ${deployment.name} (${server.raw}) in ${dir}.`,
      ...steps.map((s) => `  ${s.step}: ${s.status}${s.detail ? ` (${s.detail})` : ''}`),
      ...configured.human.filter((l) => !l.startsWith('Root token: KEPT')),
      rootStatus === 'revoked' ? `The playbook's root token was revoked.${scan.holdingToken.length > 0 ? ` Broken until they take the new app token: whatever reads ${scan.holdingToken.join(', ')}.` : ''} A new one, when needed: vault-setup generate-root.` : 'The playbook\'s root token is still valid (--keep-old-tokens): revoke it when you are done.',
      ...scripts.map((s) => (s.shredded ? `Shredded ${s.file}.` : `${s.file} still holds ${s.shares} unseal keys: shred it (shred -u).`)),
      ...(scripts.length > 0 ? ['The keys in the unseal script(s) must be treated as leaked: rekey now (vault-setup rekey --dir ' + dir + ') and give the new shares to their holders.'] : []),
      `Verify: ${after.filter((f) => f.status === 'fail').length} failing checks now (${before.filter((f) => f.status === 'fail').length} before). vault-setup verify --dir ${dir}`,
    ];
    return { data, human: human.join('\n') };
  } finally {
    api.close();
  }
}

const targetOf = (dir: string, d: DeploymentRecord): Target => ({ dir, name: d.name, address: d.address, caCert: undefined, image: d.image, record: undefined });

async function readLines(stdin: NodeJS.ReadableStream): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const bytes = Buffer.concat(chunks);
  const text = bytes.toString('utf8');
  bytes.fill(0);
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

function warnAboutScripts(ctx: Context, scan: HostScan): void {
  for (const s of scan.unsealScripts) {
    ctx.output.alert(
      `UNSEAL KEYS IN PLAIN TEXT: ${s.file} calls unseal with ${s.shares} key${s.shares > 1 ? 's' : ''} written in it (line${s.lines.length > 1 ? 's' : ''} ${s.lines.join(', ')}). ` +
        'vault-setup read it here only and sends nothing anywhere. Anyone who can read it can open the server: shred it (--shred-unseal-script) and rekey afterwards.',
    );
  }
}

/** The playbook's app tokens: made by `token create -policy=default` (policies exactly ["default"]), not vault-setup's. */
async function defaultPolicyTokens(api: VaultApi, token: string): Promise<{ accessor: string; displayName: string }[]> {
  const list = await api.request<any>('LIST', 'auth/token/accessors', { token, accept: [404] });
  const found: { accessor: string; displayName: string }[] = [];
  for (const accessor of (list.body?.data?.keys ?? []) as string[]) {
    const res = await api.request<any>('POST', 'auth/token/lookup-accessor', { token, body: { accessor }, accept: [400, 403] });
    const d = res.body?.data;
    if (res.status !== 200 || d === undefined) continue;
    if (JSON.stringify(d.policies ?? []) !== JSON.stringify(['default']) || d.meta?.[APP_META] !== undefined || d.path !== 'auth/token/create') continue;
    found.push({ accessor, displayName: escapeControls(String(d.display_name ?? '')) });
  }
  return found;
}
