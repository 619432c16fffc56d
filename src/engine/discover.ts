/**
 * Discovery: the packets a reach delivered, cut into flows — exact rectangles of header values
 * (ingress, protocol, sources, destinations and ports as the client sent them, where they are
 * delivered after NAT) read directly off the BDD.
 *
 * The BDD is walked field group by field group in variable order. Within a group every path is a
 * pattern of fixed and free bits; at the group's end the paths are grouped by the node they reach
 * (the cofactor: everything below is the same for them), and each group is walked on. A leaf is a
 * product of the groups on its way, so a flow never claims a combination the set does not hold.
 * Fields that carry nothing new are quantified first (the original destination of a packet that
 * was never NATed equals its destination), which also keeps equality relations out of the walk.
 */
import { FALSE, TRUE, type Bdd } from './bdd.ts';
import { formatCidr } from './addr.ts';
import { PROTO, type FieldName, type HeaderSpace } from './space.ts';
import type { PortRange } from '../model/ruleset.ts';

/** Fixed bits of a field (`mask` 1 = fixed), most significant first. */
export interface Pattern {
  readonly value: bigint;
  readonly mask: bigint;
}

/** One rectangle of a delivered set, as header values (indices for interfaces). */
export interface RawFlow {
  readonly iif: readonly number[];
  readonly oif: readonly number[];
  readonly nat: boolean;
  readonly proto: readonly number[];
  readonly src: readonly Pattern[];
  /** Current (post-NAT) destination; for local delivery after NAT, not kept (null). */
  readonly dst: readonly Pattern[] | null;
  /** Original destination; null when equal to `dst` (never NATed, or NATed to the same address). */
  readonly odst: readonly Pattern[] | null;
  /** Values the "original destination is the host's" bit takes (one or both). */
  readonly oloc: readonly number[];
  readonly dport: readonly Pattern[];
  /** Original destination port; null when equal to `dport` (never NATed, or the port kept). */
  readonly odport: readonly Pattern[] | null;
  /** The client's source port (a rule may let only some through: `--sport 53`). */
  readonly sport: readonly Pattern[];
  /**
   * `src` lists the sources *not* in the flow (every other one is): how a flow is said whose
   * sources are "all but a blocklist", which as a list would take tens of thousands of patterns
   * per blocked thousand.
   */
  readonly srcExcept: boolean;
}

/** Leaves past this many in one field group are not enumerated (the walk says so). */
const MAX_PATHS = 200_000;

export class TooManyFlows extends Error {
  constructor(what: string, limit = MAX_PATHS) {
    super(`more than ${limit} distinct ${what} to enumerate`);
  }
}

/**
 * Sources that take more than this many patterns to list are said by what they leave out when
 * that is shorter: a blocklist set makes "every source but these thousands".
 */
const EXCEPT_FROM = 1024;

/** Source groups reaching more ends than this are listed as they are (no except form). */
const MAX_ENDS = 64;

/** One step of a walk: per field of the group, the patterns of its product. */
interface Leaf {
  readonly fields: readonly (readonly Pattern[])[];
  /** The one field's patterns are what the leaf does not hold (`RawFlow.srcExcept`). */
  readonly except?: boolean;
}

/** Which group ends a walk keeps and which nodes it enters (default: every end, no FALSE). */
interface PathFilter {
  readonly keep: (end: Bdd) => boolean;
  readonly enter: (node: Bdd) => boolean;
}

interface GroupOptions {
  readonly filter?: PathFilter;
  /** Paths past this many stop the walk (`TooManyFlows`); default MAX_PATHS. */
  readonly limit?: number;
}

/**
 * Paths through the variables of one field group, grouped by the node they reach. Each group
 * lists, per path, one pattern per field.
 *
 * The bits walked so far are kept in 32-bit words, not BigInts: a path fixes up to 288 bits one
 * at a time, and a BigInt operation per bit allocated most of what the big hosts' walks made.
 */
