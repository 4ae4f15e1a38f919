// --advertise: the host's address on the cluster's private network (WireGuard, Tailscale, a VPC). The API and the
// cluster port listen there; it must be an address of this host that other hosts reach, never a wildcard.
import { isIP } from 'node:net';
import { usageError } from '../errors.ts';
import { isLoopbackHost } from '../services/addr-policy.ts';

export function checkAdvertise(value: string): string {
  const addr = value.replace(/^\[|\]$/g, '');
  if (isIP(addr) === 0) throw usageError(`--advertise must be an IP address of this host on the private network, got "${value.slice(0, 60)}"`, 'e.g. --advertise 10.0.0.1 (the WireGuard or Tailscale address)');
  if (addr === '0.0.0.0' || addr === '::') throw usageError(`--advertise ${addr} is every address: the cluster port would answer on the public one too`, 'give the private address itself, e.g. --advertise 10.0.0.1');
  if (isLoopbackHost(addr)) throw usageError(`--advertise ${addr} is loopback: other hosts cannot reach it`, 'give the private address (WireGuard, Tailscale, VPC), e.g. --advertise 10.0.0.1');
  return addr;
}

/** A node's API URL on its private address. */
export const nodeApi = (advertise: string, port: number): string => `https://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`;
