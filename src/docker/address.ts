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
  // the networks' subnets parsed once, in the order a scan would meet them; one that is not a
  // CIDR holds no address
  const subnets = networkSubnets(snapshot, family).flatMap((s) =>
    s.range === null ? [] : [{ network: s.network, range: s.range }],
  );
  const loopback = ipaddr.parseCIDR('127.0.0.0/8');
  const describeOther = (address: string): AddressDescription => {
    let parsed: ReturnType<typeof ipaddr.parse> | null = null;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      parsed = null;
    }
    const within = (range: ReturnType<typeof ipaddr.parseCIDR>): boolean =>
      parsed !== null && parsed.kind() === range[0].kind() && parsed.match(range);
    if (family === 'ipv4' ? within(loopback) : sameAddress(address, '::1')) {
      return { kind: 'host', name: 'lo' };
    }
    const network = subnets.find((s) => within(s.range));
    return network === undefined ? { kind: 'other' } : { kind: 'other', network: network.network };
  };
  // answers are kept: a big host names each delivered address several times
  return (address) => {
    const key = normalizeAddress(address);
    let d = known.get(key);
    if (d === undefined) {
      d = describeOther(address);
      known.set(key, d);
    }
    return d;
  };
}

/** A subnet of a Docker network, parsed; `range` is null when the text is not a CIDR. */
export interface NetworkSubnet {
  readonly network: string;
  readonly range: ReturnType<typeof ipaddr.parseCIDR> | null;
}

/** A family's subnets of every network, parsed once, in the order networks.json lists them. */
export function networkSubnets(snapshot: Snapshot, family: Family): NetworkSubnet[] {
  return snapshot.host.networks.flatMap((n) =>
    n.subnets
      .filter((s) => s.family === family)
      .map((s) => ({ network: n.name, range: parseRange(s.cidr) })),
  );
}

function parseRange(cidr: string): ReturnType<typeof ipaddr.parseCIDR> | null {
  try {
    return ipaddr.parseCIDR(cidr);
  } catch {
    return null;
  }
}
