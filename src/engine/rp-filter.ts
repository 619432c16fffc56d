/**
 * IPv4 reverse path filtering, the `rp_filter` switch (`fib_validate_source`): after PREROUTING,
 * routing looks up the route back to a packet's source. Strict (1), it must leave by the
 * interface the packet came in on; loose (2), there must be one (and, on an interface without
 * an IPv4 address, it too must leave by it). Either way a source whose route is the host's own
 * (127.0.0.0/8) or a prefix's broadcast address is dropped. The switch of an interface is the
 * larger of `all` and its own. Measured (Linux 6.18, forwarding on, FORWARD accepting; a client
 * on 192.0.2.0/24 behind in0, a default route out of out0, other prefixes on two more
 * interfaces, one without an address): strict on in0, datagrams from the client's prefix were
 * forwarded and delivered, from every source routed elsewhere (the default route's included)
 * and from each prefix's broadcast address dropped after PREROUTING, to the router's address
 * and through it alike; loose, only the broadcast addresses, and without a default route a
 * source with no route; with in0's address removed, loose dropped what strict did; all=1 with
 * in0=0 was strict, all=1 with in0=2 loose.
 *
 * A source whose route back is a dead end (blackhole, unreachable, prohibit) has none, loose as
 * strict (measured: routing.ts `Routing.deadEnds`).
 *
 * The routes are the main table's with the policy rules folded in (docker/policy-routes.ts: a
 * rule by mark makes its prefixes' routes assumed). Not read: `src_valid_mark`, `accept_local`,
 * IPsec's exemption.
 * IPv6 has no such switch.
 */
import { FALSE, type Bdd } from './bdd.ts';
import { formatAddress, prefixMask } from './addr.ts';
import type { NetworkContext, RpFilter } from './context.ts';
import { routeBack } from './reverse-path.ts';
import {
  acceptLocal,
  covers,
  deadEndOf,
  groupOf,
  isDeadEnd,
  LOOPBACK4,
  route,
  routesAndDeadEnds,
  type DeadEnd,
  type Prefix,
  type Route,
  type Routing,
} from './routing.ts';
import type { HeaderSpace, InterfaceDomain } from './space.ts';

/** 0 off, 1 strict, 2 loose. */
export type RpMode = 0 | 1 | 2;

/** An interface's switch, and whether the snapshot gives it or it is taken. */
export interface RpModeOf {
  readonly mode: RpMode;
  /** The modes it may have, where not known; `mode` is the one taken. */
  readonly possible: readonly RpMode[];
}

const ALL_MODES: readonly RpMode[] = [0, 1, 2];

/**
 * The switch for packets arriving on `name` (`exact`: one interface, not a class of several):
 * the larger of `all` and its own. Where one is not known it is taken to be off, the kernel's
 * default, and every value it could have is listed.
 */
export function rpModeOf(rp: RpFilter | undefined, name: string, exact: boolean): RpModeOf {
  const all = rp?.all ?? null;
  const own = exact ? (rp?.interfaces.get(name) ?? null) : null;
  const values = (v: RpMode | null): readonly RpMode[] => (v === null ? ALL_MODES : [v]);
  const possible = [
    ...new Set(values(all).flatMap((a) => values(own).map((o) => Math.max(a, o) as RpMode))),
  ].sort();
  return { mode: Math.max(all ?? 0, own ?? 0) as RpMode, possible };
}

/**
 * Whether an interface has an IPv4 address (loose mode on one without acts strictly): from the
 * addresses the context lists per interface; null where it does not say.
 */
function hasAddress(context: NetworkContext, name: string): boolean | null {
  const entry = context.redirectAddresses?.find((r) => r.interface === name);
  return entry === undefined ? null : entry.address !== null;
}

/** The sets the check reads, as the compiled ruleset makes them. */
export interface RpSets {
  /** Broadcast addresses on `src`: the route back is the local table's broadcast route. */
  readonly broadcastSources: Bdd;
  /** Every group on `dst`: 0.0.0.0/8 sending to one is not checked. */
  readonly groupDestinations: Bdd;
  /** The host's own addresses on `src` (routing.ts `Routing.ownSources`). */
  readonly ownSources: Bdd;
  /** The arrival interfaces, on `iif`, where `accept_local` is on. */
  readonly acceptLocal: Bdd;
}

