/**
 * The host's routing decision for a destination, from the network context: whether an address
 * is the host's own (or loopback) — known, or not known when the context's list of local
 * addresses is incomplete — and, for the others, the longest matching route (which may itself be
 * assumed).
 */
import { addressBits, parseAddress, parseCidr, prefixMask } from './addr.ts';
import type { NetworkContext } from './context.ts';
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
  /** The address the host sends from along it, where the context says (`ContextRoute.source`). */
  readonly source: bigint | null;
}

export interface Routing {
  /** The host's addresses (full length, in the context's order), then loopback's prefix. */
  readonly locals: readonly Prefix[];
  /** Known not to be the host's; null when the list of locals is complete. */
  readonly foreign: readonly Prefix[] | null;
  /** Longest prefix first. */
  readonly routes: readonly Route[];
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
   * multicast, answered with "beyond scope"); none modelled for IPv4. Measured: a datagram
   * from the client's fe80:: address to a destination the default route takes met PREROUTING
   * and no chain after it; from its global address, FORWARD.
   */
  readonly scopedSources: readonly Prefix[];
}

export interface Group extends Prefix {
  readonly kind: 'multicast' | 'broadcast';
}

const routings = new WeakMap<NetworkContext, Routing>();

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
  const locals = prefixes([...context.localAddresses.map(bareAddress), loopback]);
  const routes: Route[] = [];
  for (const r of context.routes) {
    const p = prefix(r.destination === 'default' ? everyAddress(family) : r.destination);
    if (p === null) continue;
    const source = r.source === undefined ? null : parseAddress(bareAddress(r.source), family);
    routes.push({ ...p, device: r.device, assumed: r.provenance === 'assumed', source });
  }
  routes.sort((a, b) => b.length - a.length);
  const complete = context.localAddressesComplete ?? true;
  const foreign = complete ? null : prefixes(context.foreignAddresses ?? []);
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
  const scopedSources = family === 'ipv6' ? prefixes(['fe80::/10', '::1/128', 'ff00::/8']) : [];
  return { locals, foreign, routes, groups, scopedSources };
}

/** Whether the prefix holds the address. */
export function covers(p: Prefix, address: bigint): boolean {
  return (address & p.mask) === p.value;
}

/** Whether the kernel forwards nothing from this source (`Routing.scopedSources`). */
export function scopedSource(routing: Routing, address: bigint): boolean {
  return routing.scopedSources.some((p) => covers(p, address));
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

/** The longest-prefix route to an address, null when none. */
export function route(routing: Routing, address: bigint): Route | null {
  return routing.routes.find((r) => covers(r, address)) ?? null;
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