export function groupPaths(
  s: HeaderSpace,
  node: Bdd,
  fields: readonly FieldName[],
  options: GroupOptions = {},
): Map<Bdd, (readonly Pattern[])[]> {
  const { filter, limit = MAX_PATHS } = options;
  const m = s.m;
  const { firstWord, wordCount, vars, words } = layoutOf(s, fields);
  const values = new Uint32Array(words);
  const masks = new Uint32Array(words);
  const read = (from: Uint32Array, fi: number): bigint => {
    const first = firstWord[fi] ?? 0;
    const count = wordCount[fi] ?? 0;
    if (count === 1) return BigInt(from[first] ?? 0);
    let r = 0n;
    for (let k = count - 1; k >= 0; k--) r = (r << 32n) | BigInt(from[first + k] ?? 0);
    return r;
  };
  const out = new Map<Bdd, (readonly Pattern[])[]>();
  let paths = 0;
  const walk = (n: Bdd, i: number): void => {
    if (filter === undefined ? n === FALSE : !filter.enter(n)) return;
    if (i === vars.length) {
      if (filter !== undefined && !filter.keep(n)) return;
      if (++paths > limit) throw new TooManyFlows(fields.join('/'), limit);
      const list = out.get(n) ?? [];
      list.push(fields.map((_, fi) => ({ value: read(values, fi), mask: read(masks, fi) })));
      out.set(n, list);
      return;
    }
    const x = vars[i];
    if (x === undefined) return;
    if (m.varOf(n) !== x.v) {
      walk(n, i + 1); // the bit is free here
      return;
    }
    const { word, bit } = x;
    masks[word] = (masks[word] ?? 0) | bit;
    walk(m.low(n), i + 1);
    values[word] = (values[word] ?? 0) | bit;
    walk(m.high(n), i + 1);
    values[word] = (values[word] ?? 0) & ~bit;
    masks[word] = (masks[word] ?? 0) & ~bit;
  };
  walk(node, 0);
  return out;
}

/** Where a field group's bits go in `groupPaths`' words. */
interface Layout {
  /** Per field, its first word and how many it takes. */
  readonly firstWord: readonly number[];
  readonly wordCount: readonly number[];
  /** Per variable, in variable order: its word and bit (from the least significant). */
  readonly vars: readonly { readonly v: number; readonly word: number; readonly bit: number }[];
  readonly words: number;
}

/** Layouts per space and field group: a big host's cut asks for one per node it groups. */
const layouts = new WeakMap<HeaderSpace, Map<string, Layout>>();

function layoutOf(s: HeaderSpace, fields: readonly FieldName[]): Layout {
  let known = layouts.get(s);
  if (known === undefined) layouts.set(s, (known = new Map<string, Layout>()));
  const key = fields.join(',');
  const hit = known.get(key);
  if (hit !== undefined) return hit;
  const firstWord: number[] = [];
  const wordCount: number[] = [];
  const vars: { v: number; word: number; bit: number }[] = [];
  let words = 0;
  for (const name of fields) {
    const f = s.field(name);
    const count = Math.ceil(f.width / 32);
    firstWord.push(words);
    wordCount.push(count);
    f.vars.forEach((v, i) => {
      const pos = f.width - 1 - i; // from the least significant bit
      vars.push({ v, word: words + (pos >>> 5), bit: (1 << (pos & 31)) >>> 0 });
    });
    words += count;
  }
  vars.sort((a, b) => a.v - b.v);
  const layout = { firstWord, wordCount, vars, words };
  known.set(key, layout);
  return layout;
}

/** A small field's values in a group of patterns. */
function smallValues(patterns: readonly Pattern[], width: number, limit: number): number[] {
  const out = new Set<number>();
  for (const p of patterns)
    for (const prefix of expand(p, width, 1 << width)) {
      const first = Number(prefix.value);
      for (let v = first; v < first + 2 ** (width - prefix.length); v++) out.add(v);
    }
  return [...out].filter((v) => v < limit).sort((a, b) => a - b);
}

