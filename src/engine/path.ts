/**
 * The whole path of new connections, symbolically: packets arriving on an interface go
 * PREROUTING → routing → INPUT (local) or FORWARD → POSTROUTING; host-originated packets go
 * routing → OUTPUT → POSTROUTING → (PREROUTING, its NAT done, and INPUT over loopback when the
 * destination is local).
 */
import { FALSE, type Bdd } from './bdd.ts';
import type { CompiledRuleset } from './compile.ts';
import { EMPTY, type Pair } from './match.ts';
import { neighbourDoubts } from './neighbours.ts';
import { PROTO } from './space.ts';
import { andSet, append, union, unionAll, type Outcome, type Walk } from './netfilter.ts';

/**
 * What a walk delivered, in parts whose union it is (one per part PREROUTING passed on, and
 * what the host sent itself): united, they are the one delivered set.
 */
export interface PathResult {
  /** Delivered to a local socket (oif = none), post-NAT headers. */
  readonly local: readonly Pair[];
  /** Forwarded out of an interface (oif set), post-NAT headers. */
  readonly forward: readonly Pair[];
  /** Drops, rejects, and filter-table accepts (for attribution), in walk order. */
  readonly outcomes: readonly Outcome[];
  /** Dropped for lack of a route. */
  readonly noRoute: Pair;
}

/** How discovery walks the path (see `runPath`). */
export interface PathOptions {
  /**
   * Walk what PREROUTING passes in parts (`Walk.hookParts`): at most this many consecutive NAT
   * accepts together. Unset: as one set, with outcomes in walk order.
   */
  readonly natGroup?: number;
  /** Walk on what routing refuses for its source (`RuleReachQuery.keepRefusedSources`). */
  readonly keepRefusedSources?: boolean;
  /**
   * The caller takes what reverse path filtering drops out of the delivered sets itself
   * (`CompiledRuleset.reversePathFiltered`), and reads nothing else: discovery. The filter reads
   * only the arrival interface and the source, which the walk keeps; taken out of each part
   * before INPUT and FORWARD, its holes were carried through every part's walk (the 104k host
   * under strict rp_filter: 2.0 GB peak instead of 1.5).
   */
  readonly reversePathLater?: boolean;
}

