/**
 * What the kernel referee sends for one topology: every published port (from the remote client
 * to the host's external address, and from the host itself — to 127.0.0.1 for loopback-bound
 * mappings), the other protocol on the same port, unpublished container ports, direct container
 * addresses, a plain host service, and container-to-container connections. Pure planning; the
 * namespaces are in netns.ts.
 */
import { EXTERNAL6, type LabV6 } from './ipv6.ts';
import {
  EXTERNAL,
  HOST_SERVICE_PORT,
  UNPUBLISHED_PORT,
  type LabProtocol,
  type LabTopology,
} from './topology.ts';

/** Where a probe is sent from: the remote client, the host namespace, or a container. */
export type ProbeOrigin =
  | { readonly kind: 'client' }
  | { readonly kind: 'host' }
  | { readonly kind: 'container'; readonly name: string };

export interface Probe {
  readonly id: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly origin: ProbeOrigin;
  readonly protocol: LabProtocol;
  /** Source address the probe binds, so the engine sees the same packet. */
  readonly source: string;
  readonly sourcePort: number;
  readonly destination: string;
  readonly port: number;
  /** Ingress interface of the first packet at the host; null when the host sends it (OUTPUT). */
  readonly inInterface: string | null;
  /** True when the packet is bridged between two ports of one bridge (needs br_netfilter). */
  readonly bridged: boolean;
  readonly description: string;
}

const PROTOCOLS = ['tcp', 'udp'] as const;
const other = (p: LabProtocol): LabProtocol => (p === 'tcp' ? 'udp' : 'tcp');

export function planProbes(t: LabTopology): Probe[] {
  const probes: Probe[] = [];
  const seen = new Set<string>();
  const add = (q: Omit<Probe, 'id' | 'sourcePort' | 'family'>): void => {
    const p = { family: q.destination.includes(':') ? ('ipv6' as const) : ('ipv4' as const), ...q };
    const key = `${JSON.stringify(p.origin)} ${p.source} ${p.protocol} ${p.destination}:${p.port}`;
    if (seen.has(key)) return;
    seen.add(key);
    // Fixed, distinct source ports make each probe one exactly known packet.
    probes.push({ ...p, id: `p${probes.length}`, sourcePort: 40000 + probes.length });
  };
  const fromClient = (protocol: LabProtocol, destination: string, port: number, d: string): void =>
    add({
      origin: { kind: 'client' },
      protocol,
      source: destination.includes(':') ? EXTERNAL6.clientAddress : EXTERNAL.clientAddress,
      destination,
      port,
      inInterface: EXTERNAL.hostInterface,
      bridged: false,
      description: `client → ${hostPort(destination, port)}/${protocol} (${d})`,
    });
  const fromHost = (protocol: LabProtocol, destination: string, port: number, d: string): void =>
    add({
      origin: { kind: 'host' },
      protocol,
      source: destination.startsWith('127.')
        ? '127.0.0.1'
        : destination === '::1'
          ? '::1'
          : destination.includes(':')
            ? EXTERNAL6.hostAddress
            : EXTERNAL.hostAddress,
      destination,
      port,
      inInterface: null,
      bridged: false,
      description: `host → ${hostPort(destination, port)}/${protocol} (${d})`,
    });

  for (const p of t.published) {
    const what = `published ${p.hostIp}:${p.hostPort} → ${p.container}:${p.containerPort}`;
    fromClient(p.protocol, EXTERNAL.hostAddress, p.hostPort, what);
    fromClient(other(p.protocol), EXTERNAL.hostAddress, p.hostPort, `${what}, other protocol`);
    if (p.hostIp.startsWith('127.')) fromHost(p.protocol, p.hostIp, p.hostPort, what);
    else fromHost(p.protocol, EXTERNAL.hostAddress, p.hostPort, what);
    fromHost(p.protocol, '127.0.0.1', p.hostPort, `${what}, via loopback`);
  }
  for (const protocol of PROTOCOLS) {
    fromClient(protocol, EXTERNAL.hostAddress, HOST_SERVICE_PORT, 'host service');
    fromClient(protocol, EXTERNAL.hostAddress, UNPUBLISHED_PORT, 'nothing listens');
    // the host service at each bridge's address too: delivered all the same, but a server bound
    // to every address answers a datagram from the host's address toward the client
    for (const b of t.bridges)
      fromClient(protocol, b.gateway, HOST_SERVICE_PORT, `host service at ${b.name}'s address`);
  }
  for (const c of t.containers) {
    for (const port of c.ports) {
      for (const protocol of PROTOCOLS) {
        const published = t.published.some(
          (p) => p.containerAddress === c.address && p.containerPort === port,
        );
        fromClient(
          protocol,
          c.address,
          port,
          `${c.name} direct, ${published ? 'published port' : 'unpublished port'}`,
        );
      }
    }
    fromHost('tcp', c.address, 80, `${c.name} from the host`);
  }
  if (t.v6 !== null) planV6(t, t.v6, fromClient, fromHost);
  for (const x of t.rejected) {
    fromClient(x.protocol, x.address, x.port, 'a REJECT rule names it');
    fromHost(x.protocol, x.address, x.port, 'a REJECT rule names it');
  }
  // Container to container: across bridges (routed, FORWARD) and within one bridge (bridged).
  // Every pair for a handful of containers; for more, each one's neighbour on its own bridge and
  // the first container of the next bridge, so the count stays linear.
  const cs = t.containers;
  const targets = (i: number): typeof cs => {
    const a = cs[i];
    if (a === undefined) return [];
    if (cs.length <= 4) return cs.filter((b) => b !== a);
    const same = cs.filter((b) => b.bridge === a.bridge);
    const bridges = [...new Set(cs.map((b) => b.bridge))];
    const nextBridge = bridges[(bridges.indexOf(a.bridge) + 1) % bridges.length];
    const pick = [
      same[(same.indexOf(a) + 1) % same.length],
      cs.find((b) => b.bridge === nextBridge),
    ];
    return pick.filter((b): b is (typeof cs)[number] => b !== undefined && b !== a);
  };
  cs.forEach((a, i) => {
    for (const b of targets(i)) {
      add({
        origin: { kind: 'container', name: a.name },
        protocol: 'tcp',
        source: a.address,
        destination: b.address,
        port: 80,
        inInterface: a.bridge,
        bridged: a.bridge === b.bridge,
        description: `${a.name} → ${b.name}:80/tcp (${a.bridge === b.bridge ? 'same bridge' : 'across bridges'})`,
      });
    }
  });
  return probes;
}