/** A pattern as prefixes: free bits after the last fixed one are the prefix's host part. */
export function expand(
  p: Pattern,
  width: number,
  limit = 4096,
): { value: bigint; length: number }[] {
  if (p.mask === 0n) return [{ value: 0n, length: 0 }];
  // the prefix ends at the lowest fixed bit; a prefix with no free bit in it (nearly every
  // pattern discovery cuts: 200,000+ on a 100k-rule host) is itself, with no per-bit loop
  const lowest = p.mask & -p.mask;
  const length = width - (lowest.toString(2).length - 1);
  const prefixMask = ((1n << BigInt(width)) - 1n) ^ (lowest - 1n);
  if (p.mask === prefixMask) return [{ value: p.value & p.mask, length }];
  const free: bigint[] = [];
  for (let i = 0; i < length; i++) {
    const bit = 1n << BigInt(width - 1 - i);
    if ((p.mask & bit) === 0n) free.push(bit);
  }
  if (2 ** free.length > limit) throw new TooManyFlows('prefixes of one pattern', limit);
  const out: { value: bigint; length: number }[] = [];
  for (let k = 0; k < 2 ** free.length; k++) {
    let v = p.value & p.mask;
    free.forEach((bit, j) => {
      if ((k >> j) & 1) v |= bit;
    });
    out.push({ value: v, length });
  }
  return out;
}

/** Patterns of an address field as a minimal sorted list of CIDRs. */
export function patternsToCidrs(
  s: HeaderSpace,
  patterns: readonly Pattern[],
  width: number,
): string[] {
  const prefixes = prefixesOf(patterns, width);
  // one prefix (most of the lists a big host's flows have) is already merged
  const merged = prefixes.length === 1 ? prefixes : mergePrefixes(prefixes, width);
  return merged.map((p) => formatCidr(p.value, p.length, s.family));
}

/** An inclusive range of address values. */
interface ValueRange {
  from: bigint;
  to: bigint;
}

/**
 * An address field's patterns as CIDRs that may also cover `dontCare` (sources the kernel never
 * lets arrive: a flow's "any address" need not list them as holes). The result covers every
 * address the patterns hold and others only in `dontCare`; with `except`, the patterns are what
 * the flow leaves out, and the result leaves out every one of them the kernel would let in and
 * no other. Each CIDR is the largest prefix that holds a needed address and only allowed ones,
 * so there are never more than the patterns' own CIDRs. `narrow`: sources refused only on the
 * flow's interfaces (reverse path filtering), covered only where that saves a CIDR — a bridge's
 * flow says "172.17.0.0/16", not the "0.0.0.0/0" that every other source being refused there
 * would allow as well, while the uplink's says "0.0.0.0/0", not its holes.
 */
export function patternsToCidrsAround(
  s: HeaderSpace,
  patterns: readonly Pattern[],
  width: number,
  dontCare: readonly { value: bigint; length: number }[],
  except: boolean,
  narrow: readonly { value: bigint; length: number }[] = [],
): string[] {
  if (dontCare.length === 0 && narrow.length === 0) return patternsToCidrs(s, patterns, width);
  const held = patternsToValueRanges(patterns, width);
  const rangesOf = (list: readonly { value: bigint; length: number }[]): ValueRange[] =>
    mergeRanges(
      list.map((p) => ({ from: p.value, to: p.value + (1n << BigInt(width - p.length)) - 1n })),
    );
  const wide = rangesOf(dontCare);
  const free = narrow.length === 0 ? wide : mergeRanges([...wide, ...rangesOf(narrow)]);
  const narrowOnly = narrow.length === 0 ? [] : subtractRanges(rangesOf(narrow), wide);
  // said (positive): needed = held, allowed = held ∪ free; except: needed = held − free,
  // allowed = held
  const needed = except ? subtractRanges(held, free) : held;
  const allowed = except ? held : mergeRanges([...held, ...free]);
  const cover = (value: bigint, length: number): { value: bigint; length: number }[] => {
    const to = value + (1n << BigInt(width - length)) - 1n;
    if (!meetsRanges(needed, value, to)) return [];
    // one address, needed: allowed too
    if (length === width) return [{ value, length }];
    const whole = withinRanges(allowed, value, to);
    if (whole && (narrowOnly.length === 0 || !meetsRanges(narrowOnly, value, to)))
      return [{ value, length }];
    const half = 1n << BigInt(width - length - 1);
    const split = [...cover(value, length + 1), ...cover(value + half, length + 1)];
    // the prefix takes in narrow refusals: only where it is fewer CIDRs than its halves
    return whole && split.length > 1 ? [{ value, length }] : split;
  };
  return cover(0n, 0).map((p) => formatCidr(p.value, p.length, s.family));
}

