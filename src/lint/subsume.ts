/**
 * Structural rule subsumption: rule A covers rule B when every condition of A is implied by a
 * condition of B (so every packet B matches, A matches too). Sound but incomplete: it never
 * claims coverage that does not hold, and leaves the rest to the engine's per-rule reach sets.
 */
import ipaddr from 'ipaddr.js';
import type { AddressMask, MatchOption, PortRange, Rule, Target } from '../model/ruleset.ts';
import { effectiveOptions, hasUndecidableMatch } from './queries.ts';

function prefixCovers(outer: AddressMask, inner: AddressMask): boolean {
  if (outer.family !== inner.family || outer.prefixLength === null || inner.prefixLength === null) {
    return outer.address === inner.address && outer.mask === inner.mask;
  }
  if (outer.prefixLength > inner.prefixLength) return false;
  try {
    const a = ipaddr.parse(inner.address);
    const b = ipaddr.parse(outer.address);
    return a.kind() === b.kind() && a.match(b, outer.prefixLength);
  } catch {
    return false;
  }
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

/** True when `outer` holds for every packet `inner` holds for. */
export function optionCovers(outer: MatchOption, inner: MatchOption): boolean {
  if (outer.negated !== inner.negated) return false;
  if (!outer.negated) {
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
  }
  return strip(outer) === strip(inner);
}

export function ruleCovers(earlier: Rule, later: Rule): boolean {
  if (hasUndecidableMatch(earlier)) return false;
  const inner = effectiveOptions(later);
  return effectiveOptions(earlier).every((o) => inner.some((i) => optionCovers(o, i)));
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
