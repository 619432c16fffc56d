/**
 * The Docker host model: daemon configuration, containers, networks, listeners, interfaces,
 * routes and sysctls, as plain immutable data. Built by `src/ingest/` from a snapshot; read by
 * `src/docker/`, the lint rules and the reporters.
 */
import type { SourceLocation } from './diagnostic.ts';
import type { Family } from './ruleset.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** The protocols Docker publishes ports for. */
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

export function isProtocol(text: string): text is Protocol {
  return (PROTOCOLS as readonly string[]).includes(text);
}

// ---------------------------------------------------------------------------------------------
// Daemon

/** A value of the effective daemon configuration and where it came from. */
export interface Setting<T> {
  readonly value: T;
  /** `file` when daemon.json set it; `default` when Docker's default for the version applies. */
  readonly source: 'file' | 'default';
  /** Location of the key in daemon.json when source is `file`. */
  readonly location?: SourceLocation;
}

export interface DaemonConfig {
  readonly iptables: Setting<boolean>;
  readonly ip6tables: Setting<boolean>;
  readonly ipForward: Setting<boolean>;
  readonly ipForwardNoDrop: Setting<boolean>;
  readonly ipMasq: Setting<boolean>;
  readonly icc: Setting<boolean>;
  /** Default host binding address for `-p` on the default bridge. */
  readonly ip: Setting<string>;
  readonly userlandProxy: Setting<boolean>;
  readonly ipv6: Setting<boolean>;
  readonly bip: Setting<string | null>;
  readonly bip6: Setting<string | null>;
  readonly fixedCidr: Setting<string | null>;
  readonly fixedCidrV6: Setting<string | null>;
  /** `""` = default bridge docker0; `"none"` disables the default bridge. */
  readonly bridge: Setting<string>;
  readonly allowDirectRouting: Setting<boolean>;
  readonly bridgeAcceptFwmark: Setting<string | null>;
  readonly firewallBackend: Setting<'iptables' | 'nftables'>;
  readonly experimental: Setting<boolean>;
  readonly liveRestore: Setting<boolean>;
  readonly hosts: Setting<readonly string[]>;
  readonly defaultAddressPools: Setting<
    readonly { readonly base: string; readonly size: number }[]
  >;
  readonly defaultNetworkOpts: Setting<Readonly<Record<string, Readonly<Record<string, string>>>>>;
  /** Keys present in daemon.json that dockwall does not interpret (still reported if unknown). */
  readonly otherKeys: readonly string[];
}

/**
 * What daemon.json itself sets, key by key (src/ingest/daemon.ts). Docker's defaults for the
 * version fill in the rest (src/docker/daemon-config.ts `daemonConfigOf`).
 */
