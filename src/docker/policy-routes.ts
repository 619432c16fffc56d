/**
 * Policy routing (`ip rule`) folded into the main table the engine routes by. The kernel walks
 * the rules in priority order; a rule that selects the packet looks a table up, and the longest
 * route there decides — unless there is none, it is a `throw` route or it is a route no longer
 * than the rule's `suppress_prefixlength`, when the next rule is tried (a dead end found is
 * final: it is the lookup's error, which ends the walk before suppression is asked). `not`
 * turns a rule's whole selection round, its `to` with the rest. The engine knows one table,
 * longest prefix first, so this module cuts the address space where any route or rule begins
 * or ends and asks, for each piece, what the rules can decide:
 *
 * - what the main table decides, whichever rules select the packet: the main table stands;
 * - one other answer, whatever selects the packet (a rule for every packet, `to` a prefix or not,
 *   ahead of the main table): that route or dead end, as certain as the main table's;
 * - more than one (a rule that selects by mark, source, interface… sends some packets elsewhere):
 *   the main table's route, or the other one where the main table has none, assumed, so what
 *   rests on it is only possible. The other ways are not walked.
 *
 * A rule's selectors other than `to` are not read (they are mostly about the host's own packets:
 * a mark, a user, `iif lo`). The local table's lookup is the engine's own (the host's addresses
 * are delivered before any route decides); a rule ahead of it is read as ahead of the others.
 * Where `ip rule` was not collected, the kernel's default rules are taken (local, main, default)
 * with every other table that has routes looked up, possibly, ahead of the main table.
 */
import type { ContextDeadEnd, ContextRoute } from '../engine/context.ts';
import type { DeadEndType, PolicyRule, Route } from '../model/host.ts';
import { deadEndType } from '../model/host.ts';
import type { Family } from '../model/ruleset.ts';
import ipaddr from 'ipaddr.js';
import { everyAddress } from '../model/address-text.ts';
import { bigOfBytes, prefixText } from './ipam.ts';

/** A route (or dead end, or throw) of one table, as the lookup reads it. */
interface Entry {
  readonly value: bigint;
  readonly length: number;
  readonly outcome: Outcome | 'throw';
}

/** What a lookup decides for a packet. */
type Outcome =
  | { readonly kind: 'route'; readonly device: string; readonly source: string | null }
  | { readonly kind: 'nowhere'; readonly type: DeadEndType | null }
  | { readonly kind: 'unknown' };

const NOWHERE: Outcome = { kind: 'nowhere', type: null };

/** One table's entries by prefix length, longest first, for a lookup by length. */
class Table {
  /** Per prefix length present, longest first: its mask and its entries by prefix. */
  private levels: { length: number; mask: bigint; entries: Map<bigint, Entry> }[] = [];
  private readonly width: number;

  constructor(width: number) {
    this.width = width;
  }

  add(entry: Entry): void {
    let level = this.levels.find((l) => l.length === entry.length);
    if (level === undefined) {
      level = {
        length: entry.length,
        mask: prefixMask(entry.length, this.width),
        entries: new Map(),
      };
      this.levels = [...this.levels, level].sort((a, b) => b.length - a.length);
    }
    // the first of a prefix stands, as the kernel keeps one route per prefix and type
    if (!level.entries.has(entry.value)) level.entries.set(entry.value, entry);
  }

  entries(): Entry[] {
    return this.levels.flatMap((l) => [...l.entries.values()]);
  }

  /**
   * The longest entry holding `address`, or null; without `throws`, the longest but a throw
   * route (the table as the engine routes by it, which has none).
   */
  lookup(address: bigint, throws = true): Entry | null {
    for (const l of this.levels) {
      const e = l.entries.get(address & l.mask);
      if (e !== undefined && (throws || e.outcome !== 'throw')) return e;
    }
    return null;
  }
}

