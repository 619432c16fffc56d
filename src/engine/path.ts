/**
 * The whole path of new connections, symbolically: packets arriving on an interface go
 * PREROUTING → routing → INPUT (local) or FORWARD → POSTROUTING; host-originated packets go
 * routing → OUTPUT → POSTROUTING → (INPUT over loopback when the destination is local).
 */
import { FALSE } from './bdd.ts';
import type { CompiledRuleset } from './compile.ts';
import { EMPTY, type Pair } from './match.ts';
import { andSet, union, type Outcome, type Walk } from './netfilter.ts';

export interface PathResult {
  /** Delivered to a local socket (oif = none), post-NAT headers. */
  readonly local: Pair;
  /** Forwarded out of an interface (oif set), post-NAT headers. */
  readonly forward: Pair;
  /** Drops, rejects, and filter-table accepts (for attribution), in walk order. */
  readonly outcomes: readonly Outcome[];
  /** Dropped for lack of a route. */
  readonly noRoute: Pair;
}

export function runPath(walk: Walk, nf: CompiledRuleset, input: Pair): PathResult {
  const s = nf.space;
  const m = s.m;
  const none = s.eq('iif', BigInt(s.interfaces.none));
  const oifNone = s.eq('oif', BigInt(s.interfaces.none));
  // the destination is the host's: a header bit (see space.ts), exact even when the host's
  // address list is not
  const localDst = s.eq('loc', 1n);
  const routedDst = nf.routed('dst');
  const outcomes: Outcome[] = [];
  const setOif = (p: Pair, value: ReturnType<typeof s.eq>): Pair => ({
    c: s.assign(p.c, ['oif'], value),
    p: p.c === p.p ? s.assign(p.c, ['oif'], value) : s.assign(p.p, ['oif'], value),
  });

  // arriving on an interface
  const ext = setOif(andSet(s, input, m.not(none)), oifNone);
  const pre = walk.hook('PREROUTING', ext);
  outcomes.push(...pre.outcomes);
  const toLocal = andSet(s, pre.pass, localDst);
  const away = andSet(s, pre.pass, m.not(localDst));
  // a host that does not forward drops what is not its own as if it had no route
  const forwards = nf.context.forwarding ?? true;
  let noRoute = forwards ? andSet(s, away, m.not(routedDst)) : away;
  const fwdIn = forwards ? nf.route(andSet(s, away, routedDst)) : EMPTY;
  const inp = walk.hook('INPUT', toLocal);
  outcomes.push(...inp.outcomes);
  const fwd = walk.hook('FORWARD', fwdIn);
  const post = walk.hook('POSTROUTING', fwd.pass);
  let local = inp.pass;
  let forward = post.pass;
  // Forwarding on only by assumption: a host that does not forward drops what it would have
  // forwarded before FORWARD, so neither a delivery nor any rule's stop there is certain.
  const assumed = nf.context.forwardingAssumed === true;
  const onlyPossible = (o: Outcome): Outcome => ({ ...o, set: { c: FALSE, p: o.set.p } });
  for (const o of [...fwd.outcomes, ...post.outcomes]) outcomes.push(assumed ? onlyPossible(o) : o);
  if (assumed) {
    forward = { c: FALSE, p: forward.p };
    noRoute = { c: noRoute.c, p: union(s, noRoute, away).p };
  }

  // sent by the host itself
  const host = andSet(s, input, none);
  if (host.p !== FALSE) {
    const unroutable = m.diff(m.not(localDst), routedDst);
    noRoute = union(s, noRoute, andSet(s, host, unroutable));
    const start = andSet(s, host, m.not(unroutable));
    const out = walk.hook('OUTPUT', nf.reroute(start));
    outcomes.push(...out.outcomes);
    const hpost = walk.hook('POSTROUTING', out.pass);
    outcomes.push(...hpost.outcomes);
    const lo = s.eq('iif', BigInt(s.interfaces.classOf('lo')));
    const toSelf = andSet(s, hpost.pass, localDst);
    const viaLo: Pair = {
      c: s.assign(s.assign(toSelf.c, ['iif'], lo), ['oif'], oifNone),
      p: s.assign(s.assign(toSelf.p, ['iif'], lo), ['oif'], oifNone),
    };
    const hin = walk.hook('INPUT', viaLo);
    // reports speak of the packet as the host sent it (no ingress interface)
    outcomes.push(...hin.outcomes.map((o) => ({ ...o, set: backToHost(o.set) })));
    local = union(s, local, backToHost(hin.pass));
    forward = union(s, forward, andSet(s, hpost.pass, m.not(localDst)));
  }
  return { local, forward, outcomes, noRoute };

  function backToHost(p: Pair): Pair {
    return {
      c: s.assign(p.c, ['iif'], none),
      p: s.assign(p.p, ['iif'], none),
    };
  }
}
