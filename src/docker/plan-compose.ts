/**
 * What a Compose project becomes on a Docker host: networks (names, bridges, subnets, options),
 * containers (names, network modes, endpoints with addresses, published ports), in the order
 * Compose creates and starts them. How each choice is made is documented in docs/plan.md:
 *
 * - networks are created in the order of their keys; a network that already exists on the host
 *   (same name) is reused, an `external` one must exist;
 * - services start in dependency order (`depends_on`, `links`, `network_mode: service:`), ties
 *   in name order; replicas in index order; containers are named `<project>-<service>-<n>`;
 * - a container joins its networks by `priority`, then name; its published ports go through the
 *   endpoint Docker makes its gateway (highest `gw_priority`, then non-internal, then dual-stack,
 *   then network name);
 * - addresses and free host ports are chosen as `ipam.ts` and `freeHostPort` say.
 */
import type {
  ComposeNetwork,
  ComposePort,
  ComposeProject,
  ComposeService,
} from '../model/compose.ts';
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type {
  Container,
  DaemonConfig,
  Endpoint,
  GatewayMode,
  Network,
  PortBindingRequest,
  Protocol,
  PublishedPort,
  Subnet,
} from '../model/host.ts';
import { isVlanDriver } from '../model/host.ts';
import { hostPrefix } from '../model/address-text.ts';
import type { Family } from '../model/ruleset.ts';
import type { LegacyLink } from './deploy.ts';
import type { DockerVersion } from './version.ts';
import { atLeast } from './version.ts';
import type { Prefix } from './ipam.ts';
import {
  allocateSubnet,
  contains,
  firstHost,
  fromBig,
  nextAddress,
  parsePrefix,
  prefixText,
} from './ipam.ts';
import { plannedId } from './inspect-json.ts';

const OPT = 'com.docker.network.bridge.';

/** More replicas of one service than this are refused (planning them would take quadratic time). */
const MAX_REPLICAS = 512;

