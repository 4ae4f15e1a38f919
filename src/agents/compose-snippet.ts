// The compose service an agent on this host needs to reach the server: the deployment's run/ directory mounted
// read-only, the unix socket as its address, and the server's group for the socket's 0660 mode. The server has no
// bridge address to reach (docs/network.md), so this is the way in for containers.
import path from 'node:path';
import { loadDeployment } from '../deployment.ts';
import type { CommandResult } from '../invocation.ts';

export const SOCKET_MOUNT = '/run/vault-setup';

export function agentComposeSnippet(agent: string, runDir: string, gid: number): string {
  const address = `unix://${SOCKET_MOUNT}/server.sock`;
  return [
    'services:',
    `  ${agent}:`,
    '    image: <the agent image>',
    `    group_add: ["${gid}"]`,
    '    volumes:',
    `      - ${JSON.stringify(`${runDir}:${SOCKET_MOUNT}:ro`)}`,
    '    environment:',
    `      VAULT_ADDR: ${JSON.stringify(address)}`,
    `      BAO_ADDR: ${JSON.stringify(address)}`,
  ].join('\n');
}

/** The snippet for the deployment in dir; undefined when there is none (only --addr was given). */
export async function snippetFor(agent: string, dir: string | undefined): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  const deployment = await loadDeployment(path.resolve(dir)).catch(() => undefined);
  if (deployment === undefined) return undefined;
  return agentComposeSnippet(agent, deployment.paths.runDir, deployment.layout.gid);
}

/** `agent add`'s result with the snippet: in --json as compose_snippet, for people after the credentials. */
export async function withComposeSnippet(result: CommandResult, agent: string, dir: string | undefined): Promise<CommandResult> {
  const snippet = await snippetFor(agent, dir);
  if (snippet === undefined) return result;
  return {
    ...result,
    data: { ...(result.data as Record<string, unknown>), compose_snippet: snippet },
    human: `${result.human ?? ''}\n\nA compose service for the agent on this host (it reaches the server through the unix socket):\n${snippet}`,
  };
}
