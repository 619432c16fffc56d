/**
 * The host's routing decision for a destination, from the network context: whether an address
 * is the host's own (or loopback) — known, or not known when the context's list of local
 * addresses is incomplete — and, for the others, the longest matching route (which may itself be
 * assumed).
 */
import { addressBits, parseAddress, parseCidr, prefixMask } from './addr.ts';
import type { AcceptLocal, NetworkContext } from './context.ts';
import type { DeadEndType } from '../model/host.ts';
import { bareAddress, everyAddress } from '../model/address-text.ts';

/** Whether an address is the host's: known either way, or not known (an incomplete list). */
export type Hostness = 'local' | 'foreign' | 'unknown';

export interface Prefix {
  readonly value: bigint;
  readonly length: number;
  readonly mask: bigint;
}

export interface Route extends Prefix {
  readonly device: string;
  readonly assumed: boolean;
  /** Why it is assumed, where the snapshot lists it (`ContextRoute.doubt`). */
  readonly doubt: readonly string[] | null;
  /** The address the host sends from along it, where the context says (`ContextRoute.source`). */
  readonly source: bigint | null;
}

/** A route that sends nowhere (`NetworkContext.deadEnds`). */
export interface DeadEnd extends Prefix {
  readonly type: DeadEndType;
  /** The policy rules that send it nowhere (`ContextDeadEnd.by`), null: the main table. */
  readonly by: string | null;
}

export interface Routing {
  /** The host's addresses (full length, in the context's order), then loopback's prefix. */
  readonly locals: readonly Prefix[];
  /**
   * Known not to be the host's; null when the list of locals is complete. With no address list,
   * `groups` among them: the kernel routes a multicast or broadcast destination as a group
   * before it reads the local table (`ip_route_input_rcu`, a broadcast route's type), so such a
   * packet is never delivered as to an address of the host's, and `addrtype` calls it
   * MULTICAST or BROADCAST, not LOCAL. Taken as possibly the host's, a datagram to 224.0.0.251
   * was delivered, certain, on a rules-only audit.
   */
  readonly foreign: readonly Prefix[] | null;
  /** Longest prefix first. */
  readonly routes: readonly Route[];
  /**
   * The routes that send nowhere, longest prefix first: where one is the longest match (on a
   * tie, over a route), nothing is routed. Measured (Linux 6.18, forwarding on, FORWARD
   * accepting): datagrams through the router to a blackhole, unreachable or prohibit prefix met
   * PREROUTING and no chain after it, and to a route inside the blackhole FORWARD; from a source
   * inside one, reverse path filtering dropped them, loose as strict, and `fib saddr oif` and
   * `-m rpfilter` found no route.
   */
  readonly deadEnds: readonly DeadEnd[];
  /**
   * Destinations the kernel never forwards, whatever the routes: multicast groups (for the
   * group's members on the host, if any, else dropped; multicast routing is not modelled),
   * IPv4's limited broadcast and its prefixes' broadcast addresses (for the host's own
   * sockets). Measured (Linux 6.18, forwarding on, FORWARD accepting): from a client, UDP to
   * 224.1.2.3 and 239.255.255.250 met PREROUTING and no chain after it; to 224.0.0.1,
   * 255.255.255.255 and the in-interface's 192.0.2.255 (of 192.0.2.1/24), INPUT.
   */
  readonly groups: readonly Group[];
  /**
   * Sources the kernel never forwards from (IPv6's `ip6_forward`: link-local, loopback and
   * multicast, answered with "beyond scope"; the unspecified `::`, measured alike); none for
   * IPv4. Measured: a datagram from the client's fe80:: address to a destination the default
   * route takes met PREROUTING and no chain after it; from its global address, FORWARD.
   */
  readonly scopedSources: readonly Prefix[];
  /**
   * IPv4 sources routing refuses on any other interface than lo, whatever the destination (a
   * "martian source": `ip_route_input_slow`, `ip_mc_validate_source`, `fib_validate_source`):
   * multicast, the limited broadcast, and the host's own addresses (`ownSources`) unless
   * `accept_local` is on for the interface. The rest of 127.0.0.0/8 is refused unless
   * `route_localnet` is on for the interface (compile.ts `martianSources`). Measured
   * (Linux 6.18, rp_filter off): from a client, datagrams from 224.1.2.3, 255.255.255.255,
   * 127.0.0.5, 127.0.0.1 and each of the router's addresses met PREROUTING and no chain after it,
   * to the router's address and through it alike; from 0.1.2.3, 0.0.0.0, 240.0.0.1 and a
   * prefix's broadcast address, INPUT or FORWARD. With `route_localnet` on, 127.0.0.5 passed and
   * 127.0.0.1 did not; with `accept_local` on, the router's addresses passed. A source the
   * snapshot does not place (no address list) is taken not to be the host's.
   */
  readonly martianSources: readonly Prefix[];
  /**
   * The host's own IPv4 addresses as sources (its address list, lo's 127.0.0.1, the local
   * prefixes), those of `martianSources` that `accept_local` lets in, each with the interface
   * of its local route where the context says (lo for 127.0.0.1); none for IPv6.
   */
  readonly ownSources: readonly OwnSource[];
  /**
   * IPv6 sources dropped on arrival, before PREROUTING (`ip6_rcv_core`), on any other
   * interface than lo: loopback and multicast. Measured: datagrams from ::1 and ff0e::1 met no
   * chain of the router, to its address and through it alike.
   */
  readonly unreceivedSources: readonly Prefix[];
  /**
   * IPv6 destinations dropped on arrival, before PREROUTING (`ip6_rcv_core`), on any other
   * interface than lo: loopback, and multicast of the reserved scope 0 or the interface-local
   * scope 1. Measured (frames written to the router's interface): UDP to ::1, ff00::1, ff01::1,
   * ff10::1 and ff11::1 met no chain and counted as header errors; to ff02::1, INPUT.
   */
  readonly unreceivedDestinations: readonly Prefix[];
}

