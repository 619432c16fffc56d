/**
 * Planned networks and containers written the way `docker network inspect` and `docker inspect`
 * print them, so a planned snapshot is read back by the same loaders as a collected one. Only
 * what Docker would really report is written; identifiers are derived from names (sha256), so
 * the same plan gives the same files.
 */
import { createHash } from 'node:crypto';
import type { Container, Network, PortBindingRequest, PublishedPort } from '../model/host.ts';

/** Docker-style 64-hex id, derived from what the object is. */
export function plannedId(kind: string, name: string): string {
  return createHash('sha256').update(`dockwall plan ${kind} ${name}`).digest('hex');
}

/** A planned object has no creation time; the zero time Docker uses for "never". */
const NEVER = '0001-01-01T00:00:00Z';

export function networkInspect(
  network: Network,
  labels: Readonly<Record<string, string>>,
  containers: readonly Container[],
): Record<string, unknown> {
  const members: Record<string, unknown> = {};
  for (const c of containers) {
    const e = c.endpoints.find((x) => x.network === network.name);
    if (e === undefined) continue;
    members[c.id] = {
      Name: c.name,
      EndpointID: plannedId('endpoint', `${c.name} ${network.name}`),
      MacAddress: e.mac ?? '',
      IPv4Address: e.ipv4 === null ? '' : `${e.ipv4}/${e.ipv4PrefixLength ?? 32}`,
      IPv6Address: e.ipv6 === null ? '' : `${e.ipv6}/${e.ipv6PrefixLength ?? 128}`,
    };
  }
  return {
    Name: network.name,
    Id: network.id,
    Created: NEVER,
    Scope: 'local',
    Driver: network.driver,
    EnableIPv4: network.enableIPv4,
    EnableIPv6: network.enableIPv6,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: network.subnets.map((s) => ({
        Subnet: s.cidr,
        ...(s.ipRange === undefined ? {} : { IPRange: s.ipRange }),
        ...(s.gateway === null ? {} : { Gateway: s.gateway }),
      })),
    },
    Internal: network.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: network.options,
    Labels: labels,
  };
}

function portKey(port: number, protocol: string): string {
  return `${port}/${protocol}`;
}

function groupPorts(
  published: readonly PublishedPort[],
  exposed: readonly { readonly port: number; readonly protocol: string }[],
): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of exposed) out[portKey(e.port, e.protocol)] = null;
  for (const p of published) {
    const key = portKey(p.containerPort, p.protocol);
    const list = out[key] ?? [];
    list.push({ HostIp: p.hostIp, HostPort: p.hostPort === null ? '' : String(p.hostPort) });
    out[key] = list;
  }
  return out;
}

function groupRequests(
  requested: readonly PortBindingRequest[],
): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const r of requested) {
    const key = portKey(r.containerPort, r.protocol);
    (out[key] ??= []).push({ HostIp: r.hostIp, HostPort: r.hostPort });
  }
  return out;
}

function modeText(c: Container): string {
  const m = c.networkMode;
  switch (m.kind) {
    case 'bridge':
      return m.network === 'bridge' ? 'bridge' : m.network;
    case 'network':
      return m.network;
    case 'container':
      return `container:${m.ref}`;
    default:
      return m.kind;
  }
}

export interface ContainerExtras {
  readonly labels: Readonly<Record<string, string>>;
  readonly command: readonly string[] | null;
  /** `/child:/parent/alias` entries of legacy links. */
  readonly links: readonly string[];
}

export function containerInspect(
  c: Container,
  networks: readonly Network[],
  extras: ContainerExtras,
): Record<string, unknown> {
  const endpoints: Record<string, unknown> = {};
  for (const e of c.endpoints) {
    const network = networks.find((n) => n.name === e.network);
    endpoints[e.network] = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      MacAddress: e.mac ?? '',
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: e.networkId ?? network?.id ?? '',
      EndpointID: plannedId('endpoint', `${c.name} ${e.network}`),
      Gateway: e.gateway ?? '',
      IPAddress: e.ipv4 ?? '',
      IPPrefixLen: e.ipv4PrefixLength ?? 0,
      IPv6Gateway: e.gatewayV6 ?? '',
      GlobalIPv6Address: e.ipv6 ?? '',
      GlobalIPv6PrefixLen: e.ipv6PrefixLength ?? 0,
      DNSNames: [c.name, c.id.slice(0, 12)],
    };
  }
  const exposedPorts = Object.fromEntries(c.exposed.map((e) => [portKey(e.port, e.protocol), {}]));
  return {
    Id: c.id,
    Created: NEVER,
    Name: `/${c.name}`,
    State: { Status: c.running ? 'running' : 'created', Running: c.running },
    Image: plannedId('image', c.image),
    Config: {
      Image: c.image,
      Cmd: extras.command,
      ExposedPorts: Object.keys(exposedPorts).length === 0 ? null : exposedPorts,
      Labels: extras.labels,
    },
    HostConfig: {
      NetworkMode: modeText(c),
      PortBindings: groupRequests(c.requested),
      PublishAllPorts: c.publishAll,
      Links: extras.links.length === 0 ? null : extras.links,
    },
    NetworkSettings: {
      Ports: c.networkMode.kind === 'host' ? {} : groupPorts(c.published, c.exposed),
      Networks: endpoints,
    },
  };
}
