/** Names an address for traces: a container (with its network), the host itself, or other. */
import ipaddr from 'ipaddr.js';
import type { Family } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { normalizeAddress, sameAddress } from './rules.ts';
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
  return addressDescriber(snapshot, family)(address);
}

/**
 * describeAddress for many addresses of one snapshot: the containers', interfaces' and gateways'
 * addresses are indexed once (a big host names tens of thousands of delivered addresses against
 * thousands of containers). The first container, interface or gateway listed wins, as in a scan.
 */
export function addressDescriber(
  snapshot: Snapshot,
  family: Family,
): (address: string) => AddressDescription {
  const known = new Map<string, AddressDescription>();
  const add = (address: string, d: AddressDescription): void => {
    const key = normalizeAddress(address);
    if (!known.has(key)) known.set(key, d);
  };
  for (const c of snapshot.host.containers) {
    for (const e of c.endpoints) {
      const a = endpointAddress(e, family);
      if (a !== null) add(a, { kind: 'container', name: c.name, network: e.network });
    }
  }
  for (const i of snapshot.host.interfaces)
    for (const a of i.addresses)
      if (a.family === family) add(a.address, { kind: 'host', name: i.name });
  for (const n of snapshot.host.networks)
    for (const s of n.subnets)
      if (s.family === family && s.gateway !== null)
        add(
          s.gateway,
          n.bridgeName === null
            ? { kind: 'host', network: n.name }
            : { kind: 'host', name: n.bridgeName, network: n.name },
        );
  return (address) => {
    const hit = known.get(normalizeAddress(address));
    if (hit !== undefined) return hit;
    if (family === 'ipv4' ? inCidr(address, '127.0.0.0/8') : sameAddress(address, '::1')) {
      return { kind: 'host', name: 'lo' };
    }
    const network = snapshot.host.networks.find((n) =>
      n.subnets.some((s) => s.family === family && inCidr(address, s.cidr)),
    );
    return network === undefined ? { kind: 'other' } : { kind: 'other', network: network.name };
  };
}