/** What the plan adds to the host, with what it had to assume. */
export interface ComposePlan {
  /** Networks to create, in creation order. */
  readonly networks: readonly Network[];
  readonly networkLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Containers to start, in start order. */
  readonly containers: readonly PlannedContainer[];
  /** Names of containers on the host that the project replaces. */
  readonly replaces: readonly string[];
  readonly assumptions: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface PlannedContainer {
  readonly container: Container;
  readonly links: readonly LegacyLink[];
  readonly linkNames: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly command: readonly string[] | null;
}

export interface ComposeHost {
  readonly daemon: DaemonConfig;
  /** Networks on the host before (with the default bridge when dockerd starts in the plan). */
  readonly networks: readonly Network[];
  readonly containers: readonly Container[];
  /** Routes and addresses of the host a new subnet must not overlap. */
  readonly reserved: readonly string[];
  /** Host ports already bound, `tcp/8080` (for free-port choice). */
  readonly boundPorts: ReadonlySet<string>;
  readonly userlandProxy: boolean;
  readonly version: DockerVersion;
}

interface Ctx {
  readonly diagnostics: Diagnostic[];
  readonly assumptions: string[];
}

function warn(
  ctx: Ctx,
  message: string,
  at: SourceLocation,
  severity: 'error' | 'warning' | 'note' = 'warning',
) {
  ctx.diagnostics.push(diagnostic('compose-plan', severity, message, at));
}

/** The network's name on the host: an external network's is its key, not prefixed by the project. */
function networkName(project: ComposeProject, n: ComposeNetwork): string {
  return n.name ?? (n.external ? n.key : `${project.name}_${n.key}`);
}

// ---------------------------------------------------------------------------------------------
// Networks

function optionFlag(options: Readonly<Record<string, string>>, key: string, fallback: boolean) {
  const v = options[`${OPT}${key}`];
  return v === undefined ? fallback : v === 'true' || v === '1';
}

function gatewayMode(options: Readonly<Record<string, string>>, key: string): GatewayMode {
  const v = options[`${OPT}${key}`];
  return v === 'nat-unprotected' || v === 'routed' || v === 'isolated' ? v : 'nat';
}

/** A /64 for an IPv6 network without a subnet: Docker draws a random ULA; the plan derives one. */
function derivedUla(name: string): string {
  const h = plannedId('ula', name);
  return `fd${h.slice(0, 2)}:${h.slice(2, 6)}:${h.slice(6, 10)}::/64`;
}

function planNetwork(
  ctx: Ctx,
  project: ComposeProject,
  n: ComposeNetwork,
  daemon: DaemonConfig,
  taken: Prefix[],
): Network | null {
  const name = networkName(project, n);
  const driver = n.driver ?? 'bridge';
  if (driver !== 'bridge' && driver !== 'macvlan' && driver !== 'ipvlan') {
    warn(
      ctx,
      `network ${n.key}: driver ${driver} is not planned (only bridge, macvlan and ipvlan networks are)`,
      n.location,
    );
    return null;
  }
  const id = plannedId('network', name);
  const options: Record<string, string> = {
    ...(driver === 'bridge' ? (daemon.defaultNetworkOpts.value['bridge'] ?? {}) : {}),
    ...n.driverOpts,
  };
  const enableIPv4 = n.enableIpv4 ?? true;
  const enableIPv6 = n.enableIpv6 ?? false;
  const subnets: Subnet[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    if (family === 'ipv4' ? !enableIPv4 : !enableIPv6) continue;
    const configs = n.ipam.filter(
      (c) => c.subnet !== null && (c.subnet.includes(':') ? 'ipv6' : 'ipv4') === family,
    );
    for (const c of configs) {
      const p = parsePrefix(c.subnet ?? '');
      if (p === null) {
        warn(
          ctx,
          `network ${n.key}: subnet "${c.subnet ?? ''}" is not a CIDR`,
          n.location,
          'error',
        );
        continue;
      }
      if (
        taken.some((t) => t.family === p.family && t.base === p.base && t.bits === p.bits) ||
        taken.some((t) => overlapsPrefix(t, p))
      ) {
        warn(
          ctx,
          `network ${n.key}: subnet ${c.subnet ?? ''} overlaps a network or route already on the host; Docker refuses to create it`,
          n.location,
          'error',
        );
      }
      taken.push(p);
      const range = c.ipRange === null ? null : parsePrefix(c.ipRange);
      if (c.ipRange !== null && (range === null || !contains(p, fromBig(range.base, family))))
        warn(
          ctx,
          `network ${n.key}: ip_range ${c.ipRange} is not inside subnet ${prefixText(p)}; Docker refuses it`,
          n.location,
          'error',
        );
      subnets.push({
        family,
        cidr: prefixText(p),
        gateway: c.gateway ?? firstHost(p),
        ...(range === null ? {} : { ipRange: prefixText(range) }),
      });
    }
    if (configs.length > 0) continue;
    if (family === 'ipv4') {
      const pools = daemon.defaultAddressPools.value.filter((pool) => !pool.base.includes(':'));
      const p = allocateSubnet(pools, taken);
      if (p === null) {
        warn(
          ctx,
          `network ${n.key}: the default address pools are exhausted; Docker cannot create it`,
          n.location,
          'error',
        );
        continue;
      }
      taken.push(p);
      subnets.push({ family, cidr: prefixText(p), gateway: firstHost(p) });
      ctx.assumptions.push(
        `network ${name}: subnet ${prefixText(p)} is the first free one of the default address pools (Docker's choice on a host in this state)`,
      );
    } else {
      const pools = daemon.defaultAddressPools.value.filter((pool) => pool.base.includes(':'));
      const p = allocateSubnet(pools, taken) ?? parsePrefix(derivedUla(name));
      if (p === null) continue;
      taken.push(p);
      subnets.push({ family, cidr: prefixText(p), gateway: firstHost(p) });
      ctx.assumptions.push(
        pools.length > 0
          ? `network ${name}: IPv6 subnet ${prefixText(p)} is the first free one of the default address pools`
          : `network ${name}: IPv6 subnet ${prefixText(p)} stands for the random ULA /64 Docker will choose`,
      );
    }
  }
  // Values that end up in rules are checked as the kernel and dockerd check them; a bad one is
  // an error (Docker refuses the network) and is left out.
  const checks: [string, (v: string) => boolean, string][] = [
    [`${OPT}name`, isInterfaceName, 'an interface name (1–15 characters, no blank, / or :)'],
    [
      `${OPT}trusted_host_interfaces`,
      (v) => v.split(':').every(isInterfaceName),
      'interface names separated by ":"',
    ],
    [`${OPT}host_binding_ipv4`, isIp, 'an IP address'],
    ['com.docker.network.host_ipv4', (v) => isIp(v) && !v.includes(':'), 'an IPv4 address'],
    ['com.docker.network.host_ipv6', (v) => isIp(v) && v.includes(':'), 'an IPv6 address'],
  ];
  for (const [key, ok, what] of checks) {
    const v = options[key];
    if (v !== undefined && !ok(v)) {
      warn(ctx, `network ${n.key}: ${key} must be ${what}`, n.location, 'error');
      delete options[key];
    }
  }
  const hostBinding = options[`${OPT}host_binding_ipv4`] ?? null;
  return {
    id,
    name,
    driver,
    bridgeName: driver === 'bridge' ? (options[`${OPT}name`] ?? `br-${id.slice(0, 12)}`) : null,
    subnets,
    internal: n.internal,
    icc: optionFlag(options, 'enable_icc', true),
    masquerade: optionFlag(options, 'enable_ip_masquerade', true),
    enableIPv4,
    enableIPv6,
    gatewayModeV4: gatewayMode(options, 'gateway_mode_ipv4'),
    gatewayModeV6: gatewayMode(options, 'gateway_mode_ipv6'),
    hostBindingIpv4: hostBinding !== null && !hostBinding.includes(':') ? hostBinding : null,
    hostBindingIpv6:
      hostBinding !== null && hostBinding.includes(':')
        ? hostBinding
        : (options[`${OPT}host_binding_ipv6`] ?? null),
    isDefaultBridge: false,
    options,
    location: n.location,
  };
}

function isInterfaceName(v: string): boolean {
  return /^[^\s/:]{1,15}$/.test(v) && v !== '.' && v !== '..';
}

function isIp(v: string): boolean {
  return parsePrefix(hostPrefix(v)) !== null;
}

/** Docker's container names: a letter or digit, then letters, digits, `_`, `.`, `-`. */
function isContainerName(v: string): boolean {
  return /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v);
}

