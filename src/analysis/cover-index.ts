/**
 * The fast pre-filter of cover search: an index of a chain's earlier deciding rules by one cheap
 * condition each (destination or source prefix, destination port, input interface or protocol),
 * so that finding the first rule that covers a later one asks the engine only about rules whose
 * written conditions could: the lookup visits every bucket the later rule's own prefixes, port,
 * interface and protocol fall in, and the bucket of rules with none of them. The index only
 * narrows the candidates (a cover the written conditions do not show, such as a destination
 * range inside a prefix, is left to the engine's reach check); the caller's `covers`, the engine's
 * packet sets, decides, so it never adds coverage. Chains of thousands of rules stay linear.
 */
import { parseAddress } from '../engine/addr.ts';
import type { Family, MatchOption, Rule } from '../model/ruleset.ts';
import { effectiveOptions } from '../model/rule-queries.ts';

const ADDRESS_VALUES = new Map<string, bigint | null>();

/** An address as a number (cached: large chains key the same addresses many times). */
function addressValue(text: string, family: Family): bigint | null {
  const key = `${family}|${text}`;
  let v = ADDRESS_VALUES.get(key);
  if (v === undefined) {
    v = parseAddress(text, family);
    ADDRESS_VALUES.set(key, v);
  }
  return v;
}

type Option<T extends MatchOption['type']> = Extract<MatchOption, { type: T }>;

function positive<T extends MatchOption['type']>(
  options: readonly MatchOption[],
  type: T,
): Option<T>[] {
  return options.filter((o): o is Option<T> => o.type === type && !o.negated);
}

/** `family|length` of a prefix bucket, per address field. */
function lengthKey(field: string, family: string, length: number): string {
  return `${field}|${family}|${length}`;
}

function prefixKey(field: string, family: string, length: number, value: bigint): string {
  const width = family === 'ipv4' ? 32n : 128n;
  return `a|${lengthKey(field, family, length)}|${(value >> (width - BigInt(length))).toString(16)}`;
}

/** Destination prefixes first (the most selective in kube-proxy and Docker chains), then sources. */
const FIELDS = ['dst', 'src'] as const;

/** The one bucket an earlier rule goes in; `any` when it has none of the indexed conditions. */
function bucketOf(rule: Rule): string {
  const options = effectiveOptions(rule);
  for (const field of FIELDS) {
    for (const o of positive(options, 'address')) {
      const length = o.value.prefixLength;
      const v =
        o.field === field && length !== null ? addressValue(o.value.address, o.value.family) : null;
      if (v !== null && length !== null && length > 0) {
        return prefixKey(field, o.value.family, length, v);
      }
    }
  }
  for (const o of positive(options, 'port')) {
    const only = o.ranges.length === 1 ? o.ranges[0] : undefined;
    if (o.field === 'dst' && only !== undefined && only.from === only.to) return `p|${only.from}`;
  }
  for (const o of positive(options, 'interface')) {
    if (o.field === 'in' && !o.wildcard) return `i|${o.name}`;
  }
  for (const o of positive(options, 'protocol')) return `t|${o.name}`;
  return 'any';
}

/**
 * Buckets whose rules could cover `rule`, or null when some condition of it is one the keys do not
 * describe (a non-prefix mask, an empty port list): then every earlier rule is a candidate.
 */
function lookupKeys(rule: Rule, lengths: ReadonlySet<string>): string[] | null {
  const options = effectiveOptions(rule);
  const keys = ['any'];
  for (const o of positive(options, 'address')) {
    const v = addressValue(o.value.address, o.value.family);
    if (o.value.prefixLength === null || v === null) return null;
    // Only prefix lengths some indexed rule has can hold a cover.
    for (let n = 1; n <= o.value.prefixLength; n += 1) {
      if (lengths.has(lengthKey(o.field, o.value.family, n))) {
        keys.push(prefixKey(o.field, o.value.family, n, v));
      }
    }
  }
  for (const o of positive(options, 'port')) {
    if (o.field !== 'dst') continue;
    const first = o.ranges[0];
    if (first === undefined) return null;
    // A single-port cover holds only when every range of this one is that same port.
    if (o.ranges.every((r) => r.from === first.from && r.to === first.from)) {
      keys.push(`p|${first.from}`);
    }
  }
  for (const o of positive(options, 'interface')) {
    if (o.field === 'in' && !o.wildcard) keys.push(`i|${o.name}`);
  }
  for (const o of positive(options, 'protocol')) keys.push(`t|${o.name}`);
  return keys;
}

export interface CoverSearch {
  /** The first earlier rule (in chain order) that covers `rule`, if any. */
  readonly cover: Rule | undefined;
  /** Rules compared, for the caller's work bound. */
  readonly comparisons: number;
}

export class CoverIndex {
  private readonly buckets = new Map<string, { rule: Rule; order: number }[]>();
  private readonly all: { rule: Rule; order: number }[] = [];
  /** `family|length` of the destination prefixes rules are indexed by. */
  private readonly lengths = new Set<string>();

  /** Adds a rule later rules may be covered by (the caller adds only deciding, sound rules). */
  add(rule: Rule): void {
    const entry = { rule, order: this.all.length };
    this.all.push(entry);
    const key = bucketOf(rule);
    const prefix = /^a\|(\w+\|\w+\|\d+)\|/.exec(key)?.[1];
    if (prefix !== undefined) this.lengths.add(prefix);
    let list = this.buckets.get(key);
    if (list === undefined) {
      list = [];
      this.buckets.set(key, list);
    }
    list.push(entry);
  }

  /**
   * Asks `covers` about at most `budget` candidates; a search cut short says so by
   * `comparisons > budget`.
   */
  firstCover(
    rule: Rule,
    budget: number,
    covers: (earlier: Rule, later: Rule) => boolean,
  ): CoverSearch {
    if (this.all.length === 0) return { cover: undefined, comparisons: 0 };
    const keys = lookupKeys(rule, this.lengths);
    const lists =
      keys === null ? [this.all] : [...new Set(keys)].map((k) => this.buckets.get(k) ?? []);
    let best: { rule: Rule; order: number } | undefined;
    let comparisons = 0;
    for (const list of lists) {
      for (const e of list) {
        // Each bucket is in chain order: past the best cover so far nothing earlier remains.
        if (best !== undefined && e.order >= best.order) break;
        comparisons += 1;
        if (comparisons > budget) return { cover: undefined, comparisons };
        if (covers(e.rule, rule)) {
          best = e;
          break;
        }
      }
    }
    return { cover: best?.rule, comparisons };
  }
}
