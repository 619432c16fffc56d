/**
 * The one index of a chain's rules by what their written options require. A rule's plain,
 * positive conditions on header fields no non-terminal target changes name values every packet
 * it matches must have: a destination or source address under its mask, a set of destination
 * ports, an input interface, a protocol. Each rule is filed under one of them (its key), so:
 *
 * - a concrete packet visits only the rules filed under its own values plus the unkeyed ones
 *   (`forPacket`, the interpreter's walk of long chains). This is exact: a rule whose required
 *   value the packet lacks fails that option, which decides it unmatched before any unmodelled
 *   option is asked about, so walking it would leave no step and no uncertainty;
 * - a rule visits only the earlier rules whose key its own requirements imply (`forRule`, the
 *   cover search of shadowed rules). Rule A can cover rule B only if every packet of B has A's
 *   key, which B's written requirements show unless B narrows that field by some other condition
 *   (an address range inside a prefix): a pre-filter that never adds a cover and may miss one.
 *
 * kube-proxy's KUBE-SERVICES and Docker's chains are thousands of such rules. The engine's
 * symbolic walk has its own partition of long chains (compile.ts `RuleRun`, rules whose BDD keys
 * are disjoint): that one is about packet sets, this one about written values.
 */
import { addressValue } from './addr.ts';
import { PORT_PROTOCOLS } from './space.ts';
import type { Family, MatchOption, PortRange, Rule } from '../model/ruleset.ts';
import { perFamily } from '../model/per-family.ts';

/** A value under a mask: the packets whose field, masked, equals `value`. */
export interface Masked {
  readonly value: bigint;
  readonly mask: bigint;
}

/** What a rule's written conditions require of every packet it matches, in one family. */
export interface Requirements {
  readonly dst: Masked | null;
  readonly src: Masked | null;
  /** Destination ports, sorted and disjoint (and a protocol that has ports). */
  readonly dport: readonly PortRange[] | null;
  /** Source ports, the same way (never a key: only `requirementsImply` reads them). */
  readonly sport: readonly PortRange[] | null;
  readonly iif: string | null;
  readonly proto: number | null;
  /** The conditions contradict each other: no packet meets them all. */
  readonly contradictory: boolean;
  /** A positive address was not readable in this family: what the rule requires is not known. */
  readonly unread: boolean;
}

/** A destination-port set of at most this many ports is a key (filed under each port). */
const MAX_KEYED_PORTS = 64;

/** Each rule's requirements per family, read once (a rule is both looked up and indexed). */
const read: Record<Family, WeakMap<Rule, Requirements>> = {
  ipv4: new WeakMap(),
  ipv6: new WeakMap(),
};

/**
 * Requirements read from the rule's own conditions (core and match modules, as `allOptions`;
 * not later nftables steps, set elements or verdict-map keys). Several conditions on one field
 * are combined.
 */
export function requirements(rule: Rule, family: Family): Requirements {
  let r = read[family].get(rule);
  if (r === undefined) {
    r = readRequirements(rule, family);
    read[family].set(rule, r);
  }
  return r;
}

function readRequirements(rule: Rule, family: Family): Requirements {
  let dst: Masked | null = null;
  let src: Masked | null = null;
  let dport: readonly PortRange[] | null = null;
  let sport: readonly PortRange[] | null = null;
  let iif: string | null = null;
  let proto: number | null = null;
  let contradictory = false;
  let unread = false;
  const take = (o: MatchOption): void => {
    if (o.negated) return;
    if (o.type === 'address') {
      const value = addressValue(o.value.address, family);
      const mask = addressValue(o.value.mask, family);
      if (value === null || mask === null) unread = true;
      else if (mask !== 0n) {
        const both = meet(o.field === 'dst' ? dst : src, { value: value & mask, mask });
        if (both === null) contradictory = true;
        else if (o.field === 'dst') dst = both;
        else src = both;
      }
    } else if (o.type === 'port' && o.field === 'dst') {
      dport = dport === null ? normalise(o.ranges) : intersect(dport, normalise(o.ranges));
      if (dport.length === 0) contradictory = true;
    } else if (o.type === 'port' && o.field === 'src') {
      // an empty set (no packet matches) implies every other: left as it is, not a contradiction
      sport = sport === null ? normalise(o.ranges) : intersect(sport, normalise(o.ranges));
    } else if (o.type === 'interface' && o.field === 'in' && !o.wildcard) {
      if (iif !== null && iif !== o.name) contradictory = true;
      iif = o.name;
    } else if ((o.type === 'protocol' || o.type === 'ct-proto') && o.number !== 0) {
      if (proto !== null && proto !== o.number) contradictory = true;
      proto = o.number;
    }
  };
  // allOptions' order, without building its array: this runs for every rule of every chain
  rule.core.forEach(take);
  for (const m of rule.matches) m.options.forEach(take);
  // a port condition fails outright on a protocol without ports
  if (dport !== null && proto !== null && !PORT_PROTOCOLS.includes(proto)) contradictory = true;
  return { dst, src, dport, sport, iif, proto, contradictory, unread };
}

