/**
 * Match options → two-sided packet sets. Each option becomes (certain, possible): equal for
 * options decided from headers, (FALSE, TRUE) for options the engine cannot decide. Packet model:
 * the first packet of a connection (TCP SYN, ctstate NEW, not a fragment) unless the state field
 * says otherwise; see docs/engine.md.
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import { addressValue, parseCidr } from './addr.ts';
import { icmpProtocol, PROTO, STATES, type FieldName, type HeaderSpace } from './space.ts';
import type {
  AddressType,
  ConntrackStatus,
  MatchOption,
  PortRange,
  Rule,
  TcpFlag,
} from '../model/ruleset.ts';
import { allOptions } from '../model/ruleset.ts';
import type { DeadEndType } from '../model/host.ts';
import { isUnmodelled } from './unmodelled.ts';
import { matchesOnlyUnmodelled } from './packet-model.ts';
import type { ReversePathMode } from './reverse-path.ts';

export interface Pair {
  readonly c: Bdd;
  readonly p: Bdd;
}

export const EMPTY: Pair = { c: FALSE, p: FALSE };

/** What the encoder needs beyond the header space. */
export interface MatchEnv {
  readonly space: HeaderSpace;
  /** Addresses the host owns (addrtype LOCAL, local delivery), loopback included. */
  readonly local: (field: FieldName) => Bdd;
  /** Addresses that may or may not be the host's (its address list is incomplete). */
  readonly unknown: (field: FieldName) => Bdd;
  /** Addresses a route takes somewhere, not a dead end (IPv6's addrtype UNICAST, UNREACHABLE). */
  readonly routed: (field: FieldName) => Bdd;
  /** Addresses a dead end of the type decides (nftables' IPv6 `fib daddr type`). */
  readonly deadEnds: (field: FieldName, type: DeadEndType) => Bdd;
  /** IPv4 broadcast addresses, the limited one and the host's prefixes' (addrtype BROADCAST). */
  readonly broadcasts: (field: FieldName) => Bdd;
  /** The packets whose route back leaves by their in-interface (reverse-path.ts). */
  readonly reversePath?: (mode: ReversePathMode) => Pair;
  /** False when some rule sets a connection mark: then `connmark` matches are unknown. */
  readonly connmarkZero: boolean;
  /**
   * Options already encoded, by what they say (`optionKey`): a ruleset names the same few
   * addresses, ports and protocols over and over, and each encoding is a path of dozens of nodes.
   */
  readonly encoded?: Map<string, Pair>;
  /**
   * The rules run before conntrack has looked the packet up (iptables' raw table, at priority
   * -300): a state match sees INVALID (UNTRACKED once a NOTRACK set it), and the other
   * conntrack matches find no connection (`connectionless`). `either`: an nftables chain
   * called from both sides; what it reads of the connection is undecided.
   */
  readonly beforeConntrack?: boolean | 'either';
  /**
   * The NEW packets are connections' later packets that conntrack picks up as new connections
   * (after a NOTRACK of their first ones): they carry ACK, not SYN, where a connection's first
   * packet carries SYN alone (`--syn`, `--tcp-flags`).
   */
  readonly pickedUp?: boolean;
  /**
   * The hop limit every packet of the walk carries, where it is fixed: neighbour discovery is
   * sent with 255 and taken in only with 255 (RFC 4861), so `-m hl` decides it. Elsewhere the
   * hop limit is the sender's and the path's, and such a match is undecided.
   */
  readonly hopLimit?: number;
}

export interface EncodedRule {
  readonly match: Pair;
  /** The options that made the match uncertain (empty when certain === possible). */
  readonly unknown: readonly MatchOption[];
  /**
   * A superset of the possible match on fields no non-terminal target changes (addresses,
   * ports, protocol, interfaces): the conjunction of the rule's exact options on them.
   */
  readonly key: Bdd;
}

/**
 * Options decided on header fields that stay fixed while a packet walks a chain: only terminal
 * NAT rewrites the destination, and MARK, CONNMARK and NOTRACK touch the mark and the state.
 */
const STABLE_OPTIONS: ReadonlySet<MatchOption['type']> = new Set([
  'address',
  'interface',
  'protocol',
  'fragment',
  'ext-header',
  'port',
  'ct-proto',
  'ct-address',
  'ct-port',
  'addrtype',
  'iprange',
  'icmp-type',
]);

