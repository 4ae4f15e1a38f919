// Where a command that talks to an existing deployment talks to: the deployment's record (or --addr), and one
// VaultApi for it. Every such command (unseal, status, verify, agent, backup, restore) starts here.
import path from 'node:path';
import type { Context } from '../context.ts';
import { defaultDir, loadDeployment } from '../deployment.ts';
import { type DeploymentRecordFile, readRecord } from '../deployment/record.ts';
import { VaultSetupError } from '../errors.ts';
import { readIfExists } from './files.ts';
import { type SealStatus, VaultApi, type VaultApiOptions } from './vault-api.ts';

export interface Target {
  dir: string | undefined;
  name: string | undefined;
  address: string;
  caCert: string | undefined;
  image: string | undefined;
  /** What init recorded in vault-setup.json (catalog, app, agents); undefined for --addr only or an older deployment. */
  record?: DeploymentRecordFile | undefined;
}

/** What the operator named: --dir (default ~/docker/vault) and/or --addr. */
export interface TargetOptions {
  dir?: string | undefined;
  addr?: string | undefined;
}

/** An --addr value a server can be reached at; the same one-line usage error wherever it is read. */
export function checkAddr(addr: string | undefined): void {
  if (addr !== undefined && !/^https?:\/\/[^\s/]+/.test(addr)) {
    throw new VaultSetupError('E_USAGE', `--addr must be an http:// or https:// URL, got "${addr}"`);
  }
}

/** Where a command talks to: --addr wins, else the deployment in --dir (default ~/docker/vault). */
export async function resolveTarget(ctx: Pick<Context, 'env'>, options: TargetOptions): Promise<Target> {
  const dir = path.resolve(options.dir ?? defaultDir(ctx.env));
  const addr = options.addr;
  // With --addr the server is named outright: a compose file vault-setup cannot read does not stand in the way.
  const deployment = addr === undefined ? await loadDeployment(dir) : await loadDeployment(dir).catch((error: unknown) => {
    if (error instanceof VaultSetupError) return undefined;
    throw error;
  });
  if (addr !== undefined) {
    checkAddr(addr);
    const record = deployment === undefined ? undefined : await readRecord(dir).catch(() => undefined);
    return { dir: deployment ? dir : undefined, name: deployment?.name, address: addr, caCert: await readCa(deployment?.paths.caCert), image: deployment?.image, record };
  }
  if (deployment === undefined) {
    throw new VaultSetupError('E_NOT_DEPLOYED', `no vault-setup deployment in ${dir}`, {
      hint: 'pass --dir where `vault-setup init` wrote docker-compose.yml, or --addr URL',
    });
  }
  // A damaged or newer record stops here, with the file and the field (exit 18).
  const record = await readRecord(dir);
  return { dir, name: deployment.name, address: deployment.address, caCert: await readCa(deployment.tls ? deployment.paths.caCert : undefined), image: deployment.image, record };
}

const readCa = async (file: string | undefined): Promise<string | undefined> => (file === undefined ? undefined : readIfExists(file));

/** A VaultApi for an address, with the deployment's CA when it has one: the one place clients are built. */
export function connect(ctx: Pick<Context, 'clock' | 'dial'> | undefined, address: string, caCert: string | undefined, options: Partial<VaultApiOptions> = {}): VaultApi {
  return new VaultApi({ address: ctx === undefined ? address : ctx.dial(address), ...(ctx === undefined ? {} : { clock: ctx.clock }), ...(caCert ? { caCert } : {}), ...options });
}

export interface OpenTarget extends Disposable {
  target: Target;
  api: VaultApi;
  close(): void;
}

/** The target and a client for it; close() (or `using`) releases the client's connections. */
export async function openTarget(ctx: Pick<Context, 'env' | 'clock' | 'dial'>, options: TargetOptions, api: Partial<VaultApiOptions> = {}): Promise<OpenTarget> {
  const target = await resolveTarget(ctx, options);
  const client = connect(ctx, target.address, target.caCert, api);
  const close = () => client.close();
  return { target, api: client, close, [Symbol.dispose]: close };
}

/** The server must be initialised and unsealed for what follows: otherwise one error that says which and what to do. */
export function requireUnsealed(seal: SealStatus, address: string, why: { suffix?: string; sealedHint?: string; uninitialisedHint?: string } = {}): void {
  if (seal.initialized && !seal.sealed) return;
  throw new VaultSetupError(seal.initialized ? 'E_SEALED' : 'E_NOT_INITIALIZED', `the server at ${address} is ${seal.initialized ? 'sealed' : 'not initialised'}${why.suffix ?? ''}`, {
    hint: seal.initialized ? (why.sealedHint ?? 'unseal it first: vault-setup unseal') : (why.uninitialisedHint ?? 'run `vault-setup init` first'),
  });
}