/**
 * Whether `later`'s requirements imply every one of `earlier`'s: the written-values test behind
 * `forRule`'s key, on every field (source ports too). Rule A can cover rule B only if every packet B matches
 * meets all of A's requirements; B's own show that unless B narrows a field by some other
 * condition, so like the index this never adds a cover and may miss one. True when either rule's
 * requirements are not known or contradictory (nothing can be ruled out).
 */
export function requirementsImply(later: Requirements, earlier: Requirements): boolean {
  if (later.unread || later.contradictory || earlier.unread || earlier.contradictory) return true;
  // plain numbers and names first: the address tests are BigInt arithmetic, and this runs for
  // every candidate pair of a long chain
  return (
    (earlier.proto === null || later.proto === earlier.proto) &&
    (earlier.iif === null || later.iif === earlier.iif) &&
    portsWithin(later.dport, earlier.dport) &&
    portsWithin(later.sport, earlier.sport) &&
    maskedWithin(later.dst, earlier.dst) &&
    maskedWithin(later.src, earlier.src)
  );
}

/** Every value `inner` allows is one `outer` allows (no requirement allows every value). */
function maskedWithin(inner: Masked | null, outer: Masked | null): boolean {
  if (outer === null) return true;
  return (
    inner !== null &&
    (outer.mask & inner.mask) === outer.mask &&
    (inner.value & outer.mask) === outer.value
  );
}

/** Every port `inner` allows is one `outer` allows (both as `normalise` leaves them). */
function portsWithin(
  inner: readonly PortRange[] | null,
  outer: readonly PortRange[] | null,
): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  // outer's ranges are merged: a range within their union is within one of them (indexed
  // loops: this runs for every candidate pair of a long chain, mostly before V8 optimises it,
  // and a cold for-of makes an iterator result per step)
  for (let i = 0; i < inner.length; i++) {
    const r = inner[i] as PortRange;
    let within = false;
    for (let j = 0; j < outer.length; j++) {
      const x = outer[j] as PortRange;
      if (x.from <= r.from && r.to <= x.to) {
        within = true;
        break;
      }
    }
    if (!within) return false;
  }
  return true;
}

/** The one value a rule is filed under; null files it with the rules every lookup visits. */
type Key =
  | { readonly kind: 'dst' | 'src'; readonly at: Masked }
  | { readonly kind: 'dport'; readonly ports: ReadonlySet<number> }
  | { readonly kind: 'iif'; readonly name: string }
  | { readonly kind: 'proto'; readonly number: number };

/** The most selective requirement: addresses, then a small port set, the interface, protocol. */
function keyOf(r: Requirements): Key | null {
  if (r.contradictory) return null;
  if (r.dst !== null) return { kind: 'dst', at: r.dst };
  if (r.src !== null) return { kind: 'src', at: r.src };
  const ports = smallPortSet(r.dport);
  if (ports !== null) return { kind: 'dport', ports };
  if (r.iif !== null) return { kind: 'iif', name: r.iif };
  if (r.proto !== null) return { kind: 'proto', number: r.proto };
  return null;
}

/** The headers the keys are read from: a packet whose keyed headers change needs a new lookup. */
export interface KeyedHeaders {
  readonly dst: bigint;
  readonly src: bigint;
  readonly dport: number;
  readonly proto: number;
  readonly iif: string | null;
}

export function keyedHeadersOf(p: KeyedHeaders): KeyedHeaders {
  return { dst: p.dst, src: p.src, dport: p.dport, proto: p.proto, iif: p.iif };
}

export function sameKeyedHeaders(a: KeyedHeaders, b: KeyedHeaders): boolean {
  return (
    a.dst === b.dst &&
    a.src === b.src &&
    a.dport === b.dport &&
    a.proto === b.proto &&
    a.iif === b.iif
  );
}

/** Rules filed under one mask of an address field, by masked value. */
interface MaskGroup {
  readonly mask: bigint;
  readonly rules: Map<bigint, AddressBucket>;
}