/** Sorted, merged. */
function mergeRanges(ranges: readonly ValueRange[]): ValueRange[] {
  const sorted = [...ranges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: ValueRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.from <= last.to + 1n) {
      if (r.to > last.to) last.to = r.to;
    } else out.push({ ...r });
  }
  return out;
}

/** `a` without `b`, both sorted and merged. */
function subtractRanges(a: readonly ValueRange[], b: readonly ValueRange[]): ValueRange[] {
  const out: ValueRange[] = [];
  for (const r of a) {
    let from = r.from;
    for (const x of b) {
      if (x.to < from || x.from > r.to) continue;
      if (x.from > from) out.push({ from, to: x.from - 1n });
      from = x.to + 1n;
      if (from > r.to) break;
    }
    if (from <= r.to) out.push({ from, to: r.to });
  }
  return out;
}

/** The first range (sorted, merged) that ends at or after `v`. */
function firstEndingFrom(ranges: readonly ValueRange[], v: bigint): ValueRange | undefined {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ranges[mid] as ValueRange).to < v) lo = mid + 1;
    else hi = mid;
  }
  return ranges[lo];
}

function meetsRanges(ranges: readonly ValueRange[], from: bigint, to: bigint): boolean {
  const r = firstEndingFrom(ranges, from);
  return r !== undefined && r.from <= to;
}

function withinRanges(ranges: readonly ValueRange[], from: bigint, to: bigint): boolean {
  const r = firstEndingFrom(ranges, from);
  return r !== undefined && r.from <= from && r.to >= to;
}

/** Patterns of a field as sorted, merged inclusive ranges of values. */
export function patternsToValueRanges(
  patterns: readonly Pattern[],
  width: number,
): { from: bigint; to: bigint }[] {
  const ranges = prefixesOf(patterns, width).map((p) => ({
    from: p.value,
    to: p.value + (1n << BigInt(width - p.length)) - 1n,
  }));
  // one range (most of the lists a big host's flows have) is already sorted and merged
  return ranges.length === 1 ? ranges : mergeRanges(ranges);
}

/** Patterns of a port field as sorted, merged inclusive ranges. */
export function patternsToRanges(patterns: readonly Pattern[]): PortRange[] {
  return patternsToValueRanges(patterns, 16).map((r) => ({
    from: Number(r.from),
    to: Number(r.to),
  }));
}

/** The prefixes of a field's patterns, in order (one pattern: no list made per pattern). */
function prefixesOf(
  patterns: readonly Pattern[],
  width: number,
): { value: bigint; length: number }[] {
  const only = patterns.length === 1 ? patterns[0] : undefined;
  return only === undefined ? patterns.flatMap((p) => expand(p, width)) : expand(only, width);
}

function mergePrefixes(
  list: readonly { value: bigint; length: number }[],
  width: number,
): { value: bigint; length: number }[] {
  const size = (p: { length: number }): bigint => 1n << BigInt(width - p.length);
  const sorted = [...list].sort((a, b) =>
    a.value < b.value ? -1 : a.value > b.value ? 1 : a.length - b.length,
  );
  // in order, a prefix inside the one before is dropped, and two sibling halves on top of the
  // stack become their parent (which may join the one below it in turn): one pass
  const out: { value: bigint; length: number }[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && p.value >= last.value && p.value < last.value + size(last)) continue;
    let top = p;
    for (;;) {
      const below = out[out.length - 1];
      if (
        below === undefined ||
        below.length !== top.length ||
        top.length === 0 ||
        below.value + size(below) !== top.value ||
        (below.value & size(below)) !== 0n
      )
        break;
      out.pop();
      top = { value: below.value, length: below.length - 1 };
    }
    out.push(top);
  }
  return out;
}

/** How one kind of delivery is walked: what is forgotten first, and the field groups in order. */
interface Plan {
  readonly forget: readonly FieldName[];
  readonly levels: readonly (readonly FieldName[])[];
}

const COMMON: readonly (readonly FieldName[])[] = [['iif'], ['oif'], ['proto'], ['src']];