/** The context's routes and dead ends with what the policy rules change, and why. */
export interface PolicyRouting {
  readonly routes: readonly ContextRoute[];
  readonly deadEnds: readonly ContextDeadEnd[];
  /** What changed, one line per rule that changed something, for the context's facts. */
  readonly notes: readonly PolicyNote[];
}

export interface PolicyNote {
  readonly text: string;
  /** `observed`: the rules are the snapshot's; `assumed`: taken in their absence. */
  readonly provenance: 'observed' | 'assumed';
  readonly evidence: string;
}

export interface PolicyInput {
  readonly family: Family;
  /** The family's rules in priority order; undefined: not collected. */
  readonly rules: readonly PolicyRule[] | undefined;
  /** Where the rules were read, for the notes. */
  readonly ruleFile: string;
  /** Every route of the snapshot (all tables, both families). */
  readonly tables: readonly Route[];
  /** The main table as the context has it. */
  readonly routes: readonly ContextRoute[];
  readonly deadEnds: readonly ContextDeadEnd[];
  /** The address the host sends from along another table's route by this interface. */
  readonly sourceOf: (device: string) => string | null;
  /** The interface name taken for a route dockwall cannot name. */
  readonly unknownInterface: string;
}

/** At most this many pieces are written into the table; past it, the rest stands as the main table says. */
const MAX_PIECES = 20_000;