const UNKNOWN: Pair = { c: FALSE, p: TRUE };

/**
 * Matches on the packet's connection other than its state (`MatchEnv.beforeConntrack`): those
 * `connectionless` does not decide (an nftables `ct` expression) are left undecided.
 */
export const CONNECTION_OPTIONS: ReadonlySet<MatchOption['type']> = new Set([
  'ct-status',
  'ct-proto',
  'ct-address',
  'ct-port',
  'ct-dir',
]);

const HOLDS: Pair = { c: TRUE, p: TRUE };

/**
 * Whether a conntrack status test reads the DNAT bit alone (nftables' `ct status dnat`): the
 * bit is the connection's, set with its first packet's DNAT, so it reads the same on the first
 * packet past NAT, its later ones and its replies. The other bits (SEEN_REPLY, ASSURED,
 * CONFIRMED) change as the connection goes on.
 */
export function dnatOnly(statuses: readonly ConntrackStatus[]): boolean {
  return statuses.length > 0 && statuses.every((st) => st === 'DNAT');
}

/** Whether a status list names no bit (iptables' `--ctstatus NONE`): it never holds. */
export function noStatusBit(statuses: readonly ConntrackStatus[]): boolean {
  return statuses.every((st) => st === 'NONE');
}

const byRule = new WeakMap<Rule, ReadonlyMap<MatchOption, boolean>>();

/**
 * What a rule's conntrack and connmark options are on a packet without a connection (before
 * conntrack has looked it up): the kernel's conntrack match then tests its `--ctstate` alone,
 * and holds where it has one that the state passes, while without one it does not hold at all,
 * whatever its other options say or negate; a connmark match does not hold. Random seed 165:
 * `-t raw -A PREROUTING -m conntrack --ctorigdst 203.0.113.1 -j CT --notrack` NOTRACKs nothing,
 * where dockwall, leaving it undecided, said every connection to the host possibly dropped.
 */
export function connectionless(rule: Rule): ReadonlyMap<MatchOption, boolean> {
  let r = byRule.get(rule);
  if (r === undefined) {
    const values = new Map<MatchOption, boolean>();
    for (const mod of rule.matches) {
      if (mod.name === 'conntrack') {
        const byState = mod.options.some((o) => o.type === 'ct-state');
        for (const o of mod.options) if (o.type !== 'ct-state') values.set(o, byState);
      } else if (mod.name === 'connmark') for (const o of mod.options) values.set(o, false);
      else if (rule.dialect === 'nft') {
        // nftables ends the rule at a `ct` expression other than the state where there is no
        // connection (NFT_BREAK), negated or not, and so at a set lookup whose key holds one
        for (const o of mod.options)
          if (
            readsConnection(o) ||
            (o.type === 'member' && o.elements?.some((el) => el.some(readsConnection)) === true)
          )
            values.set(o, false);
      }
    }
    r = values;
    byRule.set(rule, r);
  }
  return r;
}

/** An nftables `ct` expression other than the state: it needs the packet's connection. */
function readsConnection(o: MatchOption): boolean {
  return CONNECTION_OPTIONS.has(o.type) || (o.type === 'mark' && o.of === 'connection');
}

/**
 * An option of a conntrack or connmark match after conntrack: on an untracked or invalid packet,
 * which has no connection, it is `value` (`connectionless`); on the others, `e`. Random seed
 * 3294: `-A INPUT -m conntrack --ctorigdst 203.0.113.1 -j DROP` did not drop what `raw
 * PREROUTING -j CT --notrack` had untracked, and the host's services answered.
 */
function withoutConnection(s: HeaderSpace, e: Pair, value: boolean): Pair {
  const m = s.m;
  const none = s.hasNoConnection;
  const fixed = value ? none : FALSE;
  return { c: m.or(fixed, m.diff(e.c, none)), p: m.or(fixed, m.diff(e.p, none)) };
}