export interface OwnSource extends Prefix {
  /** The interface of its local route; null where not known (or held by several). */
  readonly device: string | null;
}

export interface Group extends Prefix {
  readonly kind: 'multicast' | 'broadcast';
}

const routings = new WeakMap<NetworkContext, Routing>();

/** `Routing.ownSources`, by the context's addresses, their interfaces and the local prefixes. */
function ownSourcesOf(
  context: NetworkContext,
  prefixes: (texts: readonly string[]) => Prefix[],
): OwnSource[] {
  const devices = new Map<string, string | null>([['127.0.0.1', 'lo']]);
  for (const { address, device } of context.addressDevices ?? []) {
    const bare = bareAddress(address);
    const seen = devices.get(bare);
    devices.set(bare, seen === undefined || seen === device ? device : null);
  }
  const addresses = new Set(['127.0.0.1', ...context.localAddresses.map(bareAddress)]);
  return [
    ...[...addresses].flatMap((a) =>
      prefixes([a]).map((p) => ({ ...p, device: devices.get(a) ?? null })),
    ),
    ...prefixes(context.localPrefixes ?? []).map((p) => ({ ...p, device: null })),
  ];
}

/**
 * The context's addresses and routes parsed, once per context: every trace asks (a big host's
 * audit traces 2,000 witnesses over thousands of routes).
 */
export function routingOf(context: NetworkContext): Routing {
  let r = routings.get(context);
  if (r === undefined) {
    r = parseRouting(context);
    routings.set(context, r);
  }
  return r;
}