function overlapsPrefix(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const width = (p: Prefix) => (p.family === 'ipv4' ? 32 : 128) - p.bits;
  const end = (p: Prefix) => p.base + (1n << BigInt(width(p)));
  return a.base < end(b) && b.base < end(a);
}

// ---------------------------------------------------------------------------------------------
// Services

/** Dependency order: a service after everything it depends on; ties in name order. */
function startOrder(ctx: Ctx, services: readonly ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const deps = (s: ComposeService): string[] => {
    const mode = s.networkMode?.startsWith('service:') === true ? [s.networkMode.slice(8)] : [];
    return [...s.dependsOn, ...s.links.map((l) => l.service), ...mode].filter((d) => byName.has(d));
  };
  const done = new Set<string>();
  const out: ComposeService[] = [];
  const visiting = new Set<string>();
  const visit = (s: ComposeService) => {
    if (done.has(s.name)) return;
    if (visiting.has(s.name)) {
      warn(
        ctx,
        `service ${s.name} depends on itself through a cycle; Compose refuses such a project`,
        s.location,
        'error',
      );
      return;
    }
    visiting.add(s.name);
    for (const d of [...deps(s)].sort()) {
      const ds = byName.get(d);
      if (ds !== undefined) visit(ds);
    }
    visiting.delete(s.name);
    done.add(s.name);
    out.push(s);
  };
  for (const s of [...services].sort((a, b) => (a.name < b.name ? -1 : 1))) visit(s);
  return out;
}

function isActive(s: ComposeService, profiles: readonly string[]): boolean {
  return s.profiles.length === 0 || s.profiles.some((p) => profiles.includes(p));
}