export function encodeRule(env: MatchEnv, rule: Rule): EncodedRule {
  const m = env.space.m;
  // a rule of fragments or IPv6 extension headers matches none of the modelled packets
  if (matchesOnlyUnmodelled(rule, env.space.family))
    return { match: EMPTY, unknown: [], key: FALSE };
  let c = TRUE;
  let p = TRUE;
  let key = TRUE;
  const unknown: MatchOption[] = [];
  const none = env.beforeConntrack === true ? connectionless(rule) : null;
  // after conntrack, an untracked or invalid packet has no connection either
  const connless = none === null ? connectionless(rule) : null;
  for (const option of allOptions(rule)) {
    const fixed = none?.get(option);
    let e = fixed === undefined ? encodeRemembered(env, option) : fixed ? HOLDS : EMPTY;
    const without = connless?.get(option);
    if (without !== undefined) e = withoutConnection(env.space, e, without);
    if (e.c !== e.p) unknown.push(option);
    // a negated option would make the key a complement (large, and disjoint from little)
    else if (STABLE_OPTIONS.has(option.type) && !option.negated) key = m.and(key, e.c);
    c = m.and(c, e.c);
    p = m.and(p, e.p);
    if (p === FALSE) return { match: EMPTY, unknown, key: FALSE };
  }
  return { match: { c, p }, unknown, key };
}

/** `encodeOption`, remembered by what the option says where the environment keeps them. */
function encodeRemembered(env: MatchEnv, o: MatchOption): Pair {
  const known = env.encoded;
  const key = known === undefined ? null : optionKey(o);
  if (known === undefined || key === null) return encodeOption(env, o);
  let e = known.get(key);
  if (e === undefined) {
    e = encodeOption(env, o);
    known.set(key, e);
  }
  return e;
}

/**
 * What an option says, as text, for the kinds rulesets repeat most (everything its encoding
 * reads); null for the others, which are encoded each time.
 */
function optionKey(o: MatchOption): string | null {
  const not = o.negated ? '!' : '';
  switch (o.type) {
    case 'address':
      return `a${not}${o.field} ${o.value.address}/${o.value.mask}`;
    case 'port': {
      let k = `${o.anyProtocol === true ? 't' : 'p'}${not}${o.field}`;
      for (const r of o.ranges) k += ` ${r.from}:${r.to}`;
      return k;
    }
    case 'protocol':
      return `P${not}${o.number}`;
    case 'interface':
      return `i${not}${o.field}${o.wildcard ? '+' : ' '}${o.name}`;
    default:
      return null;
  }
}

/** `--hl-eq`, `--hl-lt`, `--hl-gt` on a packet of this hop limit. */
function hopLimitHolds(op: 'eq' | 'lt' | 'gt', value: number, hopLimit: number): boolean {
  if (op === 'eq') return hopLimit === value;
  return op === 'lt' ? hopLimit < value : hopLimit > value;
}

/** The flags a NEW packet has: a connection's first, SYN alone; one picked up, ACK (`pickedUp`). */
const FIRST_FLAGS: Readonly<Partial<Record<TcpFlag, boolean>>> = {
  FIN: false,
  SYN: true,
  RST: false,
  PSH: false,
  ACK: false,
  URG: false,
};
/** A later packet's: ACK, not SYN or RST; FIN, PSH and URG as its data has them. */
const PICKED_UP_FLAGS: Readonly<Partial<Record<TcpFlag, boolean>>> = {
  SYN: false,
  RST: false,
  ACK: true,
};

/**
 * Whether a NEW packet's flags, masked, are `compare` (as the kernel tests them: a flag compared
 * outside the mask never matches); null where a flag of the mask is not known.
 */
function newFlagsMatch(
  mask: readonly TcpFlag[],
  compare: readonly TcpFlag[],
  pickedUp: boolean,
): boolean | null {
  if (compare.some((f) => !mask.includes(f))) return false;
  const known = pickedUp ? PICKED_UP_FLAGS : FIRST_FLAGS;
  let open = false;
  for (const f of mask) {
    const has = known[f];
    if (has === undefined) open = true;
    else if (has !== compare.includes(f)) return false;
  }
  return open ? null : true;
}