export interface DaemonFile {
  readonly settings: Partial<Omit<DaemonConfig, 'otherKeys'>>;
  /** Keys present that dockwall does not interpret (still reported if unknown). */
  readonly otherKeys: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Networks

/** 'bridge' | 'host' | 'null' | 'macvlan' | 'ipvlan' | 'overlay', or a plugin's name. */
export type NetworkDriver = string;

/**
 * macvlan and ipvlan: a container gets a device of its own on a parent interface of the host,
 * and Docker publishes no port on such a network (src/docker/direct-networks.ts says more).
 */
export function isVlanDriver(driver: NetworkDriver | null): driver is 'macvlan' | 'ipvlan' {
  return driver === 'macvlan' || driver === 'ipvlan';
}

export type GatewayMode = 'nat' | 'nat-unprotected' | 'routed' | 'isolated';

export interface Subnet {
  readonly family: Family;
  /** CIDR, e.g. `172.17.0.0/16`. */
  readonly cidr: string;
  readonly gateway: string | null;
  /** Where containers' addresses are handed out from (IPAM `IPRange`); absent: the subnet. */
  readonly ipRange?: string;
}

export interface Network {
  readonly id: string;
  readonly name: string;
  readonly driver: NetworkDriver;
  /** Linux bridge interface for bridge networks (`docker0`, `br-<12 of id>`, or the option). */
  readonly bridgeName: string | null;
  readonly subnets: readonly Subnet[];
  readonly internal: boolean;
  readonly icc: boolean;
  readonly masquerade: boolean;
  readonly enableIPv4: boolean;
  readonly enableIPv6: boolean;
  readonly gatewayModeV4: GatewayMode;
  readonly gatewayModeV6: GatewayMode;
  /** Default host binding addresses for `-p` on this network. */
  readonly hostBindingIpv4: string | null;
  readonly hostBindingIpv6: string | null;
  readonly isDefaultBridge: boolean;
  readonly options: Readonly<Record<string, string>>;
  readonly location: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// Containers

export type NetworkMode =
  | { readonly kind: 'bridge'; readonly network: string }
  | { readonly kind: 'host' }
  | { readonly kind: 'none' }
  /** `container:<ref>`; `resolved` is the container whose namespace is shared at the end of the chain. */
  | { readonly kind: 'container'; readonly ref: string; readonly resolved: string | null }
  /** A user-defined network of any driver (bridge, macvlan, ipvlan, overlay…). */
  | { readonly kind: 'network'; readonly network: string; readonly driver: NetworkDriver | null };

export interface Endpoint {
  readonly network: string;
  readonly networkId: string | null;
  readonly ipv4: string | null;
  readonly ipv4PrefixLength: number | null;
  readonly ipv6: string | null;
  readonly ipv6PrefixLength: number | null;
  readonly gateway: string | null;
  readonly gatewayV6: string | null;
  readonly mac: string | null;
}

/** A port mapping Docker reports as in effect (`NetworkSettings.Ports`). */
export interface PublishedPort {
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** `0.0.0.0`, `::`, or a specific address. */
  readonly hostIp: string;
  /** null for routed-mode mappings (`HostPort: ""`). */
  readonly hostPort: number | null;
  readonly location: SourceLocation;
}

/** A port mapping the user asked for (`HostConfig.PortBindings`). */
export interface PortBindingRequest {
  readonly containerPort: number;
  readonly protocol: Protocol;
  /** `""` means "use the network's default". */
  readonly hostIp: string;
  /** `""` means "any free port"; ranges kept as text (`8000-8010`). */
  readonly hostPort: string;
  readonly location: SourceLocation;
}

export interface Container {
  readonly id: string;
  /** Without the leading `/`. */
  readonly name: string;
  readonly image: string;
  readonly running: boolean;
  readonly networkMode: NetworkMode;
  readonly endpoints: readonly Endpoint[];
  readonly published: readonly PublishedPort[];
  readonly requested: readonly PortBindingRequest[];
  readonly exposed: readonly { readonly port: number; readonly protocol: Protocol }[];
  readonly publishAll: boolean;
  readonly location: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// Host networking

export type ListenerProcessKind = 'docker-proxy' | 'dockerd' | 'other' | 'unknown';

export interface Listener {
  readonly protocol: 'tcp' | 'udp';
  /** `0.0.0.0`, `::`, `*` (both families), or a specific address (zone stripped). */
  readonly address: string;
  readonly port: number;
  readonly process: { readonly name: string; readonly pid: number | null } | null;
  readonly kind: ListenerProcessKind;
  readonly location: SourceLocation;
}

export interface InterfaceAddress {
  readonly family: Family;
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: string | null;
}

export interface HostInterface {
  readonly name: string;
  readonly index: number | null;
  readonly up: boolean;
  readonly addresses: readonly InterfaceAddress[];
  /** `loopback`, `bridge`, `veth`, `ether`… as far as the input says. */
  readonly kind: string | null;
}

/** The types of route that send nowhere (`ip route` types). */
export const DEAD_END_TYPES = ['blackhole', 'unreachable', 'prohibit'] as const;
export type DeadEndType = (typeof DEAD_END_TYPES)[number];

/** The dead end a route type or rule action names (`blackhole`…), or undefined. */
export function deadEndType(text: string | null): DeadEndType | undefined {
  return DEAD_END_TYPES.find((t) => t === text);
}

export interface Route {
  readonly family: Family;
  /** CIDR or `default`. */
  readonly destination: string;
  readonly device: string | null;
  /**
   * A multipath route's next hops' interfaces, in order (`nexthops`; `device` is then null):
   * the kernel picks one per flow by a hash dockwall cannot follow. Absent: one path.
   */
  readonly nexthops?: readonly string[];
  readonly gateway: string | null;
  /** The address the host sends from along the route (`prefsrc`); null when not named. */
  readonly source: string | null;
  readonly table: string;
  /** `unicast`, `local`, `broadcast`, `blackhole`, … */
  readonly type: string;
}

/**
 * What a policy routing rule (`ip rule`) does with the packets it selects: look a table up (a
 * route there decides; none, a `throw` route, or one of `suppressPrefixLength` bits or fewer
 * passes the packet on to the next rule), drop them as a dead end does, go on at another
 * priority, nothing (`nop`), or something dockwall does not model (`l3mdev`'s VRF table).
 */
export type PolicyAction =
  | {
      readonly kind: 'lookup';
      readonly table: string;
      readonly suppressPrefixLength: number | null;
      /** `suppress_ifgroup`: whether a route is passed over depends on its interface's group. */
      readonly suppressIfgroup: boolean;
    }
  | { readonly kind: 'dead-end'; readonly type: DeadEndType }
  | { readonly kind: 'goto'; readonly priority: number }
  | { readonly kind: 'nop' }
  | { readonly kind: 'other'; readonly text: string };

/** One rule of `ip -j rule show`, in the order of its priority. */
export interface PolicyRule {
  readonly priority: number;
  /** The destinations it selects (`to`), a CIDR; null: every destination. */
  readonly destination: string | null;
  /**
   * Its other selectors as `ip rule` says them (`from 10.0.0.0/8`, `fwmark 0xca6c`, `not`):
   * empty when it selects every packet to its destinations.
   */
  readonly selectors: readonly string[];
  readonly action: PolicyAction;
  /** The rule as `ip rule` would print it, for what dockwall says about it. */
  readonly text: string;
}

/** The policy routing rules of each family, where the snapshot has them (`ip-rule.json`, `ip6-rule.json`). */
export interface PolicyRules {
  readonly ipv4?: readonly PolicyRule[];
  readonly ipv6?: readonly PolicyRule[];
}

export interface Sysctls {
  readonly ipv4Forward: boolean | null;
  readonly ipv6Forward: boolean | null;
  readonly bridgeNfCallIptables: boolean | null;
  readonly bridgeNfCallIp6tables: boolean | null;
  /** `net.ipv4.conf.all.route_localnet`. */
  readonly routeLocalnet: boolean | null;
  /** `net.ipv4.conf.<interface>.route_localnet`, for the interfaces the file lists. */
  readonly routeLocalnetByInterface: ReadonlyMap<string, boolean>;
  /** `net.ipv4.conf.all.rp_filter`. */
  readonly rpFilter: RpFilterValue | null;
  /** `net.ipv4.conf.<interface>.rp_filter`, for the interfaces the file lists. */
  readonly rpFilterByInterface: ReadonlyMap<string, RpFilterValue>;
  /**
   * `net.ipv4.conf.<interface>.forwarding`, for the interfaces the file lists: IPv4 forwards
   * what arrives on an interface only where its own switch is on (`ip_forward` sets them all).
   */
  readonly forwardingByInterface: ReadonlyMap<string, boolean>;
  /** `net.ipv4.conf.all.accept_local`. */
  readonly acceptLocal: boolean | null;
  /**
   * `net.ipv4.conf.<interface>.accept_local`, for the interfaces the file lists: on where `all`
   * or its own is, a packet arriving there from one of the host's own addresses is routed, not
   * dropped as a martian.
   */
  readonly acceptLocalByInterface: ReadonlyMap<string, boolean>;
}

/** IPv4 reverse path filtering: 0 off, 1 strict, 2 loose (RFC 3704). */
export type RpFilterValue = 0 | 1 | 2;

// ---------------------------------------------------------------------------------------------
// Rule-layout era

export type LayoutEra = 'none' | 'classic' | 'v28' | 'v29' | 'nftables';

export interface EraEvidence {
  readonly era: LayoutEra;
  /** Why: the chains and rules that decided it, in words, each with a location where there is one. */
  readonly evidence: readonly { readonly text: string; readonly location?: SourceLocation }[];
  /** Set when docker-version.json disagrees with what the rules show. */
  readonly versionMismatch: string | null;
}

export interface DockerHost {
  readonly dockerVersion: string | null;
  readonly daemon: DaemonConfig;
  readonly containers: readonly Container[];
  readonly networks: readonly Network[];
  readonly listeners: readonly Listener[];
  readonly interfaces: readonly HostInterface[];
  readonly routes: readonly Route[];
  /** Absent, or a family absent: the snapshot does not say (no `ip rule` output). */
  readonly policyRules?: PolicyRules;
  readonly sysctls: Sysctls;
}

/**
 * The host as its files say it (src/ingest/snapshot.ts): daemon.json only as the keys it sets,
 * null when there was none to read; the version's defaults are Docker's to add.
 */
export type DockerHostRead = Omit<DockerHost, 'daemon'> & { readonly daemon: DaemonFile | null };