/**
 * The rules of one address key, also by the destination ports they require: a rule whose
 * written destination ports are a small set is filed under each of them, every other one
 * (no port requirement, too many ports, an address it could not read) with the port-free ones.
 */
interface AddressBucket {
  readonly all: number[];
  readonly portFree: number[];
  readonly byPort: Map<number, number[]>;
}

/** A list of ascending positions and, for port buckets, which of them a lookup keeps. */
interface Source {
  readonly list: readonly number[];
  readonly keep: ((position: number) => boolean) | null;
}

/** A list of rules indexed by their keys; positions are indexes into that list. */
export class RuleIndex {
  readonly family: Family;
  readonly size: number;
  private readonly keys: readonly (Key | null)[];
  /** The small destination-port set of each address-keyed rule (null: none, or not small). */
  private readonly addressPorts: (ReadonlySet<number> | null)[];
  private readonly dst: MaskGroup[] = [];
  private readonly src: MaskGroup[] = [];
  private readonly dport = new Map<number, number[]>();
  private readonly iif = new Map<string, number[]>();
  private readonly proto = new Map<number, number[]>();
  private readonly other: number[] = [];

  constructor(rules: readonly Rule[], family: Family) {
    this.family = family;
    this.size = rules.length;
    const wants = rules.map((rule) => requirements(rule, family));
    this.keys = wants.map(keyOf);
    this.addressPorts = wants.map(() => null);
    this.keys.forEach((key, i) => {
      if (key === null) {
        this.other.push(i);
        return;
      }
      switch (key.kind) {
        case 'dst':
        case 'src': {
          const groups = key.kind === 'dst' ? this.dst : this.src;
          let g = groups.find((x) => x.mask === key.at.mask);
          if (g === undefined) {
            g = { mask: key.at.mask, rules: new Map() };
            groups.push(g);
          }
          let bucket = g.rules.get(key.at.value);
          if (bucket === undefined) {
            bucket = { all: [], portFree: [], byPort: new Map() };
            g.rules.set(key.at.value, bucket);
          }
          bucket.all.push(i);
          const r = wants[i];
          const ports = r === undefined || r.unread ? null : smallPortSet(r.dport);
          this.addressPorts[i] = ports;
          if (ports === null) bucket.portFree.push(i);
          else for (const v of ports) file(bucket.byPort, v, i);
          break;
        }
        case 'dport':
          for (const v of key.ports) file(this.dport, v, i);
          break;
        case 'iif':
          file(this.iif, key.name, i);
          break;
        case 'proto':
          file(this.proto, key.number, i);
      }
    });
  }

  /**
   * Positions, ascending and each once, of the rules the packet's keyed headers leave possible:
   * every rule that can match the packet (or leave it undecided) is among them.
   */
  forPacket(p: KeyedHeaders): readonly number[] {
    const lists: (readonly number[])[] = [];
    const add = (l: readonly number[] | undefined): void => {
      if (l !== undefined && l.length > 0) lists.push(l);
    };
    add(this.other);
    for (const g of this.dst) add(g.rules.get(p.dst & g.mask)?.all);
    for (const g of this.src) add(g.rules.get(p.src & g.mask)?.all);
    // a port match fails outright on a protocol without ports
    if (PORT_PROTOCOLS.includes(p.proto)) add(this.dport.get(p.dport));
    if (p.iif !== null) add(this.iif.get(p.iif));
    add(this.proto.get(p.proto));
    // each rule has one key and the packet one value per field: the lists are disjoint
    if (lists.length === 0) return [];
    if (lists.length === 1) return lists[0] ?? [];
    return lists.reduce(merge);
  }

