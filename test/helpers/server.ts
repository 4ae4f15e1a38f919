// A deployed, initialised and unsealed server for tests of what comes after the ceremony, by address. The client is
// day2.ts's (one independent client, node:http(s), not the product's VaultApi). The shares and the root token stay
// in this process's memory: never written to disk, argv or a child's environment.
import type { TestDeployment } from './deployment.ts';
import { type Initialised, call, deploy as deployServer, initAndUnseal as initServer, waitActive as waitServer } from './day2.ts';

export type { Initialised };

/** `init --deploy-only`: files, container, a server that answers (uninitialised). */
export async function deploy(d: TestDeployment, flavor: string, image: string): Promise<void> {
  await deployServer(d, flavor, image);
}

export const api = (address: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> =>
  call({ address }, method, path, options);

/** PUT sys/init then sys/unseal with the shares, and waits until the node is active. */
export const initAndUnseal = (address: string, options: { shares?: number; threshold?: number } = {}): Promise<Initialised> =>
  initServer({ address }, options.shares ?? 3, options.threshold ?? 2);

/** Raft needs a moment after unseal before it serves requests (429/500 from sys/health meanwhile). */
export const waitActive = (address: string): Promise<void> => waitServer({ address });