/** Which original fields of a NATed part repeat the current ones (see `keptApart`). */
export interface Kept {
  readonly address: boolean;
  readonly port: boolean;
}

const NOTHING_KEPT: Kept = { address: false, port: false };

/**
 * Never NATed: the original fields repeat the current ones; delivered locally, the destination
 * is the host's or a broadcast or multicast group's (path.ts), which its host bit tells apart.
 * NATed to the host: its current destination is just "one of its addresses", only the original
 * tells. A NATed part whose port (or address) the NAT kept says it once, as the current one.
 */
function planFor(nat: boolean, local: boolean, kept: Kept = NOTHING_KEPT): Plan {
  if (!nat)
    return local
      ? {
          forget: ['dnat', 'odst', 'odport', 'loc'],
          levels: [...COMMON, ['dst'], ['oloc'], ['dport'], ['sport']],
        }
      : {
          forget: ['dnat', 'odst', 'odport', 'oloc', 'loc'],
          levels: [...COMMON, ['dst'], ['dport'], ['sport']],
        };
  const ports: readonly FieldName[] = kept.port ? ['dport'] : ['dport', 'odport'];
  const keptPort: FieldName[] = kept.port ? ['odport'] : [];
  if (local)
    return {
      forget: ['dnat', 'dst', 'loc', ...keptPort],
      levels: [...COMMON, ['odst'], ['oloc'], ports, ['sport']],
    };
  return {
    forget: ['dnat', 'loc', ...(kept.address ? ['odst' as const] : []), ...keptPort],
    levels: [...COMMON, kept.address ? ['dst'] : ['dst', 'odst'], ['oloc'], ports, ['sport']],
  };
}

/**
 * A kept field is said once from this many sent values on. Below it a kept value costs a flow
 * like any other value, and splitting would only cut a row that holds it in two.
 */
const KEPT_FROM = 256;

/**
 * A NATed part cut apart by which original fields the NAT kept (`keeps`: the fields some NAT
 * rule of the ruleset can keep, `natKeeps`; no other is tested). Cut as one, a DNAT that keeps
 * the port (`--to-destination 192.168.188.2` on every port) ties the sent port to the
 * delivered one bit by bit, and every port became a flow of its own: 65,536 rows and 23 s for
 * a 21-rule captive portal. The packets whose sent port (or, forwarded, address) is delivered
 * unchanged, and only so, when there are many such values, are cut with it said once; the
 * rest as before.
 */
function keptApart(s: HeaderSpace, part: Bdd, local: boolean, keeps: Kept): [Kept, Bdd][] {
  const m = s.m;
  const fields: [keyof Kept, FieldName, FieldName][] = [];
  if (keeps.port) fields.push(['port', 'dport', 'odport']);
  // delivered locally, the current address is forgotten anyway
  if (keeps.address && !local) fields.push(['address', 'dst', 'odst']);
  let parts: [Kept, Bdd][] = [[NOTHING_KEPT, part]];
  for (const [field, now, sent] of fields) {
    const next: [Kept, Bdd][] = [];
    for (const [kept, x] of parts) {
      const same = keptPart(s, x, now, sent);
      if (same === FALSE) {
        next.push([kept, x]);
        continue;
      }
      next.push([{ ...kept, [field]: true }, same]);
      const rest = m.diff(x, same);
      if (rest !== FALSE) next.push([kept, rest]);
    }
    parts = next;
  }
  return parts;
}

/**
 * The packets of `x` whose `now` is their `sent` and would be nothing else with every other
 * field as it is, where those fields keep at least two values of `sent` so; FALSE when they
 * hold fewer than KEPT_FROM values. A DNAT to one address that a client sends to directly keeps
 * it by chance, for that one value: it stays with the rest, whose rectangles it belongs to. A
 * DNAT to a port range keeps the ports inside it (`natPort`), one value each.
 */