export function applyPolicyRules(input: PolicyInput): PolicyRouting {
  const { family } = input;
  const unchanged: PolicyRouting = { routes: input.routes, deadEnds: input.deadEnds, notes: [] };
  const rules = input.rules ?? assumedRules(input);
  if (rules === null || isStandard(rules, input)) return unchanged;
  const width = family === 'ipv4' ? 32 : 128;
  const cidrOf = cidrReader(family);

  // the main table as the context has it, and its throw routes, which send on to the next rule
  // (the engine, which routes by the rest, reads it without them)
  const main = new Table(width);
  for (const r of input.routes) {
    const p = cidrOf(r.destination);
    if (p !== null)
      main.add({ ...p, outcome: { kind: 'route', device: r.device, source: r.source ?? null } });
  }
  for (const d of input.deadEnds) {
    const p = cidrOf(d.destination);
    if (p !== null) main.add({ ...p, outcome: { kind: 'nowhere', type: d.type } });
  }
  for (const r of input.tables)
    if (r.family === family && r.table === 'main' && r.type === 'throw') {
      const p = cidrOf(r.destination);
      if (p !== null) main.add({ ...p, outcome: 'throw' });
    }
  const tables = new Map<string, Table>([['main', main]]);
  for (const rule of rules) {
    if (rule.action.kind !== 'lookup' || tables.has(rule.action.table)) continue;
    if (rule.action.table === 'local') continue;
    tables.set(rule.action.table, tableOf(input, rule.action.table, width, cidrOf));
  }
  // every address where a route or a rule's `to` begins or ends
  const cuts = new Set<bigint>([0n, 1n << BigInt(width)]);
  const mark = (value: bigint, length: number): void => {
    cuts.add(value);
    cuts.add(value + (1n << BigInt(width - length)));
  };
  for (const t of tables.values()) for (const e of t.entries()) mark(e.value, e.length);
  const ruleTo = rules.map((r) => {
    const p = r.destination === null ? null : cidrOf(r.destination);
    return p === null ? null : { ...p, mask: prefixMask(p.length, width) };
  });
  for (const p of ruleTo) if (p !== null) mark(p.value, p.length);
  const bounds = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  type Found = { outcome: Outcome; rule: number }[];
  /**
   * Every outcome the rules from `i` on can give `a`, with the rules that gave each. `known`:
   * the selectors already found to hold or not on this way through the rules (a rule that
   * selects by the same mark as one before it selects the same packets).
   */
  const walk = (
    a: bigint,
    i: number,
    known: ReadonlyMap<string, boolean>,
    depth: number,
  ): Found => {
    for (; i < rules.length; i++) {
      const rule = rules[i];
      if (rule === undefined) break;
      const to = ruleTo[i];
      if (to === undefined) continue;
      const negated = rule.selectors.includes('not');
      // `not` turns the whole selection round, `to` with the rest (`fib_rule_match`): a
      // negated rule selects every packet outside its `to`
      const outside = rule.destination !== null && (to === null || (a & to.mask) !== to.value);
      if (outside && !negated) continue;
      const action = rule.action;
      let here: Found | null = null;
      if (action.kind === 'lookup') {
        if (action.table === 'local') continue;
        const e = tables.get(action.table)?.lookup(a) ?? null;
        // no route, a throw route or one suppressed: on to the next rule; a dead end is an
        // error of the lookup, which ends the walk before suppression is asked
        // (`fib_rules_lookup`)
        if (
          e !== null &&
          e.outcome !== 'throw' &&
          (e.outcome.kind === 'nowhere' ||
            action.suppressPrefixLength === null ||
            e.length > action.suppressPrefixLength)
        )
          here = [{ outcome: e.outcome, rule: i }];
      } else if (action.kind === 'dead-end') {
        here = [{ outcome: { kind: 'nowhere', type: action.type }, rule: i }];
      } else if (action.kind === 'goto') {
        const target = rules.findIndex((r) => r.priority === action.priority);
        // the kernel refuses a goto backwards; one to no rule is skipped
        if (target > i && depth < rules.length) here = walk(a, target, known, depth + 1);
        else if (target !== -1) here = [{ outcome: { kind: 'unknown' }, rule: i }];
      } else if (action.kind === 'other') {
        here = [{ outcome: { kind: 'unknown' }, rule: i }];
      }
      if (here === null) continue;
      // a route in a group of interfaces the rule passes over: it may
      if (action.kind === 'lookup' && action.suppressIfgroup)
        here = [...here, ...walk(a, i + 1, known, depth)];
      if (outside) return here;
      const key = rule.selectors.filter((w) => w !== 'not').join(' ');
      const holds = key === '' ? true : known.get(key);
      if (holds !== undefined) {
        if (holds !== negated) return here;
        continue;
      }
      // either way: the packets it selects stop here, the others go on knowing they are not
      return [...here, ...walk(a, i + 1, new Map([...known, [key, negated]]), depth)];
    }
    return [{ outcome: NOWHERE, rule: -1 }];
  };

  interface Piece {
    readonly lo: bigint;
    readonly hi: bigint;
    readonly key: string;
    readonly mainEntry: Entry | null;
    readonly outcome: Outcome;
    readonly certain: boolean;
    readonly rules: readonly number[];
  }
  const pieces: Piece[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const lo = bounds[k] as bigint;
    const hi = (bounds[k + 1] as bigint) - 1n;
    const mainEntry = main.lookup(lo, false);
    const mainOutcome: Outcome =
      mainEntry === null || mainEntry.outcome === 'throw' ? NOWHERE : mainEntry.outcome;
    const found = walk(lo, 0, new Map(), 0);
    const others = found.filter((f) => !same(f.outcome, mainOutcome));
    if (others.length === 0) continue;
    const distinct = found.filter(
      (f, i) => found.findIndex((g) => way(g.outcome) === way(f.outcome)) === i,
    );
    const certain = distinct.length === 1 && distinct[0]?.outcome.kind !== 'unknown';
    const routeOf = (o: Outcome): Outcome | null => (o.kind === 'route' ? o : null);
    const outcome: Outcome = certain
      ? (distinct[0]?.outcome ?? NOWHERE)
      : (routeOf(mainOutcome) ??
        distinct.map((d) => routeOf(d.outcome)).find((o) => o !== null) ?? {
          kind: 'route',
          device: input.unknownInterface,
          source: null,
        });
    const key = `${String(certain)} ${JSON.stringify(outcome)} ${mainEntry === null ? '' : `${mainEntry.value}/${mainEntry.length}`}`;
    // -1: the end of the rules, none of which routed it
    const rulesHere = [...new Set(others.map((o) => o.rule))];
    const last = pieces[pieces.length - 1];
    // neighbours alike join, never across a route of the main table (a longer one would win)
    if (last !== undefined && last.key === key && last.hi + 1n === lo)
      pieces[pieces.length - 1] = {
        ...last,
        hi,
        rules: [...new Set([...last.rules, ...rulesHere])],
      };
    else pieces.push({ lo, hi, key, mainEntry, outcome, certain, rules: rulesHere });
  }
  if (pieces.length === 0) return unchanged;

  const key = (text: string): string => {
    const p = cidrOf(text);
    return p === null ? text : `${p.value}/${p.length}`;
  };
  const added: ContextRoute[] = [];
  const addedDeadEnds: ContextDeadEnd[] = [];
  const replaced = new Set<string>();
  const changed = new Map<number, { certain: string[]; possible: string[] }>();
  let written = 0;
  for (const piece of pieces) {
    for (const { value, length } of cidrsOf(piece.lo, piece.hi, width)) {
      if (written++ >= MAX_PIECES) break;
      const destination =
        length === 0 ? 'default' : prefixText({ family, base: value, bits: length });
      // a piece as long as the main table's entry is that entry's whole prefix: it replaces it
      if (piece.mainEntry !== null && piece.mainEntry.length === length)
        replaced.add(`${value}/${length}`);
      const o = piece.outcome;
      const sure = piece.certain && input.rules !== undefined;
      if (o.kind === 'route')
        added.push({
          destination,
          device: o.device,
          ...(o.source === null ? {} : { source: o.source }),
          provenance: sure ? 'observed' : 'assumed',
          ...(sure
            ? {}
            : {
                doubt: doubtOf(
                  piece.rules.map((r) => rules[r]),
                  input,
                ),
              }),
        });
      else if (o.kind === 'nowhere')
        addedDeadEnds.push({
          destination,
          type: o.type ?? 'unreachable',
          by: doubtOf(
            piece.rules.map((r) => rules[r]),
            input,
          ).join(', '),
        });
      for (const r of piece.rules) {
        const c = changed.get(r) ?? { certain: [], possible: [] };
        (piece.certain ? c.certain : c.possible).push(destination);
        changed.set(r, c);
      }
    }
  }
  const notes = [...changed.entries()]
    .sort(([a], [b]) => a - b)
    .map(([r, c]) => noteOf(rules[r], c, input, written > MAX_PIECES));
  return {
    routes: [...input.routes.filter((r) => !replaced.has(key(r.destination))), ...added],
    deadEnds: [
      ...input.deadEnds.filter((d) => !replaced.has(key(d.destination))),
      ...addedDeadEnds,
    ],
    notes,
  };
}

