/**
 * Covers, read from the engine's packet sets: rule A covers rule B when every packet B could
 * match is one A certainly matches, so no packet B selects gets past A. Exact wherever the engine
 * models the conditions (the one definition of match semantics, src/engine/match.ts); an
 * unmodelled condition only ever withholds a cover, never claims one.
 */
import type { TwoSided } from '../engine/types.ts';
import type { Target } from '../model/ruleset.ts';
import type { TraceStep } from '../model/trace.ts';

/** True when `earlier` takes every packet `later` could match (both rules' own matches). */
export function matchCovers(earlier: TwoSided, later: TwoSided): boolean {
  return earlier.certain.includes(later.possible);
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
  return JSON.stringify(target, (key, value: unknown) => (key === 'location' ? undefined : value));
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