/** libnetwork's endpoint order: the first carries the gateway and the published ports. */
function gatewayOrder(
  a: { net: Network; gwPriority: number; dual: boolean },
  b: { net: Network; gwPriority: number; dual: boolean },
): number {
  return (
    b.gwPriority - a.gwPriority ||
    Number(a.net.internal) - Number(b.net.internal) ||
    Number(b.dual) - Number(a.dual) ||
    (a.net.name < b.net.name ? -1 : a.net.name > b.net.name ? 1 : 0)
  );
}

function defaultHostIp(net: Network, daemon: DaemonConfig): string {
  if (net.isDefaultBridge) return daemon.ip.value;
  return net.hostBindingIpv4 ?? net.hostBindingIpv6 ?? '0.0.0.0';
}

/**
 * A free host port for a port published without one: Docker's allocator hands out the lowest
 * free port of the ephemeral range 32768–60999 (the plan cannot see ports freed since).
 */
function freeHostPort(
  bound: Set<string>,
  protocol: Protocol,
  from = 32768,
  to = 60999,
): number | null {
  for (let p = from; p <= to; p++) if (!bound.has(`${protocol}/${p}`)) return p;
  return null;
}

interface PortPlan {
  readonly published: PublishedPort[];
  readonly requested: PortBindingRequest[];
}

/**
 * One compose port entry → the bindings Docker reports (moby's sortAndNormPBs): an address given
 * binds that address only; no address binds the network's default — with 0.0.0.0 also `::`
 * (to the container's IPv6 address, or through docker-proxy to its IPv4 one; not with the proxy
 * off). Routed gateway mode maps no host port.
 */
function planPorts(
  ctx: Ctx,
  port: ComposePort,
  net: Network | null,
  endpoint: Endpoint | null,
  host: ComposeHost,
  bound: Set<string>,
): PortPlan {
  const published: PublishedPort[] = [];
  const requested: PortBindingRequest[] = [];
  const count = port.target.to - port.target.from + 1;
  let chosenBase: number | null = null;
  if (port.published !== null) {
    if (port.published.to - port.published.from + 1 === count) chosenBase = port.published.from;
    else {
      // A host range for one container port: Docker takes the first free port of it.
      chosenBase = freeHostPort(bound, port.protocol, port.published.from, port.published.to);
      if (chosenBase === null)
        warn(
          ctx,
          `no free host port in ${port.published.from}-${port.published.to}`,
          port.location,
          'error',
        );
    }
  }
  for (let i = 0; i < count; i++) {
    const containerPort = port.target.from + i;
    const hostPortText =
      port.published === null
        ? ''
        : port.published.from === port.published.to || count > 1
          ? String(port.published.from + (count > 1 ? i : 0))
          : `${port.published.from}-${port.published.to}`;
    requested.push({
      containerPort,
      protocol: port.protocol,
      hostIp: port.hostIp ?? '',
      hostPort: hostPortText,
      location: port.location,
    });
    if (net === null || endpoint === null) continue;
    let hostPort = chosenBase === null ? null : chosenBase + (count > 1 ? i : 0);
    if (hostPort === null) {
      hostPort = freeHostPort(bound, port.protocol);
      if (hostPort !== null)
        ctx.assumptions.push(
          `port ${containerPort}/${port.protocol} published without a host port: host port ${hostPort} assumed (the lowest free ephemeral port)`,
        );
    }
    if (hostPort === null) continue;
    const addresses: { ip: string; routed: boolean }[] = [];
    const v4Routed = net.gatewayModeV4 === 'routed';
    const v6Routed = net.gatewayModeV6 === 'routed';
    const def = defaultHostIp(net, host.daemon);
    if (port.hostIp !== null) {
      const v6 = port.hostIp.includes(':');
      if (
        v6
          ? endpoint.ipv6 !== null || (endpoint.ipv4 !== null && host.userlandProxy)
          : endpoint.ipv4 !== null
      ) {
        addresses.push({ ip: port.hostIp, routed: v6 ? v6Routed : v4Routed });
      }
    } else {
      if (endpoint.ipv4 !== null && !def.includes(':'))
        addresses.push({ ip: v4Routed ? '0.0.0.0' : def, routed: v4Routed });
      const six = def === '0.0.0.0' ? '::' : def.includes(':') ? def : null;
      if (
        six !== null &&
        (endpoint.ipv6 !== null || (endpoint.ipv4 !== null && host.userlandProxy))
      ) {
        addresses.push({ ip: v6Routed ? '::' : six, routed: v6Routed });
      }
    }
    for (const a of addresses) {
      published.push({
        containerPort,
        protocol: port.protocol,
        hostIp: a.routed ? (a.ip.includes(':') ? '::' : '0.0.0.0') : a.ip,
        hostPort: a.routed ? null : hostPort,
        location: port.location,
      });
    }
    bound.add(`${port.protocol}/${hostPort}`);
  }
  return { published, requested };
}