/** One option with its negation applied. */
export function encodeOption(env: MatchEnv, o: MatchOption): Pair {
  const s = env.space;
  const m = s.m;
  const exact = (inner: Bdd, guard: Bdd = TRUE): Pair => {
    const r = m.and(guard, o.negated ? m.not(inner) : inner);
    return { c: r, p: r };
  };
  const portProto = s.portProtocols;
  const isNew = s.isNew;
  if (o.type === 'ttl' && o.family === 'ipv6' && env.hopLimit !== undefined)
    return exact(hopLimitHolds(o.op, o.value, env.hopLimit) ? TRUE : FALSE);
  if (isUnmodelled(o)) return UNKNOWN;
  if (env.beforeConntrack === 'either' && (o.type === 'ct-state' || CONNECTION_OPTIONS.has(o.type)))
    return UNKNOWN;
  if (env.beforeConntrack === true) {
    if (o.type === 'ct-state') {
      // no connection yet: INVALID, or UNTRACKED where a NOTRACK before this rule said so
      let inner = FALSE;
      if (o.states.includes('INVALID')) inner = m.or(inner, m.not(s.isUntracked));
      if (o.states.includes('UNTRACKED')) inner = m.or(inner, s.isUntracked);
      return exact(inner);
    }
    if (CONNECTION_OPTIONS.has(o.type)) return UNKNOWN;
  }
  switch (o.type) {
    case 'address': {
      const inner = maskSet(s, o.field === 'src' ? 'src' : 'dst', o.value.address, o.value.mask);
      return inner === null ? UNKNOWN : exact(inner);
    }
    case 'interface': {
      const field = o.field === 'in' ? 'iif' : 'oif';
      const values = s.interfaces.matching(o.name, o.wildcard).map(BigInt);
      // no interface (host-originated, not yet routed) never equals a name; `!` still applies
      return exact(s.anyOf(field, values));
    }
    case 'protocol':
      return o.number === 0 ? exact(TRUE) : exact(s.eq('proto', BigInt(o.number)));
    case 'fragment':
      // the first packet of a connection is never a non-first fragment
      return exact(FALSE);
    case 'port': {
      const set = (f: FieldName): Bdd => portsSet(s, f, o.ranges);
      const inner =
        o.field === 'either'
          ? m.or(set('sport'), set('dport'))
          : set(o.field === 'src' ? 'sport' : 'dport');
      const ported = exact(inner, portProto);
      if (o.anyProtocol !== true) return ported;
      // nft's `th` reads the same bytes of any protocol: ICMP's type and code where a port
      // protocol has its source port (the space keeps them in dport), else bytes not modelled
      // (ICMP's checksum, other protocols' headers)
      const icmp = s.eq('proto', BigInt(icmpProtocol(s.family)));
      const typed = o.field === 'src' ? exact(set('dport'), icmp).c : FALSE;
      const decided = o.field === 'src' ? m.or(portProto, icmp) : portProto;
      const c = m.or(ported.c, typed);
      return { c, p: m.or(c, m.not(decided)) };
    }
    case 'tcp-flags': {
      // a new TCP connection's first packet carries SYN alone; other states: unknown flags
      const ok = newFlagsMatch(o.mask, o.compare, env.pickedUp === true);
      const tcp = s.eq('proto', BigInt(PROTO.tcp));
      if (ok === null) return { c: FALSE, p: tcp };
      const decided = o.negated ? !ok : ok;
      const c = decided ? m.and(tcp, isNew) : FALSE;
      return { c, p: m.and(tcp, decided ? TRUE : m.not(isNew)) };
    }
    case 'ct-state': {
      let inner = FALSE;
      for (const st of o.states) {
        const i = STATES.indexOf(st as (typeof STATES)[number]);
        if (i >= 0) inner = m.or(inner, s.eq('state', BigInt(i)));
        else if (st === 'DNAT') inner = m.or(inner, s.eq('dnat', 1n));
        // SNAT: source NAT happens in POSTROUTING, after every match of the packet's path
      }
      return exact(inner);
    }
    case 'ct-status': {
      // a connection's DNAT status is the same on every packet of it (as `--ctstate DNAT`)
      if (dnatOnly(o.statuses)) return exact(s.eq('dnat', 1n));
      // The kernel tests whether some status bit of the list is set, so NONE (no bit) never
      // holds, on any packet of a connection.
      if (noStatusBit(o.statuses)) return exact(FALSE);
      // A connection's first packet has DST_NAT once DNATed and CONFIRMED once it has
      // left by POSTROUTING, that is, where it comes back in over lo; no other bit (measured,
      // Linux 6.18). Whether SNAT is set depends on where the rule sits (after srcnat), so it
      // stays undecided.
      let inner: Bdd = FALSE;
      if (o.statuses.includes('DNAT')) inner = m.or(inner, s.eq('dnat', 1n));
      if (o.statuses.includes('CONFIRMED'))
        inner = m.or(inner, s.eq('iif', BigInt(s.interfaces.classOf('lo'))));
      const snat = o.statuses.includes('SNAT');
      const c = o.negated ? (snat ? FALSE : m.not(inner)) : inner;
      const p = o.negated ? m.not(inner) : snat ? TRUE : inner;
      return { c: m.and(isNew, c), p: m.or(m.and(isNew, p), m.not(isNew)) };
    }
    case 'ct-proto':
      return o.number === 0 ? exact(TRUE) : exact(s.eq('proto', BigInt(o.number)));
    case 'ct-address': {
      // original source = source (SNAT comes last); reply source = current (post-DNAT)
      // destination; reply destination = source
      const field: FieldName =
        o.field === 'origdst' ? 'odst' : o.field === 'replsrc' ? 'dst' : 'src';
      const inner = maskSet(s, field, o.value.address, o.value.mask);
      return inner === null ? UNKNOWN : exact(inner);
    }
    case 'ct-port': {
      const field: FieldName =
        o.field === 'origdst' ? 'odport' : o.field === 'replsrc' ? 'dport' : 'sport';
      return exact(portsSet(s, field, [o.range]), portProto);
    }
    case 'ct-dir': {
      const original = (o.dir === 'ORIGINAL') !== o.negated;
      return original ? { c: isNew, p: TRUE } : { c: FALSE, p: m.not(isNew) };
    }
    case 'addrtype':
      return addrtype(env, o.field === 'src' ? 'src' : 'dst', o.types, o.negated, o.fib === true);
    case 'iprange': {
      const f = o.field === 'src' ? 'src' : 'dst';
      const lo = addressValue(o.range.from, s.family);
      const hi = addressValue(o.range.to, s.family);
      return lo === null || hi === null ? UNKNOWN : exact(s.range(f, lo, hi));
    }
    case 'comment':
      return exact(TRUE);
    case 'mark': {
      if (o.of === 'connection') {
        if (!env.connmarkZero) return UNKNOWN;
        return exact((0 & o.mask) === (o.value & o.mask) ? TRUE : FALSE);
      }
      return exact(s.masked('mark', BigInt(o.value >>> 0), BigInt(o.mask >>> 0)));
    }
    case 'icmp-type': {
      const proto = s.eq('proto', BigInt(icmpProtocol(o.family)));
      if (o.icmpType === null) return exact(TRUE, proto);
      const base = BigInt(o.icmpType) << 8n;
      const inner =
        o.code === null
          ? s.range('dport', base, base | 255n)
          : s.eq('dport', base | BigInt(o.code));
      return exact(inner, proto);
    }
    case 'family':
      return exact(o.family === s.family ? TRUE : FALSE);
    case 'ext-header':
      // the walked packets are whole and carry no extension header or IP option
      return exact(FALSE);
    case 'member':
      return member(env, o.elements, o.negated);
    case 'rpfilter': {
      const r = env.reversePath?.(o) ?? UNKNOWN;
      return o.negated ? { c: m.not(r.p), p: m.not(r.c) } : r;
    }
  }
}

