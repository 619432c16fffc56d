/**
 * What the engine must know about the host's networking to walk a packet: the finite set of
 * interfaces, the addresses the host owns, and the routes. Built from a snapshot by
 * `src/docker/` (the engine itself knows netfilter, not Docker).
 *
 * A snapshot is often partial, so each fact says how it is known. The engine keeps its answers
 * honest with it: a route that was only assumed makes whatever it routes `possible`, and when the
 * host's address list is incomplete, "the destination is an address of this host" becomes a
 * header bit of its own (see `space.ts`), so an answer about "connections to this host" holds for
 * whatever its addresses are, and one that needs to know whether some other address is the
 * host's is only `possible`.
 */
import type { DeadEndType } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';

/**
 * `observed`: read from the host (`ip -j route`, `ip -j addr`). `derived`: implied by other
 * evidence (a bridge's connected prefix, Docker's networks, the rules Docker writes).
 * `assumed`: nothing says so; answers that rest on it are never `certain`.
 */
export type Provenance = 'observed' | 'derived' | 'assumed';

export interface ContextRoute {
  /** CIDR, or `default`. */
  readonly destination: string;
  /** Egress interface. */
  readonly device: string;
  /**
   * The address the host sends from along the route toward a global destination, where the
   * snapshot says it (the route's `prefsrc`, or the one address of its interface, for IPv6 the
   * one of global scope); absent: not known.
   */
  readonly source?: string;
  /** How the route is known; absent means observed. */
  readonly provenance?: Provenance;
  /**
   * Why an assumed route is only assumed where the snapshot lists routes: what may send these
   * packets otherwise, each named (the policy rules, docker/policy-routes.ts; a multipath
   * route's other next hops), said as "A, B may route it otherwise". The route is the main
   * table's (or another table's where the main table has none), not a guess: an answer leaves by
   * it, only possibly.
   */
  readonly doubt?: readonly string[];
}

export interface ContextDeadEnd {
  /** CIDR, or `default`. */
  readonly destination: string;
  readonly type: DeadEndType;
  /** The policy rules that send it nowhere, named, where one does (docker/policy-routes.ts). */
  readonly by?: string;
}

export interface NetworkContext {
  readonly family: Family;
  /** Every interface name of the host (including `lo`); the engine adds one "any other" value. */
  readonly interfaces: readonly string[];
  /** Addresses the host owns: `addrtype LOCAL`, and routing delivers them to INPUT. */
  readonly localAddresses: readonly string[];
  /**
   * The interface each IPv4 address of `localAddresses` is on, where the address file says: the
   * device of its local route (rp-filter.ts reads it where `accept_local` lets the address in
   * as a source). Absent: not known.
   */
  readonly addressDevices?: readonly { readonly address: string; readonly device: string }[];
  /**
   * Prefixes every address of which is the host's own though no interface holds it ("AnyIP": a
   * `local` route of the local table, `ip route add local 203.0.113.0/24 dev lo`), as CIDRs.
   * Measured (Linux 6.18): a datagram to 203.0.113.5 and to 2001:db8:77::5 under such routes
   * met INPUT, `--dst-type LOCAL` holding. Absent: none.
   */
  readonly localPrefixes?: readonly string[];
  /** Forwarding routes; the longest matching prefix wins. */
  readonly routes: readonly ContextRoute[];
  /**
   * The main table's routes that send nowhere (`blackhole`, `unreachable`, `prohibit`), observed:
   * a dead end decides as a route does, longest prefix first, and then nothing is routed (see
   * routing.ts `Routing.deadEnds`). Absent: none.
   */
  readonly deadEnds?: readonly ContextDeadEnd[];
  /** False when the host forwards nothing of this family (sysctl); absent means on. */
  readonly forwarding?: boolean;
  /**
   * IPv4: the interfaces whose own `forwarding` switch is off, where the family's is on. The
   * kernel reads the switch of the interface a packet came in on (`ip_route_input_slow`): what
   * arrives there is not forwarded, whatever the routes. Measured (Linux 6.18): with in0's off, a
   * datagram through the router met PREROUTING and no chain after it; with out0's off, FORWARD.
   * IPv6 reads the family's switch alone (measured: in0's off, forwarded). Absent: none.
   */
  readonly unforwardedFrom?: readonly string[];
  /**
   * True when forwarding is on only by assumption (the snapshot does not say): what arrives
   * and is forwarded is then only possibly delivered (a host that does not forward drops it).
   */
  readonly forwardingAssumed?: boolean;
  /**
   * False when `localAddresses` may miss some of the host's addresses (no address file): every
   * destination outside `localAddresses` and `foreignAddresses` may then be the host's own.
   * Absent means true.
   */
  readonly localAddressesComplete?: boolean;
  /**
   * When the address list is incomplete: addresses known not to be the host's (container
   * addresses and subnets, less the gateways the host owns). CIDRs.
   */
  readonly foreignAddresses?: readonly string[];
  /**
   * The broadcast addresses of the host's IPv4 prefixes (each prefix's last address, the
   * kernel's `broadcast` route for a prefix shorter than /31): delivered to the host's own
   * sockets, never forwarded (`routing.ts` `groups`).
   */
  readonly broadcastAddresses?: readonly string[];
  /**
   * IPv4 `route_localnet`: whether the host routes a loopback destination (127.0.0.0/8) left by
   * PREROUTING on a packet that arrived on another interface — what a DNAT to 127.0.0.1 from
   * outside needs; the kernel drops it as a martian otherwise. On for an interface when `all` or
   * its own switch is on. Absent: not known, taken to be off (the kernel's default).
   */
  readonly routeLocalnet?: RouteLocalnet;
  /**
   * IPv4 `rp_filter`: which sources routing takes from each interface (`rp-filter.ts`). Absent:
   * not known, taken to be off (the kernel's default).
   */
  readonly rpFilter?: RpFilter;
  /**
   * IPv4 `accept_local`: whether routing takes a packet arriving from outside whose source is one
   * of the host's own addresses (the kernel drops it as a martian otherwise). On for an interface
   * when `all` or its own switch is on. Absent: not known, taken to be off (the kernel's default;
   * a trace that rests on it says so).
   */
  readonly acceptLocal?: AcceptLocal;
  /**
   * IPv4: true where the snapshot shows a policy rule or a local route added by hand. Once one
   * has been added since boot (`fib_has_custom_rules`, `fib_has_custom_local_routes`, never
   * cleared), the kernel looks the route back up for every packet from outside, `rp_filter` on
   * or off, and drops one whose route back is a broadcast route, or a local route where
   * `accept_local` is off (127.0.0.5 let in by `route_localnet`). Measured (Linux 6.18,
   * rp_filter off): after `ip rule add`, and after it was deleted again, datagrams from a
   * prefix's broadcast address and from 127.0.0.5 met PREROUTING and nothing after it; before,
   * they were forwarded. Absent: not known, taken not to (a trace that rests on it says so).
   */
  readonly sourcesChecked?: true;
  /**
   * Addresses of devices that hang off an interface below the host's IP stack (macvlan and
   * ipvlan children; a bridge's ports where bridged frames skip iptables): a packet for one
   * arriving on that interface goes to its device, and the host's netfilter never sees it.
   */
  readonly devicesBelow?: readonly DeviceBelow[];
  /**
   * Destinations whose packets the kernel takes on a path the engine does not model (an ipvlan
   * l3s container's address: the host's PREROUTING and INPUT hooks, not FORWARD). They are
   * walked as routed, and what is said of them is only possible.
   */
  readonly unmodelledPaths?: readonly UnmodelledPath[];
  /**
   * The address REDIRECT gives a packet arriving on each interface the snapshot lists the
   * addresses of: its first of the family, as `ip addr` lists them (null: none, and the kernel
   * drops the packet). Absent, or an interface not in it: not known.
   */
  readonly redirectAddresses?: readonly {
    readonly interface: string;
    readonly address: string | null;
  }[];
  /**
   * The address IPv4 MASQUERADE gives a packet leaving by lo (the host's first address of global
   * scope, where the addresses were read); absent: not known.
   */
  readonly masqueradeOutOfLo?: string;
  /**
   * Interfaces known to be bridges (Docker's networks') whose ports' packets br_netfilter hands
   * to iptables (as dockerd sets it, unless the snapshot says it is off). A TCP reset for a
   * packet that came in over such a port leaves directly, past OUTPUT; for one from any other
   * interface, through OUTPUT. A packet DNATed back to its sender is bridged back to the port it
   * came in on.
   */
  readonly bridges?: readonly string[];
  /**
   * The host's own listening sockets of this family, where the snapshot lists them: at a port of
   * the host where nothing listens the answer is the host's TCP reset or ICMP port unreachable,
   * not a server's reply. Absent: not known.
   */
  readonly listeners?: readonly HostListener[];
}