function composeLabels(
  project: ComposeProject,
  service: string,
  index: number,
): Record<string, string> {
  return {
    'com.docker.compose.project': project.name,
    'com.docker.compose.service': service,
    'com.docker.compose.container-number': String(index),
    'com.docker.compose.oneoff': 'False',
  };
}

/** Addresses in use on a network: its gateway, and every endpoint on it so far. */
function usedOn(net: Network, family: Family, containers: readonly Container[]): string[] {
  const gw = net.subnets
    .filter((s) => s.family === family && s.gateway !== null)
    .map((s) => s.gateway ?? '');
  const eps = containers.flatMap((c) =>
    c.endpoints
      .filter((e) => e.network === net.name)
      .flatMap((e) => {
        const a = family === 'ipv4' ? e.ipv4 : e.ipv6;
        return a === null ? [] : [a];
      }),
  );
  return [...gw, ...eps];
}

/** Docker ≤27 gives a container the MAC 02:42 followed by its IPv4 address. */
function macOf(ipv4: string | null): string | null {
  if (ipv4 === null) return null;
  const b = ipv4.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
  return ['02', '42', ...b].join(':');
}

/**
 * Before 25.0 a default-bridge container's IPv6 address was made from its MAC address
 * (`fixed-cidr-v6` prefix, MAC in the last 48 bits) rather than allocated.
 */
function macDerivedIpv6(prefix: Prefix, mac: string): string {
  const bytes = mac.split(':').map((x) => BigInt(parseInt(x, 16)));
  const low = bytes.reduce((acc, b) => (acc << 8n) | b, 0n);
  return fromBig(prefix.base | low, 'ipv6');
}

function endpointOn(
  ctx: Ctx,
  net: Network,
  want: { ipv4: string | null; ipv6: string | null },
  all: readonly Container[],
  host: ComposeHost,
  at: SourceLocation,
): Endpoint {
  const daemon = host.daemon;
  const address = (
    family: Family,
  ): { address: string | null; prefix: number | null; gateway: string | null } => {
    const subnet = net.subnets.find((s) => s.family === family);
    const p = subnet === undefined ? null : parsePrefix(subnet.cidr);
    if (subnet === undefined || p === null) return { address: null, prefix: null, gateway: null };
    const fixed = family === 'ipv4' ? want.ipv4 : want.ipv6;
    if (fixed !== null) {
      if (contains(p, fixed)) return { address: fixed, prefix: p.bits, gateway: subnet.gateway };
      // Docker refuses it; the plan reports it and goes on with an allocated address.
      warn(ctx, `${fixed} is not in ${net.name}'s subnet ${subnet.cidr}`, at, 'error');
    }
    // The default bridge hands out addresses from fixed-cidr when it is set, a network from its
    // IPAM range
    const rangeText = net.isDefaultBridge
      ? family === 'ipv4'
        ? daemon.fixedCidr.value
        : daemon.fixedCidrV6.value
      : (subnet.ipRange ?? null);
    const range = (rangeText === null ? null : parsePrefix(rangeText)) ?? p;
    const a = nextAddress(p, range, usedOn(net, family, all));
    if (a === null)
      warn(ctx, `network ${net.name} has no free ${family} address left`, at, 'error');
    return { address: a, prefix: p.bits, gateway: subnet.gateway };
  };
  const v4 = address('ipv4');
  const mac = atLeast(host.version, 28) ? null : macOf(v4.address);
  let v6 = address('ipv6');
  const v6Subnet = net.subnets.find((s) => s.family === 'ipv6');
  const v6Prefix = v6Subnet === undefined ? null : parsePrefix(v6Subnet.cidr);
  if (
    net.isDefaultBridge &&
    !atLeast(host.version, 25) &&
    mac !== null &&
    v6Prefix !== null &&
    want.ipv6 === null &&
    v6Prefix.bits <= 80
  ) {
    v6 = { ...v6, address: macDerivedIpv6(v6Prefix, mac) };
  }
  return {
    network: net.name,
    networkId: net.id,
    ipv4: v4.address,
    ipv4PrefixLength: v4.prefix,
    ipv6: v6.address,
    ipv6PrefixLength: v6.prefix,
    gateway: v4.gateway,
    gatewayV6: v6.gateway,
    mac,
  };
}