/** nftables set membership: some element's options all hold (two-sided, then negated). */
function member(
  env: MatchEnv,
  elements: readonly (readonly MatchOption[])[] | null,
  negated: boolean,
): Pair {
  if (elements === null) return UNKNOWN;
  const m = env.space.m;
  let c = FALSE;
  let p = FALSE;
  for (const el of elements) {
    let ec = TRUE;
    let ep = TRUE;
    for (const option of el) {
      const e = encodeOption(env, option);
      ec = m.and(ec, e.c);
      ep = m.and(ep, e.p);
      if (ep === FALSE) break;
    }
    c = m.or(c, ec);
    p = m.or(p, ep);
  }
  return negated ? { c: m.not(p), p: m.not(c) } : { c, p };
}

/** Addresses are read through `addressValue`: a ruleset names the same few over and over. */
function maskSet(s: HeaderSpace, field: FieldName, address: string, mask: string): Bdd | null {
  const a = addressValue(address, s.family);
  const k = addressValue(mask, s.family);
  return a === null || k === null ? null : s.masked(field, a, k);
}

export function portsSet(s: HeaderSpace, field: FieldName, ranges: readonly PortRange[]): Bdd {
  let r = FALSE;
  for (const x of ranges) r = s.m.or(r, s.range(field, BigInt(x.from), BigInt(x.to)));
  return r;
}

