// Which container is a deployment's server, found the way compose finds it. vault-setup starts its deployments
// with `-p NAME` and the service `server`; a deployment made by hand (`cd ~/docker/vault && docker compose up -d`)
// has the directory's name as its compose project and its own service key (the playbook's is `vault`). Both are
// looked up by compose's labels, then by the compose file's container_name (never another directory's container).
import path from 'node:path';
import type { Context } from '../context.ts';
import { SERVICE } from '../services/templates.ts';
import { WORKING_DIR } from './ownership.ts';

/** What compose names a project when none is given: the directory's name, lowercased, other characters dropped. */
export function defaultProjectName(dir: string): string {
  return path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

export interface ComposeFacts {
  /** The service key of the server in docker-compose.yml (`server` for vault-setup, the first one otherwise). */
  service: string;
  /** container_name, when the file sets one. */
  containerName: string | undefined;
  /** The file's top-level `name:`, which compose takes as the project name. */
  projectName: string | undefined;
}

/** The facts above from a parsed compose file (undefined: the file could not be read). */
export function composeFacts(doc: unknown): ComposeFacts {
  const d = (doc ?? {}) as { name?: unknown; services?: Record<string, { container_name?: unknown } | null> };
  const services = d.services !== null && typeof d.services === 'object' ? d.services : {};
  const service = Object.hasOwn(services, SERVICE) ? SERVICE : (Object.keys(services)[0] ?? SERVICE);
  const containerName = services[service]?.container_name;
  return { service, containerName: typeof containerName === 'string' ? containerName : undefined, projectName: typeof d.name === 'string' && d.name !== '' ? d.name : undefined };
}

export interface Located {
  /** The container's id and name, when there is one (running or not). */
  found: { id: string; name: string } | undefined;
  /** The compose project it belongs to, or would belong to when started the way its files are meant to be. */
  project: string;
  /** True when `cd DIR && <compose> up -d` would name that project itself (no `-p` needed). */
  projectIsDefault: boolean;
}

/**
 * The deployment's server container: by compose labels (vault-setup's project NAME, then compose's own project for
 * the directory, each with the file's service key), else by container_name when that container works from DIR
 * (or says nothing about where it works from).
 */
export async function locateContainer(ctx: Context, input: { dir: string; name: string; compose: ComposeFacts | undefined }): Promise<Located> {
  const facts = input.compose ?? { service: SERVICE, containerName: undefined, projectName: undefined };
  const dirProject = facts.projectName ?? defaultProjectName(input.dir);
  // vault-setup's own files (service `server`) are started with -p NAME; a hand-made file by compose's default.
  const expected = facts.service === SERVICE ? input.name : dirProject;
  const here = path.resolve(input.dir);
  const docker = await ctx.docker.client();
  const tried = new Set<string>();
  // The project NAME is the deployment's own (as before); a directory's name may be another directory's project too
  // (/srv/a/vault, /srv/b/vault), so there the container must work from DIR.
  const candidates = [[input.name, SERVICE, false], [input.name, facts.service, false], [dirProject, facts.service, true], [dirProject, SERVICE, true]] as const;
  for (const [project, service, mustBeHere] of candidates) {
    if (tried.has(`${project}/${service}`)) continue;
    tried.add(`${project}/${service}`);
    const listed = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] } });
    const mine = listed.find((c) => !mustBeHere || c.Labels[WORKING_DIR] === undefined || path.resolve(c.Labels[WORKING_DIR]) === here);
    if (mine !== undefined) return { found: { id: mine.Id, name: (mine.Names[0] ?? '').replace(/^\//, '') }, project, projectIsDefault: project === dirProject };
  }
  const byName = facts.containerName ?? input.name;
  const named = (await docker.listContainers({ all: true, filters: { name: [`^/${byName}$`] } }))[0];
  if (named !== undefined) {
    const other = named.Labels[WORKING_DIR];
    if (other === undefined || path.resolve(other) === here) {
      const project = named.Labels['com.docker.compose.project'] ?? expected;
      return { found: { id: named.Id, name: byName }, project, projectIsDefault: project === dirProject };
    }
  }
  return { found: undefined, project: expected, projectIsDefault: expected === dirProject };
}

/** The command that starts the deployment, in the words of the compose installed here (v2 or v1). */
export async function composeUpCommand(ctx: Context, dir: string, located: Pick<Located, 'project' | 'projectIsDefault'>): Promise<string> {
  const compose = await ctx.compose.detect().then((c) => [c.file, ...c.args].join(' ')).catch(() => 'docker compose');
  return `cd ${dir} && ${compose}${located.projectIsDefault ? '' : ` -p ${located.project}`} up -d`;
}