export function runPath(
  walk: Walk,
  nf: CompiledRuleset,
  input: Pair,
  options: PathOptions = {},
): PathResult {
  const s = nf.space;
  const m = s.m;
  const none = s.eq('iif', BigInt(s.interfaces.none));
  const oifNone = s.eq('oif', BigInt(s.interfaces.none));
  // the destination is the host's: a header bit (see space.ts), exact even when the host's
  // address list is not
  const localDst = s.eq('loc', 1n);
  const routedDst = nf.routed('dst');
  // what has a route and came in on an interface that forwards (`NetworkContext.unforwardedFrom`)
  const unforwarded = nf.unforwarded();
  const forwardable = unforwarded === FALSE ? routedDst : m.diff(routedDst, unforwarded);
  const setOif = (p: Pair, value: ReturnType<typeof s.eq>): Pair => ({
    c: s.assign(p.c, ['oif'], value),
    p: p.c === p.p ? s.assign(p.c, ['oif'], value) : s.assign(p.p, ['oif'], value),
  });
  // a host that does not forward drops what is not its own as if it had no route
  const forwards = nf.context.forwarding ?? true;
  // Forwarding on only by assumption: a host that does not forward drops what it would have
  // forwarded before FORWARD, so neither a delivery nor any rule's stop there is certain.
  const assumed = nf.context.forwardingAssumed === true;
  const onlyPossible = (o: Outcome): Outcome => ({ ...o, set: { c: FALSE, p: o.set.p } });
  // IPv6: what arrives on, or leaves by, an interface whose neighbour discovery the rules may
  // stop is delivered only where a neighbour entry is held already (`neighbours.ts`)
  const neighbours = neighbourDoubts(nf).packets;
  const linked = (p: Pair): Pair =>
    neighbours === FALSE || !m.intersects(p.c, neighbours)
      ? p
      : { c: m.diff(p.c, neighbours), p: p.p };
  // what routing refuses whatever the rules is let through where asked (a rule that repeats
  // the kernel's check is reached then)
  const keep = options.keepRefusedSources === true;
  // a loopback destination from another interface (a DNAT to 127.0.0.1): a martian, routed only
  // where route_localnet is on
  const loopback = nf.loopbackArrivals();
  const notRouted = m.or(loopback.dropped, loopback.unknown);
  const martians = (toLocal: Pair): { kept: Pair; dropped: Pair } => {
    if (keep || !m.intersects(toLocal.p, loopback.any)) return { kept: toLocal, dropped: EMPTY };
    return {
      kept: { c: m.diff(toLocal.c, notRouted), p: m.diff(toLocal.p, loopback.dropped) },
      dropped: { c: m.and(toLocal.c, loopback.dropped), p: m.and(toLocal.p, notRouted) },
    };
  };

  // arriving on an interface; IPv6 drops a loopback or multicast source, and a loopback or
  // interface-local multicast destination, before PREROUTING
  const unreceived = keep ? FALSE : nf.unreceived();
  const arrived = setOif(andSet(s, input, m.not(none)), oifNone);
  const refused = unreceived === FALSE ? EMPTY : andSet(s, arrived, unreceived);
  const ext = refused.p === FALSE ? arrived : andSet(s, arrived, m.not(unreceived));
  const natGroup = options.natGroup;
  const pre = walk.hookParts('PREROUTING', ext, natGroup ?? Infinity);
  const parts = natGroup === undefined ? [unionAll(s, pre.parts)] : pre.parts;
  // outcomes in hook order, as one walk of the whole set lists them
  const outcomes: Outcome[] = [...pre.outcomes];
  const later: { INPUT: Outcome[]; FORWARD: Outcome[]; POSTROUTING: Outcome[] } = {
    INPUT: [],
    FORWARD: [],
    POSTROUTING: [],
  };
  const locals: Pair[] = [];
  const forwarded: Pair[] = [];
  const noRoutes: Pair[] = [refused];
  // multicast and broadcast destinations are never forwarded (routing.ts `groups`): they are for
  // the host's own sockets through INPUT, a multicast group's only possibly (where the arrival
  // interface has joined it, which the snapshot does not say; else dropped at routing), and only
  // UDP takes them (TCP answers no SYN sent to a group, SCTP and ICMP echo no packet)
  const groups = nf.groups('dst');
  const multicast = nf.groups('dst', 'multicast');
  const notUdpToGroup = m.diff(groups, s.eq('proto', BigInt(PROTO.udp)));
  // nor is what comes from a link-local (loopback, multicast) IPv6 source: dropped
  const scoped = keep ? FALSE : nf.scopedSources();
  // IPv4 routing refuses a martian source, whatever the destination (routing.ts
  // `martianSources`)
  // and reverse path filtering, where rp_filter is on (rp-filter.ts)
  const martianSources = keep
    ? { dropped: FALSE, doubtful: FALSE }
    : withReversePath(nf, options.reversePathLater !== true);
  const anyMartian = m.or(martianSources.dropped, martianSources.doubtful);
  const fromMartians = (part: Pair): { kept: Pair; dropped: Pair } => {
    if (!m.intersects(part.p, anyMartian)) return { kept: part, dropped: EMPTY };
    return {
      kept: { c: m.diff(part.c, anyMartian), p: m.diff(part.p, martianSources.dropped) },
      dropped: { c: m.and(part.c, martianSources.dropped), p: m.and(part.p, anyMartian) },
    };
  };
  for (const arrivedPart of parts) {
    const { kept: part, dropped: fromMartian } = fromMartians(arrivedPart);
    const { kept: toLocal, dropped: martian } = martians(andSet(s, part, localDst));
    const elsewhere = andSet(s, part, m.not(localDst));
    const grouped = andSet(s, elsewhere, groups);
    const away = grouped.p === FALSE ? elsewhere : andSet(s, elsewhere, m.not(groups));
    const unrouted = forwards ? andSet(s, away, m.not(forwardable)) : away;
    const toForward = forwards ? andSet(s, away, forwardable) : EMPTY;
    const beyondScope = scoped === FALSE ? EMPTY : andSet(s, toForward, scoped);
    const fwdIn = nf.route(
      beyondScope.p === FALSE ? toForward : andSet(s, toForward, m.not(scoped)),
      walk.routing,
    );
    // a group's packets walk INPUT as if the interface had joined it: what INPUT stops, or the
    // stack refuses, is dropped either way; what it lets through is delivered only possibly
    const inp = walk.hook('INPUT', grouped.p === FALSE ? toLocal : union(s, toLocal, grouped));
    const refusedByStack = grouped.p === FALSE ? EMPTY : andSet(s, inp.pass, notUdpToGroup);
    const received =
      refusedByStack.p === FALSE ? inp.pass : andSet(s, inp.pass, m.not(notUdpToGroup));
    const joined = grouped.p === FALSE ? EMPTY : andSet(s, received, multicast);
    const fwd = walk.hook('FORWARD', fwdIn);
    const post = walk.hook('POSTROUTING', fwd.pass);
    append(later.INPUT, inp.outcomes);
    append(later.FORWARD, assumed ? fwd.outcomes.map(onlyPossible) : fwd.outcomes);
    append(later.POSTROUTING, assumed ? post.outcomes.map(onlyPossible) : post.outcomes);
    locals.push(
      linked(joined.p === FALSE ? received : { c: m.diff(received.c, multicast), p: received.p }),
    );
    forwarded.push(assumed ? { c: FALSE, p: post.pass.p } : linked(post.pass));
    noRoutes.push(
      union(s, martian, assumed ? { c: unrouted.c, p: union(s, unrouted, away).p } : unrouted),
      { c: FALSE, p: joined.p },
      refusedByStack,
      beyondScope,
      fromMartian,
    );
  }
  for (const list of [later.INPUT, later.FORWARD, later.POSTROUTING]) append(outcomes, list);
  let noRoute = unionAll(s, noRoutes);

  // sent by the host itself
  const host = andSet(s, input, none);
  if (host.p !== FALSE) {
    const unroutable = m.diff(m.not(localDst), routedDst);
    // from a loopback address, routed away: IPv4 does not send it (`loopbackSources`)
    const fromLoopback = nf.loopbackSources(walk.routing);
    noRoute = union(s, noRoute, andSet(s, host, unroutable));
    noRoute = union(s, noRoute, {
      c: m.and(host.c, fromLoopback.dropped),
      p: m.and(host.p, fromLoopback.any),
    });
    const routed = andSet(s, host, m.not(unroutable));
    const start = {
      c: m.diff(routed.c, fromLoopback.any),
      p: m.diff(routed.p, fromLoopback.dropped),
    };
    const out = walk.hook('OUTPUT', nf.reroute(start, walk.routing));
    append(outcomes, out.outcomes);
    noRoute = union(s, noRoute, out.unrouted);
    // a NAT in OUTPUT changed the route, for POSTROUTING (OUTPUT's chains saw the first one)
    const hpost = walk.hook('POSTROUTING', nf.reroute(out.pass, walk.routing));
    append(outcomes, hpost.outcomes);
    const lo = s.eq('iif', BigInt(s.interfaces.classOf('lo')));
    const toSelf = andSet(s, hpost.pass, localDst);
    const viaLo: Pair = {
      c: s.assign(s.assign(toSelf.c, ['iif'], lo), ['oif'], oifNone),
      p: s.assign(s.assign(toSelf.p, ['iif'], lo), ['oif'], oifNone),
    };
    // over loopback the packet is received again: PREROUTING's chains see it, its NAT done
    const hpre = walk.hook('PREROUTING', viaLo, true);
    const hin = walk.hook('INPUT', hpre.pass);
    // reports speak of the packet as the host sent it (no ingress interface)
    for (const list of [hpre.outcomes, hin.outcomes])
      append(
        outcomes,
        list.map((o) => ({ ...o, set: backToHost(o.set) })),
      );
    locals.push(backToHost(hin.pass));
    forwarded.push(linked(andSet(s, hpost.pass, m.not(localDst))));
  }
  return { local: locals, forward: forwarded, outcomes, noRoute };

  function backToHost(p: Pair): Pair {
    return {
      c: s.assign(p.c, ['iif'], none),
      p: s.assign(p.p, ['iif'], none),
    };
  }
}

/** The martian sources, with what reverse path filtering drops where `filtered`. */
function withReversePath(
  nf: CompiledRuleset,
  filtered: boolean,
): { readonly dropped: Bdd; readonly doubtful: Bdd } {
  const martians = nf.martianSources();
  const rp = nf.reversePathFiltered();
  if (!filtered || (rp.dropped === FALSE && rp.doubtful === FALSE)) return martians;
  const m = nf.space.m;
  const dropped = m.or(martians.dropped, rp.dropped);
  return { dropped, doubtful: m.diff(m.or(martians.doubtful, rp.doubtful), dropped) };
}
