/**
 * Shadowed rules of a chain: each rule with the first earlier deciding rule that covers it, as
 * `covers` decides (the engine's packet sets: covers.ts `matchCovers`), asked only about the
 * candidates the cover index lets through, so a chain of thousands of rules is not compared pair
 * by pair, within a budget of comparisons.
 */
import type { Chain, Rule } from '../model/ruleset.ts';
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
