/**
 * Shadowed rules of a chain: each rule with the first earlier deciding rule that covers it, as
 * `covers` decides (the engine's packet sets: covers.ts `matchCovers`), asked only about the
 * candidates the cover index lets through, so a chain of thousands of rules is not compared pair
 * by pair, within a budget of comparisons. Also which chains the engine's reach walk can judge
 * (filter chains only: iptables' filter table, nftables chains fed only by filter-type input,
 * forward or output base chains) and which sit after a routing decision.
 */
import type { Chain, Rule, Table } from '../model/ruleset.ts';
import { findChain } from '../model/ruleset.ts';
import { reachableChains } from '../model/rule-queries.ts';
import { CoverIndex } from './cover-index.ts';
import { decides } from './covers.ts';

export interface Shadow {
  readonly rule: Rule;
  /** The first earlier rule that takes every packet `rule` would match. */
  readonly cover: Rule;
}

export interface ChainShadows {
  readonly shadows: readonly Shadow[];
  /** The rule the search stopped at when the budget ran out (it and later rules unchecked). */
  readonly stoppedAt: Rule | null;
}

/**
 * `covering(rule)` says whether a rule may cover later ones (a damaged line may not: what it
 * matches is not known).
 */
export function shadowsIn(
  chain: Chain,
  budget: number,
  covers: (earlier: Rule, later: Rule) => boolean,
  covering: (rule: Rule) => boolean = () => true,
): ChainShadows {
  const index = new CoverIndex();
  const shadows: Shadow[] = [];
  let left = budget;
  for (const rule of chain.rules) {
    const search = index.firstCover(rule, left, covers);
    left -= search.comparisons;
    if (left < 0) return { shadows, stoppedAt: rule };
    if (covering(rule) && decides(rule.target)) index.add(rule);
    if (search.cover !== undefined) shadows.push({ rule, cover: search.cover });
  }
  return { shadows, stoppedAt: null };
}

/** nftables statements after which a rule's verdict still depends on a later match. */
export function hasLaterMatch(rule: Rule): boolean {
  return (rule.steps ?? []).some((s) => s.kind === 'match');
}

const FILTER_HOOKS = new Set(['input', 'forward', 'output']);

/** True when packets reach the chain only after a routing decision (forward, output hooks). */
export function routedHooks(table: Table, chain: string): boolean {
  if (table.nft === undefined) {
    return ['FORWARD', 'OUTPUT'].some(
      (h) => findChain(table, h) !== undefined && reachableChains(table, h).has(chain),
    );
  }
  return table.chains.some(
    (c) =>
      c.base !== undefined &&
      (c.base.hook === 'forward' || c.base.hook === 'output') &&
      reachableChains(table, c.name).has(chain),
  );
}

/**
 * Chains whose reach the engine judges: iptables' filter table, and the chains of an nftables
 * table that only filter-type input/forward/output base chains lead to (as iptables' filter).
 */
export function engineJudged(table: Table): ReadonlySet<string> {
  if (table.nft === undefined) {
    return new Set(table.name === 'filter' ? table.chains.map((c) => c.name) : []);
  }
  const ok = new Set<string>();
  const other = new Set<string>();
  for (const c of table.chains) {
    if (c.base === undefined) continue;
    const fits = c.base.type === 'filter' && FILTER_HOOKS.has(c.base.hook);
    for (const name of reachableChains(table, c.name)) (fits ? ok : other).add(name);
  }
  return new Set([...ok].filter((n) => !other.has(n)));
}