function keptPart(s: HeaderSpace, x: Bdd, now: FieldName, sent: FieldName): Bdd {
  const m = s.m;
  const same = s.fieldEq(now, sent);
  if (!m.intersects(x, same)) return FALSE;
  const dropNow = s.cube(now);
  const dropSent = s.cube(sent);
  // on every field but `now`: kept, and only kept
  const only = m.diff(m.exists(m.and(x, same), dropNow), m.exists(m.diff(x, same), dropNow));
  if (only === FALSE) return FALSE;
  // the other fields that keep two different values: `now` stands for the second
  const second = m.exists(m.and(only, same), dropSent);
  const twice = m.exists(m.diff(m.and(only, second), same), s.cube(now, sent));
  const kept = m.and(only, twice);
  const others = (Object.keys(s.fields) as FieldName[]).filter((f) => f !== sent);
  const values = m.exists(kept, s.cube(...others));
  const free = BigInt(m.varCount - s.field(sent).width);
  return m.satCount(values) >> free >= BigInt(KEPT_FROM) ? m.and(x, kept) : FALSE;
}

/** A delivered set cut into rectangles, and the parts too fine to cut (`TooManyFlows`). */
export interface Partition {
  readonly flows: RawFlow[];
  /** Per part left out: which (`without NAT`, `after DNAT`) and why. */
  readonly unlisted: string[];
}

/**
 * Cut a delivered set into rectangles. `local`: the set was delivered to the host (INPUT);
 * otherwise it was forwarded. The packets never NATed and the DNATed ones are cut apart: where
 * one of them holds more distinct values than a flow lists (a destination blocklist on
 * forwarding), it is left out and said to be, and the other is still listed.
 */
export function partition(
  s: HeaderSpace,
  set: Bdd,
  local: boolean,
  keeps: Kept = NOTHING_KEPT,
): Partition {
  const m = s.m;
  const out: Partition = { flows: [], unlisted: [] };
  if (set === FALSE) return out;
  // every arriving packet is NEW with mark 0: final marks and states add nothing
  const base = m.exists(set, s.cube('mark', 'state'));
  for (const nat of [false, true]) {
    const part = m.and(base, s.eq('dnat', nat ? 1n : 0n));
    if (part === FALSE) continue;
    const flows: RawFlow[] = [];
    try {
      for (const [kept, x] of nat
        ? keptApart(s, part, local, keeps)
        : [[NOTHING_KEPT, part] as const]) {
        const plan = planFor(nat, local, kept);
        const walk = (node: Bdd, depth: number, path: Leaf[]): void => {
          const level = plan.levels[depth];
          if (level === undefined) {
            if (node === TRUE) flows.push(toRaw(s, plan, path, nat, local));
            return;
          }
          for (const [next, leaves] of leavesOf(s, node, level))
            for (const leaf of leaves) walk(next, depth + 1, [...path, leaf]);
        };
        walk(m.exists(x, s.cube(...plan.forget)), 0, []);
      }
      for (const f of flows) out.flows.push(f);
    } catch (error) {
      if (!(error instanceof TooManyFlows)) throw error;
      out.unlisted.push(`${nat ? 'after DNAT' : 'without NAT'}: ${error.message}`);
    }
  }
  return out;
}

/** A group's ends and, per end, the leaves a walk goes on with. */
function leavesOf(s: HeaderSpace, node: Bdd, level: readonly FieldName[]): [Bdd, Leaf[]][] {
  const listed = (groups: Map<Bdd, (readonly Pattern[])[]>): [Bdd, Leaf[]][] =>
    [...groups].map(([end, paths]) => [end, products(paths, level.length)]);
  if (level.length === 1 && level[0] === 'src') {
    try {
      return listed(groupPaths(s, node, level, { limit: EXCEPT_FROM }));
    } catch (error) {
      if (!(error instanceof TooManyFlows)) throw error;
    }
    const split = exceptLeaves(s, node);
    if (split !== null) return split;
  }
  return listed(groupPaths(s, node, level));
}

/**
 * The sources of a group whose paths mostly lead to one end X (more than EXCEPT_FROM of them,
 * and more than lead anywhere else): X's sources as the patterns that lead elsewhere, FALSE
 * included (`except`); every other end's as usual. Null when no end is like that. Paths are
 * counted per end on the diagram, not walked: a blocklist of 60,000 addresses leads to X by
 * ~1.5 million paths and elsewhere by 60,000.
 */