/**
 * The rules that give a piece another answer than the main table's, named: why its route is
 * only assumed, or who sends it nowhere.
 */
function doubtOf(by: readonly (PolicyRule | undefined)[], input: PolicyInput): string[] {
  const names = by.map((r) =>
    r === undefined ? 'the end of the rules (none routes it)' : ruleName(r, input),
  );
  const who = names.length === 0 ? ['a policy rule'] : names;
  return input.rules === undefined ? who.map((n) => `with no ${input.ruleFile}, ${n}`) : who;
}

/** A rule as the notes name it: its own words, or, taken for want of the rules, what it does. */
function ruleName(rule: PolicyRule, input: PolicyInput): string {
  return input.rules === undefined && rule.action.kind === 'lookup'
    ? `a rule that looks up table ${rule.action.table}`
    : `\`${rule.text}\``;
}

function noteOf(
  rule: PolicyRule | undefined,
  changed: { certain: readonly string[]; possible: readonly string[] },
  input: PolicyInput,
  cut: boolean,
): PolicyNote {
  const list = (xs: readonly string[]): string =>
    xs.length <= 3 ? xs.join(', ') : `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more`;
  // the end of the rules: what none of them routes (a throw route of the main table's, say)
  const parts =
    rule === undefined
      ? [
          ...(changed.certain.length > 0 ? [`routes ${list(changed.certain)}`] : []),
          ...(changed.possible.length > 0
            ? [`may leave ${list(changed.possible)} unrouted (only possible)`]
            : []),
        ]
      : [
          ...(changed.certain.length > 0 ? [`decides the route to ${list(changed.certain)}`] : []),
          ...(changed.possible.length > 0
            ? [`may route ${list(changed.possible)} otherwise than the main table (only possible)`]
            : []),
        ];
  const name =
    rule === undefined
      ? changed.certain.length > 0
        ? 'none of the policy rules'
        : 'the policy rules'
      : ruleName(rule, input);
  return {
    text: `${name} ${parts.join('; ')}`,
    provenance: input.rules === undefined ? 'assumed' : 'observed',
    evidence:
      (input.rules === undefined
        ? `no ${input.ruleFile}: the default rules taken, and this table's routes looked up, possibly, before the main table`
        : input.ruleFile) + (cut ? `; past ${MAX_PIECES} prefixes the main table stands` : ''),
  };
}

