/**
 * Shadowed rules of a chain: each rule with the first earlier deciding rule that covers it, as
 * `covers` decides (the engine's packet sets: covers.ts `matchCovers`), asked only about the
 * earlier rules the engine's rule-key index (src/engine/rule-index.ts `forRule`) names as able
 * to cover it by what they write and whose written requirements its own imply
 * (`requirementsImply`), so a chain of thousands of rules is not compared pair by pair, within a
 * budget of comparisons (each rule the index names counts, whether the engine is asked or not). Also which chains the engine's reach walk can judge (filter
 * chains only: iptables' filter table, nftables chains fed only by filter-type input, forward or
 * output base chains) and which sit after a routing decision.
 */
import type { Chain, Family, Rule, Table } from '../model/ruleset.ts';
import { findChain } from '../model/ruleset.ts';
import { reachableChains } from '../model/rule-queries.ts';
import { requirements, requirementsImply, RuleIndex } from '../engine/rule-index.ts';
import { decides } from './covers.ts';
import { matchesOnlyUnmodelled } from '../engine/packet-model.ts';

/** Rules whose shadowing the engine cannot judge: they match none of its packets. */
export { matchesOnlyUnmodelled };

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
 * `family` is the one the chain's addresses are read in. `matchesNothing(rule)` says whether the
 * engine finds no packet the rule could match (every earlier rule then covers it, whatever they
 * write, so the written values rule nothing out). `covering(rule)` says whether a rule may cover
 * later ones (a damaged line may not: what it matches is not known). A rule's candidates are
 * tried in chain order, so the first that covers is the first cover.
 */
export function shadowsIn(
  chain: Chain,
  family: Family,
  budget: number,
  covers: (earlier: Rule, later: Rule) => boolean,
  matchesNothing: (rule: Rule) => boolean,
  covering: (rule: Rule) => boolean = () => true,
): ChainShadows {
  const deciding = chain.rules.filter((r) => covering(r) && decides(r.target));
  if (deciding.length === 0) return { shadows: [], stoppedAt: null };
  const index = new RuleIndex(deciding, family);
  const decidingWants = deciding.map((r) => requirements(r, family));
  const shadows: Shadow[] = [];
  let left = budget;
  let before = 0;
  for (const rule of chain.rules) {
    // a rule of fragments or IPv6 extension headers matches none of the engine's packets: what
    // covers it is not the engine's to say
    if (matchesOnlyUnmodelled(rule, family)) {
      if (deciding[before] === rule) before += 1;
      continue;
    }
    const wants = requirements(rule, family);
    let empty: boolean | undefined;
    let spent = false;
    // the index may leave out rules whose written ports rule out a cover, unless the rule
    // matches nothing (then every earlier rule covers it)
    const narrow = (): boolean => !(empty ??= matchesNothing(rule));
    index.forRule(
      rule,
      before,
      (i) => {
        if (left === 0) return (spent = true);
        left -= 1;
        const earlier = deciding[i];
        const theirs = decidingWants[i];
        if (earlier === undefined || theirs === undefined) return false;
        // the engine is asked only when the written values leave a cover possible
        const possible = requirementsImply(wants, theirs) || (empty ??= matchesNothing(rule));
        if (!possible || !covers(earlier, rule)) return false;
        shadows.push({ rule, cover: earlier });
        return true;
      },
      narrow,
    );
    if (spent) return { shadows, stoppedAt: rule };
    if (deciding[before] === rule) before += 1;
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