function exceptLeaves(s: HeaderSpace, node: Bdd): [Bdd, Leaf[]][] | null {
  const m = s.m;
  const last = Math.max(...s.field('src').vars);
  const isEnd = (n: Bdd): boolean => n <= TRUE || m.varOf(n) > last;
  // the group's nodes (numbered) and its ends (numbered apart)
  const ids = new Map<Bdd, number>();
  const nodes: Bdd[] = [];
  const ends = new Map<Bdd, number>();
  const stack = [node];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (ids.has(n)) continue;
    ids.set(n, nodes.length);
    nodes.push(n);
    if (!isEnd(n)) stack.push(m.low(n), m.high(n));
    else if (ends.set(n, ends.size).size > MAX_ENDS) return null;
  }
  // paths from each node to each end, children first (they test later variables): one flat
  // array, where a typed array per node made a million objects for a 60,000-address set
  const k = ends.size;
  const paths = new Float64Array(nodes.length * k);
  const order = nodes
    .map((_, i) => i)
    .sort((a, b) => m.varOf(nodes[b] ?? 0) - m.varOf(nodes[a] ?? 0));
  for (const i of order) {
    const n = nodes[i] ?? FALSE;
    const e = ends.get(n);
    if (e !== undefined) {
      paths[i * k + e] = 1;
      continue;
    }
    const lo = (ids.get(m.low(n)) ?? 0) * k;
    const hi = (ids.get(m.high(n)) ?? 0) * k;
    for (let j = 0; j < k; j++) paths[i * k + j] = (paths[lo + j] ?? 0) + (paths[hi + j] ?? 0);
  }
  const to = (i: number, end: number): number => paths[i * k + end] ?? 0;
  let total = 0;
  for (let j = 0; j < k; j++) total += to(0, j);
  const big = [...ends].find(
    ([end, e]) => end !== FALSE && to(0, e) > EXCEPT_FROM && total - to(0, e) < to(0, e),
  );
  if (big === undefined) return null;
  const [x] = big;
  // per node: whether a path leads to an end other than X, and to one of the other real ends
  const elsewhere = new Uint8Array(nodes.length);
  const toOthers = new Uint8Array(nodes.length);
  for (let i = 0; i < nodes.length; i++)
    for (const [end, e] of ends) {
      if (to(i, e) === 0 || end === x) continue;
      elsewhere[i] = 1;
      if (end !== FALSE) toOthers[i] = 1;
    }
  const flag = (of: Uint8Array) => (n: Bdd) => of[ids.get(n) ?? -1] === 1;
  const out: [Bdd, Leaf[]][] = [];
  if (toOthers[0] === 1) {
    const filter = { keep: (end: Bdd) => end !== x && end !== FALSE, enter: flag(toOthers) };
    for (const [end, list] of groupPaths(s, node, ['src'], { filter }))
      out.push([end, products(list, 1)]);
  }
  const filter = { keep: (end: Bdd) => end !== x, enter: flag(elsewhere) };
  const except = [...groupPaths(s, node, ['src'], { filter }).values()].flat();
  out.push([x, [{ fields: [except.map((p) => p[0] ?? { value: 0n, mask: 0n })], except: true }]]);
  return out;
}

/**
 * The paths of a group as products. One field: one product. Two fields (a destination and its
 * original) form a relation: the second field's patterns are gathered per first-field pattern,
 * and first-field patterns with the same set of second ones share a product.
 */
function products(paths: readonly (readonly Pattern[])[], width: number): Leaf[] {
  if (width === 1) return [{ fields: [paths.map((p) => p[0] ?? { value: 0n, mask: 0n })] }];
  // patterns numbered by value and mask (BigInts are map keys by value; no text made per path)
  const ids = new Map<bigint, Map<bigint, number>>();
  let count = 0;
  const idOf = (p: Pattern): number => {
    let byMask = ids.get(p.value);
    if (byMask === undefined) ids.set(p.value, (byMask = new Map<bigint, number>()));
    let id = byMask.get(p.mask);
    if (id === undefined) byMask.set(p.mask, (id = count++));
    return id;
  };
  const perFirst = new Map<number, { first: Pattern; seconds: Map<number, Pattern> }>();
  for (const [a, b] of paths) {
    if (a === undefined || b === undefined) continue;
    const ka = idOf(a);
    let e = perFirst.get(ka);
    if (e === undefined) perFirst.set(ka, (e = { first: a, seconds: new Map<number, Pattern>() }));
    e.seconds.set(idOf(b), b);
  }
  const bySeconds = new Map<string, { firsts: Pattern[]; seconds: Pattern[] }>();
  for (const e of perFirst.values()) {
    const k = [...e.seconds.keys()].sort((x, y) => x - y).join(',');
    const g = bySeconds.get(k) ?? { firsts: [], seconds: [...e.seconds.values()] };
    g.firsts.push(e.first);
    bySeconds.set(k, g);
  }
  return [...bySeconds.values()].map((g) => ({ fields: [g.firsts, g.seconds] }));
}