function parseRouting(context: NetworkContext): Routing {
  const family = context.family;
  const w = addressBits(family);
  const prefix = (text: string): Prefix | null => {
    const c = parseCidr(text, family);
    return c === null ? null : { ...c, mask: prefixMask(c.length, w) };
  };
  const prefixes = (texts: readonly string[]): Prefix[] =>
    texts.map(prefix).filter((p): p is Prefix => p !== null);
  const loopback = family === 'ipv4' ? '127.0.0.0/8' : '::1/128';
  // A local address is the host's alone, whatever prefix its interface has.
  const locals = prefixes([
    ...context.localAddresses.map(bareAddress),
    ...(context.localPrefixes ?? []),
    loopback,
  ]);
  const routes: Route[] = [];
  for (const r of context.routes) {
    const p = prefix(r.destination === 'default' ? everyAddress(family) : r.destination);
    if (p === null) continue;
    const source = r.source === undefined ? null : parseAddress(bareAddress(r.source), family);
    routes.push({
      ...p,
      device: r.device,
      assumed: r.provenance === 'assumed',
      doubt: r.doubt ?? null,
      source,
    });
  }
  routes.sort((a, b) => b.length - a.length);
  const deadEnds = (context.deadEnds ?? []).flatMap((d): DeadEnd[] => {
    const p = prefix(d.destination === 'default' ? everyAddress(family) : d.destination);
    return p === null ? [] : [{ ...p, type: d.type, by: d.by ?? null }];
  });
  deadEnds.sort((a, b) => b.length - a.length);
  const group = (texts: readonly string[], kind: Group['kind']): Group[] =>
    prefixes(texts).map((p) => ({ ...p, kind }));
  const groups = [
    ...group([family === 'ipv4' ? '224.0.0.0/4' : 'ff00::/8'], 'multicast'),
    ...group(
      [
        ...(family === 'ipv4' ? ['255.255.255.255/32'] : []),
        ...(context.broadcastAddresses ?? []).map(bareAddress),
      ],
      'broadcast',
    ),
  ];
  const complete = context.localAddressesComplete ?? true;
  // the groups are never the host's own (see `Routing.foreign`)
  const foreign = complete ? null : [...prefixes(context.foreignAddresses ?? []), ...groups];
  const scopedSources =
    family === 'ipv6' ? prefixes(['fe80::/10', '::1/128', 'ff00::/8', '::/128']) : [];
  const ownSources = family === 'ipv4' ? ownSourcesOf(context, prefixes) : [];
  const martianSources =
    family === 'ipv4' ? [...prefixes(['224.0.0.0/4', '255.255.255.255/32']), ...ownSources] : [];
  const unreceivedSources = family === 'ipv6' ? prefixes(['::1/128', 'ff00::/8']) : [];
  // ff<flags><scope>::/16 for every flags nibble, scope 0 and 1
  const scopes = Array.from({ length: 32 }, (_, i) => {
    const value = (0xff00n | (BigInt(i >> 1) << 4n) | BigInt(i & 1)) << 112n;
    return { value, length: 16, mask: prefixMask(16, 128) };
  });
  const unreceivedDestinations = family === 'ipv6' ? [...prefixes(['::1/128']), ...scopes] : [];
  return {
    locals,
    foreign,
    routes,
    deadEnds,
    groups,
    scopedSources,
    martianSources,
    ownSources,
    unreceivedSources,
    unreceivedDestinations,
  };
}

/** Whether the prefix holds the address. */
export function covers(p: Prefix, address: bigint): boolean {
  return (address & p.mask) === p.value;
}

/** The addresses both lists of prefixes hold, as prefixes. */
export function intersectPrefixes(a: readonly Prefix[], b: readonly Prefix[]): Prefix[] {
  const out: Prefix[] = [];
  for (const x of a)
    for (const y of b) {
      if (x.length <= y.length ? covers(x, y.value) : covers(y, x.value))
        out.push(x.length <= y.length ? y : x);
    }
  return out;
}

/** Whether the kernel forwards nothing from this source (`Routing.scopedSources`). */
export function scopedSource(routing: Routing, address: bigint): boolean {
  return routing.scopedSources.some((p) => covers(p, address));
}

/** 127.0.0.0/8. */
export const LOOPBACK4: Prefix = { value: 0x7f000000n, length: 8, mask: 0xff000000n };

/**
 * Why routing refuses an IPv4 packet from this source arriving on another interface than lo
 * (`Routing.martianSources`): `group`, a multicast or the limited broadcast address, and `own`,
 * an address of the host's, whatever the interface; `loopback`, unless `route_localnet` is on
 * for it. Null: not refused for its source. (Reverse path filtering, `rp_filter`, which also
 * refuses sources by their route back: rp-filter.ts.)
 */
export function martianSource(
  routing: Routing,
  address: bigint,
): 'group' | 'own' | 'loopback' | null {
  // IPv6 has none
  if (routing.martianSources.length === 0) return null;
  const group = groupOf(routing, address);
  if (group !== null && (group.kind === 'multicast' || address === 0xffffffffn)) return 'group';
  if (routing.martianSources.some((p) => covers(p, address))) return 'own';
  return covers(LOOPBACK4, address) ? 'loopback' : null;
}

/**
 * Whether IPv4 routing takes a source of the host's own arriving on this interface (`exact`: the
 * name is one interface, not a class of several): on when `accept_local` is on for all
 * interfaces or this one, off when both are off, else `taken-off` (the kernel's default).
 */
export function acceptLocal(
  switches: AcceptLocal | undefined,
  name: string,
  exact: boolean,
): 'on' | 'off' | 'taken-off' {
  const on = interfaceSwitch(switches, name, exact);
  return on === null ? 'taken-off' : on ? 'on' : 'off';
}

/**
 * An IPv4 switch the kernel reads as `all`'s or the interface's (`IN_DEV_ORCONF`): on where
 * either is, off where both are known off, null where that is not known (`exact`: the name is
 * one interface, not a class of several, whose own switch may be read).
 */