/**
 * The packets arriving from outside (after PREROUTING: `dst` is where the packet goes now) that
 * reverse path filtering drops, as the walk routes: `dropped` by the switch as known or taken,
 * `doubtful` where the route back rests on an assumed route or an interface class of several
 * names. Made by the compiled ruleset, once.
 */
export function rpFilterSets(
  s: HeaderSpace,
  routing: Routing,
  context: NetworkContext,
  sets: RpSets,
): { dropped: Bdd; doubtful: Bdd } {
  const m = s.m;
  const none = { dropped: FALSE, doubtful: FALSE };
  if (s.family !== 'ipv4' || context.rpFilter === undefined) return none;
  const ifs = s.interfaces;
  // the arrival interfaces by how they check: strict (or loose without an address), loose with
  // an address, loose where the addresses are not known
  let strict = FALSE;
  let loose = FALSE;
  let looseUnsure = FALSE;
  ifs.names.forEach((name, i) => {
    if (name === 'lo' || i === ifs.none) return;
    const exact = ifs.representative(i) === name;
    const { mode } = rpModeOf(context.rpFilter, name, exact);
    if (mode === 0) return;
    const at = s.eq('iif', BigInt(i));
    const addressed = mode === 2 && exact ? hasAddress(context, name) : null;
    if (mode === 1 || addressed === false) strict = m.or(strict, at);
    else if (addressed === true) loose = m.or(loose, at);
    else looseUnsure = m.or(looseUnsure, at);
  });
  const on = m.or(m.or(strict, loose), looseUnsure);
  if (on === FALSE) return none;
  // the route back: whether there is one, and whether it leaves by the arrival interface
  const { routed, routedMaybe, via, viaMaybe } = routeBack(s, routing);
  // a source the route back calls the host's own or a broadcast (a route of the local table)
  const loopback = s.loopbackOn('src');
  const local = m.or(sets.broadcastSources, loopback);
  const anyRoute = m.diff(routedMaybe, local);
  const byRoutes = m.or(
    m.or(m.and(strict, m.not(viaMaybe)), m.and(m.or(loose, looseUnsure), m.not(anyRoute))),
    m.and(on, local),
  );
  const unsure = m.or(
    m.or(m.and(strict, m.diff(viaMaybe, via)), m.and(loose, m.diff(routedMaybe, routed))),
    m.and(looseUnsure, m.not(via)),
  );
  // where accept_local is on, a source of the host's own reaches the check, its route back a
  // local route by the interface that holds the address (`localRouteCheck`)
  const own = m.or(sets.ownSources, loopback);
  const accepted = m.and(sets.acceptLocal, own);
  let byDevice = FALSE;
  let deviceUnsure = FALSE;
  for (const o of routing.ownSources) {
    const at = s.prefix('src', o.value, o.length);
    if (o.device === null) deviceUnsure = m.or(deviceUnsure, at);
    else if (o.device !== 'lo') {
      const i = ifs.classOf(o.device);
      const here = m.and(s.eq('iif', BigInt(i)), at);
      if (ifs.representative(i) === o.device) byDevice = m.or(byDevice, here);
      else deviceUnsure = m.or(deviceUnsure, here);
    }
  }
  const takes = m.and(accepted, m.or(loose, byDevice));
  const doubts = m.diff(m.and(accepted, m.or(looseUnsure, m.and(strict, deviceUnsure))), takes);
  const dropped = m.or(
    m.diff(byRoutes, accepted),
    m.diff(m.diff(m.and(accepted, strict), takes), doubts),
  );
  const doubtful = m.or(m.diff(unsure, accepted), doubts);
  // 0.0.0.0/8 to a broadcast or multicast destination is not checked (DHCP, IGMP)
  const exempt = m.and(s.prefix('src', 0n, 8), sets.groupDestinations);
  const out = m.diff(dropped, exempt);
  return { dropped: out, doubtful: m.diff(m.diff(doubtful, exempt), out) };
}

