/** Names an address for traces: a container (with its network), the host itself, or other. */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { sameAddress } from './rules.ts';
import { endpointAddress } from './topology.ts';

export interface AddressDescription {
  readonly kind: 'container' | 'host' | 'other';
  /** Container name, or the host interface that holds the address. */
  readonly name?: string;
  /** The Docker network of the container, or the network whose subnet holds the address. */
  readonly network?: string;
}

function inCidr(address: string, cidr: string): boolean {
  try {
    const parsed = ipaddr.parse(address);
    const range = ipaddr.parseCIDR(cidr);
    return parsed.kind() === range[0].kind() && parsed.match(range);
  } catch {
    return false;
  }
}

export function describeAddress(
  snapshot: Snapshot,
  family: Family,
  address: string,
): AddressDescription {
  for (const c of snapshot.host.containers) {
    for (const e of c.endpoints) {
      const a = endpointAddress(e, family);
      if (a !== null && sameAddress(a, address))
        return { kind: 'container', name: c.name, network: e.network };
    }
  }
  for (const i of snapshot.host.interfaces) {
    if (i.addresses.some((a) => a.family === family && sameAddress(a.address, address))) {
      return { kind: 'host', name: i.name };
    }
  }
  for (const n of snapshot.host.networks) {
    for (const s of n.subnets) {
      if (s.family === family && s.gateway !== null && sameAddress(s.gateway, address)) {
        return n.bridgeName === null
          ? { kind: 'host', network: n.name }
          : { kind: 'host', name: n.bridgeName, network: n.name };
      }
    }
  }
  if (family === 'ipv4' ? inCidr(address, '127.0.0.0/8') : sameAddress(address, '::1')) {
    return { kind: 'host', name: 'lo' };
  }
  const network = snapshot.host.networks.find((n) =>
    n.subnets.some((s) => s.family === family && inCidr(address, s.cidr)),
  );
  return network === undefined ? { kind: 'other' } : { kind: 'other', network: network.name };
}