function toRaw(
  s: HeaderSpace,
  plan: Plan,
  path: readonly Leaf[],
  nat: boolean,
  local: boolean,
): RawFlow {
  const group = (name: FieldName): readonly Pattern[] | null => {
    const i = plan.levels.findIndex((l) => l.includes(name));
    const j = plan.levels[i]?.indexOf(name) ?? -1;
    return i < 0 ? null : (path[i]?.fields[j] ?? []);
  };
  const ifWidth = s.field('iif').width;
  const limit = s.interfaces.none + 1;
  const oloc = group('oloc');
  return {
    iif: smallValues(group('iif') ?? [], ifWidth, limit),
    oif: smallValues(group('oif') ?? [], ifWidth, limit),
    nat,
    proto: smallValues(group('proto') ?? [], 8, 256),
    src: group('src') ?? [],
    dst: group('dst'),
    odst: group('odst'),
    // never NATed: delivered locally exactly when the destination is the host's
    oloc: oloc !== null ? smallValues(oloc, 1, 2) : local ? [1] : [0],
    dport: group('dport') ?? [],
    odport: group('odport'),
    sport: group('sport') ?? [],
    srcExcept: path[plan.levels.findIndex((l) => l.includes('src'))]?.except === true,
  };
}

/** A field's patterns as a set. */
function patternSet(s: HeaderSpace, name: FieldName, patterns: readonly Pattern[]): Bdd {
  if (patterns.length === 1)
    return s.masked(name, patterns[0]?.value ?? 0n, patterns[0]?.mask ?? 0n);
  // united in one walk: one by one, each union rebuilt the growing set
  return s.m.orAll(patterns.map((p) => s.masked(name, p.value, p.mask)));
}

/** The destinations a flow's client sent to, as a set on the original-destination field. */
export function sentSet(s: HeaderSpace, f: RawFlow): Bdd {
  return patternSet(s, 'odst', f.odst ?? f.dst ?? []);
}

/** The packets of `set` inside one flow's rectangle. */
export function flowSet(s: HeaderSpace, set: Bdd, f: RawFlow): Bdd {
  const m = s.m;
  let r = m.and(set, s.eq('dnat', f.nat ? 1n : 0n));
  r = m.and(r, s.anyOf('iif', f.iif.map(BigInt)));
  r = m.and(r, s.anyOf('oif', f.oif.map(BigInt)));
  r = m.and(r, s.anyOf('proto', f.proto.map(BigInt)));
  r = m.and(r, s.anyOf('oloc', f.oloc.map(BigInt)));
  const src = patternSet(s, 'src', f.src);
  r = f.srcExcept ? m.diff(r, src) : m.and(r, src);
  if (f.dst !== null) r = m.and(r, patternSet(s, 'dst', f.dst));
  // an original field not listed is the current one (kept by the NAT, or never NATed)
  if (f.odst !== null) r = m.and(r, patternSet(s, 'odst', f.odst));
  else if (f.nat) r = m.and(r, s.fieldEq('dst', 'odst'));
  r = m.and(r, patternSet(s, 'dport', f.dport));
  if (f.odport !== null) r = m.and(r, patternSet(s, 'odport', f.odport));
  else if (f.nat) r = m.and(r, s.fieldEq('dport', 'odport'));
  return m.and(r, patternSet(s, 'sport', f.sport));
}

/** The protocols discovery reports flows for. */
export const FLOW_PROTOCOLS = [PROTO.tcp, PROTO.udp, PROTO.sctp] as const;