const hostPort = (address: string, port: number): string =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

type Send = (protocol: LabProtocol, destination: string, port: number, d: string) => void;

/** IPv6: mappings ip6tables DNATs, direct container addresses, and the host's own [::1]. */
function planV6(t: LabTopology, v6: LabV6, fromClient: Send, fromHost: Send): void {
  for (const protocol of PROTOCOLS) {
    fromClient(protocol, EXTERNAL6.hostAddress, HOST_SERVICE_PORT, 'host service');
    for (const b of v6.bridges)
      fromClient(protocol, b.gateway, HOST_SERVICE_PORT, `host service at ${b.name}'s address`);
  }
  for (const p of v6.published) {
    const what = `published [::]:${p.hostPort} → ${p.container}:${p.containerPort}`;
    fromClient(p.protocol, EXTERNAL6.hostAddress, p.hostPort, what);
    fromClient(other(p.protocol), EXTERNAL6.hostAddress, p.hostPort, `${what}, other protocol`);
    fromHost(p.protocol, EXTERNAL6.hostAddress, p.hostPort, what);
    fromHost(p.protocol, '::1', p.hostPort, `${what}, via loopback`);
  }
  for (const c of v6.containers) {
    const ports = t.containers.find((x) => x.name === c.name)?.ports ?? [80, UNPUBLISHED_PORT];
    for (const port of ports) {
      for (const protocol of PROTOCOLS) {
        const published = v6.published.some(
          (p) => p.containerAddress === c.address && p.containerPort === port,
        );
        fromClient(
          protocol,
          c.address,
          port,
          `${c.name} direct, ${published ? 'published port' : 'unpublished port'}`,
        );
      }
    }
    fromHost('tcp', c.address, 80, `${c.name} from the host`);
  }
}