/**
 * The sources the switch drops, as known or taken, on every packet arriving on interface value
 * `index` (not lo), as prefixes: what a flow's sources need not list as holes (`rpFilterSets`'
 * `dropped` on that interface, but for 0.0.0.0/8's broadcasts, which no flow delivers). None
 * where it is off.
 */
export function rpRefusedSources(
  routing: Routing,
  context: NetworkContext,
  ifs: InterfaceDomain,
  index: number,
): readonly Prefix[] {
  const name = ifs.names[index] ?? '';
  const exact = ifs.representative(index) === name;
  const { mode } = rpModeOf(context.rpFilter, name, exact);
  if (mode === 0) return [];
  const strict = mode === 1 || (exact && hasAddress(context, name) === false);
  // strict: a route back by another interface (not an assumed one, which may be this one) or
  // none; loose: no route at all (an assumed one is one)
  const refused = routeRegions(routesAndDeadEnds(routing), (r) =>
    r === null || isDeadEnd(r) ? true : strict && !r.assumed && ifs.classOf(r.device) !== index,
  );
  const local = [...routing.groups.filter((g) => g.kind === 'broadcast'), LOOPBACK4];
  return [...refused, ...local];
}

/**
 * The address space cut by longest-prefix routing into prefixes, each decided by one route (or
 * none): those `keep` holds for. `routes` longest first, as `Routing.routes`; of equal
 * prefixes the first decides, as `route` finds it.
 */
function routeRegions(
  routes: readonly (Route | DeadEnd)[],
  keep: (r: Route | DeadEnd | null) => boolean,
): Prefix[] {
  const width = 32;
  const out: Prefix[] = [];
  const walk = (
    value: bigint,
    length: number,
    decided: Route | DeadEnd | null,
    inside: (Route | DeadEnd)[],
  ): void => {
    if (inside.length === 0) {
      if (keep(decided)) out.push({ value, length, mask: prefixMask(length, width) });
      return;
    }
    const next = length + 1;
    const mask = prefixMask(next, width);
    for (const half of [value, value | (1n << BigInt(width - next))]) {
      const here = inside.filter((r) => (r.value & mask) === half);
      const own = here.find((r) => r.length === next);
      walk(
        half,
        next,
        own ?? decided,
        here.filter((r) => r.length > next),
      );
    }
  };
  walk(
    0n,
    0,
    routes.find((r) => r.length === 0) ?? null,
    routes.filter((r) => r.length > 0),
  );
  return out;
}

/** What the check does with one packet: how, and why in words. */
export type RpVerdict =
  { readonly verdict: 'pass' } | { readonly verdict: 'drop' | 'doubt'; readonly why: string };

/** The check on one packet under one mode (not 0). */
function checkUnder(
  mode: 1 | 2,
  routing: Routing,
  context: NetworkContext,
  listed: readonly string[],
  iif: string,
  src: bigint,
): RpVerdict {
  const source = formatAddress(src, 'ipv4');
  const loopback = covers(LOOPBACK4, src);
  // the longest local route first: the addresses come before the local prefixes
  const own = loopback ? { device: 'lo' } : routing.ownSources.find((p) => covers(p, src));
  if (own !== undefined && acceptLocal(context.acceptLocal, iif, listed.includes(iif)) === 'on')
    return localRouteCheck(mode, context, listed, iif, source, own.device);
  if (loopback) return { verdict: 'drop', why: `the source ${source} is a loopback address` };
  const group = groupOf(routing, src);
  if (group?.kind === 'broadcast')
    return { verdict: 'drop', why: `the source ${source} is a broadcast address of the host's` };
  const r = route(routing, src);
  const dead = r === null ? deadEndOf(routing, src) : null;
  if (dead !== null)
    return { verdict: 'drop', why: `the route back to ${source} is a ${dead.type} route` };
  if (r === null) return { verdict: 'drop', why: `there is no route back to ${source}` };
  if (r.assumed)
    return {
      verdict: 'doubt',
      why: `the route back to ${source} (via ${r.device}) is assumed${r.doubt === null ? '' : `: ${r.doubt.join(', ')} may route it otherwise`}`,
    };
  if (r.device === iif) return { verdict: 'pass' };
  const addressed = mode === 2 ? hasAddress(context, iif) : false;
  if (addressed === true) return { verdict: 'pass' };
  // two names the context does not list are one interface class to the engine
  const unnamed = !listed.includes(iif) && !listed.includes(r.device);
  if (addressed === null || unnamed)
    return {
      verdict: 'doubt',
      why: unnamed
        ? `the route back to ${source} leaves by ${r.device}, which may be ${iif}`
        : `the route back to ${source} leaves by ${r.device}, and whether ${iif} has an IPv4 address (without one, loose acts as strict) is not known`,
    };
  return {
    verdict: 'drop',
    why:
      mode === 1
        ? `the route back to ${source} leaves by ${r.device}, not ${iif}`
        : `the route back to ${source} leaves by ${r.device}, and ${iif} has no IPv4 address`,
  };
}

