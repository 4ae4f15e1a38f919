// Ctrl-C (SIGINT/SIGTERM) during a storage migration: the server may be stopped and a one-shot container of ours
// may be at work. The guard stops the migration where it is (nothing after the signal starts), removes the
// `operator migrate` one-shot (its copy goes to data.raft.tmp/, which the next run discards), lets a one-shot that
// moves data/ finish (seconds; a half-done move is what the resume would have to untangle), then says where things
// are: the stage recorded, whether the server runs, the command that resumes, and the way back to file storage.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.ts';
import { composeUpCommand, defaultProjectName } from '../deployment/container.ts';
import { ONE_SHOT } from '../deployment/ownership.ts';
import { readIfExists } from '../services/files.ts';
import { SERVICE } from '../services/templates.ts';
import { OLD_CONFIG, OLD_DATA, STATE_FILE, fileStorageBlock, readState, removeMigrationLeftovers } from './host.ts';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class MigrationGuard {
  interrupted = false;
  #copying = false;
  #moving: Promise<unknown> | undefined;

  readonly ctx: Context;
  readonly where: { dir: string; name: string; command: string; resume: string; configDir: string; config: string };

  constructor(ctx: Context, where: MigrationGuard['where']) {
    this.ctx = ctx;
    this.where = where;
  }

  /** Runs STEP unless interrupted; once interrupted, the step's outcome is never seen (the handler ends the process). */
  async step<T>(step: () => Promise<T>): Promise<T> {
    if (this.interrupted) return never();
    try {
      const value = await step();
      return this.interrupted ? never() : value;
    } catch (error) {
      if (this.interrupted) return never();
      throw error;
    }
  }

  /** `operator migrate` in its one-shot: removed on interrupt. */
  copy<T>(run: () => Promise<T>): Promise<T> {
    return this.step(async () => {
      this.#copying = true;
      try {
        return await run();
      } finally {
        this.#copying = false;
      }
    });
  }

  /** A one-shot that moves data/ (the switch, the way back, the clean-up): waited for on interrupt. */
  move<T>(run: () => Promise<T>): Promise<T> {
    return this.step(() => {
      const p = run();
      this.#moving = p.catch(() => undefined);
      return p.finally(() => (this.#moving = undefined));
    });
  }

  /** The interrupt handler: returns true when the process may exit (exit 130). */
  async onInterrupt(signal: string | undefined): Promise<boolean> {
    if (this.interrupted) return false; // a second Ctrl-C: the first is already saying where things are
    this.interrupted = true;
    const { ctx } = this;
    const lines: string[] = [];
    try {
      const removed: string[] = [];
      if (this.#copying) {
        removed.push(...(await this.#oneShots()));
        await removeMigrationLeftovers(ctx, this.where.name);
      } else if (this.#moving !== undefined) await this.#moving;
      lines.push(...(await this.#whereItIs(signal, removed)));
    } catch (error) {
      lines.push(`✖ vault-setup ${this.where.command}: interrupted (${signal ?? 'signal'}); where the migration stopped could not be read (${(error as Error).message})`, `  → resume: ${this.where.resume}`);
    }
    const style = ctx.output.style;
    for (const line of lines) ctx.output.streams.stderr.write(`${line.startsWith('✖') ? `${style.red('✖')}${line.slice(1)}` : line}\n`);
    return true;
  }

  async #oneShots(): Promise<string[]> {
    const docker = await this.ctx.docker.client();
    const listed = await docker.listContainers({ all: true, filters: { label: [`${ONE_SHOT.project}=${this.where.name}`] } });
    return listed.map((c) => (c.Names[0] ?? '').replace(/^\//, '')).filter((n) => n.startsWith(`${this.where.name}-migrate-`));
  }

  async #whereItIs(signal: string | undefined, removed: string[]): Promise<string[]> {
    const { ctx } = this;
    const { dir, name, command, resume } = this.where;
    const state = await readState(dir).catch(() => undefined);
    const container = await ctx.docker.findService(name, SERVICE).catch(() => undefined);
    const running = container?.state === 'running';
    const hcl = (await readIfExists(this.where.config)) ?? '';
    const onFile = fileStorageBlock(hcl) !== undefined;
    const oldData = await fs.stat(path.join(dir, OLD_DATA)).then(() => true, () => false);
    const oldConfig = (await readIfExists(path.join(this.where.configDir, OLD_CONFIG))) !== undefined;
    const lines = [`✖ vault-setup ${command}: interrupted (${signal ?? 'signal'}) during the storage migration; last stage recorded: ${state?.stage ?? 'none, nothing was changed'}${state === undefined ? '' : ` (${STATE_FILE})`}.`];
    lines.push(running
      ? `  The server (${name}) is running, on ${onFile ? 'file' : 'raft'} storage.`
      : `  The server (${name}) is ${container === undefined ? 'not there' : 'stopped'}: apps get nothing until it runs again.`);
    if (removed.length > 0) lines.push(`  Removed the one-shot \`operator migrate\` container ${removed.join(', ')} (its partial copy is discarded by the next run).`);
    if (state === undefined && running) return [...lines, `  → to migrate: ${resume}`];
    lines.push(`  → to resume: ${resume}`);
    const project = { project: name, projectIsDefault: name === defaultProjectName(dir) };
    const up = await composeUpCommand(ctx, dir, project);
    if (onFile && !oldData) {
      // data/ is the file storage and vault.hcl still says so: starting the container is going back.
      const start = running ? '' : container === undefined ? `${up}, then ` : `docker start ${name}, then `;
      lines.push(`  → to go back to file storage instead (data/ is untouched): ${start}vault-setup unseal --dir ${dir}, and rm ${path.join(dir, STATE_FILE)} so that a later migrate starts over`);
    } else if (oldData) {
      lines.push(
        `  → to go back to file storage instead (docs/migrate.md, "The way back"): docker stop ${name}; cd ${dir} && rm -rf data && mv ${OLD_DATA} data${oldConfig ? ` && mv config/${OLD_CONFIG} config/vault.hcl` : ''}; ${up}; vault-setup unseal --dir ${dir}; rm ${path.join(dir, STATE_FILE)}`,
      );
    } else lines.push(`  The old file storage is gone (${OLD_DATA}/ was dropped after the check and the snapshot): resuming finishes the migration.`);
    return lines;
  }
}