  /**
   * Visits the positions below `before`, ascending and each once, of the rules whose key `rule`'s
   * own requirements imply: the only ones that can cover it by what they write. A rule whose
   * requirements are unreadable or contradictory gets every position below `before`. `visit`
   * returns true to stop (the caller usually stops at the first candidate that covers).
   *
   * `narrow`, asked at most once and only where it would narrow, allows leaving out the rules of
   * an address key whose destination ports `rule`'s do not lie within (`requirementsImply` says
   * no to them anyway): a chain of one address with many ports then visits its own port only.
   */
  forRule(
    rule: Rule,
    before: number,
    visit: (position: number) => boolean,
    narrow: () => boolean = () => false,
  ): void {
    const end = Math.min(before, this.size);
    if (end <= 0) return;
    const r = requirements(rule, this.family);
    if (r.unread || r.contradictory) {
      for (let i = 0; i < end; i++) if (visit(i)) return;
      return;
    }
    const sources: Source[] = [];
    const add = (list: readonly number[] | undefined, keep: Source['keep'] = null): void => {
      if (list !== undefined && (list[0] ?? end) < end) sources.push({ list, keep });
    };
    add(this.other);
    const ports = r.dport !== null && span(r.dport) <= MAX_KEYED_PORTS ? r.dport : null;
    const first = ports?.[0]?.from ?? -1;
    let narrowed: boolean | undefined;
    const within = (groups: readonly MaskGroup[], at: Masked | null): void => {
      // a key's set holds the rule's only when the key tests no bit the rule leaves free
      if (at === null) return;
      for (const g of groups) {
        if ((g.mask & at.mask) !== g.mask) continue;
        const bucket = g.rules.get(at.value & g.mask);
        if (bucket === undefined) continue;
        if (ports === null || bucket.byPort.size === 0 || !(narrowed ??= narrow())) {
          add(bucket.all);
          continue;
        }
        add(bucket.portFree);
        add(bucket.byPort.get(first), (i) => {
          const theirs = this.addressPorts[i];
          return theirs !== null && theirs !== undefined && containsAll(theirs, ports);
        });
      }
    };
    within(this.dst, r.dst);
    within(this.src, r.src);
    if (ports !== null) {
      // the bucket of the first port holds every key with it; keep those with all the others
      add(this.dport.get(first), (i) => {
        const key = this.keys[i];
        return key?.kind === 'dport' && containsAll(key.ports, ports);
      });
    }
    if (r.iif !== null) add(this.iif.get(r.iif));
    if (r.proto !== null) add(this.proto.get(r.proto));
    // the sources are disjoint (one key per rule, one bucket per field): merged as they are read
    const at = sources.map(() => 0);
    for (;;) {
      let best = -1;
      let next = end;
      for (let k = 0; k < sources.length; k++) {
        const v = sources[k]?.list[at[k] ?? 0];
        if (v !== undefined && v < next) {
          next = v;
          best = k;
        }
      }
      if (best < 0) return;
      at[best] = (at[best] ?? 0) + 1;
      const keep = sources[best]?.keep ?? null;
      if ((keep === null || keep(next)) && visit(next)) return;
    }
  }
}

/** Each rule list's index per family, built on first use: a chain given a new list gets anew. */
export const ruleIndex: (rules: readonly Rule[], family: Family) => RuleIndex = perFamily(
  (rules: readonly Rule[], family) => new RuleIndex(rules, family),
);

function file<K>(map: Map<K, number[]>, key: K, i: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [i]);
  else list.push(i);
}

/** Both requirements on one field at once, or null when no value meets both. */
function meet(a: Masked | null, b: Masked): Masked | null {
  if (a === null) return b;
  const common = a.mask & b.mask;
  if ((a.value & common) !== (b.value & common)) return null;
  return { value: a.value | b.value, mask: a.mask | b.mask };
}

function normalise(ranges: readonly PortRange[]): PortRange[] {
  const sorted = ranges.filter((r) => r.from <= r.to).sort((a, b) => a.from - b.from);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.from <= last.to + 1)
      out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) };
    else out.push(r);
  }
  return out;
}

function intersect(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a)
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  return normalise(out);
}

/** A destination-port requirement as the set of its ports, when it is small enough to file. */
function smallPortSet(ranges: readonly PortRange[] | null): ReadonlySet<number> | null {
  if (ranges === null || span(ranges) > MAX_KEYED_PORTS) return null;
  const ports = new Set<number>();
  for (const p of ranges) for (let v = p.from; v <= p.to; v++) ports.add(v);
  return ports;
}

function containsAll(ports: ReadonlySet<number>, ranges: readonly PortRange[]): boolean {
  // indexed: asked per candidate pair, as portsWithin
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as PortRange;
    for (let v = r.from; v <= r.to; v++) if (!ports.has(v)) return false;
  }
  return true;
}

function span(ranges: readonly PortRange[]): number {
  return ranges.reduce((n, r) => n + r.to - r.from + 1, 0);
}

function merge(a: readonly number[], b: readonly number[]): readonly number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] ?? 0;
    const y = b[j] ?? 0;
    if (x < y) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  for (; i < a.length; i++) out.push(a[i] ?? 0);
  for (; j < b.length; j++) out.push(b[j] ?? 0);
  return out;
}