/**
 * The check on a source of the host's own that `accept_local` let in: its route back is a local
 * route (`__fib_validate_source` takes its type then) by `device`, the interface holding the
 * address (lo for 127.0.0.0/8; null where not known). Taken by the arrival interface; else
 * loose takes it where the arrival interface has an address (without one, it acts as strict).
 */
function localRouteCheck(
  mode: 1 | 2,
  context: NetworkContext,
  listed: readonly string[],
  iif: string,
  source: string,
  device: string | null,
): RpVerdict {
  if (device === iif) return { verdict: 'pass' };
  const addressed = mode === 2 ? hasAddress(context, iif) : false;
  if (addressed === true) return { verdict: 'pass' };
  // two names the context does not list are one interface class to the engine
  const unnamed = !listed.includes(iif) && !listed.includes(device ?? iif);
  if (device === null || unnamed || addressed === null)
    return {
      verdict: 'doubt',
      why:
        device === null
          ? `the route back to ${source} is the host's own, by the interface that holds it, which the snapshot does not say`
          : unnamed
            ? `the route back to ${source} is the host's own, by ${device}, which may be ${iif}`
            : `the route back to ${source} is the host's own, by ${device}, and whether ${iif} has an IPv4 address (without one, loose acts as strict) is not known`,
    };
  return {
    verdict: 'drop',
    why:
      mode === 1
        ? `the route back to ${source} is the host's own, by ${device}, not ${iif}`
        : `the route back to ${source} is the host's own, by ${device}, and ${iif} has no IPv4 address`,
  };
}

/**
 * The check on one packet arriving on `iif` (not lo) from `src` to `dst` (after PREROUTING), as
 * `rpFilterSets` makes it: its verdict under the mode known or taken, and, where the mode is
 * taken, another mode it may have that would certainly decide otherwise (`otherwise`; one that
 * would only rest on an assumed route as well is not named: that is a guess on a guess).
 */
export function rpFilterCheck(
  routing: Routing,
  context: NetworkContext,
  iif: string,
  src: bigint,
  dst: bigint,
): {
  readonly mode: RpMode;
  readonly result: RpVerdict;
  readonly otherwise: { readonly mode: RpMode; readonly result: RpVerdict } | null;
} {
  const listed = context.interfaces;
  const { mode, possible } = rpModeOf(context.rpFilter, iif, listed.includes(iif));
  const pass: RpVerdict = { verdict: 'pass' };
  const exempt = src >> 24n === 0n && groupOf(routing, dst) !== null;
  const under = (x: RpMode): RpVerdict =>
    x === 0 || exempt ? pass : checkUnder(x, routing, context, listed, iif, src);
  const result = under(mode);
  const other =
    result.verdict === 'doubt'
      ? undefined
      : possible
          .filter((x) => x !== mode)
          .map((x) => ({ mode: x, result: under(x) }))
          .find((o) => o.result.verdict !== 'doubt' && o.result.verdict !== result.verdict);
  return { mode, result, otherwise: other ?? null };
}

/** How a mode is said. */
export function rpModeName(mode: RpMode): string {
  return mode === 0 ? 'off' : mode === 1 ? 'strict' : 'loose';
}