/**
 * Without `ip rule`: the kernel's own rules, and every other table that holds routes of the
 * family looked up, for some packets, ahead of the main table (someone wrote those routes for a
 * rule to use). Null when no other table has one, the default table none and the main table no
 * throw route: the main table decides, as before.
 */
function assumedRules(input: PolicyInput): PolicyRule[] | null {
  const others = [
    ...new Set(
      input.tables
        .filter(
          (r) =>
            r.family === input.family &&
            r.table !== 'main' &&
            r.table !== 'local' &&
            r.table !== 'default',
        )
        .map((r) => r.table),
    ),
  ];
  if (others.length === 0 && !afterMain(input)) return null;
  const lookup = (priority: number, table: string, selectors: string[]): PolicyRule => ({
    priority,
    destination: null,
    selectors,
    action: { kind: 'lookup', table, suppressPrefixLength: null, suppressIfgroup: false },
    text: `${priority}: from all${selectors.length > 0 ? ' (not collected)' : ''} lookup ${table}`,
  });
  // the kernel's own rules, the tables named between its local and main lookups
  const kernel = [...KERNEL_RULES].map(([priority, table]) => lookup(priority, table, []));
  return [
    ...kernel.slice(0, 1),
    ...others.map((t, i) => lookup(i + 1, t, ['(not collected)'])),
    ...kernel.slice(1),
  ];
}

/** The rules the kernel makes itself, by priority: any other was added by hand. */
const KERNEL_RULES: ReadonlyMap<number, string> = new Map([
  [0, 'local'],
  [32766, 'main'],
  [32767, 'default'],
]);

/** Whether `r` is one of the rules the kernel makes itself (`from all lookup local`, …). */
export function isKernelRule(r: PolicyRule): boolean {
  const table = plainLookupOf(r);
  return table !== null && KERNEL_RULES.get(r.priority) === table;
}

/** The table a rule looks up for every packet, nothing suppressed; null for any other rule. */
function plainLookupOf(r: PolicyRule): string | null {
  return r.destination === null &&
    r.selectors.length === 0 &&
    r.action.kind === 'lookup' &&
    r.action.suppressPrefixLength === null &&
    !r.action.suppressIfgroup
    ? r.action.table
    : null;
}

/**
 * The kernel's default rules alone, an empty default table and no throw route in the main
 * table: the main table decides, as the engine routes.
 */
