// The compose service an agent on this host needs to reach the server: the deployment's run/ directory mounted
// read-only, the unix socket as its address, and the server's group for the socket's 0660 mode. The server has no
// bridge address to reach (docs/network.md), so this is the way in for containers.
import path from 'node:path';
import { loadDeployment } from '../deployment.ts';
import type { CommandResult } from '../invocation.ts';

export const SOCKET_MOUNT = '/run/vault-setup';

/** How the agent gets its secret_id: the single-use wrapping token, or the file `agent add --out-dir` wrote. */
export type SecretIdDelivery = { wrapped: true } | { file: string } | undefined;

/**
 * The service. The role_id is not secret and is written in; the wrapping token is not: compose takes it from the
 * operator's shell when the service is first started (`VAULT_WRAPPED_SECRET_ID=... docker compose up -d`), so it
 * never sits in a compose file (it works once and expires; empty on later starts, where the agent keeps its login).
 */
export function agentComposeSnippet(agent: string, runDir: string, gid: number, roleId?: string, delivery?: SecretIdDelivery): string {
  const address = `unix://${SOCKET_MOUNT}/server.sock`;
  const volumes = [`${runDir}:${SOCKET_MOUNT}:ro`];
  const env: [string, string][] = [
    ['VAULT_ADDR', address],
    ['BAO_ADDR', address],
  ];
  if (roleId !== undefined) env.push(['VAULT_ROLE_ID', roleId]);
  if (delivery !== undefined && 'wrapped' in delivery) env.push(['VAULT_WRAPPED_SECRET_ID', '${VAULT_WRAPPED_SECRET_ID:-}']);
  if (delivery !== undefined && 'file' in delivery) {
    volumes.push(`${path.dirname(delivery.file)}:${CREDENTIALS_MOUNT}:ro`);
    env.push(['VAULT_SECRET_ID_FILE', `${CREDENTIALS_MOUNT}/${path.basename(delivery.file)}`]);
  }
  return [
    'services:',
    `  ${agent}:`,
    '    image: <the agent image>',
    `    group_add: ["${gid}"]`,
    '    volumes:',
    ...volumes.map((v) => `      - ${JSON.stringify(v)}`),
    '    environment:',
    ...env.map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
  ].join('\n');
}

const CREDENTIALS_MOUNT = '/run/vault-setup-agent';

/** The snippet for the deployment in dir; undefined when there is none (only --addr was given). */
export async function snippetFor(agent: string, dir: string | undefined, roleId?: string, delivery?: SecretIdDelivery): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  const deployment = await loadDeployment(path.resolve(dir)).catch(() => undefined);
  if (deployment === undefined) return undefined;
  return agentComposeSnippet(agent, deployment.paths.runDir, deployment.layout.gid, roleId, delivery);
}

/** `agent add`'s result with the snippet: in --json as compose_snippet, for people after the credentials. */
export async function withComposeSnippet(result: CommandResult, agent: string, dir: string | undefined): Promise<CommandResult> {
  const data = result.data as { role_id?: string; wrapped_secret_id?: string | null; files?: string[] };
  const delivery: SecretIdDelivery = data.wrapped_secret_id ? { wrapped: true } : data.files?.[1] !== undefined ? { file: data.files[1] } : undefined;
  const snippet = await snippetFor(agent, dir, data.role_id, delivery);
  if (snippet === undefined) return result;
  return {
    ...result,
    data: { ...(result.data as Record<string, unknown>), compose_snippet: snippet },
    human: `${result.human ?? ''}\n\nA compose service for the agent on this host (it reaches the server through the unix socket):\n${snippet}${delivery !== undefined && 'wrapped' in delivery ? '\nStart it with the wrapped secret_id in the environment, not in the file: VAULT_WRAPPED_SECRET_ID=<it> docker compose up -d' : ''}`,
  };
}
