/**
 * Rule covers without the engine: rule A covers rule B when every condition of A is implied by a
 * condition of B (so every packet B matches, A matches too). Sound but incomplete: it never
 * claims coverage that does not hold, and leaves the rest to the engine's per-rule reach sets
 * (`RuleReach.coveredBy`, from packet sets), which large rulesets cannot afford.
 */
import { parseAddress } from '../engine/addr.ts';
import type {
  AddressMask,
  Family,
  MatchOption,
  PortRange,
  Rule,
  Target,
} from '../model/ruleset.ts';
import type { TraceStep } from '../model/trace.ts';
import { effectiveOptions, hasUndecidableMatch } from '../model/rule-queries.ts';

const ADDRESS_VALUES = new Map<string, bigint | null>();

/** An address as a number (cached: large chains compare the same addresses many times). */
export function addressValue(text: string, family: Family): bigint | null {
  const key = `${family}|${text}`;
  let v = ADDRESS_VALUES.get(key);
  if (v === undefined) {
    v = parseAddress(text, family);
    ADDRESS_VALUES.set(key, v);
  }
  return v;
}

/** True when every address of `inner` lies in `outer`. */
export function prefixCovers(outer: AddressMask, inner: AddressMask): boolean {
  if (outer.family !== inner.family || outer.prefixLength === null || inner.prefixLength === null) {
    return outer.address === inner.address && outer.mask === inner.mask;
  }
  if (outer.prefixLength > inner.prefixLength) return false;
  const a = addressValue(inner.address, inner.family);
  const b = addressValue(outer.address, outer.family);
  if (a === null || b === null) return false;
  const width = outer.family === 'ipv4' ? 32n : 128n;
  const shift = width - BigInt(outer.prefixLength);
  return a >> shift === b >> shift;
}

function rangesCover(outer: readonly PortRange[], inner: readonly PortRange[]): boolean {
  return inner.every((i) => outer.some((o) => o.from <= i.from && i.to <= o.to));
}

/** JSON of a node without its location, for structural equality. */
function withoutLocation(node: object): string {
  return JSON.stringify(node, (key, value: unknown) => (key === 'location' ? undefined : value));
}

function strip(o: MatchOption): string {
  return withoutLocation(o);
}

/** Coverage between non-identical conditions of kinds that have an order (prefixes, ranges…). */
function orderedCovers(outer: MatchOption, inner: MatchOption): boolean {
  if (outer.negated || inner.negated) return false;
  if (outer.type === 'address' && inner.type === 'address' && outer.field === inner.field) {
    return prefixCovers(outer.value, inner.value);
  }
  if (outer.type === 'interface' && inner.type === 'interface' && outer.field === inner.field) {
    if (!outer.wildcard) return !inner.wildcard && outer.name === inner.name;
    return inner.name.startsWith(outer.name);
  }
  if (outer.type === 'port' && inner.type === 'port' && outer.field === inner.field) {
    return rangesCover(outer.ranges, inner.ranges);
  }
  if (outer.type === 'ct-state' && inner.type === 'ct-state') {
    return inner.states.every((s) => outer.states.includes(s));
  }
  return false;
}

const ORDERED = new Set(['address', 'interface', 'port', 'ct-state']);

/** True when `outer` holds for every packet `inner` holds for. */
export function optionCovers(outer: MatchOption, inner: MatchOption): boolean {
  return strip(outer) === strip(inner) || orderedCovers(outer, inner);
}

interface Prepared {
  readonly options: readonly MatchOption[];
  /** Location-free JSON of each option (same order), for the exact-equality fast path. */
  readonly keyList: readonly string[];
  readonly keys: ReadonlySet<string>;
  readonly undecidable: boolean;
  /** One bit per kind of condition (type, field, negation): a cover's kinds are a subset. */
  readonly mask: number;
}

const KIND_BITS = new Map<string, number>();

function kindBit(o: MatchOption): number {
  const field = 'field' in o ? String(o.field) : '';
  const key = `${o.type}/${field}/${o.negated ? '!' : ''}`;
  let bit = KIND_BITS.get(key);
  if (bit === undefined) {
    bit = KIND_BITS.size % 31;
    KIND_BITS.set(key, bit);
  }
  return 1 << bit;
}

// Chains of thousands of rules compare every pair: prepare each rule once.
const prepared = new WeakMap<Rule, Prepared>();

function prepare(rule: Rule): Prepared {
  let p = prepared.get(rule);
  if (p === undefined) {
    const options = effectiveOptions(rule);
    const keyList = options.map(strip);
    const mask = options.reduce((m, o) => m | kindBit(o), 0);
    p = { options, keyList, keys: new Set(keyList), undecidable: hasUndecidableMatch(rule), mask };
    prepared.set(rule, p);
  }
  return p;
}

export function ruleCovers(earlier: Rule, later: Rule): boolean {
  const e = prepare(earlier);
  if (e.undecidable) return false;
  const l = prepare(later);
  // Every condition of the cover needs one of the same kind in the covered rule.
  if ((e.mask & ~l.mask) !== 0) return false;
  return e.options.every(
    (o, i) =>
      l.keys.has(e.keyList[i] ?? '') ||
      (ORDERED.has(o.type) && l.options.some((x) => orderedCovers(o, x))),
  );
}

const DECIDING = new Set([
  'ACCEPT',
  'DROP',
  'REJECT',
  'RETURN',
  'QUEUE',
  'NFQUEUE',
  'DNAT',
  'SNAT',
  'MASQUERADE',
  'REDIRECT',
  'TPROXY',
]);

/** Targets after which no later rule of the chain sees the packet. */
export function decides(target: Target | null): boolean {
  if (target === null) return false;
  if (target.kind === 'jump') return target.goto;
  return DECIDING.has(target.kind);
}

/** Text of what a target does, for "same action" comparisons. */
export function actionKey(target: Target | null): string {
  if (target === null) return 'none';
  return withoutLocation(target);
}

/** True when the trace meets the covering rule and never the covered one. */
export function traceShowsCover(
  steps: readonly TraceStep[],
  table: string,
  chain: string,
  cover: number,
  covered: number,
): boolean {
  const here = (s: TraceStep): boolean => s.table === table && s.chain === chain;
  return (
    steps.some((s) => here(s) && s.rule === cover) &&
    !steps.some((s) => here(s) && s.rule === covered)
  );
}
