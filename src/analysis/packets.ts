/**
 * The concrete packets analyses send through the engine to prove a claim: a new connection from
 * a remote client (a documentation address, never the host's own) to the address a remote
 * client would use for a binding.
 */
import { familyOfAddress, isLinkLocal, isLoopback, isWildcard } from '../docker/bindings.ts';
import { externalInterfaces } from '../docker/interfaces.ts';
import type { DockerHost, PublishedPort } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import type { Packet } from '../model/trace.ts';

/**
 * An address of the host a remote client would connect to for a binding: the bound address
 * itself, or for a wildcard the host's own address on an external interface, else another
 * non-loopback address the engine treats as local (a bridge gateway), else a documentation
 * address (which the engine takes as the host's only by an assumption it states, unless the
 * packet says it is sent to the host: `connectionToHost`).
 */
export function hostAddressFor(
  host: DockerHost,
  family: Family,
  bound: string,
  local: readonly string[] = [],
): string {
  if (!isWildcard(bound)) return bound;
  const ext = externalInterfaces(host, family);
  for (const name of ext) {
    const iface = host.interfaces.find((i) => i.name === name);
    const addr = iface?.addresses.find((a) => a.family === family && a.scope !== 'link');
    if (addr !== undefined) return addr.address;
  }
  const usable = local.filter(
    (a) => familyOfAddress(a) === family && !isLoopback(a) && !isLinkLocal(a),
  );
  const gateways = new Set(
    host.networks.flatMap((n) =>
      n.subnets.map((s) => s.gateway).filter((g): g is string => g !== null),
    ),
  );
  const preferred = usable.find((a) => !gateways.has(a)) ?? usable[0];
  if (preferred !== undefined) return preferred;
  return family === 'ipv4' ? '198.51.100.1' : '2001:db8:1::1';
}

/**
 * The remote client used in witnesses: a documentation address (TEST-NET / 2001:db8::/32) that
 * is not one of the host's own addresses, so a witness never comes from the host itself.
 */
export function remoteClient(family: Family, host?: DockerHost): string {
  const own = new Set(host?.interfaces.flatMap((i) => i.addresses.map((a) => a.address)) ?? []);
  const candidates =
    family === 'ipv4'
      ? ['203.0.113.77', '198.51.100.77', '192.0.2.77']
      : ['2001:db8:ffff::77', '2001:db8:fffe::77'];
  return candidates.find((c) => !own.has(c)) ?? (candidates[0] as string);
}

export function newConnection(
  family: Family,
  protocol: 'tcp' | 'udp' | 'sctp',
  source: string,
  destination: string,
  port: number,
  inInterface: string,
): Packet {
  return {
    family,
    protocol,
    source,
    sourcePort: 40000,
    destination,
    destinationPort: port,
    inInterface,
    state: 'NEW',
    mark: 0,
  };
}

/**
 * A remote client's new connection to a published port, arriving on the host's first external
 * interface: to `destination` when a rule names one, else to the host address a client would use
 * for the binding (`local`: addresses the engine treats as the host's).
 */
export function publishedPortConnection(
  host: DockerHost,
  family: Family,
  p: PublishedPort,
  destination: string | null,
  local: readonly string[] = [],
): Packet {
  const port = p.hostPort ?? p.containerPort;
  return destination === null
    ? connectionToHost(host, family, p.protocol, p.hostIp, port, local)
    : fromOutside(host, family, p.protocol, destination, port);
}

/**
 * A remote client's new connection to the host's port for a binding (see `hostAddressFor`). For
 * a wildcard binding the address only stands for the host: the packet is marked as sent to one
 * of the host's addresses (`destinationIsHost`), so that what the engine says of it holds for
 * whatever addresses the host has, rather than resting on the stand-in being one of them.
 */
export function connectionToHost(
  host: DockerHost,
  family: Family,
  protocol: 'tcp' | 'udp' | 'sctp',
  bound: string,
  port: number,
  local: readonly string[] = [],
): Packet {
  const packet = fromOutside(
    host,
    family,
    protocol,
    hostAddressFor(host, family, bound, local),
    port,
  );
  return isWildcard(bound) ? { ...packet, destinationIsHost: true } : packet;
}

/** The remote client's new connection to `destination`, arriving on the first external interface. */
function fromOutside(
  host: DockerHost,
  family: Family,
  protocol: 'tcp' | 'udp' | 'sctp',
  destination: string,
  port: number,
): Packet {
  return newConnection(
    family,
    protocol,
    remoteClient(family, host),
    destination,
    port,
    externalInterfaces(host, family)[0] ?? 'eth0',
  );
}
