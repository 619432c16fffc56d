/**
 * The reverse path test: nftables' `fib saddr . iif oif exists` (what firewalld's and NixOS's
 * rpfilter chains drop on, with `missing`) and iptables' `-m rpfilter` (`--invert`). The kernel
 * (`nft_fib4_eval`, `nft_fib6_eval`, `xt_rpfilter`) looks up the route to the packet's source
 * and holds where it leaves by the interface the packet came in on (loose: where there is one).
 * Read with the snapshot's routes, as the walk routes:
 *
 * - a packet that came in on loopback holds (the kernel answers its own interface);
 * - a source of the host's own is a local route, which the kernel counts as none (iptables'
 *   `--accept-local`: as its interface's, which the routes do not name);
 * - IPv4: a source of 0.0.0.0/8 to the limited broadcast or 224.0.0.0/24 (DHCP) holds;
 * - IPv6: a link-local source is looked up on the interface it came in on (with or without
 *   `iif`): it holds where that interface has a link-local route, else it stays undecided;
 * - the longest route to the source decides; where it is assumed, or leaves by an interface the
 *   snapshot does not name (one class of several names), undecided; a dead end (blackhole,
 *   unreachable, prohibit) is none (measured: routing.ts `Routing.deadEnds`).
 *
 * The routes are the main table's with the policy rules folded in, as for forwarding
 * (docker/policy-routes.ts): where a rule by mark may route otherwise, the route is assumed.
 * The `mark` flag is not read.
 */
import { FALSE, type Bdd } from './bdd.ts';
import { isLinkLocal6 } from './addr.ts';
import type { Pair } from './match.ts';
import { covers, hostness, isDeadEnd, route, routesAndDeadEnds, type Routing } from './routing.ts';
import type { HeaderSpace } from './space.ts';
import type { Family } from '../model/ruleset.ts';

/** fe80::/10 (`isLinkLocal6`). */
const LINK_LOCAL6 = { value: 0xfe80n << 112n, length: 10 };

/** How the test is asked: strict or loose, and whether a source of the host's own counts. */
export interface ReversePathMode {
  /** No `iif` (`--loose`): any route back will do. */
  readonly loose: boolean;
  /** iptables' `--accept-local`: a source of the host's own counts as its local route. */
  readonly acceptLocal: boolean;
}

/**
 * The route back to each source, as the walk routes (`longestPrefixRegions`), on `src` and the
 * arrival interface: `routed`, there is one, certainly (no assumed route decides); `via`, it
 * leaves by the arrival interface, certainly (not assumed, by an interface named alone). Each
 * with its `Maybe`: an assumed route may leave by any interface, and one by a class of several
 * names possibly by the arrival interface of that class.
 */
export interface RouteBack {
  readonly routed: Bdd;
  readonly routedMaybe: Bdd;
  readonly via: Bdd;
  readonly viaMaybe: Bdd;
}

export function routeBack(s: HeaderSpace, routing: Routing): RouteBack {
  const m = s.m;
  const ifs = s.interfaces;
  let routed = FALSE;
  let routedMaybe = FALSE;
  let via = FALSE;
  let viaMaybe = FALSE;
  for (const [region, r] of s.longestPrefixRegions('src', routesAndDeadEnds(routing))) {
    // a dead end is no route back, certainly
    if (isDeadEnd(r)) continue;
    routedMaybe = m.or(routedMaybe, region);
    if (r.assumed) {
      viaMaybe = m.or(viaMaybe, region);
      continue;
    }
    const device = ifs.classOf(r.device);
    const back = m.and(region, s.eq('iif', BigInt(device)));
    routed = m.or(routed, region);
    viaMaybe = m.or(viaMaybe, back);
    if (ifs.names[device] === r.device) via = m.or(via, back);
  }
  return { routed, routedMaybe, via, viaMaybe };
}