/** Multicast and broadcast ranges of the family. */
function specialRanges(env: MatchEnv, field: FieldName): { mc: Bdd; bc: Bdd } {
  const s = env.space;
  if (s.family === 'ipv4') {
    return {
      mc: s.cidr(field, '224.0.0.0/4') ?? FALSE,
      bc: env.broadcasts(field),
    };
  }
  return { mc: s.cidr(field, 'ff00::/8') ?? FALSE, bc: FALSE };
}

const DECIDED_TYPES: ReadonlySet<AddressType> = new Set([
  'LOCAL',
  'MULTICAST',
  'BROADCAST',
  'UNICAST',
  'UNREACHABLE',
  'BLACKHOLE',
  'PROHIBIT',
]);

/**
 * How IPv6 reads an addrtype match (xt_addrtype's `match_type6`), unlike IPv4: MULTICAST,
 * UNICAST and UNSPEC test the address's kind and must all hold — UNICAST is every address but
 * multicast, `::` and IPv4-mapped ones, the host's own and `::1` included — and then LOCAL,
 * ANYCAST and UNREACHABLE ask the route, any one of them holding. IPv4 asks the route's one
 * type, any listed type holding: there UNICAST is never the host's; so does nftables' `fib …
 * type` in both families. (Measured on Linux 6.18:
 * `--dst-type UNICAST` matches a packet to the host's own address, `LOCAL,MULTICAST` none.)
 * The kernel refuses the other types for IPv6: `refused`.
 */
export interface Ipv6AddrtypePlan {
  readonly multicast: boolean;
  readonly unicast: boolean;
  readonly unspec: boolean;
  readonly route: readonly ('LOCAL' | 'ANYCAST' | 'UNREACHABLE')[];
  readonly refused: boolean;
}

export function ipv6AddrtypePlan(types: readonly AddressType[]): Ipv6AddrtypePlan {
  const route: ('LOCAL' | 'ANYCAST' | 'UNREACHABLE')[] = [];
  let refused = false;
  for (const t of types) {
    if (t === 'LOCAL' || t === 'ANYCAST' || t === 'UNREACHABLE') route.push(t);
    else if (t !== 'MULTICAST' && t !== 'UNICAST' && t !== 'UNSPEC') refused = true;
  }
  return {
    multicast: types.includes('MULTICAST'),
    unicast: types.includes('UNICAST'),
    unspec: types.includes('UNSPEC'),
    route,
    refused,
  };
}

function addrtype(
  env: MatchEnv,
  field: FieldName,
  types: readonly AddressType[],
  negated: boolean,
  fib: boolean,
): Pair {
  const s = env.space;
  const m = s.m;
  if (s.family === 'ipv6' && !fib) {
    const x = addrtype6(env, field, ipv6AddrtypePlan(types));
    return negated ? { c: m.not(x.p), p: m.not(x.c) } : x;
  }
  const local = hostOwned(env, field);
  const { mc, bc } = specialRanges(env, field);
  const bcast = m.or(mc, bc);
  let c = FALSE;
  let p = FALSE;
  let undecided = false;
  const add = (x: Pair): void => {
    c = m.or(c, x.c);
    p = m.or(p, x.p);
  };
  // not the host's, not multicast or broadcast (certain side: certainly not the host's)
  const unicastOf = (base: Bdd): Pair => ({
    c: m.diff(m.diff(base, local.p), bcast),
    p: m.diff(m.diff(base, local.c), bcast),
  });
  for (const t of types) {
    if (!DECIDED_TYPES.has(t)) undecided = true;
    else if (t === 'LOCAL') add(local);
    else if (t === 'MULTICAST') add({ c: mc, p: mc });
    else if (t === 'BROADCAST') add({ c: bc, p: bc });
    // the rest of DECIDED_TYPES
    else add(unicastOf(routeTyped(env, field, t as RouteType)));
  }
  // an undecided type may hold anywhere outside the decided ones
  if (undecided) p = TRUE;
  return negated ? { c: m.not(p), p: m.not(c) } : { c, p };
}