function isStandard(rules: readonly PolicyRule[], input: PolicyInput): boolean {
  const tables = [...KERNEL_RULES.values()];
  const plain = rules.every((r) => tables.includes(plainLookupOf(r) ?? ''));
  const looksUpMain = rules.some((r) => r.action.kind === 'lookup' && r.action.table === 'main');
  return plain && looksUpMain && !afterMain(input);
}

/**
 * Whether a packet may go past the main table to the default table under the kernel's own
 * rules: the default table holds a route, or the main table a throw route, which sends on to it.
 */
function afterMain(input: PolicyInput): boolean {
  return input.tables.some(
    (r) =>
      r.family === input.family &&
      (r.table === 'default' || (r.table === 'main' && r.type === 'throw')),
  );
}

function tableOf(input: PolicyInput, name: string, width: number, cidrOf: CidrOf): Table {
  const t = new Table(width);
  for (const r of input.tables) {
    if (r.family !== input.family || r.table !== name) continue;
    const p = cidrOf(r.destination);
    if (p === null) continue;
    const dead = deadEndType(r.type);
    // a multipath route by one interface is a route by it; by several, any of them
    const hops = [...new Set(r.nexthops ?? [])];
    const device = r.device ?? (hops.length === 1 ? (hops[0] ?? null) : null);
    const outcome: Outcome | 'throw' =
      dead !== undefined
        ? { kind: 'nowhere', type: dead }
        : r.type === 'throw'
          ? 'throw'
          : r.type === 'unicast' && device !== null
            ? { kind: 'route', device, source: r.source ?? input.sourceOf(device) }
            : { kind: 'unknown' };
    t.add({ ...p, outcome });
  }
  return t;
}

type CidrOf = (text: string) => { value: bigint; length: number } | null;

/** The family's prefixes, each text read once (a table's routes are read by several lookups). */
function cidrReader(family: Family): CidrOf {
  const read = new Map<string, { value: bigint; length: number } | null>();
  return (text) => {
    let p = read.get(text);
    if (p === undefined) {
      p = parseFamilyCidr(text, family);
      read.set(text, p);
    }
    return p;
  };
}

/** A CIDR (or `default`, or a bare address) of the family, host bits cleared; null if none. */
function parseFamilyCidr(text: string, family: Family): { value: bigint; length: number } | null {
  const width = family === 'ipv4' ? 32 : 128;
  const cidr =
    text === 'default' ? everyAddress(family) : text.includes('/') ? text : `${text}/${width}`;
  try {
    // the family's own parser: ipaddr.parseCIDR tries IPv6's first, slowly, on every IPv4 text
    const [address, length] =
      family === 'ipv4' ? ipaddr.IPv4.parseCIDR(cidr) : ipaddr.IPv6.parseCIDR(cidr);
    return { value: bigOfBytes(address.toByteArray()) & prefixMask(length, width), length };
  } catch {
    return null;
  }
}

/** The bits of a prefix of `length` in an address of `width` bits. */
function prefixMask(length: number, width: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return length === 0 ? 0n : (all << BigInt(width - length)) & all;
}

/** Which way an outcome sends the packet: every dead end alike. */
function way(o: Outcome): string {
  return o.kind === 'route' ? `route ${o.device} ${o.source ?? ''}` : o.kind;
}

/** Whether two outcomes surely send the packet the same way (an unknown one never does). */
function same(a: Outcome, b: Outcome): boolean {
  return a.kind !== 'unknown' && way(a) === way(b);
}

/** The fewest prefixes that make up the addresses lo…hi. */
function cidrsOf(lo: bigint, hi: bigint, width: number): { value: bigint; length: number }[] {
  const out: { value: bigint; length: number }[] = [];
  let at = lo;
  while (at <= hi) {
    let size = width;
    // the largest aligned block at `at` that ends within hi
    while (size > 0) {
      const block = 1n << BigInt(size);
      if (at % block === 0n && at + block - 1n <= hi) break;
      size--;
    }
    out.push({ value: at, length: width - size });
    at += 1n << BigInt(size);
  }
  return out;
}