export function planCompose(
  project: ComposeProject,
  host: ComposeHost,
  options: { readonly profiles: readonly string[] },
): ComposePlan {
  const ctx: Ctx = { diagnostics: [], assumptions: [] };
  const taken: Prefix[] = [
    ...host.networks.flatMap((n) => n.subnets.flatMap((s) => parsePrefix(s.cidr) ?? [])),
    ...host.reserved.flatMap((r) => parsePrefix(r) ?? []),
  ];
  // Networks: the project's own (existing ones reused), plus the implicit `default`.
  const used = new Set(
    project.services.flatMap((s) =>
      s.networkMode === null ? (s.networks ?? [{ name: 'default' }]).map((n) => n.name) : [],
    ),
  );
  const declared = [...project.networks];
  if (used.has('default') && !declared.some((n) => n.key === 'default')) {
    declared.push({
      key: 'default',
      name: null,
      external: false,
      driver: null,
      driverOpts: {},
      ipam: [],
      internal: false,
      enableIpv4: null,
      enableIpv6: null,
      labels: {},
      location: project.services[0]?.location ?? {
        file: project.files[0] ?? '',
        line: 1,
        column: 1,
      },
    });
  }
  const networks: Network[] = [];
  const labels = new Map<string, Readonly<Record<string, string>>>();
  const byKey = new Map<string, Network>();
  for (const n of [...declared].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const name = networkName(project, n);
    const existing = host.networks.find((x) => x.name === name);
    if (existing !== undefined) {
      byKey.set(n.key, existing);
      continue;
    }
    if (n.external) {
      warn(
        ctx,
        `external network ${name} does not exist on the host; docker compose up would fail`,
        n.location,
        'error',
      );
      continue;
    }
    if (!used.has(n.key)) continue;
    const planned = planNetwork(ctx, project, n, host.daemon, taken);
    if (planned === null) continue;
    networks.push(planned);
    byKey.set(n.key, planned);
    labels.set(planned.name, {
      'com.docker.compose.network': n.key,
      'com.docker.compose.project': project.name,
      ...n.labels,
    });
  }
  const allNetworks = [...host.networks, ...networks];
  const defaultBridge = allNetworks.find((n) => n.isDefaultBridge);

  // Containers.
  const bound = new Set(host.boundPorts);
  const planned: PlannedContainer[] = [];
  const replaces: string[] = [];
  const existing = [...host.containers];
  const nameOf = new Map<string, string[]>();
  for (const s of startOrder(ctx, project.services)) {
    if (!isActive(s, options.profiles)) {
      warn(
        ctx,
        `service ${s.name} has profiles (${s.profiles.join(', ')}) none of which is active; not started`,
        s.location,
        'note',
      );
      continue;
    }
    if (s.containerName !== null && s.replicas > 1) {
      warn(
        ctx,
        `service ${s.name}: container_name with ${s.replicas} replicas; Compose refuses this`,
        s.location,
        'error',
      );
    }
    if (s.ports.some((p) => p.mode === 'ingress') && s.ports.length > 0) {
      // Without swarm, Compose publishes ingress-mode ports like host-mode ones.
    }
    const names: string[] = [];
    if (s.containerName !== null && !isContainerName(s.containerName)) {
      warn(
        ctx,
        `service ${s.name}: container_name "${s.containerName}" is not a name Docker accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
        s.location,
        'error',
      );
    }
    if (s.replicas > MAX_REPLICAS) {
      warn(
        ctx,
        `service ${s.name}: ${s.replicas} replicas; dockwall plans at most ${MAX_REPLICAS} containers of a service`,
        s.location,
        'error',
      );
    }
    for (let i = 1; i <= Math.min(MAX_REPLICAS, Math.max(0, s.replicas)); i++) {
      const name = s.containerName ?? `${project.name}-${s.name}-${i}`;
      names.push(name);
      if (host.containers.some((c) => c.name === name)) replaces.push(name);
      const container = planContainer(
        ctx,
        project,
        s,
        name,
        i,
        byKey,
        defaultBridge,
        nameOf,
        existing,
        host,
        bound,
      );
      existing.push(container.container);
      planned.push(container);
    }
    nameOf.set(s.name, names);
  }
  return {
    networks,
    networkLabels: labels,
    containers: planned,
    replaces,
    assumptions: ctx.assumptions,
    diagnostics: ctx.diagnostics,
  };
}

function planContainer(
  ctx: Ctx,
  project: ComposeProject,
  s: ComposeService,
  name: string,
  index: number,
  byKey: ReadonlyMap<string, Network>,
  defaultBridge: Network | undefined,
  nameOf: ReadonlyMap<string, string[]>,
  existing: readonly Container[],
  host: ComposeHost,
  bound: Set<string>,
): PlannedContainer {
  const id = plannedId('container', name);
  const at = s.location;
  // Addresses of a container being replaced count as used: Docker allocates serially, after them.
  const others = existing;
  let networkMode: Container['networkMode'];
  let endpoints: Endpoint[] = [];
  let gateway: { net: Network; endpoint: Endpoint } | null = null;
  const mode = s.networkMode;
  if (mode === 'host') networkMode = { kind: 'host' };
  else if (mode === 'none') networkMode = { kind: 'none' };
  else if (mode !== null && (mode.startsWith('service:') || mode.startsWith('container:'))) {
    const ref = mode.startsWith('service:')
      ? (nameOf.get(mode.slice(8))?.[0] ?? mode.slice(8))
      : mode.slice(10);
    networkMode = { kind: 'container', ref, resolved: ref };
    if (s.ports.length > 0)
      warn(
        ctx,
        `service ${s.name}: ports cannot be published with network_mode ${mode} (Docker: "conflicting options: port publishing and the container type network mode")`,
        s.networkModeLocation ?? at,
        'error',
      );
  } else if (mode === 'bridge' || mode === 'default') {
    if (defaultBridge === undefined) {
      warn(
        ctx,
        `service ${s.name}: the default bridge is disabled on this host`,
        s.networkModeLocation ?? at,
        'error',
      );
      networkMode = { kind: 'none' };
    } else {
      networkMode = { kind: 'bridge', network: defaultBridge.name };
      const e = endpointOn(ctx, defaultBridge, { ipv4: null, ipv6: null }, others, host, at);
      endpoints = [e];
      gateway = { net: defaultBridge, endpoint: e };
    }
  } else {
    if (mode !== null) {
      warn(
        ctx,
        `service ${s.name}: network_mode "${mode}" is not understood; the container is planned without networks`,
        s.networkModeLocation ?? at,
      );
      networkMode = { kind: 'none' };
    } else {
      const wanted = [
        ...(s.networks ?? [
          {
            name: 'default',
            ipv4Address: null,
            ipv6Address: null,
            gwPriority: 0,
            priority: 0,
            location: at,
          },
        ]),
      ];
      wanted.sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : 1));
      const joined: { net: Network; endpoint: Endpoint; gwPriority: number; dual: boolean }[] = [];
      for (const w of wanted) {
        const net = byKey.get(w.name);
        if (net === undefined) {
          warn(
            ctx,
            `service ${s.name}: network ${w.name} is not defined in the project`,
            w.location,
            'error',
          );
          continue;
        }
        const e = endpointOn(
          ctx,
          net,
          { ipv4: w.ipv4Address, ipv6: w.ipv6Address },
          others,
          host,
          w.location,
        );
        joined.push({
          net,
          endpoint: e,
          gwPriority: w.gwPriority,
          dual: e.ipv4 !== null && e.ipv6 !== null,
        });
      }
      endpoints = joined.map((j) => j.endpoint);
      const gw = [...joined].sort(gatewayOrder)[0];
      gateway = gw === undefined ? null : { net: gw.net, endpoint: gw.endpoint };
      networkMode =
        gw === undefined
          ? { kind: 'none' }
          : { kind: 'network', network: gw.net.name, driver: gw.net.driver };
    }
  }
  const published: PublishedPort[] = [];
  const requested: PortBindingRequest[] = [];
  const canPublish = networkMode.kind === 'bridge' || networkMode.kind === 'network';
  if (networkMode.kind === 'host' && s.ports.length > 0) {
    warn(
      ctx,
      `service ${s.name}: published ports are discarded in host network mode (the process binds the host's ports itself)`,
      s.ports[0]?.location ?? at,
      'warning',
    );
  }
  for (const p of s.ports) {
    if (networkMode.kind === 'container') continue;
    const plan = planPorts(
      ctx,
      p,
      canPublish ? (gateway?.net ?? null) : null,
      canPublish ? (gateway?.endpoint ?? null) : null,
      host,
      bound,
    );
    published.push(...plan.published);
    requested.push(...plan.requested);
    if (canPublish && gateway?.net.internal === true) {
      warn(
        ctx,
        `service ${s.name}: ${gateway.net.name} is internal; Docker publishes no port through it`,
        p.location,
        'note',
      );
    } else if (canPublish && gateway !== null && isVlanDriver(gateway.net.driver)) {
      warn(
        ctx,
        `service ${s.name}: ${gateway.net.name} is a ${gateway.net.driver} network; Docker publishes no port on it, and the container is reached at its own address ${gateway.endpoint.ipv4 ?? gateway.endpoint.ipv6 ?? ''}, every port it listens on`,
        p.location,
        'warning',
      );
    }
  }
  const exposed = dedupe([
    ...s.expose.flatMap((e) => range(e.from, e.to).map((port) => ({ port, protocol: e.protocol }))),
    ...s.ports.flatMap((p) =>
      range(p.target.from, p.target.to).map((port) => ({ port, protocol: p.protocol })),
    ),
  ]);
  // no port is published through an internal network, nor on a macvlan or ipvlan one
  const noPorts = gateway !== null && (gateway.net.internal || isVlanDriver(gateway.net.driver));
  const container: Container = {
    id,
    name,
    image: s.image,
    running: true,
    networkMode,
    endpoints,
    published: noPorts ? [] : published,
    requested,
    exposed,
    publishAll: false,
    location: at,
  };
  // Legacy links: only between containers on the default bridge.
  const links: LegacyLink[] = [];
  const linkNames: string[] = [];
  for (const l of s.links) {
    const target = existing.find((c) => c.name === (nameOf.get(l.service)?.[0] ?? l.service));
    if (target === undefined) continue;
    linkNames.push(`/${target.name}:/${name}/${l.alias}`);
    if (networkMode.kind !== 'bridge' || target.networkMode.kind !== 'bridge') continue;
    const childIp = target.endpoints[0]?.ipv4 ?? null;
    if (childIp === null) continue;
    links.push({
      childIp,
      ports: target.exposed.map((e) => ({ port: e.port, protocol: e.protocol })),
    });
    ctx.assumptions.push(
      `link ${name} → ${target.name}: opens the ports ${target.name} exposes in the Compose file; ports its image exposes (EXPOSE) are not known`,
    );
  }
  return {
    container,
    links,
    linkNames,
    labels: composeLabels(project, s.name, index),
    command: s.command,
  };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p <= to; p++) out.push(p);
  return out;
}

function dedupe<T extends { port: number; protocol: Protocol }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = `${i.port}/${i.protocol}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