type RouteType = 'UNICAST' | 'UNREACHABLE' | 'BLACKHOLE' | 'PROHIBIT';

/**
 * The addresses a route gives the type, of those that are not the host's, a broadcast or a
 * multicast group. IPv4 looks the type up in the local table alone (`inet_dev_addr_type`):
 * every other address is UNICAST, whatever the main table routes, and none is UNREACHABLE,
 * BLACKHOLE or PROHIBIT (measured: an address with no route, and one a blackhole decides,
 * matched `--dst-type UNICAST` alone). IPv6's `fib daddr type` takes the route's own type: UNICAST
 * where a route routes, a dead end's blackhole or prohibit, else UNREACHABLE (measured: no
 * route and an unreachable route gave unreachable, a blackhole blackhole).
 */
function routeTyped(env: MatchEnv, field: FieldName, t: RouteType): Bdd {
  const m = env.space.m;
  if (env.space.family === 'ipv4') return t === 'UNICAST' ? TRUE : FALSE;
  if (t === 'UNICAST') return env.routed(field);
  if (t === 'BLACKHOLE') return env.deadEnds(field, 'blackhole');
  if (t === 'PROHIBIT') return env.deadEnds(field, 'prohibit');
  const typed = m.or(env.deadEnds(field, 'blackhole'), env.deadEnds(field, 'prohibit'));
  return m.diff(m.not(env.routed(field)), typed);
}

/**
 * Whether the address is the host's: the header bit for the destination (exact whatever the
 * host's addresses are); for the source, certain only where the address decides it.
 */
function hostOwned(env: MatchEnv, field: FieldName): Pair {
  const s = env.space;
  if (field === 'dst') return { c: s.eq('loc', 1n), p: s.eq('loc', 1n) };
  return { c: env.local(field), p: s.m.or(env.local(field), env.unknown(field)) };
}

/** IPv6's addrtype (see `Ipv6AddrtypePlan`), not negated. */
function addrtype6(env: MatchEnv, field: FieldName, plan: Ipv6AddrtypePlan): Pair {
  const s = env.space;
  const m = s.m;
  // a type the kernel refuses for IPv6 cannot be in a real dump: nothing is decided
  if (plan.refused) return { c: FALSE, p: TRUE };
  const { mc } = specialRanges(env, field);
  const unspec = s.cidr(field, '::/128') ?? FALSE;
  let kind = TRUE;
  if (plan.multicast) kind = m.and(kind, mc);
  if (plan.unicast)
    kind = m.diff(kind, m.or(m.or(mc, unspec), s.cidr(field, '::ffff:0:0/96') ?? FALSE));
  if (plan.unspec) kind = m.and(kind, unspec);
  if (plan.route.length === 0) return { c: kind, p: kind };
  const local = hostOwned(env, field);
  // no route (nor a local or multicast one) to the address
  const unrouted = m.diff(m.not(env.routed(field)), mc);
  let c = FALSE;
  let p = FALSE;
  for (const t of plan.route) {
    if (t === 'LOCAL') {
      c = m.or(c, local.c);
      p = m.or(p, local.p);
    } else if (t === 'UNREACHABLE') {
      c = m.or(c, m.diff(unrouted, local.p));
      p = m.or(p, m.diff(unrouted, local.c));
    } else p = TRUE; // ANYCAST: the subnet-router addresses of forwarded prefixes, not modelled
  }
  return { c: m.and(kind, c), p: m.and(kind, p) };
}

/** Address text (plain or CIDR) → set on a field, null when not of the family. */
export function addressSet(s: HeaderSpace, field: FieldName, text: string): Bdd | null {
  const c = parseCidr(text, s.family);
  return c === null ? null : s.prefix(field, c.value, c.length);
}