/** The packets `fib saddr [. iif] oif` finds a route for, two-sided. */
export function reversePathSet(s: HeaderSpace, routing: Routing, mode: ReversePathMode): Pair {
  const { loose, acceptLocal } = mode;
  const m = s.m;
  const ifs = s.interfaces;
  const back = routeBack(s, routing);
  let holds = loose ? back.routedMaybe : back.viaMaybe;
  let undecided = loose ? m.diff(back.routedMaybe, back.routed) : m.diff(back.viaMaybe, back.via);
  // the host's own: no route back, or with --accept-local its local route, which names the
  // interface that holds the address (not in the snapshot's routes)
  const own = s.localOn('src');
  holds = m.diff(holds, own);
  if (acceptLocal) {
    if (loose) holds = m.or(holds, own);
    else undecided = m.or(undecided, own);
  }
  undecided = m.or(undecided, s.unknownOn('src'));
  if (s.family === 'ipv6') {
    const linkLocal = s.prefix('src', LINK_LOCAL6.value, LINK_LOCAL6.length);
    let on = FALSE;
    for (const r of routing.routes) {
      if (r.assumed || !isLinkLocal6(r.value) || r.length < LINK_LOCAL6.length) continue;
      const device = ifs.classOf(r.device);
      if (ifs.names[device] !== r.device) continue;
      on = m.or(on, m.and(s.prefix('src', r.value, r.length), s.eq('iif', BigInt(device))));
    }
    on = m.and(on, linkLocal);
    holds = m.or(m.diff(holds, linkLocal), on);
    undecided = m.or(m.diff(undecided, linkLocal), m.diff(linkLocal, on));
  } else {
    const dhcp = m.and(
      s.prefix('src', 0n, 8),
      m.or(s.eq('dst', 0xffffffffn), s.prefix('dst', 0xe0000000n, 24)),
    );
    holds = m.or(holds, dhcp);
    undecided = m.diff(undecided, dhcp);
  }
  const lo = s.eq('iif', BigInt(ifs.classOf('lo')));
  holds = m.or(holds, lo);
  undecided = m.diff(undecided, lo);
  return { c: m.diff(holds, undecided), p: m.or(holds, undecided) };
}

/** Why the test is undecided on a packet: what the snapshot does not say. */
export type ReversePathDoubt =
  | { readonly kind: 'route'; readonly device: string; readonly doubt: readonly string[] | null }
  | { readonly kind: 'host' }
  | { readonly kind: 'own' }
  | { readonly kind: 'link-local' }
  | { readonly kind: 'interface'; readonly device: string };

/** The same test on one packet. `listed`: the interfaces the context names. */
export function reversePathHolds(
  routing: Routing,
  family: Family,
  listed: readonly string[],
  packet: { readonly iif: string | null; readonly src: bigint; readonly dst: bigint },
  { loose, acceptLocal }: ReversePathMode,
): boolean | ReversePathDoubt {
  const { iif, src, dst } = packet;
  if (iif === 'lo') return true;
  if (family === 'ipv4') {
    if (src >> 24n === 0n && (dst === 0xffffffffn || dst >> 8n === 0xe00000n)) return true;
  } else if (isLinkLocal6(src)) {
    const on = routing.routes.some(
      (r) => !r.assumed && isLinkLocal6(r.value) && r.device === iif && covers(r, src),
    );
    return on ? true : { kind: 'link-local' };
  }
  const own = hostness(routing, src);
  if (own === 'local') return !acceptLocal ? false : loose ? true : { kind: 'own' };
  if (own === 'unknown') return { kind: 'host' };
  const r = route(routing, src);
  if (r === null) return false;
  if (r.assumed) return { kind: 'route', device: r.device, doubt: r.doubt };
  if (loose || iif === r.device) return true;
  // an interface the snapshot does not name may be the route's
  return iif !== null && !listed.includes(iif) && !listed.includes(r.device)
    ? { kind: 'interface', device: r.device }
    : false;
}