export function interfaceSwitch(
  switches: AcceptLocal | undefined,
  name: string,
  exact: boolean,
): boolean | null {
  const all = switches?.all ?? null;
  const own = exact ? switches?.interfaces.get(name) : undefined;
  if (all === true || own === true) return true;
  return all === false && own === false ? false : null;
}

/**
 * The sources routing refuses, whatever the rules, on packets that arrived from outside and are
 * delivered (`forwarded`: sent on; else to the host): a flow's "any address" need not list them
 * as holes. IPv4: `own`, the host's own addresses too (`accept_local` off where they arrived);
 * `loopback`, 127.0.0.0/8 (`route_localnet` off there); `broadcast`, the host's prefixes'
 * broadcast addresses (every source checked, `NetworkContext.sourcesChecked`).
 */
export function refusedSources(
  routing: Routing,
  forwarded: boolean,
  refused: { readonly own: boolean; readonly loopback: boolean; readonly broadcast: boolean },
): readonly Prefix[] {
  if (routing.martianSources.length > 0) {
    const own = (p: Prefix): boolean =>
      routing.ownSources.some((o) => o.value === p.value && o.length === p.length);
    return [
      ...(refused.own ? routing.martianSources : routing.martianSources.filter((p) => !own(p))),
      ...(refused.loopback ? [LOOPBACK4] : []),
      ...(refused.broadcast ? routing.groups.filter((g) => g.kind === 'broadcast') : []),
    ];
  }
  return forwarded
    ? [...routing.unreceivedSources, ...routing.scopedSources]
    : routing.unreceivedSources;
}

/** Whether IPv6 drops a packet to this destination on arrival (`Routing.unreceivedDestinations`). */
export function unreceivedDestination(routing: Routing, address: bigint): boolean {
  return routing.unreceivedDestinations.some((p) => covers(p, address));
}

/** Whether IPv6 drops a packet from this source on arrival (`Routing.unreceivedSources`). */
export function unreceivedSource(routing: Routing, address: bigint): boolean {
  return routing.unreceivedSources.some((p) => covers(p, address));
}

/** The group an address is sent to, where the kernel never forwards it (`Routing.groups`). */
export function groupOf(routing: Routing, address: bigint): Group | null {
  return routing.groups.find((g) => covers(g, address)) ?? null;
}

/** Whether the address is the host's, as far as the context knows. */
export function hostness(routing: Routing, address: bigint): Hostness {
  if (routing.locals.some((l) => covers(l, address))) return 'local';
  if (routing.foreign === null) return 'foreign';
  if (routing.foreign.some((l) => covers(l, address))) return 'foreign';
  return 'unknown';
}

/** The longest-prefix route to an address, null when none (or a dead end decides). */
export function route(routing: Routing, address: bigint): Route | null {
  const r = routing.routes.find((x) => covers(x, address)) ?? null;
  return deadEndOver(routing, address, r) === null ? r : null;
}

/** The dead end that decides an address's route, where one does. */
export function deadEndOf(routing: Routing, address: bigint): DeadEnd | null {
  return deadEndOver(routing, address, routing.routes.find((x) => covers(x, address)) ?? null);
}

function deadEndOver(routing: Routing, address: bigint, r: Route | null): DeadEnd | null {
  if (routing.deadEnds.length === 0) return null;
  const d = routing.deadEnds.find((x) => covers(x, address));
  return d !== undefined && (r === null || d.length >= r.length) ? d : null;
}

/**
 * The routes and dead ends in one list, longest prefix first, a dead end before a route of the
 * same prefix: what longest-prefix regions are cut by (`HeaderSpace.longestPrefixRegions`).
 */
export function routesAndDeadEnds(routing: Routing): readonly (Route | DeadEnd)[] {
  if (routing.deadEnds.length === 0) return routing.routes;
  return [...routing.deadEnds, ...routing.routes].sort((a, b) => b.length - a.length);
}

/** Whether a route of the list is a dead end. */
export function isDeadEnd(r: Route | DeadEnd): r is DeadEnd {
  return 'type' in r;
}

/**
 * The routing decision for an address written as text: its hostness and, unless it is the
 * host's, the egress interface (null: no route); null when it is not an address of the family.
 */
export function routeAddress(
  context: NetworkContext,
  text: string,
): { readonly hostness: Hostness; readonly device: string | null } | null {
  const address = parseAddress(text, context.family);
  if (address === null) return null;
  const routing = routingOf(context);
  const host = hostness(routing, address);
  return {
    hostness: host,
    device: host === 'local' ? null : (route(routing, address)?.device ?? null),
  };
}