export interface HostListener {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** The address it is bound to; null for every address of the family. */
  readonly address: string | null;
}

export interface UnmodelledPath {
  readonly address: string;
  /** What the kernel does instead, in words (a trace's assumption). */
  readonly why: string;
}

export interface DeviceBelow {
  /** The interface the device hangs off (its parent). */
  readonly interface: string;
  readonly address: string;
  /** Whose device it is, in words (`container web's macvlan device, network lan`). */
  readonly owner: string;
  /**
   * What the host's own packets to it do: routed out of the interface, they reach it
   * (`reaches`: a port of a bridge); or they leave the parent for the wire and reach the device
   * `never` (macvlan bridge, private and passthru, ipvlan) or only where the switch sends them
   * back (`hairpin`: macvlan's vepa mode).
   */
  readonly fromHost: 'reaches' | 'never' | 'hairpin';
}

export interface RpFilter {
  /** `net.ipv4.conf.all.rp_filter`: 0 off, 1 strict, 2 loose; null when not known. */
  readonly all: 0 | 1 | 2 | null;
  /** `net.ipv4.conf.<interface>.rp_filter`, for the interfaces known. */
  readonly interfaces: ReadonlyMap<string, 0 | 1 | 2>;
}

export interface AcceptLocal {
  /** `net.ipv4.conf.all.accept_local`; null when not known. */
  readonly all: boolean | null;
  /** `net.ipv4.conf.<interface>.accept_local`, for the interfaces known. */
  readonly interfaces: ReadonlyMap<string, boolean>;
}

export interface RouteLocalnet {
  /** `net.ipv4.conf.all.route_localnet`; null when not known. */
  readonly all: boolean | null;
  /** `net.ipv4.conf.<interface>.route_localnet`, for the interfaces known. */
  readonly interfaces: ReadonlyMap<string, boolean>;
  /**
   * How an interface whose switch is not known is taken: `off`, the kernel's default (a trace
   * through it says so and is `possible`), or `possible`, when the rules suggest someone turned
   * it on (a DNAT to 127.0.0.0/8, kube-proxy's chains): what it would deliver is then only
   * possibly delivered.
   */
  readonly unknown: 'off' | 'possible';
}
